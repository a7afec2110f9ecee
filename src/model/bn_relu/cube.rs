//! The GPU's (burn-cubecl) kernels of [`super::BatchNormRelu`]: two per direction.
//!
//! Composed of tensor operations, the pair was the largest share of the WebGPU page's
//! element-wise kernel time at 64 px (29 % of a step's kernel time with the rest of the fused
//! element-wise work; BENCHMARKS.md, issue #35): burn's fusion joins the element-wise steps
//! between reductions, but the batch norm's reductions split it into many kernels, and autodiff
//! keeps and rereads their intermediates. Here:
//! - **statistics**: one cube a channel; its units sum a share of the channel's rows, the cube
//!   adds the shares in shared memory (the mean), then the same for the centred squares (the
//!   variance): two reads of the input;
//! - **forward**: `relu(x · scale + shift)` with each channel's scale and shift, one read and one
//!   write, a unit taking up to [`PIXELS`] neighbouring values of a row ([`per_unit`]);
//! - **backward sums**: one cube a channel, `Σ g` (β's gradient) and `Σ g·x̂` (γ's) in one read of
//!   the input and the output's gradient, `g` being the gradient where the ReLU passed;
//! - **input gradient**: `γ/σ · (g − Σg/N − x̂ · Σg·x̂/N)`, one read of each and one write.
//!
//! Sums are in `f32` in the cube's order (not the CPU kernels' order): the tests compare them to
//! the composed batch norm within 1e-4.

use burn::backend::ops::FloatTensorOps;
use burn::backend::{DType, TensorMetadata};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeDim, calculate_cube_count_elemwise};

use super::BatchNormRelu;

/// Units of a channel's cube in the two reductions. On SwiftShader a cube runs on one core, so
/// more units would only add switches at the cube's barriers; the channels are the cubes that
/// spread over the cores (16 or more in the networks).
const REDUCE_UNITS: usize = 64;

/// Neighbouring values of a row one unit of the element-wise kernels takes at most: the row's
/// channel (a division) and its scale and shift (a square root) are found once for them. On
/// SwiftShader 32 halved the two kernels' time against 4 (BENCHMARKS.md, issue #35).
const PIXELS: usize = 32;

/// A unit's values of a row of `pixels` in the element-wise kernels and whether they tile the
/// row exactly: the largest of `PIXELS`, its halves down to 4 that divides the row (no tests
/// of the row's end), else `PIXELS` with the tests.
fn per_unit(pixels: usize) -> (usize, bool) {
    let mut size = PIXELS;
    while size >= 4 {
        if pixels.is_multiple_of(size) {
            return (size, true);
        }
        size /= 2;
    }
    (PIXELS, false)
}

/// Values a unit of the reductions reads in a row at each step when a row's length allows:
/// fewer, longer steps of its loop (8 against 1: a third less time on SwiftShader).
const GROUP: usize = 8;

/// The reductions' group for rows of `pixels` values: `GROUP`, else 4, else 1, whichever
/// divides the row.
fn group(pixels: usize) -> usize {
    [GROUP, 4].into_iter().find(|size| pixels.is_multiple_of(*size)).unwrap_or(1)
}

/// The sum of every unit's `value` over a cube of `units` units, in shared memory (a tree);
/// every unit returns it.
#[cube]
fn cube_sum<F: Float>(value: F, #[comptime] units: usize) -> F {
    let mut shared = Shared::<[F]>::new_slice(units);
    let unit = UNIT_POS as usize;
    shared[unit] = value;
    sync_cube();
    #[unroll]
    for level in 0..comptime!(units.trailing_zeros() as usize) {
        let half = comptime!(units >> (level + 1));
        if unit < half {
            let other = shared[unit + half];
            shared[unit] += other;
        }
        sync_cube();
    }
    let total = shared[0];
    // Every unit has read the total before a next call overwrites the slots.
    sync_cube();
    total
}

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

/// `statistics[0, c]` = channel `c`'s mean over the batch and pixels of `input`
/// (`[batch, channels, pixels]`), `statistics[1, c]` its biased variance; cube `c` takes channel
/// `c`, a unit `group` neighbouring values at each step.
#[cube(launch_unchecked)]
fn statistics_kernel<F: Float>(
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
fn forward_kernel<F: Float>(
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
    let tiles = pixels.div_ceil(pixels_per_unit);
    if ABSOLUTE_POS >= batch * channels * tiles {
        terminate!();
    }
    let row = ABSOLUTE_POS / tiles;
    let p0 = (ABSOLUTE_POS % tiles) * pixels_per_unit;
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
fn backward_sums_kernel<F: Float>(
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
fn input_grad_kernel<F: Float>(
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
    let tiles = pixels.div_ceil(pixels_per_unit);
    if ABSOLUTE_POS >= batch * channels * tiles {
        terminate!();
    }
    let row = ABSOLUTE_POS / tiles;
    let p0 = (ABSOLUTE_POS % tiles) * pixels_per_unit;
    let c = row % channels;
    let (scale, shift, inverse_std, mean) = affine(c, gamma, beta, statistics, epsilon);
    let count = F::cast_from(batch * pixels);
    let (mean_gx, mean_g) = (sums[c] / count, sums[channels + c] / count);
    let factor = gamma[c] * inverse_std;
    #[unroll]
    for k in 0..pixels_per_unit {
        if whole || p0 + k < pixels {
            let at = row * pixels + p0 + k;
            let x = input[at];
            let g = select(x * scale + shift > F::new(0.0), grad[at], F::new(0.0));
            input_grad[at] = factor * (g - mean_g - (x - mean) * inverse_std * mean_gx);
        }
    }
}

fn check_f32(tensor: &CubeTensor) {
    assert_eq!(tensor.dtype, DType::F32, "the GPU batch norm kernels take f32 tensors");
}

fn empty(like: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_contiguous_dtype(like.client.clone(), like.device.clone(), shape, like.dtype)
}

/// `[batch, channels, height, width]` as `[batch, channels, height · width]`, contiguous.
fn rows(tensor: CubeTensor) -> CubeTensor {
    let shape = tensor.shape();
    let pixels = shape.num_elements() / (shape[0] * shape[1]).max(1);
    CubeBackend::float_reshape(into_contiguous(tensor), Shape::new([shape[0], shape[1], pixels]))
}

/// The launch of an element-wise kernel over `rows`' values: one unit per [`per_unit`] values.
fn elementwise_grid(rows: &CubeTensor) -> (CubeCount, CubeDim) {
    let shape = rows.shape();
    let units = shape[0] * shape[1] * shape[2].div_ceil(per_unit(shape[2]).0);
    let cube_dim = CubeDim::new(&rows.client, units);
    (calculate_cube_count_elemwise(&rows.client, units, cube_dim), cube_dim)
}

/// One cube of [`REDUCE_UNITS`] per channel.
fn channel_grid(channels: usize) -> (CubeCount, CubeDim) {
    (CubeCount::new_1d(channels as u32), CubeDim::new_1d(REDUCE_UNITS as u32))
}

fn dtype(tensor: &CubeTensor) -> ElemType {
    burn::backend::cubecl::dtype_to_storage_type(tensor.dtype)
}

impl BatchNormRelu for CubeBackend {
    fn channel_statistics(input: CubeTensor) -> CubeTensor {
        check_f32(&input);
        let input = rows(input);
        let [_, channels, pixels] = input.shape().dims();
        let statistics = empty(&input, Shape::new([2, channels]));
        let (cube_count, cube_dim) = channel_grid(channels);
        let (client, dtype) = (input.client.clone(), dtype(&input));
        // SAFETY: a cube per channel reads only its channel's rows (indices below the shape)
        // and writes its two statistics.
        unsafe {
            statistics_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                input.into_tensor_arg(),
                statistics.clone().into_tensor_arg(),
                REDUCE_UNITS,
                group(pixels),
                dtype,
            );
        }
        statistics
    }

    fn batch_norm_relu(
        input: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        statistics: CubeTensor,
        epsilon: f64,
    ) -> CubeTensor {
        check_f32(&input);
        let shape = input.shape();
        let input = rows(input);
        let pixels = input.shape()[2];
        let output = empty(&input, input.shape());
        let (cube_count, cube_dim) = elementwise_grid(&input);
        let (client, dtype) = (input.client.clone(), dtype(&input));
        // SAFETY: units stop at the rows' size; a tile's values past its row are not touched.
        unsafe {
            forward_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                input.into_tensor_arg(),
                into_contiguous(gamma).into_tensor_arg(),
                into_contiguous(beta).into_tensor_arg(),
                into_contiguous(statistics).into_tensor_arg(),
                output.clone().into_tensor_arg(),
                epsilon as f32,
                per_unit(pixels).0,
                per_unit(pixels).1,
                dtype,
            );
        }
        CubeBackend::float_reshape(output, shape)
    }

    fn batch_norm_relu_backward(
        input: CubeTensor,
        gamma: CubeTensor,
        beta: CubeTensor,
        statistics: CubeTensor,
        grad: CubeTensor,
        epsilon: f64,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        check_f32(&input);
        let shape = input.shape();
        let (input, grad) = (rows(input), rows(grad));
        let (gamma, beta, statistics) =
            (into_contiguous(gamma), into_contiguous(beta), into_contiguous(statistics));
        let [_, channels, pixels] = input.shape().dims();
        let sums = empty(&input, Shape::new([2 * channels]));
        let (client, dtype) = (input.client.clone(), dtype(&input));
        let (cube_count, cube_dim) = channel_grid(channels);
        // SAFETY: as in `channel_statistics`.
        unsafe {
            backward_sums_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                input.clone().into_tensor_arg(),
                grad.clone().into_tensor_arg(),
                gamma.clone().into_tensor_arg(),
                beta.clone().into_tensor_arg(),
                statistics.clone().into_tensor_arg(),
                sums.clone().into_tensor_arg(),
                epsilon as f32,
                REDUCE_UNITS,
                group(pixels),
                dtype,
            );
        }
        let input_grad = empty(&input, input.shape());
        let (cube_count, cube_dim) = elementwise_grid(&input);
        // SAFETY: as in `batch_norm_relu`.
        unsafe {
            input_grad_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                input.into_tensor_arg(),
                grad.into_tensor_arg(),
                gamma.into_tensor_arg(),
                beta.into_tensor_arg(),
                statistics.into_tensor_arg(),
                sums.clone().into_tensor_arg(),
                input_grad.clone().into_tensor_arg(),
                epsilon as f32,
                per_unit(pixels).0,
                per_unit(pixels).1,
                dtype,
            );
        }
        let gamma_grad =
            CubeBackend::float_slice(sums.clone(), &[burn::tensor::Slice::from(0..channels)]);
        let beta_grad =
            CubeBackend::float_slice(sums, &[burn::tensor::Slice::from(channels..2 * channels)]);
        (CubeBackend::float_reshape(input_grad, shape), gamma_grad, beta_grad)
    }
}
