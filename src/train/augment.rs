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
//!   `c ~ U(0.8, 1.2)`, `b ~ U(−0.2, 0.2)` (normalised units). On a spectrogram: a gain and a
//!   change of dynamic range.
//! - **Masks** (SpecAugment, for spectrograms): one band of `U{0..=h/8}` rows and one span of
//!   `U{0..=w/8}` columns per image set to 0 (the mean).
//!
//! For sound clips' spectrograms (`sound`), the crop moves in time only: frequencies keep their
//! rows, as a sound keeps its pitch when it starts later. A clip longer than the window is
//! first cropped at a random place of its own sound ([`time_crops`], on the CPU: the pixels
//! are gathered there anyway), then shifted as above.

use burn::tensor::ops::PadMode;
use burn::tensor::{Tensor, TensorData};

use std::borrow::Cow;

use crate::data::Dataset;
use crate::error::Result;
use crate::options::AugmentOptions;
use crate::rng::SeededRng;

/// The pixels of training images `batch` before augmentation: with `crop` on, a sound clip
/// kept over more time ([`Dataset::training_image`]) is cropped at a random place within its
/// own sound, uniformly in columns; other images as they are (and no random number drawn, so
/// runs on images repeat as before).
///
/// # Errors
/// A streamed image that cannot be read or decoded, naming its zip entry.
pub fn time_crops<'a>(
    dataset: &'a Dataset,
    batch: &[usize],
    crop: bool,
    rng: &mut SeededRng,
) -> Result<Vec<Cow<'a, [u8]>>> {
    if dataset.strips.is_none() {
        // No strip, no crop (and no random number drawn): the images as the dataset gives
        // them, held or streamed.
        return dataset.images_of(batch);
    }
    Ok(batch
        .iter()
        .map(|&i| {
            let span = if crop { dataset.crop_span(i) } else { 0 };
            let offset =
                if span > 0 { rng.below(2 * span + 1) as isize - span as isize } else { 0 };
            dataset.training_image(i, offset)
        })
        .collect())
}

/// Augments a normalised batch.
///
/// # Shapes
/// - `images`: `[batch, channels, size, size]`
/// - output: the same shape
pub fn augment(
    images: Tensor<4>,
    options: AugmentOptions,
    sound: bool,
    rng: &mut SeededRng,
) -> Tensor<4> {
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
        let pad_y = if sound { 0 } else { pad };
        let padded = x.pad((pad, pad, pad_y, pad_y), PadMode::Constant(0.0));
        let crops: Vec<Tensor<4>> = (0..batch)
            .map(|i| {
                let dy = if sound { 0 } else { rng.below(2 * pad + 1) };
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

    if options.masks {
        // 1 where kept, 0 in the masked band and span; one image after another.
        let mut keep = vec![1.0f32; batch * height * width];
        for image in keep.chunks_exact_mut(height * width) {
            let rows = rng.below(height / 8 + 1);
            let top = rng.below(height - rows + 1);
            let cols = rng.below(width / 8 + 1);
            let left = rng.below(width - cols + 1);
            for (y, row) in image.chunks_exact_mut(width).enumerate() {
                if (top..top + rows).contains(&y) {
                    row.fill(0.0);
                } else {
                    row[left..left + cols].fill(0.0);
                }
            }
        }
        let keep =
            Tensor::<4>::from_data(TensorData::new(keep, [batch, 1, height, width]), &device);
        x = x * keep;
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
        let y = augment(x, options, false, &mut SeededRng::new(3));
        assert_eq!(y.dims(), [4, 3, 16, 16]);
        let after = pollster::block_on(values(y));
        assert!(before.iter().zip(&after).any(|(a, b)| (a - b).abs() > 1e-3));
    }

    #[test]
    fn none_is_identity_and_same_seed_repeats() {
        let x = ramp(2, 8);
        let same = augment(x.clone(), AugmentOptions::NONE, false, &mut SeededRng::new(1));
        assert_eq!(pollster::block_on(values(same)), pollster::block_on(values(x.clone())));
        let a = augment(x.clone(), AugmentOptions::default(), false, &mut SeededRng::new(9));
        let b = augment(x, AugmentOptions::default(), false, &mut SeededRng::new(9));
        assert_eq!(pollster::block_on(values(a)), pollster::block_on(values(b)));
    }

    #[test]
    fn flip_mirrors_whole_images() {
        // With only flip on, each image is either unchanged or exactly mirrored.
        let x = ramp(8, 4);
        let original = pollster::block_on(values(x.clone()));
        let mirrored = pollster::block_on(values(x.clone().flip([3])));
        let options = AugmentOptions { flip: true, ..AugmentOptions::NONE };
        let y = pollster::block_on(values(augment(x, options, false, &mut SeededRng::new(5))));
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

    #[test]
    fn a_sound_crop_moves_in_time_only() {
        // Each row holds one value: after a time-only crop every row still holds its own
        // value (or the padding's 0), never a neighbour row's.
        let (size, batch) = (8, 6);
        let rows: Vec<f32> =
            (0..batch * size * size).map(|i| ((i / size) % size + 1) as f32).collect();
        let x =
            Tensor::<4>::from_data(TensorData::new(rows, [batch, 1, size, size]), &Device::flex());
        let options = AugmentOptions { crop_padding: 0.25, ..AugmentOptions::default() };
        let y = pollster::block_on(values(augment(x, options, true, &mut SeededRng::new(4))));
        for (i, v) in y.iter().enumerate() {
            let row = (i / size) % size;
            assert!(*v == 0.0 || *v == (row + 1) as f32, "row {row} holds {v}");
        }
        assert!(y.contains(&0.0), "no image moved");
    }

    #[test]
    fn masks_blank_at_most_an_eighth_of_rows_and_of_columns() {
        let (size, batch) = (16, 8);
        let x = Tensor::<4>::ones([batch, 1, size, size], &Device::flex());
        let options = AugmentOptions { masks: true, ..AugmentOptions::NONE };
        let y = pollster::block_on(values(augment(x, options, true, &mut SeededRng::new(2))));
        let mut masked_any = false;
        for image in y.chunks_exact(size * size) {
            let blank_rows =
                image.chunks_exact(size).filter(|r| r.iter().all(|v| *v == 0.0)).count();
            let blank_cols =
                (0..size).filter(|&c| (0..size).all(|r| image[r * size + c] == 0.0)).count();
            assert!(
                blank_rows <= size / 8 && blank_cols <= size / 8,
                "{blank_rows} rows, {blank_cols} columns"
            );
            masked_any |= image.contains(&0.0);
        }
        assert!(masked_any);
    }
}
