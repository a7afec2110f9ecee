//! Stride-1 square convolutions on the CPU backend with kernels of our own, forward and both
//! gradients.
//!
//! Why: burn-flex computes a padded 3×3 convolution through a general tiled path that turns
//! NCHW into NHWC and back on one thread around its matrix products, takes the input gradient
//! as a transposed convolution and the weight gradient as a convolution over swapped axes
//! whose matrix products are thin (N = 9); on the native CPU those were a tenth of a training
//! step, much of it on one thread while the other cores waited (BENCHMARKS.md, issue #35).
//! The 1×1 convolutions went through burn-flex's matrix product, whose every output is a
//! zero-filled buffer then copied to an aligned one, on one thread. Here each image is one fat
//! matrix product over its columns (the shifted copies of each channel, built per image in a
//! scratch buffer; a 1×1 kernel reads the image itself):
//! - **forward**: `Y[b] = W[Cout, Cin·k²] · cols(X[b])`;
//! - **input gradient**: the forward again, over the output's gradient, with the weights
//!   flipped in space and their channel axes swapped, padded by `k − 1 − padding`;
//! - **weight gradient**: `Σ_b dY[b] · cols(X[b])ᵀ`, a share of the images per thread.
//!
//! Images run in parallel (rayon) natively, one after another in the browser. [`CpuConv2d`]
//! is a burn backend extension: `Flex` runs the kernels, `Autodiff` records the backward.

mod kernels;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

#[cfg(feature = "train")]
use burn::backend::TensorMetadata;
#[cfg(feature = "train")]
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::{Device, Tensor};

/// Whether [`conv2d`] computes a convolution of this `kernel` side, `stride` and `padding` on
/// `device`: the CPU backend, stride 1, and a padding that leaves a tap inside. (A strided 1×1
/// convolution is this one on a subsample: [`super::conv`].)
pub fn supports(device: &Device, kernel: usize, stride: usize, padding: usize) -> bool {
    super::flex_tensors::on_flex(device) && kernel >= 1 && stride == 1 && padding < kernel
}

/// The convolution and its two gradients as one backend extension (see the module docs).
/// Tensors are NCHW; weights `[out_channels, in_channels, k, k]`; no bias (added outside).
#[backend_extension(Flex, Autodiff: cfg(feature = "train"))]
pub trait CpuConv2d: Backend {
    /// The convolution of `input` by `weight`, stride 1, zero `padding` on both axes.
    fn cpu_conv2d(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: usize,
    ) -> FloatTensor<Self>;

    /// The gradient of [`Self::cpu_conv2d`] with respect to its input, from its output's.
    fn cpu_conv2d_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: usize,
    ) -> FloatTensor<Self>;

    /// The gradient of [`Self::cpu_conv2d`] with respect to its `kernel × kernel` weight.
    fn cpu_conv2d_weight_grad(
        input: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: usize,
        padding: usize,
    ) -> FloatTensor<Self>;
}

#[cfg(feature = "train")]
impl<B: CpuConv2d, C: CheckpointStrategy> CpuConv2d for Autodiff<B, C> {
    fn cpu_conv2d(
        input: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: usize,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv2dBackward;

        impl<B: CpuConv2d> Backward<B, 2> for Conv2dBackward {
            type State = (NodeId, NodeId, usize);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_input, node_weight] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (input_state, weight_state, padding) = ops.state;
                let input: FloatTensor<B> = checkpointer.retrieve_node_output(input_state);
                let weight: FloatTensor<B> = checkpointer.retrieve_node_output(weight_state);
                if let Some(node) = node_input {
                    let input_grad =
                        B::cpu_conv2d_input_grad(grad.clone(), weight.clone(), padding);
                    grads.register::<B>(node.id, input_grad);
                }
                if let Some(node) = node_weight {
                    let kernel = weight.shape()[2];
                    let weight_grad = B::cpu_conv2d_weight_grad(input, grad, kernel, padding);
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
                    B::cpu_conv2d(input.into_primitive(), weight.into_primitive(), padding);
                prep.finish((input_state, weight_state, padding), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::cpu_conv2d(input.into_primitive(), weight.into_primitive(), padding))
            }
        }
    }

    // The gradients are only called by the backward above, on the inner backend; called on
    // autodiff tensors they compute the same values, untracked.
    fn cpu_conv2d_input_grad(
        grad: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        padding: usize,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::cpu_conv2d_input_grad(
            grad.into_primitive(),
            weight.into_primitive(),
            padding,
        ))
    }

    fn cpu_conv2d_weight_grad(
        input: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::cpu_conv2d_weight_grad(
            input.into_primitive(),
            grad.into_primitive(),
            kernel,
            padding,
        ))
    }
}

/// The stride-1 convolution of `input` by `weight` (no bias) with the CPU kernels,
/// differentiable. Call it only where [`supports`] says so.
///
/// # Shapes
/// - `input`: `[batch, in_channels, height, width]`
/// - `weight`: `[out_channels, in_channels, k, k]`
/// - output: `[batch, out_channels, height + 2·padding − k + 1, width + 2·padding − k + 1]`
pub fn conv2d(input: Tensor<4>, weight: Tensor<4>, padding: usize) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::cpu_conv2d(
        input.into_dispatch(),
        weight.into_dispatch(),
        padding,
    ))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
