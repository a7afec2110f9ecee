//! The cubecl kernels behind [`GpuConv2d`](super::GpuConv2d); their launches are in `launch.rs`.
//!
//! All tensors are contiguous NCHW `f32`. A thread owns a tile of outputs held in registers:
//! the loads of one kernel row serve all of its taps, and each weight serves several pixels
//! (see the module docs of the parent for the tiles). The kernels never test a load: padded
//! convolutions read a zero-padded copy (`launch::pad`), and a tile's pixels past a row's end read
//! its last pixel, their results dropped. On SwiftShader the tests and masks had cost more
//! than the copy (a 3×3's forward took 104 ms with them, 65 ms after; BENCHMARKS.md).

use cubecl::prelude::*;

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
pub(super) fn conv2d_kernel<F: Float>(
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
pub(super) fn conv2d_weight_grad_kernel<F: Float>(
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

/// `output[b, c, y, x] = input[b, c, y / s, x / s]` where `s` divides both, else 0: the input
/// gradient of a strided 1×1 convolution, from the one at the output's resolution. A unit
/// writes one output row: on SwiftShader a unit per value cost ten times as much (the
/// per-unit work of a software GPU outweighs a copy's).
#[cube(launch_unchecked)]
pub(super) fn spread_kernel<F: Float>(
    input: &Tensor<F>,
    output: &mut Tensor<F>,
    #[comptime] stride: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (height, width) = (output.shape(2), output.shape(3));
    if ABSOLUTE_POS >= output.shape(0) * output.shape(1) * height {
        terminate!();
    }
    let (plane, y) = (ABSOLUTE_POS / height, ABSOLUTE_POS % height);
    let (in_height, in_width) = (input.shape(2), input.shape(3));
    let sy = y / stride;
    let out_start = ABSOLUTE_POS * width;
    if sy * stride == y && sy < in_height {
        let in_start = (plane * in_height + sy) * in_width;
        for x in 0..width {
            let sx = x / stride;
            let valid = sx * stride == x && sx < in_width;
            output[out_start + x] =
                select(valid, input[in_start + select(valid, sx, 0)], F::new(0.0));
        }
    } else {
        for x in 0..width {
            output[out_start + x] = F::new(0.0);
        }
    }
}

/// `output` is `input` with `padding` zeros around each plane; a unit writes one output row
/// (as [`spread_kernel`]).
#[cube(launch_unchecked)]
pub(super) fn pad_kernel<F: Float>(
    input: &Tensor<F>,
    output: &mut Tensor<F>,
    padding: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (height, width) = (output.shape(2), output.shape(3));
    if ABSOLUTE_POS >= output.shape(0) * output.shape(1) * height {
        terminate!();
    }
    let (plane, y) = (ABSOLUTE_POS / height, ABSOLUTE_POS % height);
    let (in_height, in_width) = (input.shape(2), input.shape(3));
    let (iy, row_valid) = input_position(y, padding, in_height);
    let out_start = ABSOLUTE_POS * width;
    if row_valid {
        let in_start = (plane * in_height + iy) * in_width;
        for x in 0..padding {
            output[out_start + x] = F::new(0.0);
        }
        for x in 0..in_width {
            output[out_start + padding + x] = input[in_start + x];
        }
        for x in padding + in_width..width {
            output[out_start + x] = F::new(0.0);
        }
    } else {
        for x in 0..width {
            output[out_start + x] = F::new(0.0);
        }
    }
}
