//! Training-time augmentation, applied to a normalised batch on the device.
//!
//! Only the random numbers come from the CPU (a few per image, from the session's seeded
//! generator, so runs on the CPU backend repeat exactly); the pixel work stays on the device,
//! where the batch already is. Never used for validation or prediction.
//!
//! - **Random crop with padding**: pad by `p = max(1, round(size × crop_padding))` pixels of zeros (in normalised
//!   space, i.e. the mean colour), then crop `size × size` at a random offset in `[0, 2p]`.
//! - **Horizontal flip** (off by default: flags, arrows and text change meaning when mirrored).
//! - **Brightness/contrast jitter**: `x' = (x − m)·c + m + b` with `m` the image's mean,
//!   `c ~ U(0.8, 1.2)`, `b ~ U(−0.2, 0.2)` (normalised units).

use burn::tensor::ops::PadMode;
use burn::tensor::{Tensor, TensorData};

use crate::options::AugmentOptions;
use crate::rng::SeededRng;

/// Augments a normalised batch.
///
/// # Shapes
/// - `images`: `[batch, channels, size, size]`
/// - output: the same shape
pub fn augment(images: Tensor<4>, options: AugmentOptions, rng: &mut SeededRng) -> Tensor<4> {
    if !options.any() {
        return images;
    }
    let [batch, _, height, width] = images.dims();
    let device = images.device();
    let per_image = |values: Vec<f32>| {
        Tensor::<4>::from_data(TensorData::new(values, [batch, 1, 1, 1]), &device)
    };
    let mut x = images;

    if options.crop {
        let side = height.min(width) as f32;
        let pad = ((side * options.crop_padding).round() as usize).max(1);
        let padded = x.pad((pad, pad, pad, pad), PadMode::Constant(0.0));
        let crops: Vec<Tensor<4>> = (0..batch)
            .map(|i| {
                let dy = rng.below(2 * pad + 1);
                let dx = rng.below(2 * pad + 1);
                padded.clone().slice([
                    i..i + 1,
                    0..padded.dims()[1],
                    dy..dy + height,
                    dx..dx + width,
                ])
            })
            .collect();
        x = Tensor::cat(crops, 0);
    }

    if options.flip {
        let mask: Vec<f32> = (0..batch).map(|_| if rng.unit() < 0.5 { 1.0 } else { 0.0 }).collect();
        let mask = per_image(mask);
        let flipped = x.clone().flip([3]);
        x = x.clone() + (flipped - x) * mask;
    }

    if options.jitter {
        let contrast: Vec<f32> = (0..batch).map(|_| 0.8 + 0.4 * rng.unit()).collect();
        let brightness: Vec<f32> = (0..batch).map(|_| 0.4 * rng.unit() - 0.2).collect();
        let mean = x.clone().mean_dims(&[1, 2, 3]);
        x = (x - mean.clone()) * per_image(contrast) + mean + per_image(brightness);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn ramp(batch: usize, size: usize) -> Tensor<4> {
        let n = batch * 3 * size * size;
        let values: Vec<f32> = (0..n).map(|v| (v % 97) as f32 / 97.0).collect();
        Tensor::from_data(TensorData::new(values, [batch, 3, size, size]), &Device::flex())
    }

    async fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data_async().await.unwrap().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn keeps_shape_and_changes_pixels() {
        let x = ramp(4, 16);
        let before = pollster::block_on(values(x.clone()));
        let options = AugmentOptions { flip: true, ..AugmentOptions::default() };
        let y = augment(x, options, &mut SeededRng::new(3));
        assert_eq!(y.dims(), [4, 3, 16, 16]);
        let after = pollster::block_on(values(y));
        assert!(before.iter().zip(&after).any(|(a, b)| (a - b).abs() > 1e-3));
    }

    #[test]
    fn none_is_identity_and_same_seed_repeats() {
        let x = ramp(2, 8);
        let same = augment(x.clone(), AugmentOptions::NONE, &mut SeededRng::new(1));
        assert_eq!(pollster::block_on(values(same)), pollster::block_on(values(x.clone())));
        let a = augment(x.clone(), AugmentOptions::default(), &mut SeededRng::new(9));
        let b = augment(x, AugmentOptions::default(), &mut SeededRng::new(9));
        assert_eq!(pollster::block_on(values(a)), pollster::block_on(values(b)));
    }

    #[test]
    fn flip_mirrors_whole_images() {
        // With only flip on, each image is either unchanged or exactly mirrored.
        let x = ramp(8, 4);
        let original = pollster::block_on(values(x.clone()));
        let mirrored = pollster::block_on(values(x.clone().flip([3])));
        let options = AugmentOptions { flip: true, ..AugmentOptions::NONE };
        let y = pollster::block_on(values(augment(x, options, &mut SeededRng::new(5))));
        let per = 3 * 4 * 4;
        let mut flipped = 0;
        for i in 0..8 {
            let img = &y[i * per..(i + 1) * per];
            let same = img.iter().zip(&original[i * per..]).all(|(a, b)| (a - b).abs() < 1e-6);
            let mirror = img.iter().zip(&mirrored[i * per..]).all(|(a, b)| (a - b).abs() < 1e-6);
            assert!(same || mirror, "image {i} is neither original nor mirrored");
            flipped += usize::from(mirror && !same);
        }
        assert!(flipped > 0 && flipped < 8, "{flipped} of 8 flipped");
    }
}
