//! What a network holds per image, counted from its config before anything is allocated,
//! and what that allows: the largest batch whose every tensor fits in one GPU buffer.
//! [`crate::MemoryPlan`] sizes a whole run in a tab from the same figures.

use crate::error::{Error, ErrorKind, Result};

use super::block::StrideOn;
use super::resnet::{ResNetKind, ResNetV2Config};

impl ResNetV2Config {
    /// What one training step needs per image of `side` × `side` px, and the trainable
    /// parameters, counted from the config (nothing is allocated): the figures that size a
    /// run's memory before it starts, since autodiff keeps every intermediate tensor of the
    /// forward pass for the backward pass.
    ///
    /// # Errors
    /// As [`ResNetV2Config::init`].
    pub fn footprint(&self, side: usize) -> Result<Footprint> {
        let base = self.width();
        // The input itself: the random crop pads it by at most half its side each way.
        let padded = 2 * side + 2;
        let (kernel, mut side) = match self.kind {
            ResNetKind::Small => (3, side),
            // Stride-2 stem, then a stride-2 pool.
            ResNetKind::Large => (7, side.div_ceil(2)),
        };
        let mut parameters = self.in_channels * base * kernel * kernel;
        let mut floats = base * side * side;
        let mut largest = (self.in_channels * padded * padded).max(base * side * side);
        if self.kind == ResNetKind::Large {
            side = side.div_ceil(2);
            floats += base * side * side;
        }
        for unit in self.unit_configs()? {
            let (input, width, out) = (unit.in_channels, unit.width, unit.out_channels());
            let inner = side.div_ceil(unit.stride);
            let projection = unit.stride != 1 || input != out;
            // bn1 and its ReLU at the input resolution; conv1 + bn2 + ReLU at the input
            // resolution where the 3×3 strides, at the output resolution where the 1×1 does;
            // conv2 + bn3 + ReLU, conv3 and the sum at the output resolution; the projection
            // when there is one.
            let conv1_side = match unit.stride_on {
                StrideOn::OneByOne => inner,
                StrideOn::ThreeByThree => side,
            };
            floats += 2 * input * side * side + 3 * width * conv1_side * conv1_side;
            floats += (3 * width + 2 * out + usize::from(projection) * out) * inner * inner;
            largest = largest
                .max(input * side * side)
                .max(width * conv1_side * conv1_side)
                .max(out.max(width) * inner * inner);
            parameters += input * width + width * width * 9 + width * out;
            parameters += usize::from(projection) * input * out;
            // BatchNorm: scale, shift and the two running statistics, as burn counts them.
            parameters += 4 * (input + 2 * width);
            side = inner;
        }
        let features = self.features()?;
        floats += 2 * features * side * side;
        parameters += 4 * features + (features + 1) * self.num_labels;
        Ok(Footprint {
            activations_per_image: floats as u64,
            largest_tensor_per_image: largest.max(features * side * side) as u64,
            parameters: parameters as u64,
        })
    }
}

/// See [`ResNetV2Config::footprint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Floats the forward pass produces for one image.
    pub activations_per_image: u64,
    /// Floats of the largest single tensor of the forward pass for one image (the input, or a
    /// layer's output at the highest resolution). A batch's tensor, and its gradient, is
    /// `batch ×` this: what must fit in one GPU buffer.
    pub largest_tensor_per_image: u64,
    /// Parameters as `Module::num_params` counts them (BatchNorm's running statistics
    /// included).
    pub parameters: u64,
}

/// The batch size to train a network of `footprint` (at `side` px) with on a device whose buffers hold at most `max_buffer_bytes`
/// (a GPU: WebGPU guarantees 128 MiB, phones give little more, desktops 1–4 GiB), and a notice
/// when it is smaller than `batch_size`: the largest batch whose every tensor fits in one
/// buffer, since a larger one would fail to allocate mid-step. A tab's [`crate::MemoryPlan`]
/// bounds the sum of a run's memory; this bounds its largest piece.
///
/// # Errors
/// [`ErrorKind::WillNotFit`] when not even one image's largest tensor fits, saying what to
/// change.
pub(crate) fn batch_for_buffer(
    footprint: &Footprint,
    side: usize,
    batch_size: usize,
    max_buffer_bytes: u64,
) -> Result<(usize, Option<String>)> {
    let per_image = footprint.largest_tensor_per_image.max(1) * 4;
    let fitting = max_buffer_bytes / per_image;
    if fitting == 0 {
        return Err(Error::new(ErrorKind::WillNotFit {
            needed: per_image,
            available: max_buffer_bytes,
            advice: format!(
                "At {side} px one image's largest tensor takes {}, more than this GPU's largest \
                 buffer ({}): train at a smaller image size, or on the CPU (open the page with \
                 ?backend=cpu).",
                byte_size(per_image),
                byte_size(max_buffer_bytes),
            ),
        }));
    }
    if batch_size as u64 <= fitting {
        return Ok((batch_size, None));
    }
    let fitting = fitting as usize;
    let notice = format!(
        "Batches of {fitting} images instead of {batch_size}: at {side} px a batch of {batch_size} \
         needs tensors of {}, and this GPU's buffers hold at most {}.",
        byte_size(per_image.saturating_mul(batch_size as u64)),
        byte_size(max_buffer_bytes),
    );
    Ok((fitting, Some(notice)))
}

/// `512 MiB`, `1.4 GiB`: a size as the memory messages write it.
pub(crate) fn byte_size(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
    } else {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::tensor::Device;

    #[test]
    fn footprint_finds_the_largest_tensor() {
        // Small: the first stage's output, 4 × 16 channels at the input's size.
        let small = ResNetV2Config::for_depth(20, 3).unwrap();
        assert_eq!(small.footprint(32).unwrap().largest_tensor_per_image, 64 * 32 * 32);
        // Large: a 64-channel stride-2 stem (16 × side²) against the first stage's 256
        // channels after the pool (also 16 × side²).
        let large = ResNetV2Config::for_depth(26, 3).unwrap();
        assert_eq!(large.footprint(64).unwrap().largest_tensor_per_image, 16 * 64 * 64);
        // One channel at width 4: the padded input (the crop pads by up to half the side
        // each way) is larger than any layer's output.
        let narrow = small.with_in_channels(1).with_base_width(Some(1));
        assert_eq!(narrow.footprint(32).unwrap().largest_tensor_per_image, 66 * 66);
    }

    #[test]
    fn footprint_counts_the_parameters_init_makes() {
        for (depth, labels) in [(11, 3), (20, 21), (26, 5)] {
            let config = ResNetV2Config::for_depth(depth, labels).unwrap();
            let model = config.init(&Device::flex()).unwrap();
            assert_eq!(config.footprint(32).unwrap().parameters, model.num_params() as u64);
        }
        let small = ResNetV2Config::for_depth(11, 3).unwrap();
        let (a, b) = (small.footprint(32).unwrap(), small.footprint(64).unwrap());
        assert_eq!(b.activations_per_image, 4 * a.activations_per_image);
        // The 3×3 layout keeps conv1's output at the input resolution in the two downsampling
        // units: 3 floats × width × (side² − (side/2)²) more in each.
        let old = small.clone().with_stride_on(None).footprint(32).unwrap();
        let more = 3 * 32 * (32 * 32 - 16 * 16) + 3 * 64 * (16 * 16 - 8 * 8);
        assert_eq!(old.activations_per_image, a.activations_per_image + more);
        assert_eq!(old.parameters, a.parameters);
    }

    #[test]
    fn the_batch_shrinks_to_the_largest_gpu_buffer() {
        let network = ResNetV2Config::for_depth(11, 21).unwrap().footprint(128).unwrap();
        let at_32 = ResNetV2Config::for_depth(11, 21).unwrap().footprint(32).unwrap();
        // Small networks' largest tensor is the first stage's output: 64 channels at full size.
        let per_image = 64 * 128 * 128 * 4;
        // WebGPU's guaranteed 128 MiB holds 32 images' at 128 px.
        let webgpu_minimum = 128 << 20;
        assert_eq!(batch_for_buffer(&network, 128, 64, webgpu_minimum).unwrap().0, 32);
        let (batch, notice) = batch_for_buffer(&network, 128, 64, per_image * 5 + 1).unwrap();
        assert_eq!(batch, 5);
        let notice = notice.unwrap();
        assert!(notice.starts_with("Batches of 5 images instead of 64: at 128 px"), "{notice}");
        // A batch that fits is left alone, without a notice.
        assert_eq!(batch_for_buffer(&network, 128, 5, per_image * 5).unwrap(), (5, None));
        assert_eq!(batch_for_buffer(&at_32, 32, 64, 1 << 30).unwrap(), (64, None));
        // Not even one image: the error says what to change.
        let error = batch_for_buffer(&network, 128, 64, per_image - 1).unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::WillNotFit { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains("smaller image size") && text.contains("?backend=cpu"), "{text}");
    }
}
