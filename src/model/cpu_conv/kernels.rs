//! The CPU backend's (burn-flex) kernels of [`super::CpuConv2d`]: per image, the columns of
//! the input (each kernel tap's shifted copy of each channel, zero outside) and one matrix
//! product with the `gemm` crate's kernels (those burn-flex's matrix products use); images in
//! parallel with rayon in native builds, one after another in the browser.

use burn::backend::TensorMetadata;
use burn_flex::{Flex, FlexTensor};

use super::CpuConv2d;
use crate::model::flex_tensors::{fill_chunks, from_values, threads, values};

/// One image's planes: `channels` planes of `height × width`.
#[derive(Debug, Clone, Copy)]
struct Planes {
    channels: usize,
    height: usize,
    width: usize,
}

/// Writes the columns of `image` for a `kernel × kernel` convolution with zero `padding` and
/// stride 1: row `(c·k + i)·k + j` holds channel `c` shifted by tap `(i, j)`, `out_h × out_w`
/// values, zero where the tap falls outside the image.
fn columns(image: &[f32], planes: Planes, kernel: usize, padding: usize, cols: &mut [f32]) {
    let Planes { channels, height, width } = planes;
    let (out_h, out_w) = (height + 2 * padding + 1 - kernel, width + 2 * padding + 1 - kernel);
    let mut rows = cols.chunks_exact_mut(out_h * out_w);
    for c in 0..channels {
        let plane = &image[c * height * width..][..height * width];
        for i in 0..kernel {
            for j in 0..kernel {
                let row = rows.next().expect("a row per channel and tap");
                // Output columns whose input column x = ox + j − padding lies inside.
                let first = padding.saturating_sub(j);
                let last = (width + padding).saturating_sub(j).min(out_w);
                for (oy, out) in row.chunks_exact_mut(out_w).enumerate() {
                    let y = (oy + i).wrapping_sub(padding);
                    if y >= height || first >= last {
                        out.fill(0.0);
                        continue;
                    }
                    out[..first].fill(0.0);
                    let x0 = first + j - padding;
                    out[first..last].copy_from_slice(&plane[y * width + x0..][..last - first]);
                    out[last..].fill(0.0);
                }
            }
        }
    }
}

/// The column matrices of a batch's images for a stride-1 `kernel × kernel` convolution with
/// zero `padding`: `[planes.channels · kernel², out_h · out_w]` per image.
#[derive(Debug, Clone, Copy)]
struct Columns {
    planes: Planes,
    kernel: usize,
    padding: usize,
}

impl Columns {
    /// Rows of the matrix (the product's depth).
    fn depth(&self) -> usize {
        self.planes.channels * self.kernel * self.kernel
    }

    /// Columns of the matrix: the output's pixels.
    fn pixels(&self) -> usize {
        let side = |size: usize| size + 2 * self.padding + 1 - self.kernel;
        side(self.planes.height) * side(self.planes.width)
    }

    /// Whether an image is its own column matrix: a 1×1 kernel without padding (an NCHW image
    /// is `[Cin, H·W]`).
    fn direct(&self) -> bool {
        self.kernel == 1 && self.padding == 0
    }

    /// The scratch buffer a thread needs to build one matrix (none when direct).
    fn scratch_len(&self) -> usize {
        if self.direct() { 0 } else { self.depth() * self.pixels() }
    }

    /// Image `b` of the NCHW batch `x` as its column matrix: the image itself when direct, else
    /// built in `scratch`.
    fn of<'a>(&self, x: &'a [f32], b: usize, scratch: &'a mut [f32]) -> &'a [f32] {
        let Planes { channels, height, width } = self.planes;
        let image_len = channels * height * width;
        let image = &x[b * image_len..][..image_len];
        if self.direct() {
            return image;
        }
        columns(image, self.planes, self.kernel, self.padding, scratch);
        scratch
    }
}

/// `dst[m × n] = lhs[m × k] · rhs[k × n]` (or `dst +=` when `accumulate`), with strides
/// `(row, column)` for each operand. Native builds; the page has its own (`simd128`).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn product(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    lhs: (&[f32], isize, isize),
    rhs: (&[f32], isize, isize),
    accumulate: bool,
) {
    // SAFETY: the callers pass slices (or a buffer) that hold the whole of each operand at
    // these strides; `dst` is only written by this call.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            accumulate,
            lhs.0.as_ptr(),
            lhs.2,
            lhs.1,
            rhs.0.as_ptr(),
            rhs.2,
            rhs.1,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The convolution of NCHW `x` (`batch` images of `planes`) by `weight` `[out, in·k·k]`
/// (row-major), stride 1, zero `padding`.
fn convolve(
    x: &[f32],
    batch: usize,
    planes: Planes,
    weight: &[f32],
    out_channels: usize,
    (kernel, padding): (usize, usize),
) -> Vec<f32> {
    let cols = Columns { planes, kernel, padding };
    let (pixels, depth) = (cols.pixels(), cols.depth());
    fill_chunks(batch, out_channels * pixels, cols.scratch_len(), |b, out, scratch| {
        let cols = cols.of(x, b, scratch);
        // In the page, a product of our own (`simd128`).
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        super::simd128::product(out_channels, pixels, depth, out, weight, cols);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        product(
            (out_channels, pixels, depth),
            out.as_mut_ptr(),
            (weight, depth as isize, 1),
            (cols, pixels as isize, 1),
            false,
        );
    })
}

impl CpuConv2d for Flex {
    fn cpu_conv2d(input: FlexTensor, weight: FlexTensor, padding: usize) -> FlexTensor {
        let [batch, channels, height, width] = input.shape().dims();
        let [out_channels, _, kernel, _] = weight.shape().dims();
        let planes = Planes { channels, height, width };
        let out = convolve(
            &values(&input),
            batch,
            planes,
            &values(&weight),
            out_channels,
            (kernel, padding),
        );
        let side = |size: usize| size + 2 * padding + 1 - kernel;
        from_values(out, [batch, out_channels, side(height), side(width)])
    }

    fn cpu_conv2d_input_grad(grad: FlexTensor, weight: FlexTensor, padding: usize) -> FlexTensor {
        // The input's gradient of a stride-1 convolution is the convolution of the output's
        // gradient by the weights flipped in space with the channel axes swapped, padded by
        // k − 1 − padding.
        let [batch, out_channels, out_h, out_w] = grad.shape().dims();
        let [_, in_channels, kernel, _] = weight.shape().dims();
        let weight = values(&weight);
        let taps = kernel * kernel;
        let mut flipped = vec![0f32; weight.len()];
        for o in 0..out_channels {
            for c in 0..in_channels {
                for t in 0..taps {
                    flipped[(c * out_channels + o) * taps + (taps - 1 - t)] =
                        weight[(o * in_channels + c) * taps + t];
                }
            }
        }
        let planes = Planes { channels: out_channels, height: out_h, width: out_w };
        let back = kernel - 1 - padding;
        let out = convolve(&values(&grad), batch, planes, &flipped, in_channels, (kernel, back));
        let side = |size: usize| size + 2 * back + 1 - kernel;
        from_values(out, [batch, in_channels, side(out_h), side(out_w)])
    }

    fn cpu_conv2d_weight_grad(
        input: FlexTensor,
        grad: FlexTensor,
        kernel: usize,
        padding: usize,
    ) -> FlexTensor {
        let [batch, channels, height, width] = input.shape().dims();
        let [_, out_channels, out_h, out_w] = grad.shape().dims();
        let (x, dy) = (values(&input), values(&grad));
        let cols = Columns { planes: Planes { channels, height, width }, kernel, padding };
        let (pixels, depth) = (cols.pixels(), cols.depth());
        debug_assert_eq!(pixels, out_h * out_w);
        // Σ over the images of dY[b] · columns[b]ᵀ, a share of the images per thread (each its
        // own sum), the shares added at the end.
        let shares = threads().min(batch).max(1);
        let sums =
            fill_chunks(shares, out_channels * depth, cols.scratch_len(), |share, sum, scratch| {
                let images = (share * batch / shares)..((share + 1) * batch / shares);
                for (n, b) in images.enumerate() {
                    let cols = cols.of(&x, b, scratch);
                    let dy_b = &dy[b * out_channels * pixels..][..out_channels * pixels];
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    super::simd128::product_transposed(
                        (out_channels, depth, pixels),
                        sum,
                        dy_b,
                        cols,
                        n > 0,
                    );
                    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                    product(
                        (out_channels, depth, pixels),
                        sum.as_mut_ptr(),
                        (dy_b, pixels as isize, 1),
                        (cols, 1, pixels as isize),
                        n > 0,
                    );
                }
            });
        let mut total = sums[..out_channels * depth].to_vec();
        for share in sums.chunks_exact(out_channels * depth).skip(1) {
            total.iter_mut().zip(share).for_each(|(t, s)| *t += s);
        }
        from_values(total, [out_channels, channels, kernel, kernel])
    }
}
