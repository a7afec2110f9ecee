//! Batch normalisation in training mode, composed of reductions along contiguous axes.
//!
//! Why: burn's default `batch_norm_train` (which burn-flex, the CPU backend, does not
//! override) takes each channel's statistics over `x.swap_dims(0, 1).reshape([C, −1])`, a full
//! transposed copy of the activation, twice in the forward and twice more in the backward. On
//! the CPU those copies took about 10 % of a training step (`copy_2d_tiled` fell from 18 % to
//! 9 % of the profile without them; BENCHMARKS.md). Summing over `[B, C, H·W]`'s last axis
//! and then its first reads the activation in memory order and copies nothing; autodiff
//! derives the backward from the same reductions and element-wise operations.

use burn::nn::BatchNorm;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use crate::model::conv::on_native_cpu;

/// Where training takes the batch norm composed ([`batch_norm_train_composed`]): the CPU
/// backend of native builds, and a GPU, where burn's copies cost as much (the WebGPU page's
/// kernels took 10 % less time without them on SwiftShader; BENCHMARKS.md). Not the browser's
/// CPU page, whose memory plan was measured with burn's.
pub(super) fn composed_on(device: &burn::tensor::Device) -> bool {
    #[cfg(feature = "gpu")]
    if crate::model::gpu_conv::on_gpu(device) {
        return true;
    }
    on_native_cpu(device)
}

/// Applies `norm` to `input`: in training on the CPU backend of native builds and on a GPU,
/// through [`batch_norm_train_composed`] (updating the running statistics as burn's module does);
/// anywhere else, through burn's module. Both give the same values, gradients and statistics.
///
/// # Shapes
/// - `input`: `[batch, channels, height, width]`
/// - output: as `input`
pub fn forward_batch_norm(norm: &BatchNorm, input: Tensor<4>) -> Tensor<4> {
    let device = input.device();
    let training = device.is_autodiff() && norm.training.is_enabled();
    if !(training && composed_on(&device)) {
        return norm.forward(input);
    }
    let (output, mean, variance) =
        batch_norm_train_composed(input, norm.gamma.val(), norm.beta.val(), norm.epsilon);
    update_running_statistics(norm, mean, variance);
    output
}

/// `relu(norm(input))`: in training on the CPU backend (natively and in the browser) and on a
/// GPU through the fused kernels of [`super::bn_relu`] (updating the running statistics as burn's module
/// does), anywhere else as [`forward_batch_norm`] then a ReLU. Both give the same values,
/// gradients and statistics.
///
/// # Shapes
/// - `input`: `[batch, channels, height, width]`
/// - output: as `input`
pub fn forward_batch_norm_relu(norm: &BatchNorm, input: Tensor<4>) -> Tensor<4> {
    let device = input.device();
    let training = device.is_autodiff() && norm.training.is_enabled();
    if !(training && super::bn_relu::supports(&device)) {
        return relu(forward_batch_norm(norm, input));
    }
    let (output, mean, variance) = super::bn_relu::batch_norm_relu_train(
        input,
        norm.gamma.val(),
        norm.beta.val(),
        norm.epsilon,
    );
    update_running_statistics(norm, mean, variance);
    output
}

/// Moves `norm`'s running statistics towards this batch's `mean` and `variance` by its
/// momentum, as burn's `BatchNorm::forward_train` does.
fn update_running_statistics(norm: &BatchNorm, mean: Tensor<1>, variance: Tensor<1>) {
    let device = mean.device();
    let momentum = norm.momentum;
    let running_mean = norm.running_mean.value_sync().to_device(&device);
    let running_var = norm.running_var.value_sync().to_device(&device);
    let running_mean =
        running_mean.mul_scalar(1.0 - momentum).add(mean.detach().mul_scalar(momentum));
    let running_var =
        running_var.mul_scalar(1.0 - momentum).add(variance.detach().mul_scalar(momentum));
    norm.running_mean.update(running_mean.detach());
    norm.running_var.update(running_var.detach());
}

/// Normalises each channel of `x` by its batch mean and biased variance, then scales by
/// `gamma` and shifts by `beta`. Returns the output and each channel's mean and variance.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`; `gamma`, `beta`: `[channels]`
/// - output: as `x`; means and variances: `[channels]`
pub fn batch_norm_train_composed(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let [batch, channels, height, width] = x.dims();
    let count = (batch * height * width) as f64;
    let rows = x.reshape([batch, channels, height * width]);
    let mean = rows.clone().sum_dim(2).sum_dim(0).div_scalar(count);
    let centered = rows - mean.clone();
    let variance = centered.clone().square().sum_dim(2).sum_dim(0).div_scalar(count);
    let scale =
        variance.clone().add_scalar(epsilon).sqrt().recip() * gamma.reshape([1, channels, 1]);
    let output = centered * scale + beta.reshape([1, channels, 1]);
    (
        output.reshape([batch, channels, height, width]),
        mean.reshape([channels]),
        variance.reshape([channels]),
    )
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
