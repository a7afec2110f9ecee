//! The pre-activation bottleneck residual unit of ResNetV2.
//!
//! He et al., "Identity Mappings in Deep Residual Networks" (2016): each branch is
//! `BN → ReLU → conv` three times (1×1 reduce, 3×3, 1×1 expand), and the shortcut is the
//! identity, or a 1×1 projection of the pre-activated input where the shape changes.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::conv::{forward_conv, forward_conv_pair};
use super::norm::forward_batch_norm_relu;

/// Which convolution of a downsampling unit carries its stride.
///
/// Both layouts exist in the literature: the original ResNet and the Torch/PyTorch code of the
/// pre-activation paper stride on the first 1×1 convolution, so the 3×3 runs at the reduced
/// resolution; torchvision's "ResNet v1.5" and BiT's ResNetV2 stride on the 3×3. Measured here
/// on the same recipe (BENCHMARKS.md, "A default recipe"), the 1×1 layout learns better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum StrideOn {
    /// The first 1×1 convolution strides (new models).
    #[serde(rename = "1x1")]
    OneByOne,
    /// The 3×3 convolution strides (every model saved before the layout was recorded).
    #[serde(rename = "3x3")]
    ThreeByThree,
}

/// Configuration of a [`PreActBottleneck`].
#[derive(Config, Debug)]
pub struct PreActBottleneckConfig {
    /// Channels coming in.
    pub in_channels: usize,
    /// Channels of the 3×3 convolution; the unit outputs `4 × width`.
    pub width: usize,
    /// Stride of the unit (2 halves the resolution).
    #[config(default = 1)]
    pub stride: usize,
    /// Which branch convolution carries the stride (the projection shortcut always does).
    #[config(default = "StrideOn::OneByOne")]
    pub stride_on: StrideOn,
    /// How the convolutions' weights start (see [`ConvInit`]).
    #[config(default = "ConvInit::Burn")]
    pub conv_init: ConvInit,
}

/// How a network's convolutions start when it is trained from scratch. JSON: `"burn"`, `"he"`.
/// Not part of the architecture (loaded weights replace it); a run's options record it.
///
/// Why a choice: behind a batch norm a convolution's output scale does not matter, but its
/// weights' does, since Adam's steps have a fixed size and a smaller weight turns further per
/// step. Burn's init starts those weights 2.5× (3×3) to 5× (1×1) smaller than He's, so they
/// learn faster. On the digit mosaics that is worth 0.04 to 0.12 test mAP (Small-20 and
/// Small-11, 8 epochs); on the emoji set at Small-20 He's calmer start generalised better,
/// +0.011 to +0.017 on the means (BENCHMARKS.md, "A default recipe"). Burn's is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ConvInit {
    /// Burn's default, uniform with variance `1 / (3 · fan_in)`.
    #[default]
    Burn,
    /// He et al.'s normal initialisation for ReLU networks, `N(0, 2 / fan_out)`: the choice of
    /// the pre-activation paper's code, torchvision's ResNets and the PyTorch reference.
    He,
}

impl ConvInit {
    /// The JSON name (`burn`, `he`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Burn => "burn",
            Self::He => "he",
        }
    }
}

/// The initializer of a convolution under `init`.
pub(crate) fn conv_initializer(init: ConvInit) -> Initializer {
    match init {
        ConvInit::Burn => {
            Initializer::KaimingUniform { gain: 1.0 / 3f64.sqrt(), fan_out_only: false }
        }
        ConvInit::He => {
            Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: true }
        }
    }
}

/// Pre-activation bottleneck unit. Built by [`PreActBottleneckConfig::init`].
#[derive(Module, Debug)]
pub struct PreActBottleneck {
    bn1: BatchNorm,
    conv1: Conv2d,
    bn2: BatchNorm,
    conv2: Conv2d,
    bn3: BatchNorm,
    conv3: Conv2d,
    /// 1×1 projection, present when the unit changes channels or resolution.
    shortcut: Option<Conv2d>,
}

/// Output channels per unit width (the bottleneck expansion).
pub const EXPANSION: usize = 4;

impl PreActBottleneckConfig {
    /// Channels this unit outputs.
    pub fn out_channels(&self) -> usize {
        self.width * EXPANSION
    }

    /// Builds the unit on `device`, its convolutions initialised as [`Self::conv_init`] says.
    pub fn init(&self, device: &Device) -> PreActBottleneck {
        let out = self.out_channels();
        let conv = |i, o, k, s, p| {
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
                .with_initializer(conv_initializer(self.conv_init))
                .init(device)
        };
        let shortcut = (self.stride != 1 || self.in_channels != out)
            .then(|| conv(self.in_channels, out, 1, self.stride, 0));
        let (stride1, stride3) = match self.stride_on {
            StrideOn::OneByOne => (self.stride, 1),
            StrideOn::ThreeByThree => (1, self.stride),
        };
        PreActBottleneck {
            bn1: BatchNormConfig::new(self.in_channels).init(device),
            conv1: conv(self.in_channels, self.width, 1, stride1, 0),
            bn2: BatchNormConfig::new(self.width).init(device),
            conv2: conv(self.width, self.width, 3, stride3, 1),
            bn3: BatchNormConfig::new(self.width).init(device),
            conv3: conv(self.width, out, 1, 1, 0),
            shortcut,
        }
    }
}

impl PreActBottleneck {
    /// Applies the unit.
    ///
    /// # Shapes
    /// - `input`: `[batch, in_channels, height, width]`
    /// - output: `[batch, 4 × width, height / stride, width / stride]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let pre = forward_batch_norm_relu(&self.bn1, input.clone());
        // The projection sees the pre-activated input, as in the paper's full pre-activation.
        let (x, projection) = forward_conv_pair(&self.conv1, self.shortcut.as_ref(), pre);
        let shortcut = projection.unwrap_or(input);
        let x = forward_conv(&self.conv2, forward_batch_norm_relu(&self.bn2, x));
        let x = forward_conv(&self.conv3, forward_batch_norm_relu(&self.bn3, x));
        x + shortcut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_with_and_without_projection() {
        let device = Device::flex();
        let same = PreActBottleneckConfig::new(16, 4).init(&device);
        assert!(same.shortcut.is_none());
        let x = Tensor::<4>::zeros([2, 16, 8, 8], &device);
        assert_eq!(same.forward(x).dims(), [2, 16, 8, 8]);

        for stride_on in [StrideOn::OneByOne, StrideOn::ThreeByThree] {
            let down = PreActBottleneckConfig::new(16, 8).with_stride(2).with_stride_on(stride_on);
            let down = down.init(&device);
            assert!(down.shortcut.is_some());
            let x = Tensor::<4>::zeros([2, 16, 9, 9], &device);
            assert_eq!(down.forward(x).dims(), [2, 32, 5, 5]);
            // The stride sits where the layout says: the 3×3 sees 5×5 maps or 9×9 maps.
            let strides = (down.conv1.stride, down.conv2.stride);
            match stride_on {
                StrideOn::OneByOne => assert_eq!(strides, ([2, 2], [1, 1])),
                StrideOn::ThreeByThree => assert_eq!(strides, ([1, 1], [2, 2])),
            }
        }
    }

    #[test]
    fn convolutions_start_at_the_chosen_scale() {
        let device = Device::flex();
        // Standard deviation of a weight tensor, from its values.
        let std = |conv: &Conv2d| {
            let w: Vec<f32> = conv.weight.val().into_data().try_to_vec::<f32>().unwrap();
            let mean = w.iter().sum::<f32>() / w.len() as f32;
            (w.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / w.len() as f32).sqrt()
        };
        let width = 32;
        for (init, expected) in [
            // 3×3, width → width: fan_in = fan_out = 9 · width.
            (ConvInit::Burn, (1.0 / (3.0 * 9.0 * width as f32)).sqrt()),
            (ConvInit::He, (2.0 / (9.0 * width as f32)).sqrt()),
        ] {
            let unit =
                PreActBottleneckConfig::new(4 * width, width).with_conv_init(init).init(&device);
            let measured = std(&unit.conv2);
            assert!((measured / expected - 1.0).abs() < 0.05, "{init:?}: {measured} vs {expected}");
        }
    }
}
