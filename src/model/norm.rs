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

use crate::model::conv::on_native_cpu;

/// Where training takes the batch norm composed ([`batch_norm_train_composed`]): the CPU
/// backend of native builds, and a GPU, where burn's copies cost as much (the WebGPU page's
/// kernels took 10 % less time without them on SwiftShader; BENCHMARKS.md). Not the browser's
/// CPU page, whose memory plan was measured with burn's.
fn composed_on(device: &burn::tensor::Device) -> bool {
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
    // The running statistics as burn's `BatchNorm::forward_train` updates them.
    let momentum = norm.momentum;
    let running_mean = norm.running_mean.value_sync().to_device(&device);
    let running_var = norm.running_var.value_sync().to_device(&device);
    let running_mean =
        running_mean.mul_scalar(1.0 - momentum).add(mean.detach().mul_scalar(momentum));
    let running_var =
        running_var.mul_scalar(1.0 - momentum).add(variance.detach().mul_scalar(momentum));
    norm.running_mean.update(running_mean.detach());
    norm.running_var.update(running_var.detach());
    output
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Device, TensorData};

    use crate::model::testing::relative_error;
    use crate::rng::SeededRng;

    /// A tensor of `shape` drawn uniformly from `low..high` by a seeded generator of our own:
    /// the same values whichever tests run beside it (the CPU backend's generator is one for
    /// the process, so its draws depend on what else draws). A batch norm over two values per
    /// channel is ill-conditioned when the two nearly meet, and random draws found such pairs
    /// now and then.
    fn fixed<const D: usize>(
        shape: [usize; D],
        rng: &mut SeededRng,
        (low, high): (f32, f32),
        device: &Device,
    ) -> Tensor<D> {
        let values: Vec<f32> =
            (0..shape.iter().product::<usize>()).map(|_| low + (high - low) * rng.unit()).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    #[test]
    fn equals_burns_batch_norm_in_values_gradients_and_running_statistics() {
        equals_burns_batch_norm_on(Device::flex());
    }

    #[cfg(feature = "gpu")]
    #[test]
    fn equals_burns_batch_norm_on_the_gpu() {
        if let Some(gpu) = crate::model::testing::test_gpu() {
            equals_burns_batch_norm_on(gpu);
        }
    }

    fn equals_burns_batch_norm_on(device: Device) {
        let device = device.autodiff();
        // Otherwise `forward_batch_norm` would be burn's module, compared with itself.
        assert!(composed_on(&device), "the composed path runs on this device");
        for [batch, channels, side] in [[4, 3, 5], [1, 8, 4], [2, 16, 1]] {
            // Not the initial ones and zeros, so that a swapped gamma and beta shows; two
            // separate modules, since clones share their running statistics.
            let mut rng = SeededRng::new((batch * 100 + channels * 10 + side) as u64);
            let gamma = fixed([channels], &mut rng, (0.5, 2.0), &device);
            let beta = fixed([channels], &mut rng, (-1.5, 1.5), &device);
            let module = || {
                let mut norm = BatchNormConfig::new(channels).init(&device);
                norm.gamma = Param::from_tensor(gamma.clone());
                norm.beta = Param::from_tensor(beta.clone());
                norm
            };
            let (ours, theirs) = (module(), module());
            let x = fixed([batch, channels, side, side], &mut rng, (-3.5, 6.5), &device);
            let upstream = fixed([batch, channels, side, side], &mut rng, (-1.5, 1.5), &device);
            let case = format!("{batch}×{channels}×{side}²");

            let (x1, x2) = (x.clone().require_grad(), x.clone().require_grad());
            let a = forward_batch_norm(&ours, x1.clone());
            let b = theirs.forward(x2.clone());
            let error = relative_error(a.clone(), b.clone());
            assert!(error < 1e-4, "{case}: output differs by {error}");

            let ga = (a * upstream.clone()).sum().backward();
            let gb = (b * upstream).sum().backward();
            let error = relative_error(
                x1.grad(&ga).expect("a gradient"),
                x2.grad(&gb).expect("a gradient"),
            );
            assert!(error < 1e-4, "{case}: input gradient differs by {error}");
            for (name, p, q) in [
                ("gamma", ours.gamma.grad(&ga), theirs.gamma.grad(&gb)),
                ("beta", ours.beta.grad(&ga), theirs.beta.grad(&gb)),
            ] {
                let error = relative_error(p.expect("a gradient"), q.expect("a gradient"));
                assert!(error < 1e-4, "{case}: {name} gradient differs by {error}");
            }
            for (name, p, q) in [
                ("running mean", ours.running_mean.value(), theirs.running_mean.value()),
                ("running variance", ours.running_var.value(), theirs.running_var.value()),
            ] {
                let error = relative_error(p, q);
                assert!(error < 1e-5, "{case}: {name} differs by {error}");
            }
        }
    }
}
