//! ResNetV2 (pre-activation ResNet) for multi-label classification, built from one config.
//!
//! - **Small** (images ~10–96 px): 3×3 stem at full resolution, then three stages of
//!   bottleneck units; depth = 9n + 2 (11, 20, 29, 56, …), n units per stage.
//! - **Large** (images ~96–320 px): 7×7 stride-2 stem and 3×3 stride-2 max-pool, then four
//!   stages of bottleneck units: 26 = [2,2,2,2], 50 = [3,4,6,3], 101 = [3,4,23,3].
//!
//! Both end with BN → ReLU, global average pooling and `Linear(features → labels)`, whose
//! logits give per-label probabilities through a sigmoid.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::block::{
    ConvInit, EXPANSION, PreActBottleneck, PreActBottleneckConfig, StrideOn, conv_initializer,
};
use super::conv::forward_conv;
use super::norm::forward_batch_norm_relu;

/// The two families of the brief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ResNetKind {
    /// For images of about 10–96 px.
    Small,
    /// For images of about 96–320 px.
    Large,
}

impl ResNetKind {
    /// Depths offered in the UI and CLI (others of the form 9n+2 also work for Small).
    pub fn depths(self) -> &'static [usize] {
        match self {
            Self::Small => &[11, 20, 29, 56],
            Self::Large => &[26, 50, 101],
        }
    }

    /// The image sides (px) this family suits, as the brief recommends: Small up to 96 px,
    /// Large from 96 to 320 px.
    pub fn recommended_sides(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Self::Small => 10..=96,
            Self::Large => 96..=320,
        }
    }

    /// The family a depth belongs to: 26, 50 and 101 are Large, any other 9n+2 is Small.
    pub fn for_depth(depth: usize) -> Result<Self> {
        match depth {
            26 | 50 | 101 => Ok(Self::Large),
            d if d >= 11 && (d - 2) % 9 == 0 => Ok(Self::Small),
            _ => Err(Error::option(
                "depth",
                format!(
                    "{depth} is not a ResNetV2 depth; use 11, 20, 29, 56 (Small, 9n+2) or 26, 50, 101 (Large)"
                ),
            )),
        }
    }
}

impl std::fmt::Display for ResNetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Small => "small",
            Self::Large => "large",
        })
    }
}

/// Configuration of the whole network; it travels inside every saved model.
#[derive(Config, Debug, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ResNetV2Config {
    /// Small or Large.
    pub kind: ResNetKind,
    /// Number of weighted layers (see the module docs for valid values).
    pub depth: usize,
    /// Number of labels (sigmoid outputs).
    pub num_labels: usize,
    /// Input channels (3 for RGB).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Stem width; stage `s` units have width `base_width × 2^s`. `None`: 16 Small, 64 Large.
    #[config(default = "None")]
    pub base_width: Option<usize>,
    /// Which convolution of a stage's first unit halves the resolution. New models stride on
    /// the 1×1; `None`, what a model file without the field reads as, is the 3×3 layout every
    /// model had before the choice was recorded.
    #[config(default = "Some(StrideOn::OneByOne)")]
    pub stride_on: Option<StrideOn>,
}

/// ResNetV2 network. Built by [`ResNetV2Config::init`].
#[derive(Module, Debug)]
pub struct ResNetV2 {
    stem: Conv2d,
    stem_pool: Option<MaxPool2d>,
    units: Vec<PreActBottleneck>,
    final_bn: BatchNorm,
    head: Linear,
}

impl ResNetV2Config {
    /// A config for `depth` (family picked from the depth) and `num_labels` outputs.
    pub fn for_depth(depth: usize, num_labels: usize) -> Result<Self> {
        Ok(Self::new(ResNetKind::for_depth(depth)?, depth, num_labels))
    }

    /// Units per stage, or an error naming valid depths.
    pub fn stage_units(&self) -> Result<Vec<usize>> {
        let kind = ResNetKind::for_depth(self.depth)?;
        if kind != self.kind {
            return Err(Error::option(
                "depth",
                format!("{} belongs to ResNetV2 {:?}, not {:?}", self.depth, kind, self.kind),
            ));
        }
        if self.num_labels == 0 {
            return Err(Error::option("labels", "at least one label is needed"));
        }
        Ok(match (self.kind, self.depth) {
            (ResNetKind::Large, 26) => vec![2, 2, 2, 2],
            (ResNetKind::Large, 50) => vec![3, 4, 6, 3],
            (ResNetKind::Large, 101) => vec![3, 4, 23, 3],
            (_, d) => vec![(d - 2) / 9; 3],
        })
    }

    /// The layout in force (see [`ResNetV2Config::stride_on`]).
    pub fn layout(&self) -> StrideOn {
        self.stride_on.unwrap_or(StrideOn::ThreeByThree)
    }

    pub(super) fn width(&self) -> usize {
        self.base_width.unwrap_or(match self.kind {
            ResNetKind::Small => 16,
            ResNetKind::Large => 64,
        })
    }

    /// Features entering the classifier head.
    pub fn features(&self) -> Result<usize> {
        let stages = self.stage_units()?.len();
        Ok(self.width() * (1 << (stages - 1)) * EXPANSION)
    }

    /// Display name, e.g. `ResNetV2-Small-11`.
    pub fn name(&self) -> String {
        let kind = match self.kind {
            ResNetKind::Small => "Small",
            ResNetKind::Large => "Large",
        };
        format!("ResNetV2-{kind}-{}", self.depth)
    }

    /// Builds the network on `device`, its convolutions starting from burn's initialisation
    /// (weights that are loaded next, from a model file or a saved run, replace them anyway).
    ///
    /// # Errors
    /// An invalid depth, a depth of the other family, or zero labels.
    pub fn init(&self, device: &Device) -> Result<ResNetV2> {
        self.init_with(ConvInit::Burn, device)
    }

    /// Builds the network on `device` for training from scratch, its convolutions starting
    /// from `conv_init` (the training option `convInit`).
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn init_with(&self, conv_init: ConvInit, device: &Device) -> Result<ResNetV2> {
        let base = self.width();
        let stem_init = conv_initializer(conv_init);
        let (stem, stem_pool) = match self.kind {
            ResNetKind::Small => (
                Conv2dConfig::new([self.in_channels, base], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(false)
                    .with_initializer(stem_init.clone())
                    .init(device),
                None,
            ),
            ResNetKind::Large => (
                Conv2dConfig::new([self.in_channels, base], [7, 7])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3))
                    .with_bias(false)
                    .with_initializer(stem_init.clone())
                    .init(device),
                Some(
                    MaxPool2dConfig::new([3, 3])
                        .with_strides([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(),
                ),
            ),
        };
        let units: Vec<_> = (self.unit_configs()?.into_iter())
            .map(|unit| unit.with_conv_init(conv_init).init(device))
            .collect();
        let channels = self.features()?;
        Ok(ResNetV2 {
            stem,
            stem_pool,
            units,
            final_bn: BatchNormConfig::new(channels).init(device),
            head: LinearConfig::new(channels, self.num_labels).init(device),
        })
    }

    /// The residual units in order: stage `s` has width `base × 2^s`, and its first unit
    /// halves the resolution (except in the first stage).
    pub(super) fn unit_configs(&self) -> Result<Vec<PreActBottleneckConfig>> {
        let base = self.width();
        let mut units = Vec::new();
        let mut channels = base;
        for (s, &count) in self.stage_units()?.iter().enumerate() {
            for u in 0..count {
                let stride = if s > 0 && u == 0 { 2 } else { 1 };
                let config = PreActBottleneckConfig::new(channels, base << s)
                    .with_stride(stride)
                    .with_stride_on(self.layout());
                channels = config.out_channels();
                units.push(config);
            }
        }
        Ok(units)
    }
}

impl ResNetV2 {
    /// The network with every layer below the head frozen (no gradient; batch norms use their
    /// running statistics), except the last `top_units` residual units and the final batch
    /// norm when `top_units > 0`.
    pub fn freeze_backbone(self, top_units: usize) -> Self {
        let keep_from = self.units.len().saturating_sub(top_units);
        let units = (self.units.into_iter().enumerate())
            .map(|(i, unit)| if i < keep_from { unit.freeze() } else { unit })
            .collect();
        Self {
            stem: self.stem.freeze(),
            units,
            final_bn: if top_units > 0 { self.final_bn } else { self.final_bn.freeze() },
            ..self
        }
    }

    /// The same backbone with a new, freshly initialised classifier head of `num_labels`
    /// outputs: fine-tuning on a different label set.
    pub fn with_new_head(self, num_labels: usize, device: &Device) -> Self {
        let [features, _] = self.head.weight.val().dims();
        Self { head: LinearConfig::new(features, num_labels).init(device), ..self }
    }

    /// Per-label logits.
    ///
    /// # Shapes
    /// - `images`: `[batch, in_channels, height, width]`
    /// - output: `[batch, num_labels]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classify(self.features(images))
    }

    /// The last stage's activations, after the final BN → ReLU: the feature maps whose global
    /// average the head classifies (Grad-CAM weighs them).
    ///
    /// # Shapes
    /// - `images`: `[batch, in_channels, height, width]`
    /// - output: `[batch, features, height / s, width / s]`, `s` the network's total stride
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let mut x = forward_conv(&self.stem, images);
        if let Some(pool) = &self.stem_pool {
            x = pool.forward(x);
        }
        for unit in &self.units {
            x = unit.forward(x);
        }
        forward_batch_norm_relu(&self.final_bn, x)
    }

    /// Per-label logits from [`ResNetV2::features`]: global average pooling, the linear head.
    ///
    /// # Shapes
    /// - `features`: `[batch, features, h, w]`
    /// - output: `[batch, num_labels]`
    pub fn classify(&self, x: Tensor<4>) -> Tensor<2> {
        let [batch, channels, _, _] = x.dims();
        // Global average pooling.
        let pooled = x.mean_dim(3).mean_dim(2).reshape([batch, channels]);
        self.head.forward(pooled)
    }

    /// Per-label probabilities, `sigmoid(logits)`.
    ///
    /// # Shapes
    /// - `images`: `[batch, in_channels, height, width]`
    /// - output: `[batch, num_labels]`, values in `[0, 1]`
    pub fn probabilities(&self, images: Tensor<4>) -> Tensor<2> {
        sigmoid(self.forward(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths_map_to_families() {
        assert_eq!(ResNetKind::for_depth(11).unwrap(), ResNetKind::Small);
        assert_eq!(ResNetKind::for_depth(56).unwrap(), ResNetKind::Small);
        assert_eq!(ResNetKind::for_depth(50).unwrap(), ResNetKind::Large);
        assert!(ResNetKind::for_depth(12).is_err());
        assert!(ResNetKind::for_depth(2).is_err());
        let wrong = ResNetV2Config::new(ResNetKind::Large, 11, 3);
        assert!(wrong.init(&Device::flex()).is_err());
    }

    #[test]
    fn a_model_file_without_the_layout_reads_as_the_3x3_layout() {
        let new = ResNetV2Config::for_depth(20, 4).unwrap();
        assert_eq!(new.layout(), StrideOn::OneByOne);
        let json = serde_json::to_value(&new).unwrap();
        assert_eq!(json["stride_on"], "1x1");
        assert_eq!(serde_json::from_value::<ResNetV2Config>(json.clone()).unwrap(), new);

        let mut old = json;
        old.as_object_mut().unwrap().remove("stride_on");
        let old: ResNetV2Config = serde_json::from_value(old).unwrap();
        assert_eq!(old.layout(), StrideOn::ThreeByThree);
        let device = Device::flex();
        let model = old.init(&device).unwrap();
        let x = Tensor::<4>::zeros([1, 3, 16, 16], &device);
        assert_eq!(model.forward(x).dims(), [1, 4]);
    }

    #[test]
    fn small_units_per_stage() {
        let c = ResNetV2Config::for_depth(20, 4).unwrap();
        assert_eq!(c.stage_units().unwrap(), vec![2, 2, 2]);
        assert_eq!(c.features().unwrap(), 256);
    }
}
