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
//! the composed batch norm within 1e-4. The kernels are in `kernels.rs`; here, their launches.

mod kernels;

use burn::backend::ops::FloatTensorOps;
use burn::backend::{DType, TensorMetadata};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::CubeDim;
use cubecl::prelude::*;

use super::BatchNormRelu;
use crate::model::cube_tensors::{empty, grid};
use kernels::{backward_sums_kernel, forward_kernel, input_grad_kernel, statistics_kernel};

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

fn check_f32(tensor: &CubeTensor) {
    assert_eq!(tensor.dtype, DType::F32, "the GPU batch norm kernels take f32 tensors");
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
    grid(&rows.client, shape[0] * shape[1] * shape[2].div_ceil(per_unit(shape[2]).0))
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
        let (per_unit, whole) = per_unit(input.shape()[2]);
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
                per_unit,
                whole,
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
        let (per_unit, whole) = per_unit(pixels);
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
                per_unit,
                whole,
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
