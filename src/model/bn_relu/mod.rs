//! Batch normalisation (training mode) followed by a ReLU, fused on the CPU backend and the GPU.
//!
//! Why: every batch norm of a pre-activation ResNet feeds a ReLU, and composed of tensor
//! operations the pair is a dozen element-wise passes over the activation forward and more
//! backward, each allocating its output. On the native CPU backend those passes ran on one
//! thread and were the largest share of a training step's time (41 % of CPU samples with the
//! matrix products, BENCHMARKS.md "Where the native step's time goes"). Here the pair is three
//! reads of the input forward (mean, variance, output) and three backward (the per-channel sums
//! of the gradient, then the input's gradient), on every core.
//!
//! On the GPU, composed of tensor operations, the pair and the rest of the fused element-wise
//! work were 29 % of the WebGPU page's kernel time at 64 px; its kernels here ([`cube`]) are two
//! reads of the input for the statistics and one more for the output, and two passes backward.
//!
//! [`BatchNormRelu`] is a burn backend extension: `Flex` (the CPU backend) runs the kernels of
//! [`flex`], `Cube` (with `Fusion` over it) those of [`cube`], `Autodiff` records the backward,
//! which calls the backward kernels. The backward
//! recomputes the normalised input and the ReLU's gate from the input and the statistics
//! instead of keeping them: one activation kept per layer instead of several. Checked against
//! the composed batch norm and burn's ReLU in [`super::norm`]'s tests.

#[cfg(feature = "gpu")]
mod cube;
mod flex;

#[cfg(feature = "train")]
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
#[cfg(feature = "gpu")]
use burn::tensor::Shape;
use burn::tensor::{Device, Tensor};

/// Whether [`batch_norm_relu_train`] runs on `device`: the CPU backend (natively and in the
/// browser) and a GPU.
pub fn supports(device: &Device) -> bool {
    #[cfg(feature = "gpu")]
    if super::gpu_conv::on_gpu(device) {
        return true;
    }
    super::flex_tensors::on_flex(device)
}

/// Batch norm + ReLU and its gradients as one backend extension (see the module docs).
/// Tensors are NCHW; `statistics` is `[2, channels]`: each channel's mean, then its biased
/// variance.
#[backend_extension(
    Flex,
    Cube: cfg(feature = "gpu"),
    Fusion: cfg(feature = "gpu"),
    Autodiff: cfg(feature = "train")
)]
pub trait BatchNormRelu: Backend {
    /// Each channel's batch mean and biased variance, `[2, channels]`. Not differentiated.
    #[fusion(dtype = input, shape = Shape::new([2, input[1]]))]
    fn channel_statistics(input: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `relu(γ · (x − μ) / √(σ² + ε) + β)` with the channels' `statistics` (μ, σ²) of this
    /// batch; differentiated as if the statistics were computed from `input` (they are).
    #[fusion(dtype = input, shape = input)]
    fn batch_norm_relu(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        statistics: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;

    /// The gradients of [`Self::batch_norm_relu`] with respect to its input, γ and β, from the
    /// gradient of its output.
    #[fusion(meta = |input, gamma, _beta, _statistics, _grad, _epsilon| {
        (input.clone(), gamma.clone(), gamma.clone())
    })]
    fn batch_norm_relu_backward(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        statistics: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

#[cfg(feature = "train")]
impl<B: BatchNormRelu, C: CheckpointStrategy> BatchNormRelu for Autodiff<B, C> {
    fn channel_statistics(input: FloatTensor<Self>) -> FloatTensor<Self> {
        FloatTensor::<Self>::new(B::channel_statistics(input.into_primitive()))
    }

    fn batch_norm_relu(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        statistics: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct BatchNormReluBackward;

        impl<B: BatchNormRelu> Backward<B, 3> for BatchNormReluBackward {
            /// The input's, γ's and β's checkpoints, the statistics and ε.
            type State = (NodeId, NodeId, NodeId, B::FloatTensorPrimitive, f64);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_input, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (input, gamma, beta, statistics, epsilon) = ops.state;
                let input: FloatTensor<B> = checkpointer.retrieve_node_output(input);
                let gamma: FloatTensor<B> = checkpointer.retrieve_node_output(gamma);
                let beta: FloatTensor<B> = checkpointer.retrieve_node_output(beta);
                let (input_grad, gamma_grad, beta_grad) =
                    B::batch_norm_relu_backward(input, gamma, beta, statistics, grad, epsilon);
                for (node, grad) in
                    [(node_input, input_grad), (node_gamma, gamma_grad), (node_beta, beta_grad)]
                {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, grad);
                    }
                }
            }
        }

        let statistics = statistics.into_primitive();
        match BatchNormReluBackward
            .prepare::<C>([input.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let input_state = prep.checkpoint(&input);
                let gamma_state = prep.checkpoint(&gamma);
                let beta_state = prep.checkpoint(&beta);
                let output = B::batch_norm_relu(
                    input.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    statistics.clone(),
                    epsilon,
                );
                prep.finish((input_state, gamma_state, beta_state, statistics, epsilon), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::batch_norm_relu(
                input.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                statistics,
                epsilon,
            )),
        }
    }

    // Only called by the backward above, on the inner backend; on autodiff tensors it computes
    // the same values, untracked.
    fn batch_norm_relu_backward(
        input: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        statistics: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (input, gamma, beta) = B::batch_norm_relu_backward(
            input.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            statistics.into_primitive(),
            grad.into_primitive(),
            epsilon,
        );
        (
            FloatTensor::<Self>::new(input),
            FloatTensor::<Self>::new(gamma),
            FloatTensor::<Self>::new(beta),
        )
    }
}

/// Normalises each channel of `input` by its batch mean and biased variance, scales by `gamma`,
/// shifts by `beta` and applies a ReLU, with the fused kernels. Returns the output and each
/// channel's mean and variance (untracked). Call it only where [`supports`] says so.
///
/// # Shapes
/// - `input`: `[batch, channels, height, width]`; `gamma`, `beta`: `[channels]`
/// - output: as `input`; means and variances: `[channels]`
pub fn batch_norm_relu_train(
    input: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let channels = gamma.dims()[0];
    let statistics: Tensor<2> =
        Tensor::from_dispatch(Dispatch::channel_statistics(input.clone().into_dispatch()));
    let output = Tensor::from_dispatch(Dispatch::batch_norm_relu(
        input.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        statistics.clone().into_dispatch(),
        epsilon,
    ));
    let [mean, variance] =
        [0, 1].map(|row| statistics.clone().slice([row..row + 1, 0..channels]).reshape([channels]));
    (output, mean, variance)
}
