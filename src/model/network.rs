//! The network a model is, whichever family: what training, prediction, Grad-CAM, the memory
//! plan and the model file ask of it, one place that knows the families.
//!
//! - [`ResNetV2`]: trained from scratch (the default), any image size the brief recommends.
//! - [`EfficientNetLite0`]: started from its ImageNet weights (`--pretrained`), fine-tuned
//!   (a one-channel input is repeated into RGB).
//!
//! The model file names its tensors by the family's own module paths (no family prefix), so
//! every model file written before this enum reads as it did.

#[cfg(feature = "train")]
use burn::module::ModuleMapper;
use burn::module::{Module, ModuleVisitor};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::efficientnet::{EfficientNetLite0, EfficientNetLite0Config, FEATURES};
use super::footprint::Footprint;
use super::params::{StoredTensors, load_into};
use super::resnet::{ResNetV2, ResNetV2Config};

/// A network of one of the families tagtrain trains.
// A session holds one or two networks and moves them whole; the size of the larger variant's
// handles (its tensors live on the device) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// Pre-activation ResNet, trained from scratch.
    ResNetV2(ResNetV2),
    /// EfficientNet-Lite0, started from ImageNet weights.
    EfficientNetLite0(EfficientNetLite0),
}

/// The configuration of a [`Network`]; it travels inside every model file and run file (as
/// the family's own configuration, told apart by its fields: untagged, so the files written
/// before other families existed read as they were).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NetworkConfig {
    /// See [`ResNetV2Config`].
    ResNetV2(ResNetV2Config),
    /// See [`EfficientNetLite0Config`].
    EfficientNetLite0(EfficientNetLite0Config),
}

impl From<ResNetV2Config> for NetworkConfig {
    fn from(config: ResNetV2Config) -> Self {
        Self::ResNetV2(config)
    }
}

impl From<EfficientNetLite0Config> for NetworkConfig {
    fn from(config: EfficientNetLite0Config) -> Self {
        Self::EfficientNetLite0(config)
    }
}

impl From<EfficientNetLite0> for Network {
    fn from(model: EfficientNetLite0) -> Self {
        Self::EfficientNetLite0(model)
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
            Self::EfficientNetLite0(_) => "EfficientNet-Lite0".into(),
        }
    }

    /// Number of labels (sigmoid outputs).
    pub fn num_labels(&self) -> usize {
        match self {
            Self::ResNetV2(c) => c.num_labels,
            Self::EfficientNetLite0(c) => c.num_classes,
        }
    }

    /// The same network with `num_labels` outputs (a new head).
    pub fn with_num_labels(self, num_labels: usize) -> Self {
        match self {
            Self::ResNetV2(c) => Self::ResNetV2(ResNetV2Config { num_labels, ..c }),
            Self::EfficientNetLite0(c) => {
                Self::EfficientNetLite0(EfficientNetLite0Config { num_classes: num_labels, ..c })
            }
        }
    }

    /// Input channels (3: RGB, 1: grayscale or a spectrogram).
    pub fn in_channels(&self) -> usize {
        match self {
            Self::ResNetV2(c) => c.in_channels,
            Self::EfficientNetLite0(c) => c.in_channels,
        }
    }

    /// Features the classifier head reads (the pooled width).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn features(&self) -> Result<usize> {
        match self {
            Self::ResNetV2(c) => c.features(),
            Self::EfficientNetLite0(_) => Ok(FEATURES),
        }
    }

    /// Parameters and activations for one image of side `side` (the memory plan).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn footprint(&self, side: usize) -> Result<Footprint> {
        match self {
            Self::ResNetV2(c) => c.footprint(side),
            Self::EfficientNetLite0(c) => Ok(c.footprint(side)),
        }
    }

    /// Builds the network on `device` (weights loaded next replace the initial ones).
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn init(&self, device: &Device) -> Result<Network> {
        match self {
            Self::ResNetV2(c) => c.init(device).map(Network::ResNetV2),
            Self::EfficientNetLite0(c) => Ok(Network::EfficientNetLite0(c.init(device))),
        }
    }

    /// The ResNetV2 configuration to change, for what only that family has.
    pub fn resnet_mut(&mut self) -> Option<&mut ResNetV2Config> {
        match self {
            Self::ResNetV2(c) => Some(c),
            Self::EfficientNetLite0(_) => None,
        }
    }

    /// The ResNetV2 configuration, for what only that family has (its depth, its layout).
    pub fn resnet(&self) -> Option<&ResNetV2Config> {
        match self {
            Self::ResNetV2(c) => Some(c),
            Self::EfficientNetLite0(_) => None,
        }
    }
}

impl Network {
    /// The same backbone with a new, freshly initialised classifier head of `num_labels`
    /// outputs: fine-tuning on a different label set.
    pub fn with_new_head(self, num_labels: usize, device: &Device) -> Self {
        match self {
            Self::ResNetV2(m) => Self::ResNetV2(m.with_new_head(num_labels, device)),
            Self::EfficientNetLite0(m) => {
                Self::EfficientNetLite0(m.with_new_classifier(num_labels, device))
            }
        }
    }

    /// The network with the layers below the head frozen (their weights kept, their batch
    /// norms on the statistics they learned): all of them, or (`keep_top`) all but the top of
    /// the backbone — ResNetV2's last stage and final batch norm, EfficientNet-Lite0's last two
    /// stages (5 blocks) and head convolution.
    pub fn freeze_backbone(self, config: &NetworkConfig, keep_top: bool) -> Self {
        match (self, config) {
            (Self::ResNetV2(m), NetworkConfig::ResNetV2(c)) => {
                let last_stage = c.stage_units().ok().and_then(|s| s.last().copied());
                Self::ResNetV2(m.freeze_backbone(if keep_top {
                    last_stage.unwrap_or(1)
                } else {
                    0
                }))
            }
            (Self::EfficientNetLite0(m), _) => {
                Self::EfficientNetLite0(m.freeze_backbone(if keep_top { 5 } else { 0 }))
            }
            (model, _) => model,
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
            Self::EfficientNetLite0(m) => m.forward(images),
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
            Self::EfficientNetLite0(m) => m.feature_maps(images),
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
            Self::EfficientNetLite0(m) => m.classify(features),
        }
    }

    /// The last feature map averaged over space: what the head reads.
    ///
    /// # Shapes
    /// - images: `[batch, channels, height, width]`
    /// - output: `[batch, features]`
    pub fn pooled_features(&self, images: Tensor<4>) -> Tensor<2> {
        let maps = self.features(images);
        let [batch, channels, _, _] = maps.dims();
        maps.mean_dim(3).mean_dim(2).reshape([batch, channels])
    }

    /// Logits from [`Network::pooled_features`]: the head alone.
    ///
    /// # Shapes
    /// - pooled: `[batch, features]`
    /// - output: `[batch, labels]`
    pub fn classify_pooled(&self, pooled: Tensor<2>) -> Tensor<2> {
        let [batch, channels] = pooled.dims();
        // Pooling a 1×1 map is the identity: the head as `classify` applies it.
        self.classify(pooled.reshape([batch, channels, 1, 1]))
    }

    /// Per-label sigmoid probabilities.
    ///
    /// # Shapes
    /// - images: `[batch, channels, height, width]`
    /// - output: `[batch, labels]`
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::ResNetV2(m) => m.probabilities(images),
            Self::EfficientNetLite0(m) => burn::tensor::activation::sigmoid(m.forward(images)),
        }
    }

    /// Visits the family's own module (tensor paths without the enum's variant name: the
    /// model file's names).
    pub(crate) fn visit_inner<V: ModuleVisitor>(&self, visitor: &mut V) {
        match self {
            Self::ResNetV2(m) => m.visit(visitor),
            Self::EfficientNetLite0(m) => m.visit(visitor),
        }
    }

    /// Replaces every float tensor by the one named `{prefix}{module path}` in `tensors` (the
    /// path within the family's own module), taking it out.
    ///
    /// # Errors
    /// A missing or misshapen tensor, by name.
    pub(crate) fn load_inner(
        self,
        tensors: &mut StoredTensors,
        prefix: &str,
        device: &Device,
    ) -> Result<Self> {
        match self {
            Self::ResNetV2(m) => load_into(m, tensors, prefix, device).map(Self::ResNetV2),
            Self::EfficientNetLite0(m) => {
                load_into(m, tensors, prefix, device).map(Self::EfficientNetLite0)
            }
        }
    }

    /// Maps the family's own module (as [`Network::visit_inner`]): what keys the optimiser's
    /// moments by the model file's tensor names.
    #[cfg(feature = "train")]
    pub(crate) fn map_inner<M: ModuleMapper>(self, mapper: &mut M) -> Self {
        match self {
            Self::ResNetV2(m) => Self::ResNetV2(m.map(mapper)),
            Self::EfficientNetLite0(m) => Self::EfficientNetLite0(m.map(mapper)),
        }
    }

    /// The module path prefix of the classifier head's tensors (`head.`, `classifier.`): the
    /// head, which a pretrained start trains from scratch and at the full learning rate.
    pub fn head_prefix(&self) -> &'static str {
        match self {
            Self::ResNetV2(_) => "head.",
            Self::EfficientNetLite0(_) => "classifier.",
        }
    }
}
