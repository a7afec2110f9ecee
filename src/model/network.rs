//! The network a model is, whichever family: what training, prediction, Grad-CAM, the memory
//! plan and the model file ask of it, one place that knows the families.
//!
//! - [`ResNetV2`]: trained from scratch (the default), any image size the brief recommends.
//!
//! The model file names its tensors by the family's own module paths (no family prefix), so
//! every model file written before this enum reads as it did.

use burn::module::{Module, ModuleMapper, ModuleVisitor};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::footprint::Footprint;
use super::resnet::{ResNetV2, ResNetV2Config};

/// A network of one of the families tagtrain trains.
#[derive(Module, Debug)]
pub enum Network {
    /// Pre-activation ResNet, trained from scratch.
    ResNetV2(ResNetV2),
}

/// The configuration of a [`Network`]; it travels inside every model file and run file (as
/// the family's own configuration, told apart by its fields: untagged, so the files written
/// before other families existed read as they were).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NetworkConfig {
    /// See [`ResNetV2Config`].
    ResNetV2(ResNetV2Config),
}

impl From<ResNetV2Config> for NetworkConfig {
    fn from(config: ResNetV2Config) -> Self {
        Self::ResNetV2(config)
    }
}

impl From<ResNetV2> for Network {
    fn from(model: ResNetV2) -> Self {
        Self::ResNetV2(model)
    }
}

impl NetworkConfig {
    /// The network's name, e.g. `ResNetV2-Small-11`.
    pub fn name(&self) -> String {
        match self {
            Self::ResNetV2(c) => c.name(),
        }
    }

    /// Number of labels (sigmoid outputs).
    pub fn num_labels(&self) -> usize {
        match self {
            Self::ResNetV2(c) => c.num_labels,
        }
    }

    /// The same network with `num_labels` outputs (a new head).
    pub fn with_num_labels(self, num_labels: usize) -> Self {
        match self {
            Self::ResNetV2(c) => Self::ResNetV2(ResNetV2Config { num_labels, ..c }),
        }
    }

    /// Input channels (3: RGB, 1: grayscale or a spectrogram).
    pub fn in_channels(&self) -> usize {
        match self {
            Self::ResNetV2(c) => c.in_channels,
        }
    }

    /// Features the classifier head reads (the pooled width).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn features(&self) -> Result<usize> {
        match self {
            Self::ResNetV2(c) => c.features(),
        }
    }

    /// Parameters and activations for one image of side `side` (the memory plan).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn footprint(&self, side: usize) -> Result<Footprint> {
        match self {
            Self::ResNetV2(c) => c.footprint(side),
        }
    }

    /// Builds the network on `device` (weights loaded next replace the initial ones).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn init(&self, device: &Device) -> Result<Network> {
        match self {
            Self::ResNetV2(c) => c.init(device).map(Network::ResNetV2),
        }
    }

    /// The ResNetV2 configuration to change, for what only that family has.
    pub fn resnet_mut(&mut self) -> Option<&mut ResNetV2Config> {
        match self {
            Self::ResNetV2(c) => Some(c),
        }
    }

    /// The ResNetV2 configuration, for what only that family has (its depth, its layout).
    pub fn resnet(&self) -> Option<&ResNetV2Config> {
        match self {
            Self::ResNetV2(c) => Some(c),
        }
    }
}

impl Network {
    /// The same backbone with a new, freshly initialised classifier head of `num_labels`
    /// outputs: fine-tuning on a different label set.
    pub fn with_new_head(self, num_labels: usize, device: &Device) -> Self {
        match self {
            Self::ResNetV2(m) => Self::ResNetV2(m.with_new_head(num_labels, device)),
        }
    }

    /// Per-label logits.
    ///
    /// # Shapes
    /// - images: `[batch, channels, height, width]`
    /// - output: `[batch, labels]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::ResNetV2(m) => m.forward(images),
        }
    }

    /// The last feature map, after its activation and before pooling: what Grad-CAM weighs.
    ///
    /// # Shapes
    /// - images: `[batch, channels, height, width]`
    /// - output: `[batch, features, h, w]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        match self {
            Self::ResNetV2(m) => m.features(images),
        }
    }

    /// Logits from the feature map [`Network::features`] gives: pooling and the head.
    ///
    /// # Shapes
    /// - features: `[batch, features, h, w]`
    /// - output: `[batch, labels]`
    pub fn classify(&self, features: Tensor<4>) -> Tensor<2> {
        match self {
            Self::ResNetV2(m) => m.classify(features),
        }
    }

    /// Per-label sigmoid probabilities.
    ///
    /// # Shapes
    /// - images: `[batch, channels, height, width]`
    /// - output: `[batch, labels]`
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::ResNetV2(m) => m.probabilities(images),
        }
    }

    /// Visits the family's own module (tensor paths without the enum's variant name: the
    /// model file's names).
    pub(crate) fn visit_inner<V: ModuleVisitor>(&self, visitor: &mut V) {
        match self {
            Self::ResNetV2(m) => m.visit(visitor),
        }
    }

    /// Maps the family's own module (as [`Network::visit_inner`]).
    pub(crate) fn map_inner<M: ModuleMapper>(self, mapper: &mut M) -> Self {
        match self {
            Self::ResNetV2(m) => Self::ResNetV2(m.map(mapper)),
        }
    }
}
