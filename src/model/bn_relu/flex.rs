//! The CPU backend's (burn-flex) kernels of [`super::BatchNormRelu`]: plain loops over
//! `[batch, channels, pixels]` rows that the compiler vectorises, spread over the cores with
//! rayon in native builds (one thread in the browser).

use burn::backend::{DType, TensorMetadata};
use burn::tensor::Shape;
use burn_flex::{Flex, FlexTensor};

use super::BatchNormRelu;
use crate::model::flex_tensors::{fill_chunks, from_values as tensor, map_indices, values};

/// `[batch, channels, pixels]` of an NCHW shape.
fn rows_of(shape: &Shape) -> (usize, usize, usize) {
    (shape[0], shape[1], shape.num_elements() / (shape[0] * shape[1]).max(1))
}

/// Sum of a row, in eight lanes (which the compiler keeps in vector registers).
fn sum(row: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, value) in lanes.iter_mut().zip(chunk) {
            *lane += value;
        }
    }
    lanes.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Sum of `(value − mean)²` over a row, in eight lanes.
fn centred_squares(row: &[f32], mean: f32) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, value) in lanes.iter_mut().zip(chunk) {
            *lane += (value - mean) * (value - mean);
        }
    }
    lanes.iter().sum::<f32>() + rest.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()
}

/// Over one row of a channel: `(Σ g, Σ g·x̂)`, where `g` is the output's gradient `dy` where the
/// ReLU passed (`x · scale + shift > 0`, else 0) and `x̂ = (x − μ) / σ`. In eight lanes.
fn gradient_sums(
    xs: &[f32],
    dys: &[f32],
    (scale, shift): (f32, f32),
    (mean, inverse_std): (f32, f32),
) -> (f32, f32) {
    let gate = |x: f32, dy: f32| if x * scale + shift > 0.0 { dy } else { 0.0 };
    let (mut g_lanes, mut gx_lanes) = ([0f32; 8], [0f32; 8]);
    for (x8, dy8) in xs.chunks_exact(8).zip(dys.chunks_exact(8)) {
        for lane in 0..8 {
            let g = gate(x8[lane], dy8[lane]);
            g_lanes[lane] += g;
            gx_lanes[lane] += g * ((x8[lane] - mean) * inverse_std);
        }
    }
    let tail = xs.len() / 8 * 8;
    let (mut g_sum, mut gx_sum) = (g_lanes.iter().sum::<f32>(), gx_lanes.iter().sum::<f32>());
    for (x, dy) in xs[tail..].iter().zip(&dys[tail..]) {
        let g = gate(*x, *dy);
        g_sum += g;
        gx_sum += g * ((x - mean) * inverse_std);
    }
    (g_sum, gx_sum)
}

/// One channel's scale and shift: `relu(x · scale + shift)` is the unit's output, where
/// `scale = γ / √(σ² + ε)` and `shift = β − μ · scale`.
fn scale_shift(gamma: f32, beta: f32, mean: f32, variance: f32, epsilon: f64) -> (f32, f32) {
    let inverse_std = (1.0 / (f64::from(variance) + epsilon).sqrt()) as f32;
    let scale = gamma * inverse_std;
    (scale, beta - mean * scale)
}

impl BatchNormRelu for Flex {
    fn channel_statistics(input: FlexTensor) -> FlexTensor {
        let (batch, channels, pixels) = rows_of(&input.shape());
        let x = values(&input);
        let count = (batch * pixels) as f64;
        let row = |b: usize, c: usize| &x[(b * channels + c) * pixels..][..pixels];
        // Mean first, then the centred squares: a second read of the channel, but no loss of
        // precision when the mean is large against the spread.
        let statistics = map_indices(channels, |c| {
            let mean = ((0..batch).map(|b| f64::from(sum(row(b, c)))).sum::<f64>() / count) as f32;
            let squares = (0..batch).map(|b| f64::from(centred_squares(row(b, c), mean)));
            (mean, (squares.sum::<f64>() / count) as f32)
        });
        let (means, variances): (Vec<f32>, Vec<f32>) = statistics.into_iter().unzip();
        tensor([means, variances].concat(), Shape::new([2, channels]))
    }

    fn batch_norm_relu(
        input: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        statistics: FlexTensor,
        epsilon: f64,
    ) -> FlexTensor {
        let shape = input.shape();
        let (batch, channels, pixels) = rows_of(&shape);
        let (x, gamma, beta, statistics) =
            (values(&input), values(&gamma), values(&beta), values(&statistics));
        let (means, variances) = statistics.split_at(channels);
        let affine: Vec<(f32, f32)> = (0..channels)
            .map(|c| scale_shift(gamma[c], beta[c], means[c], variances[c], epsilon))
            .collect();
        let out = fill_chunks(batch * channels, pixels, 0, |row, y, _| {
            let (scale, shift) = affine[row % channels];
            for (y, x) in y.iter_mut().zip(&x[row * pixels..][..pixels]) {
                *y = (x * scale + shift).max(0.0);
            }
        });
        tensor(out, shape)
    }

    fn batch_norm_relu_backward(
        input: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        statistics: FlexTensor,
        grad: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = input.shape();
        let (batch, channels, pixels) = rows_of(&shape);
        let (x, gamma, beta, statistics, dy) =
            (values(&input), values(&gamma), values(&beta), values(&statistics), values(&grad));
        let (means, variances) = statistics.split_at(channels);
        let count = (batch * pixels) as f32;
        let affine: Vec<(f32, f32)> = (0..channels)
            .map(|c| scale_shift(gamma[c], beta[c], means[c], variances[c], epsilon))
            .collect();
        let inverse_std = |c: usize| (1.0 / (f64::from(variances[c]) + epsilon).sqrt()) as f32;
        // Per channel: Σ g and Σ g·x̂ over the batch and pixels, where g is the output's gradient
        // where the ReLU passed (x·scale + shift > 0) and x̂ = (x − μ)/σ.
        let sums = map_indices(channels, |c| {
            let (scale, shift) = affine[c];
            let (mean, inverse_std) = (means[c], inverse_std(c));
            let (mut beta_grad, mut gamma_grad) = (0f64, 0f64);
            for b in 0..batch {
                let start = (b * channels + c) * pixels;
                let (xs, dys) = (&x[start..][..pixels], &dy[start..][..pixels]);
                let (g, gx) = gradient_sums(xs, dys, (scale, shift), (mean, inverse_std));
                beta_grad += f64::from(g);
                gamma_grad += f64::from(gx);
            }
            (beta_grad as f32, gamma_grad as f32)
        });
        let (beta_grads, gamma_grads): (Vec<f32>, Vec<f32>) = sums.into_iter().unzip();
        // dx = γ/σ · (g − Σg/N − x̂ · Σg·x̂/N)
        let dx = fill_chunks(batch * channels, pixels, 0, |row, out, _| {
            let c = row % channels;
            let (scale, shift) = affine[c];
            let (mean, inverse_std) = (means[c], inverse_std(c));
            let (mean_g, mean_gx) = (beta_grads[c] / count, gamma_grads[c] / count);
            let factor = gamma[c] * inverse_std;
            let start = row * pixels;
            let (xs, dys) = (&x[start..][..pixels], &dy[start..][..pixels]);
            for ((out, x), dy) in out.iter_mut().zip(xs).zip(dys) {
                let g = if x * scale + shift > 0.0 { *dy } else { 0.0 };
                let normalised = (x - mean) * inverse_std;
                *out = factor * (g - mean_g - normalised * mean_gx);
            }
        });
        debug_assert_eq!(input.dtype(), DType::F32);
        (
            tensor(dx, shape),
            tensor(gamma_grads, Shape::new([channels])),
            tensor(beta_grads, Shape::new([channels])),
        )
    }
}
