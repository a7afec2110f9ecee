//! The cubecl kernels behind [`GpuConv2d`] and their launches on burn-cubecl tensors.
//!
//! All tensors are contiguous NCHW `f32`. A thread owns a tile of outputs held in registers:
//! the loads of one kernel row serve all of its taps, and each weight serves several pixels
//! (see the module docs of the parent for the tiles). The kernels never test a load: padded
//! convolutions read a zero-padded copy ([`pad`]), and a tile's pixels past a row's end read
//! its last pixel, their results dropped. On SwiftShader the tests and masks had cost more
//! than the copy (a 3×3's forward took 104 ms with them, 65 ms after; BENCHMARKS.md).

use burn::backend::ops::FloatTensorOps;
use burn::backend::{DType, TensorMetadata};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeDim, calculate_cube_count_elemwise};

use super::GpuConv2d;

/// About how many threads the weight gradient aims for: the batch is split into shares until
/// there are this many (each share's partial sums are added afterwards). Enough to keep every
/// core of a software GPU and the units of a small hardware one busy.
const WEIGHT_GRAD_THREADS: usize = 4096;

/// Where position `at` of an axis padded by `padding` zeros is in the unpadded axis of
/// `size`, and whether it is inside it; outside, the index is 0, so it can be read.
#[cube]
fn input_position(at: usize, padding: usize, size: usize) -> (usize, bool) {
    let index = at - padding;
    let valid = at >= padding && index < size;
    (select(valid, index, 0), valid)
}

/// `output[b, o, y, x] = Σ input[b, c, y·s + i, x·s + j] · weight[o, c, i, j]`, the input
/// already padded. `transposed`: the weight is `[in, out, k, k]` with its taps flipped, read
/// as `weight[c, o, k − 1 − i, k − 1 − j]` (the input gradient's convolution). A tile's
/// pixels past the row's end read its last input column; they are not written.
#[cube(launch_unchecked)]
fn conv2d_kernel<F: Float>(
    input: &Tensor<F>,
    weight: &Tensor<F>,
    output: &mut Tensor<F>,
    #[comptime] kernel: usize,
    #[comptime] stride: usize,
    #[comptime] transposed: bool,
    #[comptime] tile_channels: usize,
    #[comptime] tile_pixels: usize,
    #[define(F)] _dtype: ElemType,
) {
    let batch = output.shape(0);
    let out_channels = output.shape(1);
    let out_height = output.shape(2);
    let out_width = output.shape(3);
    let in_channels = input.shape(1);
    let in_height = input.shape(2);
    let in_width = input.shape(3);

    let pixel_tiles = out_width.div_ceil(tile_pixels);
    let channel_tiles = out_channels / tile_channels;
    if ABSOLUTE_POS >= batch * channel_tiles * out_height * pixel_tiles {
        terminate!();
    }
    // Neighbouring threads take neighbouring pixels of the same channels: their weight reads
    // are the same addresses.
    let x0 = (ABSOLUTE_POS % pixel_tiles) * tile_pixels;
    let rest = ABSOLUTE_POS / pixel_tiles;
    let y = rest % out_height;
    let rest = rest / out_height;
    let o0 = (rest % channel_tiles) * tile_channels;
    let b = rest / channel_tiles;

    let row_len = comptime!((tile_pixels - 1) * stride + kernel);
    let mut sums = Array::<F>::new(comptime!(tile_channels * tile_pixels));
    #[unroll]
    for t in 0..comptime!(tile_channels * tile_pixels) {
        sums[t] = F::new(0.0);
    }
    let mut row = Array::<F>::new(row_len);

    let plane = in_height * in_width;
    for c in 0..in_channels {
        let channel_start = (b * in_channels + c) * plane;
        #[unroll]
        for i in 0..kernel {
            let row_start = channel_start + (y * stride + i) * in_width;
            #[unroll]
            for j in 0..row_len {
                // A stride longer than the kernel skips some columns.
                if comptime!(kernel >= stride || j % stride < kernel) {
                    row[j] = input[row_start + clamp_max(x0 * stride + j, in_width - 1)];
                }
            }
            #[unroll]
            for j in 0..kernel {
                #[unroll]
                for o in 0..tile_channels {
                    // Read in place: neighbouring threads read the same weights, so
                    // their layout does not matter, and reordering them would be a copy.
                    let w = if comptime!(transposed) {
                        let (fi, fj) = (comptime!(kernel - 1 - i), comptime!(kernel - 1 - j));
                        weight[((c * out_channels + o0 + o) * kernel + fi) * kernel + fj]
                    } else {
                        weight[(((o0 + o) * in_channels + c) * kernel + i) * kernel + j]
                    };
                    #[unroll]
                    for p in 0..tile_pixels {
                        sums[o * tile_pixels + p] += row[p * stride + j] * w;
                    }
                }
            }
        }
    }

    #[unroll]
    for o in 0..tile_channels {
        let out_start = ((b * out_channels + o0 + o) * out_height + y) * out_width;
        #[unroll]
        for p in 0..tile_pixels {
            if x0 + p < out_width {
                output[out_start + x0 + p] = sums[o * tile_pixels + p];
            }
        }
    }
}

/// `partial[s, o, c, i, j] = Σ grad[b, o, y, x] · input[b, c, y·s + i − p, x·s + j − p]` over
/// the batch share `s` (`batches_per_share` images) and every output pixel. A thread owns
/// `tile_channels` output channels × `tile_inputs` input channels × every tap. `ragged`: the
/// output's rows do not divide into tiles of pixels.
#[cube(launch_unchecked)]
fn conv2d_weight_grad_kernel<F: Float>(
    input: &Tensor<F>,
    grad: &Tensor<F>,
    partial: &mut Tensor<F>,
    batches_per_share: usize,
    #[comptime] ragged: bool,
    #[comptime] kernel: usize,
    #[comptime] stride: usize,
    #[comptime] tile_channels: usize,
    #[comptime] tile_inputs: usize,
    #[comptime] tile_pixels: usize,
    #[define(F)] _dtype: ElemType,
) {
    let shares = partial.shape(0);
    let out_channels = partial.shape(1);
    let in_channels = partial.shape(2);
    let batch = input.shape(0);
    let in_height = input.shape(2);
    let in_width = input.shape(3);
    let out_height = grad.shape(2);
    let out_width = grad.shape(3);

    let channel_tiles = out_channels / tile_channels;
    let input_tiles = in_channels / tile_inputs;
    if ABSOLUTE_POS >= shares * channel_tiles * input_tiles {
        terminate!();
    }
    // Neighbouring threads take neighbouring input channels of the same output channels:
    // their gradient reads are the same addresses.
    let c0 = (ABSOLUTE_POS % input_tiles) * tile_inputs;
    let rest = ABSOLUTE_POS / input_tiles;
    let o0 = (rest % channel_tiles) * tile_channels;
    let share = rest / channel_tiles;
    let first = share * batches_per_share;
    let end = clamp_max(first + batches_per_share, batch);

    let taps = comptime!(kernel * kernel);
    let per_output = comptime!(tile_inputs * kernel * kernel);
    let row_len = comptime!((tile_pixels - 1) * stride + kernel);
    let mut sums = Array::<F>::new(comptime!(tile_channels * tile_inputs * kernel * kernel));
    #[unroll]
    for t in 0..comptime!(tile_channels * tile_inputs * kernel * kernel) {
        sums[t] = F::new(0.0);
    }
    let mut grads = Array::<F>::new(comptime!(tile_channels * tile_pixels));
    let mut row = Array::<F>::new(row_len);

    let pixel_tiles = out_width.div_ceil(tile_pixels);
    let in_plane = in_height * in_width;
    let out_plane = out_height * out_width;
    for b in first..end {
        let grad_start = (b * out_channels + o0) * out_plane;
        for y in 0..out_height {
            for tile in 0..pixel_tiles {
                let x0 = tile * tile_pixels;
                #[unroll]
                for o in 0..tile_channels {
                    #[unroll]
                    for p in 0..tile_pixels {
                        let at = grad_start + o * out_plane + y * out_width + x0 + p;
                        grads[o * tile_pixels + p] = if comptime!(ragged) {
                            // The last tile of a row overhangs it: zeros there.
                            let valid = x0 + p < out_width;
                            select(valid, grad[select(valid, at, 0)], F::new(0.0))
                        } else {
                            grad[at]
                        };
                    }
                }
                #[unroll]
                for c in 0..tile_inputs {
                    let input_start = (b * in_channels + c0 + c) * in_plane;
                    #[unroll]
                    for i in 0..kernel {
                        let row_start = input_start + (y * stride + i) * in_width;
                        #[unroll]
                        for j in 0..row_len {
                            // A stride longer than the kernel skips some columns.
                            if comptime!(kernel >= stride || j % stride < kernel) {
                                let x = clamp_max(x0 * stride + j, in_width - 1);
                                row[j] = input[row_start + x];
                            }
                        }
                        #[unroll]
                        for j in 0..kernel {
                            #[unroll]
                            for o in 0..tile_channels {
                                let at = o * per_output + (c * kernel + i) * kernel + j;
                                let mut sum = sums[at];
                                #[unroll]
                                for p in 0..tile_pixels {
                                    sum += grads[o * tile_pixels + p] * row[p * stride + j];
                                }
                                sums[at] = sum;
                            }
                        }
                    }
                }
            }
        }
    }

    #[unroll]
    for o in 0..tile_channels {
        #[unroll]
        for c in 0..tile_inputs {
            let out_start = ((share * out_channels + o0 + o) * in_channels + c0 + c) * taps;
            #[unroll]
            for t in 0..taps {
                partial[out_start + t] = sums[o * per_output + c * taps + t];
            }
        }
    }
}

/// The plane (`batch · channels + channel`), row and column of element `at` of a contiguous
/// NCHW tensor of planes `height × width`.
#[cube]
fn plane_position(at: usize, height: usize, width: usize) -> (usize, usize, usize) {
    let rest = at / width;
    (rest / height, rest % height, at % width)
}

/// `output[b, c, y, x] = input[b, c, y / s, x / s]` where `s` divides both, else 0: the input
/// gradient of a strided 1×1 convolution, from the one at the output's resolution.
#[cube(launch_unchecked)]
fn spread_kernel<F: Float>(
    input: &Tensor<F>,
    output: &mut Tensor<F>,
    #[comptime] stride: usize,
    #[define(F)] _dtype: ElemType,
) {
    if ABSOLUTE_POS >= output.len() {
        terminate!();
    }
    let (plane, y, x) = plane_position(ABSOLUTE_POS, output.shape(2), output.shape(3));
    let (sy, sx) = (y / stride, x / stride);
    let (in_height, in_width) = (input.shape(2), input.shape(3));
    let valid = sy * stride == y && sx * stride == x && sy < in_height && sx < in_width;
    let at = (plane * in_height + sy) * in_width + sx;
    output[ABSOLUTE_POS] = select(valid, input[select(valid, at, 0)], F::new(0.0));
}

/// `output` is `input` with `padding` zeros around each plane.
#[cube(launch_unchecked)]
fn pad_kernel<F: Float>(
    input: &Tensor<F>,
    output: &mut Tensor<F>,
    padding: usize,
    #[define(F)] _dtype: ElemType,
) {
    if ABSOLUTE_POS >= output.len() {
        terminate!();
    }
    let (plane, y, x) = plane_position(ABSOLUTE_POS, output.shape(2), output.shape(3));
    let (in_height, in_width) = (input.shape(2), input.shape(3));
    let (iy, row_valid) = input_position(y, padding, in_height);
    let (ix, column_valid) = input_position(x, padding, in_width);
    let at = (plane * in_height + iy) * in_width + ix;
    output[ABSOLUTE_POS] = select(row_valid && column_valid, input[at], F::new(0.0));
}

/// A thread's tile: output channels × input channels (the weight gradient's; 1 elsewhere) ×
/// pixels of a row.
#[derive(Debug, Clone, Copy)]
struct Tile {
    channels: usize,
    inputs: usize,
    pixels: usize,
}

impl Tile {
    /// The tiles measured fastest on SwiftShader (A2 at 32 px, Small-11, batch 64; BENCHMARKS.md):
    /// for a convolution 16 channels × 8 pixels, or 8 × 16 for a 1×1 without stride (whose
    /// planes are one row); for the weight gradient 8 × 8 channel pairs of a 1×1 (whose one tap
    /// would leave a thread little to do per load) and 8 output channels of a 3×3 with its 9
    /// taps, over 4 pixels. Channels that do not divide by the tile get a tile of 1 along that
    /// axis.
    fn for_conv(out_channels: usize, flat: bool) -> Self {
        let (channels, pixels) = if flat { (8, 16) } else { (16, 8) };
        Self { channels, inputs: 1, pixels }.fitted(out_channels, 1)
    }

    fn for_weight_grad(out_channels: usize, in_channels: usize, kernel: usize) -> Self {
        let inputs = if kernel == 1 { 8 } else { 1 };
        Self { channels: 8, inputs, pixels: 4 }.fitted(out_channels, in_channels)
    }

    fn fitted(mut self, out_channels: usize, in_channels: usize) -> Self {
        if !out_channels.is_multiple_of(self.channels) {
            self.channels = 1;
        }
        if !in_channels.is_multiple_of(self.inputs) {
            self.inputs = 1;
        }
        self
    }
}

fn dims(tensor: &CubeTensor) -> [usize; 4] {
    let shape = tensor.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

fn empty(like: &CubeTensor, shape: impl Into<Shape>) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        shape.into(),
        like.dtype,
    )
}

/// The cubes and their size for `threads` threads, one per unit of work.
fn grid(client: &Client, threads: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(client, threads);
    (calculate_cube_count_elemwise(client, threads, cube_dim), cube_dim)
}

/// Launches [`conv2d_kernel`] into `output`.
fn launch_conv2d(
    input: CubeTensor,
    weight: CubeTensor,
    output: CubeTensor,
    kernel: usize,
    stride: usize,
    transposed: bool,
) -> CubeTensor {
    // A 1×1 convolution without stride sees no neighbourhood: its planes are rows of
    // height · width pixels, so the tiles never straddle a row's end.
    let flat = kernel == 1 && stride == 1;
    let (input, view) =
        if flat { (flatten(input), flatten(output.clone())) } else { (input, output.clone()) };
    let [batch, out_channels, out_height, out_width] = dims(&view);
    let tile = Tile::for_conv(out_channels, flat);
    let threads =
        batch * (out_channels / tile.channels) * out_height * out_width.div_ceil(tile.pixels);
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(&client, threads);
    let dtype = burn::backend::cubecl::dtype_to_storage_type(output.dtype);
    // SAFETY: every index the kernel reads or writes is below the shapes it is given: the
    // input is already padded, so the rows a kept output reads are inside it and columns past
    // a row's end are clamped to it; the threads stop at the output's size.
    unsafe {
        conv2d_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            input.into_tensor_arg(),
            weight.into_tensor_arg(),
            view.into_tensor_arg(),
            kernel,
            stride,
            transposed,
            tile.channels,
            tile.pixels,
            dtype,
        );
    }
    output
}

/// `[batch, channels, height, width]` as `[batch, channels, 1, height · width]` (contiguous).
fn flatten(tensor: CubeTensor) -> CubeTensor {
    let [batch, channels, height, width] = dims(&tensor);
    CubeBackend::float_reshape(tensor, Shape::new([batch, channels, 1, height * width]))
}

/// Launches [`spread_kernel`] into a new `[batch, channels, height, width]` tensor.
fn spread(input: CubeTensor, height: usize, width: usize, stride: usize) -> CubeTensor {
    let [batch, channels, ..] = dims(&input);
    let output = empty(&input, [batch, channels, height, width]);
    let threads = batch * channels * height * width;
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(&client, threads);
    let dtype = burn::backend::cubecl::dtype_to_storage_type(output.dtype);
    // SAFETY: threads stop at the output's size; input reads are masked to index 0.
    unsafe {
        spread_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            input.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            stride,
            dtype,
        );
    }
    output
}

fn check_f32(tensor: &CubeTensor) {
    assert_eq!(tensor.dtype, DType::F32, "the GPU convolution kernels take f32 tensors");
}

/// `input` with `padding` zeros around each plane ([`pad_kernel`]); itself if `padding` is 0.
/// The convolutions read a padded copy rather than testing every load: on SwiftShader the
/// tests cost more than the copy.
fn pad(input: CubeTensor, padding: usize) -> CubeTensor {
    if padding == 0 {
        return input;
    }
    let [batch, channels, height, width] = dims(&input);
    let output = empty(&input, [batch, channels, height + 2 * padding, width + 2 * padding]);
    let threads = output.meta.num_elements();
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(&client, threads);
    let dtype = burn::backend::cubecl::dtype_to_storage_type(output.dtype);
    // SAFETY: threads stop at the output's size; reads outside the input are at index 0, masked.
    unsafe {
        pad_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            input.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            padding,
            dtype,
        );
    }
    output
}

impl GpuConv2d for CubeBackend {
    fn gpu_conv2d(
        input: CubeTensor,
        weight: CubeTensor,
        stride: usize,
        padding: usize,
    ) -> CubeTensor {
        check_f32(&input);
        let shape = super::forward_shape(&input.shape(), &weight.shape(), stride, padding);
        let kernel = dims(&weight)[2];
        let input = into_contiguous(input);
        // A 1×1's weights are read transposed, `[in, out]`, where a thread's channels are
        // neighbours: one cache line a step instead of one per channel (its flip is nothing).
        let transposed = kernel == 1;
        let weight = if transposed {
            into_contiguous(Self::float_swap_dims(weight, 0, 1))
        } else {
            into_contiguous(weight)
        };
        let output = empty(&input, shape);
        launch_conv2d(pad(input, padding), weight, output, kernel, stride, transposed)
    }

    fn gpu_conv2d_input_grad(
        grad: CubeTensor,
        weight: CubeTensor,
        height: usize,
        width: usize,
        stride: usize,
        padding: usize,
    ) -> CubeTensor {
        check_f32(&grad);
        let [batch, _, out_height, out_width] = dims(&grad);
        let [_, in_channels, kernel, _] = dims(&weight);
        let grad = into_contiguous(grad);
        // The transposed convolution is a convolution of the output gradient with the kernel
        // flipped and its channel axes swapped (`transposed`).
        let weight = into_contiguous(weight);
        if stride == 1 {
            let output = empty(&grad, [batch, in_channels, height, width]);
            let grad = pad(grad, kernel - 1 - padding);
            return launch_conv2d(grad, weight, output, kernel, 1, true);
        }
        // Strided, 1×1 only (`supports`): the gradient reaches every stride-th pixel.
        let output = empty(&grad, [batch, in_channels, out_height, out_width]);
        let sparse = launch_conv2d(grad, weight, output, 1, 1, true);
        spread(sparse, height, width, stride)
    }

    fn gpu_conv2d_weight_grad(
        input: CubeTensor,
        grad: CubeTensor,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> CubeTensor {
        check_f32(&input);
        let [batch, in_channels, ..] = dims(&input);
        let [_, out_channels, ..] = dims(&grad);
        // The kernel reads a padded copy, as the forward does.
        let (input, grad) = (pad(into_contiguous(input), padding), into_contiguous(grad));
        let (input, grad) = if kernel == 1 && stride == 1 {
            (flatten(input), flatten(grad))
        } else {
            (input, grad)
        };
        let tile = Tile::for_weight_grad(out_channels, in_channels, kernel);
        let per_share = (out_channels / tile.channels) * (in_channels / tile.inputs);
        let shares = WEIGHT_GRAD_THREADS.div_ceil(per_share).clamp(1, batch);
        let batches_per_share = batch.div_ceil(shares);
        let shares = batch.div_ceil(batches_per_share);
        let partial = empty(&input, [shares, out_channels, in_channels, kernel * kernel]);
        let ragged = !dims(&grad)[3].is_multiple_of(tile.pixels);
        let threads = shares * per_share;
        let client = input.client.clone();
        let (cube_count, cube_dim) = grid(&client, threads);
        let dtype = burn::backend::cubecl::dtype_to_storage_type(input.dtype);
        // SAFETY: as in `launch_conv2d`; the batch share stops at the batch.
        unsafe {
            conv2d_weight_grad_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                input.into_tensor_arg(),
                grad.into_tensor_arg(),
                partial.clone().into_tensor_arg(),
                batches_per_share,
                ragged,
                kernel,
                stride,
                tile.channels,
                tile.inputs,
                tile.pixels,
                dtype,
            );
        }
        let summed = Self::float_sum_dim(partial, 0);
        Self::float_reshape(summed, Shape::new([out_channels, in_channels, kernel, kernel]))
    }
}
