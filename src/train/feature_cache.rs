//! The backbone's pooled features of each image, computed once per run: a run that trains the
//! head alone ([`crate::TrainLayers::Head`]) on images without augmentation feeds the frozen
//! backbone the same pixels every epoch, so its output never changes. Each image then costs
//! one forward pass of the backbone for the whole run, and every step after the first epoch
//! only the head's (a pretrained start's "frozen features": seconds per epoch instead of
//! minutes at 224 px).
//!
//! Features are read back to the host (1,280 floats an image for EfficientNet-Lite0, 5 KiB)
//! asynchronously, so this works on WebGPU in the browser too.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::batcher::images_tensor;
use crate::data::{Dataset, Normalization};
use crate::error::{Error, Result};
use crate::model::Network;

/// Pooled features by image index, filled as images are first seen.
pub(super) struct FeatureCache {
    /// Floats per image.
    width: usize,
    /// Each image's features once computed.
    features: Vec<Option<Vec<f32>>>,
}

impl FeatureCache {
    /// An empty cache for `images` images of features `width` wide.
    pub(super) fn new(images: usize, width: usize) -> Self {
        Self { width, features: vec![None; images] }
    }

    /// Whether any image of `indices` has no features yet.
    pub(super) fn misses(&self, indices: &[usize]) -> bool {
        indices.iter().any(|&i| self.features[i].is_none())
    }

    /// Computes the features of the images of `indices` not cached yet, with `model` (in
    /// inference mode: a frozen backbone computes the same as in training), `batch` at a time
    /// on `device`.
    ///
    /// # Errors
    /// A streamed image that cannot be decoded; backend failures reading the features back.
    pub(super) async fn fill(
        &mut self,
        model: &Network,
        (dataset, norm): (&Dataset, &Normalization),
        indices: &[usize],
        (batch, device): (usize, &Device),
    ) -> Result<()> {
        let missing: Vec<usize> =
            indices.iter().copied().filter(|&i| self.features[i].is_none()).collect();
        for chunk in missing.chunks(batch.max(1)) {
            let images = images_tensor(
                dataset.images_of(chunk)?.iter().map(AsRef::as_ref),
                dataset.image_size,
                norm,
                device,
            );
            let pooled = model.pooled_features(images);
            let data = pooled.into_data_async().await.map_err(Error::backend)?;
            let values = data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))?;
            for (&i, features) in chunk.iter().zip(values.chunks_exact(self.width)) {
                self.features[i] = Some(features.to_vec());
            }
        }
        Ok(())
    }

    /// The features of `indices` (all cached: [`FeatureCache::fill`] first) as a tensor on
    /// `device`.
    ///
    /// # Shapes
    /// - output: `[indices.len(), width]`
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] for an image not filled.
    pub(super) fn tensor(&self, indices: &[usize], device: &Device) -> Result<Tensor<2>> {
        let mut values = Vec::with_capacity(indices.len() * self.width);
        for &i in indices {
            let features = self.features[i]
                .as_ref()
                .ok_or_else(|| Error::misuse(format!("image {i}'s features are not computed")))?;
            values.extend_from_slice(features);
        }
        Ok(Tensor::from_data(TensorData::new(values, [indices.len(), self.width]), device))
    }
}
