//! EfficientNet-Lite's pieces: a convolution with its batch norm ([`ConvNorm`]) and the mobile
//! inverted bottleneck ([`MbConv`]: expand 1×1 → depthwise k×k → project 1×1).
//!
//! Their shapes and conventions follow the ImageNet weights they load (see
//! [`super::efficientnet`]): bias-free convolutions padded like TensorFlow's `"SAME"` (for a
//! stride-2 layer on an even size the extra row and column go after, at the bottom and
//! right), batch norm with epsilon 1e-3, ReLU6 activations, no squeeze-excitation.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::conv::forward_conv;
use super::norm::forward_batch_norm;

/// Batch-norm epsilon of EfficientNet(-Lite), TensorFlow's `batch_norm_epsilon`.
pub const BN_EPSILON: f64 = 1e-3;
/// Batch-norm momentum in burn's (and PyTorch's) convention: TensorFlow's 0.99 decay.
pub const BN_MOMENTUM: f64 = 0.01;

/// ReLU6: `min(max(x, 0), 6)`.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clamp(0.0, 6.0)
}

/// Configuration of a [`ConvNorm`].
#[derive(Config, Debug)]
pub struct ConvNormConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride on both axes.
    #[config(default = 1)]
    pub stride: usize,
    /// Convolution groups: `in_channels` (= `out_channels`) for a depthwise convolution.
    #[config(default = 1)]
    pub groups: usize,
}

/// A bias-free convolution then batch norm (no activation: the caller applies ReLU6 where the
/// architecture has one).
#[derive(Module, Debug)]
pub struct ConvNorm {
    /// The convolution, `[out, in / groups, k, k]`.
    pub conv: Conv2d,
    /// Its batch norm.
    pub norm: BatchNorm,
}

impl ConvNormConfig {
    /// The padding TensorFlow's `"SAME"` gives: none for 1×1, `k / 2` on every side at stride
    /// 1 (explicit, so the project's fast convolution paths apply), and burn's `Same`
    /// (computed from the input size, asymmetric where TensorFlow's is) when strided.
    pub fn padding(&self) -> PaddingConfig2d {
        match (self.kernel, self.stride) {
            (1, 1) => PaddingConfig2d::Valid,
            (k, 1) => PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2),
            _ => PaddingConfig2d::Same,
        }
    }

    /// Builds the layer on `device`, its convolution initialised as burn's default.
    pub fn init(&self, device: &Device) -> ConvNorm {
        ConvNorm {
            conv: Conv2dConfig::new(
                [self.in_channels, self.out_channels],
                [self.kernel, self.kernel],
            )
            .with_stride([self.stride, self.stride])
            .with_padding(self.padding())
            .with_groups(self.groups)
            .with_bias(false)
            .init(device),
            norm: BatchNormConfig::new(self.out_channels)
                .with_epsilon(BN_EPSILON)
                .with_momentum(BN_MOMENTUM)
                .init(device),
        }
    }
}

impl ConvNorm {
    /// Convolution, then batch norm.
    ///
    /// # Shapes
    /// - `input`: `[batch, in_channels, height, width]`
    /// - output: `[batch, out_channels, ⌈height / stride⌉, ⌈width / stride⌉]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        forward_batch_norm(&self.norm, forward_conv(&self.conv, input))
    }
}

/// Configuration of an [`MbConv`] block.
#[derive(Config, Debug)]
pub struct MbConvConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Depthwise kernel side (3 or 5 in EfficientNet-Lite0).
    pub kernel: usize,
    /// Depthwise stride (1 or 2).
    #[config(default = 1)]
    pub stride: usize,
    /// Expansion ratio: the depthwise convolution has `in_channels × expand_ratio` channels;
    /// at 1 there is no expansion convolution.
    #[config(default = 6)]
    pub expand_ratio: usize,
}

/// Mobile inverted bottleneck: `expand` (1×1, BN, ReLU6; absent at expansion ratio 1) →
/// `depthwise` (k×k, BN, ReLU6) → `project` (1×1, BN, linear), plus the input when the
/// stride is 1 and the channels do not change.
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1×1 expansion, absent at expansion ratio 1.
    pub expand: Option<ConvNorm>,
    /// k×k depthwise convolution (groups = channels), carrying the stride.
    pub depthwise: ConvNorm,
    /// 1×1 linear projection.
    pub project: ConvNorm,
    /// Whether the input is added to the output.
    pub residual: bool,
}

impl MbConvConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> MbConv {
        let mid = self.in_channels * self.expand_ratio;
        MbConv {
            expand: (self.expand_ratio != 1)
                .then(|| ConvNormConfig::new(self.in_channels, mid, 1).init(device)),
            depthwise: ConvNormConfig::new(mid, mid, self.kernel)
                .with_stride(self.stride)
                .with_groups(mid)
                .init(device),
            project: ConvNormConfig::new(mid, self.out_channels, 1).init(device),
            residual: self.stride == 1 && self.in_channels == self.out_channels,
        }
    }
}

impl MbConv {
    /// Applies the block.
    ///
    /// # Shapes
    /// - `input`: `[batch, in_channels, height, width]`
    /// - output: `[batch, out_channels, ⌈height / stride⌉, ⌈width / stride⌉]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = match &self.expand {
            Some(expand) => relu6(expand.forward(input.clone())),
            None => input.clone(),
        };
        let x = self.project.forward(relu6(self.depthwise.forward(x)));
        if self.residual { x + input } else { x }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_residual_and_expansion() {
        let device = Device::flex();
        let first = MbConvConfig::new(32, 16, 3).with_expand_ratio(1).init(&device);
        assert!(first.expand.is_none() && !first.residual);
        assert_eq!(first.depthwise.conv.groups, 32);
        let x = Tensor::<4>::zeros([2, 32, 8, 8], &device);
        assert_eq!(first.forward(x).dims(), [2, 16, 8, 8]);

        let same = MbConvConfig::new(24, 24, 5).init(&device);
        assert!(same.expand.is_some() && same.residual);
        let x = Tensor::<4>::zeros([1, 24, 7, 7], &device);
        assert_eq!(same.forward(x).dims(), [1, 24, 7, 7]);

        let down = MbConvConfig::new(24, 40, 5).with_stride(2).init(&device);
        assert!(!down.residual);
        for (side, out) in [(56, 28), (7, 4)] {
            let x = Tensor::<4>::zeros([1, 24, side, side], &device);
            assert_eq!(down.forward(x).dims(), [1, 40, out, out]);
        }
    }

    /// TensorFlow's "SAME" at stride 2 on an even size pads only after: the first output
    /// sees rows and columns 0..k−1 of the input, unpadded.
    #[test]
    fn strided_padding_goes_after_as_tensorflow_does() {
        let device = Device::flex();
        let layer = ConvNormConfig::new(1, 1, 3).with_stride(2).init(&device);
        let ones = Tensor::<4>::ones([1, 1, 3, 3], &device);
        let mut conv = layer.conv;
        conv.weight = burn::module::Param::from_tensor(ones);
        // A 4×4 input of ones: TensorFlow pads one row and column of zeros after, so the
        // outputs are window sums 9, 6 / 6, 4; symmetric padding would give 4, 6 / 6, 9.
        let x = Tensor::<4>::ones([1, 1, 4, 4], &device);
        let sums = conv.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(sums, [9.0, 6.0, 6.0, 4.0]);
    }
}
