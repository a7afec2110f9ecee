//! Test-time augmentation: a prediction averaged over a few shifted (and, for a model trained
//! with flips, mirrored) copies of each image.
//!
//! A network trained on randomly shifted crops has seen each object at many offsets; averaging
//! its probabilities over small shifts smooths out how one exact placement happens to fall on
//! the stride-2 grids. The views are the image itself and the four shifts by half the training
//! crop's padding (`max(1, round(side × cropPadding / 2))` pixels, the uncovered border filled
//! with zeros, the mean colour after normalisation, as in training), plus the mirror image when
//! the model learned with flips. It costs one forward pass per view.

use burn::tensor::Tensor;
use burn::tensor::ops::PadMode;

use crate::checkpoint::ModelMetadata;
use crate::model::Network;

/// The copies averaged for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtaViews {
    /// Pixels each shifted view moves by.
    pub shift: usize,
    /// Whether the mirrored image is a view too.
    pub flip: bool,
}

impl TtaViews {
    /// The views that suit a model: its training crop's padding and flips (a model file
    /// without a training record gets the default crop padding and no flip).
    pub fn for_model(metadata: &ModelMetadata) -> Self {
        let augment = metadata.training.as_ref().map(|t| t.options.augment).unwrap_or_default();
        let side = metadata.input.image_size as f32;
        let shift = ((side * augment.crop_padding / 2.0).round() as usize).max(1);
        Self { shift, flip: augment.flip }
    }

    /// Views of each image: 5, or 6 with the mirror image.
    pub fn count(self) -> usize {
        5 + usize::from(self.flip)
    }
}

/// Probabilities averaged over the views of each image.
///
/// # Shapes
/// - `images`: `[batch, channels, size, size]`, normalised
/// - output: `[batch, labels]`
pub fn probabilities(model: &Network, images: Tensor<4>, views: TtaViews) -> Tensor<2> {
    let [batch, channels, height, width] = images.dims();
    let d = views.shift.min(height.saturating_sub(1)).min(width.saturating_sub(1));
    let padded = images.clone().pad((d, d, d, d), PadMode::Constant(0.0));
    let shifted = |dy: usize, dx: usize| {
        padded.clone().slice([0..batch, 0..channels, dy..dy + height, dx..dx + width])
    };
    let mut all =
        vec![images.clone(), shifted(0, d), shifted(2 * d, d), shifted(d, 0), shifted(d, 2 * d)];
    if views.flip {
        all.push(images.flip([3]));
    }
    let count = all.len();
    let probs = model.probabilities(Tensor::cat(all, 0));
    let labels = probs.dims()[1];
    probs.reshape([count, batch, labels]).mean_dim(0).reshape([batch, labels])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResNetV2Config;
    use burn::tensor::{Device, TensorData};

    fn values(t: Tensor<2>) -> Vec<f32> {
        pollster::block_on(t.into_data_async()).unwrap().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn averages_the_views_of_each_image_separately() {
        let device = Device::flex();
        let model = ResNetV2Config::for_depth(11, 2).unwrap().init(&device).unwrap().into();
        let n = 3 * 3 * 16 * 16;
        let pixels: Vec<f32> = (0..n).map(|v| ((v * 37) % 101) as f32 / 50.0 - 1.0).collect();
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [3, 3, 16, 16]), &device);
        let views = TtaViews { shift: 2, flip: true };
        let averaged = values(probabilities(&model, images.clone(), views));
        assert_eq!(averaged.len(), 6);
        // Each image alone gives its own row: no view leaks across images.
        for i in 0..3 {
            let one = images.clone().slice([i..i + 1, 0..3, 0..16, 0..16]);
            let alone = values(probabilities(&model, one, views));
            for (a, b) in alone.iter().zip(&averaged[i * 2..i * 2 + 2]) {
                assert!((a - b).abs() < 1e-5, "image {i}: {a} vs {b}");
            }
        }
        // And the average is the mean of the plain views' probabilities.
        let plain = values(model.probabilities(images.clone()));
        let mirrored = values(model.probabilities(images.clone().flip([3])));
        assert!(averaged.iter().zip(&plain).any(|(a, p)| (a - p).abs() > 1e-6));
        let padded = images.pad((2, 2, 2, 2), PadMode::Constant(0.0));
        let mut sum: Vec<f32> = plain.iter().zip(&mirrored).map(|(a, b)| a + b).collect();
        for (dy, dx) in [(0, 2), (4, 2), (2, 0), (2, 4)] {
            let view = padded.clone().slice([0..3, 0..3, dy..dy + 16, dx..dx + 16]);
            for (s, p) in sum.iter_mut().zip(values(model.probabilities(view))) {
                *s += p;
            }
        }
        for (a, s) in averaged.iter().zip(&sum) {
            assert!((a - s / 6.0).abs() < 1e-5);
        }
    }
}
