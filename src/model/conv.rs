//! Which code computes each convolution ([`forward_conv`]), and two forms of a convolution as
//! burn matrix products.
//!
//! [`forward_conv`] picks, per layer: on a GPU the project's kernels ([`super::gpu_conv`]) for
//! 1×1 and 3×3 layers; on the CPU backend (natively and in the browser) the project's kernels
//! ([`super::cpu_conv`]) for every stride-1 layer, and for a strided 1×1 layer on a subsample
//! of its input (a unit's strided 1×1 and its projection share one subsample:
//! [`forward_conv_pair`]); anything else burn's own convolution.
//!
//! The two matrix-product forms below were the native CPU's 1×1 path before the CPU kernels
//! (issue #13); they stay as measured alternatives (`cargo bench --bench conv`) and in
//! [`super::agreement`]:
//! - **One product over the batch** ([`conv2d_as_matmul`]): `cols = im2col(x)` and
//!   `out = W · cols` with the batch folded into the columns, one
//!   `[Cout, Cin·kh·kw] × [Cin·kh·kw, B·Ho·Wo]` product, whose gradients autodiff derives as
//!   fat products. Folding the batch into the columns costs a transposed copy of the input and
//!   of the output, each way.
//! - **One product per image** ([`conv1x1_batched`], 1×1 only): an NCHW image already is a
//!   `[Cin, H·W]` matrix, so `W · X[b]` needs no copy, nor do its gradients.
//!
//! Why not burn's convolution on the CPU: burn-flex overrides no convolution *backward*, so
//! burn's default takes the weight gradient as a convolution over swapped axes (GEMMs with
//! N = kh·kw, thin shapes that keep the cores waiting) and the input gradient as a transposed
//! convolution (BENCHMARKS.md).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor, s};

/// From how many input pixels (height · width) a 1×1 convolution as a batch of per-image
/// products ([`conv1x1_batched`]) beat one product over the batch ([`conv2d_as_matmul`]): the
/// per-image form copies nothing, but below about 32 × 32 pixels its products are too small to
/// beat the one big product and its two transposes (`cargo bench --bench conv`, BENCHMARKS.md).
pub const BATCHED_FROM_PIXELS: usize = 32 * 32;

/// Whether `device` is the CPU backend of a native build: where
/// [`forward_batch_norm`](super::norm::forward_batch_norm) takes its statistics without copies
/// and [`super::agreement`] checks the matrix-product forms.
/// Not on WebGPU: there both forms made the page's training 0.53× as fast as burn-cubecl's
/// kernels (BENCHMARKS.md, issue #13 fifth part).
pub fn on_native_cpu(device: &Device) -> bool {
    cfg!(not(target_arch = "wasm32")) && *device == Device::flex()
}

/// How [`forward_conv`] computes a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// burn's own convolution.
    Burn,
    /// The project's CPU kernels ([`super::cpu_conv`]) with this padding (stride 1).
    CpuKernels { padding: usize },
    /// A strided 1×1 convolution as the CPU kernels on every `stride`-th pixel of each axis.
    Subsampled { stride: usize },
    /// The project's GPU kernels ([`super::gpu_conv`]) with this stride and padding.
    #[cfg(feature = "gpu")]
    GpuKernels { stride: usize, padding: usize },
}

/// The fastest form for `conv` on `device`.
fn form_for(conv: &Conv2d, device: &Device) -> Form {
    let one_by_one = conv.kernel_size == [1, 1] && conv.groups == 1 && conv.dilation == [1, 1];
    let padding = match &conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == bottom && left == right && top == left =>
        {
            Some(*top)
        }
        PaddingConfig2d::Valid => Some(0),
        _ => None,
    };
    let stride = conv.stride[0];
    #[cfg(feature = "gpu")]
    if let Some(padding) = padding {
        let square = conv.kernel_size[0] == conv.kernel_size[1];
        if square
            && conv.groups == 1
            && conv.dilation == [1, 1]
            && conv.stride[1] == stride
            && super::gpu_conv::supports(device, conv.kernel_size[0], stride, padding)
        {
            return Form::GpuKernels { stride, padding };
        }
    }
    let plain = conv.kernel_size[0] == conv.kernel_size[1]
        && conv.groups == 1
        && conv.dilation == [1, 1]
        && conv.stride[1] == stride;
    match padding {
        Some(padding)
            if plain && super::cpu_conv::supports(device, conv.kernel_size[0], stride, padding) =>
        {
            Form::CpuKernels { padding }
        }
        Some(0) if plain && one_by_one && super::cpu_conv::supports(device, 1, 1, 0) => {
            Form::Subsampled { stride }
        }
        _ => Form::Burn,
    }
}

/// Applies `conv` to `input` in `form`.
fn apply(conv: &Conv2d, input: Tensor<4>, form: Form) -> Tensor<4> {
    let output = match form {
        Form::Burn => return conv.forward(input),
        Form::CpuKernels { padding } => super::cpu_conv::conv2d(input, conv.weight.val(), padding),
        Form::Subsampled { stride } => super::cpu_conv::conv2d(
            super::subsample::subsample(input, stride),
            conv.weight.val(),
            0,
        ),
        #[cfg(feature = "gpu")]
        Form::GpuKernels { stride, padding } => {
            super::gpu_conv::conv2d(input, conv.weight.val(), stride, padding)
        }
    };
    match &conv.bias {
        Some(bias) => output + bias.val().reshape([1, -1, 1, 1]),
        None => output,
    }
}

/// Applies `conv` to `input`: through the project's GPU or CPU kernels where they apply (see
/// the module docs), anything else through burn's own convolution. All give the same values
/// and gradients.
///
/// # Shapes
/// - `input`: `[batch, in_channels, height, width]`
/// - output: `[batch, out_channels, out_height, out_width]`
pub fn forward_conv(conv: &Conv2d, input: Tensor<4>) -> Tensor<4> {
    let form = form_for(conv, &input.device());
    apply(conv, input, form)
}

/// Applies `first` and, if given, `second` to the same `input`, as [`forward_conv`] would.
/// Where both are strided 1×1 convolutions of the same stride taken per image (a unit's
/// first convolution and its projection, with the stride on the 1×1; on the CPU backend
/// and on a GPU), the input is
/// subsampled once and both read the subsample: the backward then scatters one gradient
/// back to the full-size input instead of two (each a zero-filled full-size tensor).
///
/// # Shapes
/// - `input`: `[batch, in_channels, height, width]`
/// - outputs: `[batch, out_channels, out_height, out_width]` of each convolution
pub fn forward_conv_pair(
    first: &Conv2d,
    second: Option<&Conv2d>,
    input: Tensor<4>,
) -> (Tensor<4>, Option<Tensor<4>>) {
    let device = input.device();
    let form = form_for(first, &device);
    let shared_stride = match (form, second.map(|c| form_for(c, &device))) {
        (Form::Subsampled { stride }, Some(Form::Subsampled { stride: other }))
            if stride == other =>
        {
            Some((stride, Form::CpuKernels { padding: 0 }))
        }
        // Strided GPU kernels are 1×1 (`gpu_conv::supports`), so unpadded.
        #[cfg(feature = "gpu")]
        (Form::GpuKernels { stride, .. }, Some(Form::GpuKernels { stride: other, .. }))
            if stride > 1 && stride == other =>
        {
            Some((stride, Form::GpuKernels { stride: 1, padding: 0 }))
        }
        _ => None,
    };
    match (shared_stride, second) {
        (Some((stride, unstrided)), Some(second)) => {
            let subsample = super::subsample::subsample(input, stride);
            (apply(first, subsample.clone(), unstrided), Some(apply(second, subsample, unstrided)))
        }
        _ => (apply(first, input.clone(), form), second.map(|conv| forward_conv(conv, input))),
    }
}

/// A convolution without bias, groups or dilation, with the same `stride` and zero `padding`
/// on both axes, computed as one matrix product (see the module docs).
///
/// # Shapes
/// - `input`: `[batch, in_channels, height, width]`
/// - `weight`: `[out_channels, in_channels, kernel_height, kernel_width]`
/// - output: `[batch, out_channels, (height + 2·padding − kernel_height) / stride + 1, …]`
pub fn conv2d_as_matmul(
    input: Tensor<4>,
    weight: Tensor<4>,
    stride: usize,
    padding: usize,
) -> Tensor<4> {
    let [batch, channels, height, width] = input.dims();
    let [out_channels, weight_channels, kernel_h, kernel_w] = weight.dims();
    assert_eq!(channels, weight_channels, "the weight's input channels match the input's");
    let out_h = (height + 2 * padding - kernel_h) / stride + 1;
    let out_w = (width + 2 * padding - kernel_w) / stride + 1;
    let pixels = batch * out_h * out_w;

    // Channels first, then the batch: each kernel tap below is then one block of rows of the
    // column matrix, and the batch folds into its columns without another transpose.
    let mut planes = input.swap_dims(0, 1);
    if padding > 0 {
        planes = planes.pad((padding, padding, padding, padding), PadMode::Constant(0.0));
    }
    let columns = if kernel_h == 1 && kernel_w == 1 && stride == 1 {
        planes.reshape([channels, pixels])
    } else {
        let taps = (0..kernel_h)
            .flat_map(|i| (0..kernel_w).map(move |j| (i, j)))
            .map(|(i, j)| {
                let rows = i..i + stride * (out_h - 1) + 1;
                let cols = j..j + stride * (out_w - 1) + 1;
                planes.clone().slice(s![.., .., rows;stride, cols;stride])
            })
            .collect::<Vec<_>>();
        // Row index (i·kw + j)·C + c: tap-major, the order of the permuted weight below.
        Tensor::cat(taps, 0).reshape([kernel_h * kernel_w * channels, pixels])
    };
    let kernel =
        weight.permute([0, 2, 3, 1]).reshape([out_channels, kernel_h * kernel_w * channels]);
    kernel.matmul(columns).reshape([out_channels, batch, out_h, out_w]).swap_dims(0, 1)
}

/// A 1×1 convolution without bias as a batch of matrix products, one per image:
/// `W[Cout, Cin] · X[b][Cin, Ho·Wo]`, the weight broadcast over the batch. Unlike
/// [`conv2d_as_matmul`] it needs no transposes: an NCHW image already is a `[Cin, H·W]`
/// matrix, and so are the output and both gradients autodiff derives (the weight's is summed
/// over the batch).
///
/// # Shapes
/// - `input`: `[batch, in_channels, height, width]`
/// - `weight`: `[out_channels, in_channels, 1, 1]`
/// - output: `[batch, out_channels, ⌈height / stride⌉, ⌈width / stride⌉]`
pub fn conv1x1_batched(input: Tensor<4>, weight: Tensor<4>, stride: usize) -> Tensor<4> {
    let [out_channels, in_channels, kernel_h, kernel_w] = weight.dims();
    assert_eq!([kernel_h, kernel_w], [1, 1], "a 1×1 kernel");
    let input = if stride > 1 { input.slice(s![.., .., ..;stride, ..;stride]) } else { input };
    let [batch, channels, height, width] = input.dims();
    assert_eq!(channels, in_channels, "the weight's input channels match the input's");
    weight
        .reshape([1, out_channels, in_channels])
        .matmul(input.reshape([batch, channels, height * width]))
        .reshape([batch, out_channels, height, width])
}
