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

/// `value` if `keep`, else 0: the condition's mask ANDed with the value's bits. Why not
/// `if keep { value } else { 0.0 }`: for wasm, LLVM leaves that select scalar (one lane at a
/// time, BENCHMARKS.md "The CPU page's batch norm in four lanes"); a mask and an AND it
/// vectorises on every target.
#[inline(always)]
fn kept(value: f32, keep: bool) -> f32 {
    f32::from_bits(value.to_bits() & u32::from(keep).wrapping_neg())
}

/// `dy` where the ReLU passed (`x · scale + shift > 0`), else 0.
#[inline(always)]
fn gated(x: f32, dy: f32, scale: f32, shift: f32) -> f32 {
    kept(dy, x * scale + shift > 0.0)
}

/// `max(v, 0)` that vectorises for wasm too: `f32::max` is IEEE `maxNum`, which wasm's
/// `f32x4.max` is not, so LLVM keeps it scalar there; this is the same value (0 for a NaN).
#[inline(always)]
fn relu(v: f32) -> f32 {
    kept(v, v > 0.0)
}

/// Over one row of a channel: `(Σ g, Σ g·x̂)`, where `g` is the output's gradient `dy` where the
/// ReLU passed (`x · scale + shift > 0`, else 0) and `x̂ = (x − μ) / σ`. In eight lanes, summed
/// in the same order on every target.
fn gradient_sums(
    xs: &[f32],
    dys: &[f32],
    (scale, shift): (f32, f32),
    (mean, inverse_std): (f32, f32),
) -> (f32, f32) {
    let (g_lanes, gx_lanes) = gradient_lanes(xs, dys, (scale, shift), (mean, inverse_std));
    let tail = xs.len() / 8 * 8;
    let (mut g_sum, mut gx_sum) = (g_lanes.iter().sum::<f32>(), gx_lanes.iter().sum::<f32>());
    for (x, dy) in xs[tail..].iter().zip(&dys[tail..]) {
        let g = gated(*x, *dy, scale, shift);
        g_sum += g;
        gx_sum += g * ((x - mean) * inverse_std);
    }
    (g_sum, gx_sum)
}

/// The eight lanes of [`gradient_sums`] over `xs`' whole chunks of eight.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn gradient_lanes(
    xs: &[f32],
    dys: &[f32],
    (scale, shift): (f32, f32),
    (mean, inverse_std): (f32, f32),
) -> ([f32; 8], [f32; 8]) {
    let (mut g_lanes, mut gx_lanes) = ([0f32; 8], [0f32; 8]);
    for (x8, dy8) in xs.chunks_exact(8).zip(dys.chunks_exact(8)) {
        for lane in 0..8 {
            let g = gated(x8[lane], dy8[lane], scale, shift);
            g_lanes[lane] += g;
            gx_lanes[lane] += g * ((x8[lane] - mean) * inverse_std);
        }
    }
    (g_lanes, gx_lanes)
}

/// [`gradient_lanes`] in wasm's SIMD128, written out: LLVM vectorises the loop above natively
/// but leaves it one lane at a time for wasm (its sums were 8 % of the CPU page's step). The
/// same operations per lane, so the same values; the page's Check compares them with burn's.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn gradient_lanes(
    xs: &[f32],
    dys: &[f32],
    (scale, shift): (f32, f32),
    (mean, inverse_std): (f32, f32),
) -> ([f32; 8], [f32; 8]) {
    use core::arch::wasm32::{f32x4, f32x4_add, f32x4_gt, f32x4_mul, f32x4_splat, f32x4_sub};
    use core::arch::wasm32::{f32x4_extract_lane, v128, v128_and};
    let [scale, shift, mean, inverse_std, zero] =
        [scale, shift, mean, inverse_std, 0.0].map(|v| f32x4_splat(v));
    let (mut g_acc, mut gx_acc) = ([zero; 2], [zero; 2]);
    let load = |v: &[f32]| f32x4(v[0], v[1], v[2], v[3]);
    for (x8, dy8) in xs.chunks_exact(8).zip(dys.chunks_exact(8)) {
        for half in 0..2 {
            let (x, dy) = (load(&x8[4 * half..]), load(&dy8[4 * half..]));
            let passed = f32x4_gt(f32x4_add(f32x4_mul(x, scale), shift), zero);
            let g = v128_and(dy, passed);
            g_acc[half] = f32x4_add(g_acc[half], g);
            let normalised = f32x4_mul(f32x4_sub(x, mean), inverse_std);
            gx_acc[half] = f32x4_add(gx_acc[half], f32x4_mul(g, normalised));
        }
    }
    let lanes = |acc: [v128; 2]| {
        let [low, high] = acc;
        [
            f32x4_extract_lane::<0>(low),
            f32x4_extract_lane::<1>(low),
            f32x4_extract_lane::<2>(low),
            f32x4_extract_lane::<3>(low),
            f32x4_extract_lane::<0>(high),
            f32x4_extract_lane::<1>(high),
            f32x4_extract_lane::<2>(high),
            f32x4_extract_lane::<3>(high),
        ]
    };
    (lanes(g_acc), lanes(gx_acc))
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
                *y = relu(x * scale + shift);
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
                let g = gated(*x, *dy, scale, shift);
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
