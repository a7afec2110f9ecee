//! The launches of [`super::kernels`] on burn-cubecl tensors: the tiles, the grids, the padded
//! and spread copies, and [`GpuConv2d`] for `CubeBackend`.

use burn::backend::ops::FloatTensorOps;
use burn::backend::{DType, TensorMetadata};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::GpuConv2d;
use super::kernels::{conv2d_kernel, conv2d_weight_grad_kernel, pad_kernel, spread_kernel};
use crate::model::cube_tensors::{empty, grid};

/// About how many threads the weight gradient aims for: the batch is split into shares until
/// there are this many (each share's partial sums are added afterwards). Enough to keep every
/// core of a software GPU and the units of a small hardware one busy.
const WEIGHT_GRAD_THREADS: usize = 4096;

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

/// Launches [`spread_kernel`] into a new `[batch, channels, height, width]` tensor: `input`
/// (contiguous) at every `stride`-th pixel, zeros elsewhere.
pub(crate) fn spread(input: CubeTensor, height: usize, width: usize, stride: usize) -> CubeTensor {
    let [batch, channels, ..] = dims(&input);
    let output = empty(&input, [batch, channels, height, width]);
    let threads = batch * channels * height;
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(&client, threads);
    let dtype = burn::backend::cubecl::dtype_to_storage_type(output.dtype);
    // SAFETY: threads stop at the output's rows; input reads are masked to index 0.
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
    let threads = batch * channels * (height + 2 * padding);
    let client = output.client.clone();
    let (cube_count, cube_dim) = grid(&client, threads);
    let dtype = burn::backend::cubecl::dtype_to_storage_type(output.dtype);
    // SAFETY: threads stop at the output's rows; a row inside the input reads its row.
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
