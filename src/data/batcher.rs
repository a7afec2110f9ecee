//! Turning `u8` images into normalised `f32` tensors, one batch at a time.
//!
//! Pixels stay `u8` in memory (a quarter of the `f32` size) and are converted per batch, so a
//! dataset costs `N × H × W × 3` bytes however long training runs.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use crate::error::Result;

/// Images a streamed dataset's normalisation is measured on at most: the mean and standard
/// deviation of 10,000 images are within a fraction of a percent of the whole set's, and
/// measuring a million photos would be a full decoding pass before the first step.
pub const STREAMED_SAMPLE: usize = 10_000;

/// Images fetched at once while measuring.
const MEASURED_TOGETHER: usize = 256;

/// Per-channel mean and standard deviation, in `[0, 1]` pixel units. Stored in the model file so
/// that prediction normalises exactly as training did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Normalization {
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation.
    pub std: Vec<f32>,
}

impl Normalization {
    /// Measures the mean and standard deviation of each channel over the given images; over an
    /// evenly spaced sample of [`STREAMED_SAMPLE`] of them when the dataset is streamed and
    /// holds more (all of them otherwise, so a streamed run of a smaller set measures what an
    /// in-memory one does).
    ///
    /// # Errors
    /// A streamed image that cannot be read or decoded, naming its zip entry.
    pub fn measure(dataset: &Dataset, indices: &[usize]) -> Result<Self> {
        let sample: Vec<usize> = if dataset.is_streamed() && indices.len() > STREAMED_SAMPLE {
            (0..STREAMED_SAMPLE).map(|k| indices[k * indices.len() / STREAMED_SAMPLE]).collect()
        } else {
            indices.to_vec()
        };
        dataset.prefetch(&sample);
        let c = dataset.channels;
        let mut sum = vec![0f64; c];
        let mut sq = vec![0f64; c];
        let mut count = 0f64;
        for chunk in sample.chunks(MEASURED_TOGETHER) {
            for image in dataset.images_of(chunk)? {
                for px in image.chunks_exact(c) {
                    for k in 0..c {
                        let v = f64::from(px[k]) / 255.0;
                        sum[k] += v;
                        sq[k] += v * v;
                    }
                    count += 1.0;
                }
            }
        }
        let count = count.max(1.0);
        let mean: Vec<f32> = sum.iter().map(|s| (s / count) as f32).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| {
                let var = q / count - f64::from(*m).powi(2);
                // A flat channel (all-white background) must not divide by ~0.
                (var.max(0.0).sqrt() as f32).max(1e-2)
            })
            .collect();
        Ok(Self { mean, std })
    }

    /// `u8` images in `HWC` order → normalised `f32` values in `CHW` order, appended to `out`.
    pub fn append_chw(&self, image: &[u8], size: usize, out: &mut Vec<f32>) {
        let c = self.mean.len();
        for k in 0..c {
            let (m, s) = (self.mean[k], self.std[k]);
            out.extend(
                image[k..]
                    .iter()
                    .step_by(c)
                    .take(size * size)
                    .map(|v| (f32::from(*v) / 255.0 - m) / s),
            );
        }
    }
}

/// Builds the `[batch, channels, size, size]` input tensor for the given images.
pub fn images_tensor<'a>(
    images: impl ExactSizeIterator<Item = &'a [u8]>,
    size: usize,
    norm: &Normalization,
    device: &Device,
) -> Tensor<4> {
    let n = images.len();
    let c = norm.mean.len();
    let mut values = Vec::with_capacity(n * c * size * size);
    for image in images {
        norm.append_chw(image, size, &mut values);
    }
    Tensor::from_data(TensorData::new(values, [n, c, size, size]), device)
}

/// Builds the `[batch, labels]` 0/1 target tensor for the given images.
#[cfg(feature = "train")]
pub fn targets_tensor(dataset: &Dataset, indices: &[usize], device: &Device) -> Tensor<2> {
    let values: Vec<f32> =
        indices.iter().flat_map(|&i| dataset.target(i).iter().map(|t| f32::from(*t))).collect();
    Tensor::from_data(TensorData::new(values, [indices.len(), dataset.labels.len()]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chw_layout_and_normalisation() {
        let norm = Normalization { mean: vec![0.0, 0.0, 0.0], std: vec![1.0, 1.0, 1.0] };
        // 1×2 image (size 1 would be ambiguous): two pixels, RGB.
        let image = [255u8, 0, 51, 0, 255, 102, 0, 0, 0, 0, 0, 0];
        let mut out = Vec::new();
        norm.append_chw(&image, 2, &mut out);
        assert_eq!(out.len(), 12);
        assert_eq!(&out[0..2], &[1.0, 0.0]); // red plane starts with the two first pixels
        assert_eq!(&out[4..6], &[0.0, 1.0]); // green plane
        assert!((out[8] - 0.2).abs() < 1e-6); // blue plane
    }
}
