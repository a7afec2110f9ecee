//! Every `stride`-th pixel of each plane, differentiable, on the CPU backend and the GPU.
//!
//! Why: a unit's strided 1×1 convolution and its projection read one subsample of their input
//! ([`super::conv::forward_conv_pair`]), whose backward spreads one gradient back to the
//! full-size input. burn computes them as a strided slice and a slice assignment into a
//! zero-filled tensor: on the CPU on one thread, on the GPU through general kernels that were
//! 4 % of the WebGPU page's kernel time at 64 px with their zero fill (BENCHMARKS.md, issue #35).
//! Here each is one pass: the CPU's ([`flex`]) a plane per task, the GPU's ([`cube`]) a value per
//! unit.
//!
//! [`Subsample`] is a burn backend extension: `Flex` and `Cube` (with `Fusion` over it) run the
//! kernels, `Autodiff` records the backward.

#[cfg(feature = "gpu")]
mod cube;
mod flex;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

#[cfg(feature = "train")]
use burn::backend::TensorMetadata;
#[cfg(feature = "train")]
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
#[cfg(feature = "gpu")]
use burn::tensor::Shape;
use burn::tensor::Tensor;

/// The subsample's shape: each plane's sides divided by `stride`, rounded up.
#[cfg(feature = "gpu")]
fn subsample_shape(input: &Shape, stride: usize) -> Shape {
    Shape::new([input[0], input[1], input[2].div_ceil(stride), input[3].div_ceil(stride)])
}

/// The subsample and its gradient as one backend extension (see the module docs). NCHW.
#[backend_extension(
    Flex,
    Cube: cfg(feature = "gpu"),
    Fusion: cfg(feature = "gpu"),
    Autodiff: cfg(feature = "train")
)]
pub trait Subsample: Backend {
    /// Every `stride`-th pixel of each plane of `input` on both axes, from the first.
    #[fusion(dtype = input, shape = subsample_shape(input, *stride))]
    fn subsample(input: FloatTensor<Self>, stride: usize) -> FloatTensor<Self>;

    /// The gradient of [`Self::subsample`] with respect to its input of `height × width`
    /// planes: `grad` at the pixels taken, zero elsewhere.
    #[fusion(dtype = grad, shape = Shape::new([grad[0], grad[1], *height, *width]))]
    fn subsample_grad(
        grad: FloatTensor<Self>,
        height: usize,
        width: usize,
        stride: usize,
    ) -> FloatTensor<Self>;
}

#[cfg(feature = "train")]
impl<B: Subsample, C: CheckpointStrategy> Subsample for Autodiff<B, C> {
    fn subsample(input: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SubsampleBackward;

        impl<B: Subsample> Backward<B, 1> for SubsampleBackward {
            /// The input's height and width, the stride.
            type State = (usize, usize, usize);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_input] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (height, width, stride) = ops.state;
                if let Some(node) = node_input {
                    grads.register::<B>(node.id, B::subsample_grad(grad, height, width, stride));
                }
            }
        }

        let shape = input.shape();
        match SubsampleBackward.prepare::<C>([input.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep
                .finish((shape[2], shape[3], stride), B::subsample(input.into_primitive(), stride)),
            OpsKind::UnTracked(prep) => prep.finish(B::subsample(input.into_primitive(), stride)),
        }
    }

    // Only called by the backward above, on the inner backend; on autodiff tensors it computes
    // the same values, untracked.
    fn subsample_grad(
        grad: FloatTensor<Self>,
        height: usize,
        width: usize,
        stride: usize,
    ) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::subsample_grad(grad.into_primitive(), height, width, stride))
    }
}

/// Every `stride`-th pixel of each axis of `input`, from the first, differentiable (its
/// backward spreads the gradient onto zeros in one pass). Runs on the CPU backend and a GPU.
///
/// # Shapes
/// - `input`: `[batch, channels, height, width]`
/// - output: `[batch, channels, ⌈height / stride⌉, ⌈width / stride⌉]`
pub fn subsample(input: Tensor<4>, stride: usize) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::subsample(input.into_dispatch(), stride))
}
