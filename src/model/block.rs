//! The pre-activation bottleneck residual unit of ResNetV2.
//!
//! He et al., "Identity Mappings in Deep Residual Networks" (2016): each branch is
//! `BN → ReLU → conv` three times (1×1 reduce, 3×3, 1×1 expand), and the shortcut is the
//! identity, or a 1×1 projection of the pre-activated input where the shape changes.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::conv::{forward_conv, forward_conv_pair};
use super::norm::forward_batch_norm;

/// Which convolution of a downsampling unit carries its stride.
///
/// Both layouts exist in the literature: the original ResNet and the Torch/PyTorch code of the
/// pre-activation paper stride on the first 1×1 convolution, so the 3×3 runs at the reduced
/// resolution; torchvision's "ResNet v1.5" and BiT's ResNetV2 stride on the 3×3. Measured here
/// on the same recipe (BENCHMARKS.md, "A default recipe"), the 1×1 layout learns better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// Builds the unit on `device`. The convolutions keep burn's initialisation (uniform,
    /// variance `1 / (3 · fan_in)`): He's normal init (`2 / fan_out`, the PyTorch reference's)
    /// measured slower to learn here with the same recipe (BENCHMARKS.md, "A default recipe").
    pub fn init(&self, device: &Device) -> PreActBottleneck {
        let out = self.out_channels();
        let conv = |i, o, k, s, p| {
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
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
        let pre = relu(forward_batch_norm(&self.bn1, input.clone()));
        // The projection sees the pre-activated input, as in the paper's full pre-activation.
        let (x, projection) = forward_conv_pair(&self.conv1, self.shortcut.as_ref(), pre);
        let shortcut = projection.unwrap_or(input);
        let x = forward_conv(&self.conv2, relu(forward_batch_norm(&self.bn2, x)));
        let x = forward_conv(&self.conv3, relu(forward_batch_norm(&self.bn3, x)));
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
}
