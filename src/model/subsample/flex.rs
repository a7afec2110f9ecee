//! The CPU backend's (burn-flex) [`super::Subsample`]: a plane per task.

use burn::backend::TensorMetadata;
use burn_flex::{Flex, FlexTensor};

use super::Subsample;
use crate::model::flex_tensors::{fill_chunks, from_values, values};

impl Subsample for Flex {
    fn subsample(input: FlexTensor, stride: usize) -> FlexTensor {
        let [batch, channels, height, width] = input.shape().dims();
        let out = resample(&values(&input), batch * channels, (height, width), stride, false);
        from_values(out, [batch, channels, height.div_ceil(stride), width.div_ceil(stride)])
    }

    fn subsample_grad(grad: FlexTensor, height: usize, width: usize, stride: usize) -> FlexTensor {
        let [batch, channels, _, _] = grad.shape().dims();
        let out = resample(&values(&grad), batch * channels, (height, width), stride, true);
        from_values(out, [batch, channels, height, width])
    }
}
/// Every `stride`-th value of `planes` (`height × width` each) on both axes, or (`spread`)
/// the reverse: `planes` of the subsample's size spread onto zero planes of `height × width`.
fn resample(
    planes: &[f32],
    count: usize,
    (height, width): (usize, usize),
    stride: usize,
    spread: bool,
) -> Vec<f32> {
    let (small_h, small_w) = (height.div_ceil(stride), width.div_ceil(stride));
    let (in_len, out_len) = if spread {
        (small_h * small_w, height * width)
    } else {
        (height * width, small_h * small_w)
    };
    fill_chunks(count, out_len, 0, |plane, out, _| {
        let source = &planes[plane * in_len..][..in_len];
        if spread {
            out.fill(0.0);
            for (y, row) in source.chunks_exact(small_w).enumerate() {
                let target = &mut out[y * stride * width..][..width];
                for (x, value) in row.iter().enumerate() {
                    target[x * stride] = *value;
                }
            }
        } else {
            for (y, row) in out.chunks_exact_mut(small_w).enumerate() {
                let source = &source[y * stride * width..][..width];
                for (x, value) in row.iter_mut().enumerate() {
                    *value = source[x * stride];
                }
            }
        }
    })
}
