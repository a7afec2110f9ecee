//! 2-D convolutions on the GPU with kernels of our own, forward and both gradients.
//!
//! Why: burn-cubecl (0.22, autotune off) computes a convolution with its direct kernel, which
//! permutes NCHW to NHWC and back around every call and gives each thread one pixel and one
//! vector of output channels; it takes the weight gradient as that same kernel over swapped axes
//! and the input gradient as a direct transposed convolution. On SwiftShader (a software GPU on
//! the CPU's cores) those were three quarters of a training step's kernel time (BENCHMARKS.md,
//! issue #13). The kernels here stay in NCHW, read the weights in place, and give each thread a
//! tile held in registers, so that each value loaded serves several multiply-adds:
//! - **forward** ([`conv2d`]): 16 output channels × 8 neighbouring output pixels of a row; the
//!   row of inputs loaded for a kernel row serves all its taps and the 16 channels. A 1×1
//!   convolution without stride takes each plane as one row (it sees no neighbourhood) and
//!   8 channels × 16 pixels;
//! - **input gradient**: the same kernel over the output gradient, reading the weights flipped
//!   and transposed. A strided 1×1's is its unstrided one at the output's resolution, spread
//!   to every stride-th pixel (the others get no gradient). In the network a strided 1×1 is
//!   a unit's first convolution and its projection, which share one subsample of their input
//!   ([`super::conv::forward_conv_pair`]) and so never take this path;
//! - **weight gradient**: a thread owns 8 output channels × every tap of one input channel
//!   (3×3) or × 8 input channels (1×1), summing over 4 pixels at a time and a share of the
//!   batch; the shares' partial sums are added after.
//!
//! [`GpuConv2d`] is a burn backend extension: `Cube` (with `Fusion` over it) runs the kernels
//! and `Autodiff` records the backward, which calls the two gradient kernels. Square kernels of
//! side 1 or 3, one group, no dilation, equal strides and paddings on both axes, and a stride
//! only on 1×1 take this path ([`supports`]); anything else keeps burn's.

mod kernels;
mod launch;

pub(crate) use launch::spread;

#[cfg(feature = "train")]
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::ops::conv::calculate_conv_output_size;
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::{Device, Shape, Tensor};

/// The kernel sides the GPU kernels are compiled for.
const KERNEL_SIDES: [usize; 2] = [1, 3];

/// Whether [`conv2d`] computes a convolution of this `kernel` side, `stride` and `padding` on
/// `device`: a GPU device, a 1×1 or 3×3 kernel whose padding leaves a tap inside, and a stride
/// only on 1×1 kernels (a strided 1×1's input gradient is its unstrided one spread out; the
/// strided 3×3 of models saved with that layout keeps burn's kernels).
pub fn supports(device: &Device, kernel: usize, stride: usize, padding: usize) -> bool {
    on_gpu(device)
        && KERNEL_SIDES.contains(&kernel)
        && padding < kernel
        && (stride == 1 || (kernel == 1 && stride > 1))
}

/// Whether `device` is a GPU (the cubecl backend) rather than the CPU.
pub fn on_gpu(device: &Device) -> bool {
    matches!(device.as_dispatch().clone().inner(), burn::backend::DispatchDevice::Cube(_))
}

/// The output's shape of [`GpuConv2d::gpu_conv2d`].
fn forward_shape(input: &Shape, weight: &Shape, stride: usize, padding: usize) -> Shape {
    let side = |size| calculate_conv_output_size(weight[2], stride, padding, 1, size);
    Shape::new([input[0], weight[0], side(input[2]), side(input[3])])
}

/// The 2-D convolution and its two gradients as one backend extension (see the module docs).
/// Tensors are NCHW; weights `[out_channels, in_channels, k, k]`; no bias (added outside).
#[backend_extension(
    Cube: cfg(feature = "gpu"),
    Fusion: cfg(feature = "gpu"),
    Autodiff: cfg(feature = "train")
)]
pub trait GpuConv2d: Backend {
    /// The convolution of `input` by `weight` with the same `stride` and zero `padding` on both
    /// spatial axes.
    #[fusion(dtype = input, shape = forward_shape(input, weight, *stride, *padding))]
    fn gpu_conv2d(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;

    /// The gradient of [`Self::gpu_conv2d`] with respect to its input, whose spatial size was
    /// `height × width`, from the gradient of its output.
    #[fusion(dtype = grad, shape = Shape::new([grad[0], weight[1], *height, *width]))]
    fn gpu_conv2d_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        height: usize,
        width: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;

    /// The gradient of [`Self::gpu_conv2d`] with respect to its `kernel × kernel` weight, from
    /// its input and the gradient of its output.
    #[fusion(dtype = grad, shape = Shape::new([grad[1], input[1], *kernel, *kernel]))]
    fn gpu_conv2d_weight_grad(
        input: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;
}

#[cfg(feature = "train")]
impl<B: GpuConv2d, C: CheckpointStrategy> GpuConv2d for Autodiff<B, C> {
    fn gpu_conv2d(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv2dBackward;

        impl<B: GpuConv2d> Backward<B, 2> for Conv2dBackward {
            type State = (NodeId, NodeId, usize, usize);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_input, node_weight] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (input_state, weight_state, stride, padding) = ops.state;
                let input: FloatTensor<B> = checkpointer.retrieve_node_output(input_state);
                let weight: FloatTensor<B> = checkpointer.retrieve_node_output(weight_state);

                if let Some(node) = node_input {
                    let shape = input.shape();
                    let input_grad = B::gpu_conv2d_input_grad(
                        grad.clone(),
                        weight.clone(),
                        shape[2],
                        shape[3],
                        stride,
                        padding,
                    );
                    grads.register::<B>(node.id, input_grad);
                }
                if let Some(node) = node_weight {
                    let kernel = weight.shape()[2];
                    let weight_grad =
                        B::gpu_conv2d_weight_grad(input, grad, kernel, stride, padding);
                    grads.register::<B>(node.id, weight_grad);
                }
            }
        }

        match Conv2dBackward.prepare::<C>([input.node(), weight.node()]).compute_bound().stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let input_state = prep.checkpoint(&input);
                let weight_state = prep.checkpoint(&weight);
                let output =
                    B::gpu_conv2d(input.into_primitive(), weight.into_primitive(), stride, padding);
                prep.finish((input_state, weight_state, stride, padding), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gpu_conv2d(
                input.into_primitive(),
                weight.into_primitive(),
                stride,
                padding,
            )),
        }
    }

    // The gradients are only called by the backward above, on the inner backend; called on
    // autodiff tensors they compute the same values, untracked.
    fn gpu_conv2d_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        height: usize,
        width: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::gpu_conv2d_input_grad(
            grad.into_primitive(),
            weight.into_primitive(),
            height,
            width,
            stride,
            padding,
        ))
    }

    fn gpu_conv2d_weight_grad(
        input: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::gpu_conv2d_weight_grad(
            input.into_primitive(),
            grad.into_primitive(),
            kernel,
            stride,
            padding,
        ))
    }
}

/// The convolution of `input` by `weight` (no bias) with the GPU kernels, differentiable.
/// Call it only where [`supports`] says so.
///
/// # Shapes
/// - `input`: `[batch, in_channels, height, width]`
/// - `weight`: `[out_channels, in_channels, k, k]`
/// - output: `[batch, out_channels, out_height, out_width]`
pub fn conv2d(input: Tensor<4>, weight: Tensor<4>, stride: usize, padding: usize) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::gpu_conv2d(
        input.into_dispatch(),
        weight.into_dispatch(),
        stride,
        padding,
    ))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::testing::test_gpu as gpu;

    #[test]
    fn supports_only_the_gpu_and_the_kernels_compiled_for() {
        assert!(!supports(&Device::flex(), 3, 1, 1));
        let Some(gpu) = gpu() else { return };
        assert!(supports(&gpu, 3, 1, 1));
        assert!(supports(&gpu, 1, 2, 0));
        assert!(!supports(&gpu, 3, 2, 1), "a strided 3×3 keeps burn's kernels");
        assert!(!supports(&gpu, 7, 1, 3));
        assert!(!supports(&gpu, 3, 1, 3), "padding that leaves no tap inside");
    }
}
