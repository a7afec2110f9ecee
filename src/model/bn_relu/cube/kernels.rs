//! The cubecl kernels behind [`super`]'s `BatchNormRelu` for the GPU; their launches are in
//! `mod.rs`. All tensors are contiguous `f32`, the activations seen as `[batch, channels,
//! pixels]` rows.

use cubecl::prelude::*;

use crate::model::cube_tensors::cube_sum;

/// Where a unit of a channel's cube starts and how it steps over `[batch, channels, groups]`
/// (a row's values in groups of a reduction's `group`): a row's groups are shared by up to all
/// the cube's units, the rows by the units left over (a small plane leaves units for other
/// images' rows). Returns (first row, row step, first group, group step, whether the unit takes
/// part).
#[cube]
fn unit_share(groups: usize, #[comptime] units: usize) -> (usize, usize, usize, usize, bool) {
    let unit = UNIT_POS as usize;
    let lanes = clamp_max(groups, units);
    let rows_at_once = units / lanes;
    let row = unit / lanes;
    (row, rows_at_once, unit % lanes, lanes, row < rows_at_once)
}

/// This unit's tile in an element-wise kernel over `rows` rows of `pixels` values: its row, the
/// tile's first value, and whether the unit has a tile (the last cube's spare units do not).
#[cube]
fn unit_tile(rows: usize, pixels: usize, #[comptime] per_unit: usize) -> (usize, usize, bool) {
    let tiles = pixels.div_ceil(per_unit);
    (ABSOLUTE_POS / tiles, (ABSOLUTE_POS % tiles) * per_unit, ABSOLUTE_POS < rows * tiles)
}

/// `statistics[0, c]` = channel `c`'s mean over the batch and pixels of `input`
/// (`[batch, channels, pixels]`), `statistics[1, c]` its biased variance; cube `c` takes channel
/// `c`, a unit `group` neighbouring values at each step.
#[cube(launch_unchecked)]
pub(super) fn statistics_kernel<F: Float>(
    input: &Tensor<F>,
    statistics: &mut Tensor<F>,
    #[comptime] units: usize,
    #[comptime] group: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (batch, channels, pixels) = (input.shape(0), input.shape(1), input.shape(2));
    let c = CUBE_POS;
    let groups = pixels / group;
    let (row0, rows_step, group0, group_step, active) = unit_share(groups, units);
    let count = F::cast_from(batch * pixels);

    let mut sum = F::new(0.0);
    if active {
        for b in range_stepped(row0, batch, rows_step) {
            let start = (b * channels + c) * pixels;
            for q in range_stepped(group0, groups, group_step) {
                #[unroll]
                for k in 0..group {
                    sum += input[start + q * group + k];
                }
            }
        }
    }
    let mean = cube_sum::<F>(sum, units) / count;

    // The centred squares in a second read: no loss of precision when the mean is large
    // against the spread.
    let mut squares = F::new(0.0);
    if active {
        for b in range_stepped(row0, batch, rows_step) {
            let start = (b * channels + c) * pixels;
            for q in range_stepped(group0, groups, group_step) {
                #[unroll]
                for k in 0..group {
                    let centred = input[start + q * group + k] - mean;
                    squares += centred * centred;
                }
            }
        }
    }
    let variance = cube_sum::<F>(squares, units) / count;
    if UNIT_POS == 0 {
        statistics[c] = mean;
        statistics[channels + c] = variance;
    }
}

/// Channel `c`'s `(scale, shift, 1/σ, μ)`: the unit's output is `relu(x · scale + shift)`,
/// `scale = γ/σ`, `shift = β − μ · scale`, `σ = √(σ² + ε)`.
#[cube]
fn affine<F: Float>(
    c: usize,
    gamma: &Tensor<F>,
    beta: &Tensor<F>,
    statistics: &Tensor<F>,
    epsilon: f32,
) -> (F, F, F, F) {
    let channels = gamma.shape(0);
    let mean = statistics[c];
    let inverse_std = F::new(1.0) / (statistics[channels + c] + F::cast_from(epsilon)).sqrt();
    let scale = gamma[c] * inverse_std;
    (scale, beta[c] - mean * scale, inverse_std, mean)
}

/// `output = relu(input · scale + shift)` per channel, over `[batch, channels, pixels]`; a unit
/// takes `pixels_per_unit` neighbouring values of one row; `whole`: they tile the row exactly.
#[cube(launch_unchecked)]
pub(super) fn forward_kernel<F: Float>(
    input: &Tensor<F>,
    gamma: &Tensor<F>,
    beta: &Tensor<F>,
    statistics: &Tensor<F>,
    output: &mut Tensor<F>,
    epsilon: f32,
    #[comptime] pixels_per_unit: usize,
    #[comptime] whole: bool,
    #[define(F)] _dtype: ElemType,
) {
    let (batch, channels, pixels) = (input.shape(0), input.shape(1), input.shape(2));
    let (row, p0, inside) = unit_tile(batch * channels, pixels, pixels_per_unit);
    if !inside {
        terminate!();
    }
    let (scale, shift, _inverse_std, _mean) =
        affine(row % channels, gamma, beta, statistics, epsilon);
    #[unroll]
    for k in 0..pixels_per_unit {
        if whole || p0 + k < pixels {
            let at = row * pixels + p0 + k;
            output[at] = (input[at] * scale + shift).max(F::new(0.0));
        }
    }
}

/// `sums[c]` = `Σ g·x̂` (γ's gradient) and `sums[channels + c]` = `Σ g` (β's) over channel `c`,
/// where `g` is `grad` where the ReLU passed and `x̂ = (x − μ)/σ`; cube `c` takes channel `c`.
#[cube(launch_unchecked)]
pub(super) fn backward_sums_kernel<F: Float>(
    input: &Tensor<F>,
    grad: &Tensor<F>,
    gamma: &Tensor<F>,
    beta: &Tensor<F>,
    statistics: &Tensor<F>,
    sums: &mut Tensor<F>,
    epsilon: f32,
    #[comptime] units: usize,
    #[comptime] group: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (batch, channels, pixels) = (input.shape(0), input.shape(1), input.shape(2));
    let c = CUBE_POS;
    let (scale, shift, inverse_std, mean) = affine(c, gamma, beta, statistics, epsilon);
    let groups = pixels / group;
    let (row0, rows_step, group0, group_step, active) = unit_share(groups, units);
    let mut g_sum = F::new(0.0);
    let mut gx_sum = F::new(0.0);
    if active {
        for b in range_stepped(row0, batch, rows_step) {
            let start = (b * channels + c) * pixels;
            for q in range_stepped(group0, groups, group_step) {
                #[unroll]
                for k in 0..group {
                    let at = start + q * group + k;
                    let x = input[at];
                    let g = select(x * scale + shift > F::new(0.0), grad[at], F::new(0.0));
                    g_sum += g;
                    gx_sum += g * ((x - mean) * inverse_std);
                }
            }
        }
    }
    let g_total = cube_sum::<F>(g_sum, units);
    let gx_total = cube_sum::<F>(gx_sum, units);
    if UNIT_POS == 0 {
        sums[c] = gx_total;
        sums[channels + c] = g_total;
    }
}

/// `input_grad = γ/σ · (g − Σg/N − x̂ · Σg·x̂/N)` over `[batch, channels, pixels]`, from the
/// channels' `sums` of [`backward_sums_kernel`]; a unit takes values as in [`forward_kernel`].
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn input_grad_kernel<F: Float>(
    input: &Tensor<F>,
    grad: &Tensor<F>,
    gamma: &Tensor<F>,
    beta: &Tensor<F>,
    statistics: &Tensor<F>,
    sums: &Tensor<F>,
    input_grad: &mut Tensor<F>,
    epsilon: f32,
    #[comptime] pixels_per_unit: usize,
    #[comptime] whole: bool,
    #[define(F)] _dtype: ElemType,
) {
    let (batch, channels, pixels) = (input.shape(0), input.shape(1), input.shape(2));
    let (row, p0, inside) = unit_tile(batch * channels, pixels, pixels_per_unit);
    if !inside {
        terminate!();
    }
    let c = row % channels;
    let (scale, shift, inverse_std, mean) = affine(c, gamma, beta, statistics, epsilon);
    let count = F::cast_from(batch * pixels);
    let (mean_gx, mean_g) = (sums[c] / count, sums[channels + c] / count);
    #[unroll]
    for k in 0..pixels_per_unit {
        if whole || p0 + k < pixels {
            let at = row * pixels + p0 + k;
            let x = input[at];
            let g = select(x * scale + shift > F::new(0.0), grad[at], F::new(0.0));
            input_grad[at] = scale * (g - mean_g - (x - mean) * inverse_std * mean_gx);
        }
    }
}
