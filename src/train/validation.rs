//! The end of an epoch: the validation images' logits (from the feature cache when the head
//! alone trains) and the epoch's report.

use burn::module::Module;
use burn::tensor::Tensor;

use crate::data::batcher::images_tensor;
use crate::error::{Error, Result};
use crate::metrics::evaluate;

use super::events::EpochReport;
use super::loss::{bce_with_logits_cpu, sigmoid};
use super::session::{TrainingSession, busy};

impl TrainingSession {
    /// Validation report of the current weights, and their validation probabilities.
    pub(super) async fn validate(&mut self, epoch: usize) -> Result<(EpochReport, Vec<f32>)> {
        let train_loss = self.epoch_loss_sum / self.epoch_loss_images.max(1) as f64;
        let (valid_loss, probs) = if self.split.valid.is_empty() {
            (None, Vec::new())
        } else {
            let logits = self.valid_logits().await?;
            let loss = bce_with_logits_cpu(&logits, &self.valid_targets);
            (Some(loss), logits.iter().copied().map(sigmoid).collect())
        };
        let labels = &self.dataset.labels;
        let thresholds = vec![0.5; labels.len()];
        let metrics = evaluate(labels, &probs, &self.valid_targets, &thresholds);
        Ok((EpochReport { epoch, train_loss, valid_loss, best: false, metrics }, probs))
    }

    /// Logits of the given images from the current weights in inference mode.
    pub(super) async fn logits(&self, indices: &[usize]) -> Result<Vec<f32>> {
        let model = match &self.ema {
            Some(ema) => ema.model().clone(),
            None => self.model.as_ref().ok_or_else(busy)?.valid(),
        };
        let device = &self.compute.device;
        let mut out = Vec::with_capacity(indices.len() * self.dataset.labels.len());
        if self.features.is_none() {
            self.dataset.prefetch(indices);
        }
        for chunk in indices.chunks(self.options.batch_size.max(1)) {
            if let Some(cache) = &self.features {
                let logits = model.classify_pooled(cache.tensor(chunk, device)?);
                let data = logits.into_data_async().await.map_err(Error::backend)?;
                out.extend(data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))?);
                continue;
            }
            let images = images_tensor(
                self.dataset.images_of(chunk)?.iter().map(AsRef::as_ref),
                self.dataset.image_size,
                &self.norm,
                device,
            );
            let logits: Tensor<2> = model.forward(images);
            let data = logits.into_data_async().await.map_err(Error::backend)?;
            out.extend(data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))?);
        }
        Ok(out)
    }
}
