//! Prediction: a loaded model, its metadata, and per-label probabilities for images.

use burn::tensor::Device;
use serde::Serialize;

use crate::checkpoint::{self, ModelMetadata};
use crate::data::Limits;
use crate::data::batcher::images_tensor;
use crate::data::image::decode_image;
use crate::error::{Error, Result};
use crate::model::ResNetV2;

/// One label's prediction for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelPrediction {
    pub label: String,
    pub probability: f32,
    pub threshold: f32,
    /// `probability >= threshold`.
    pub positive: bool,
}

/// A model ready to predict.
pub struct Predictor {
    model: ResNetV2,
    metadata: ModelMetadata,
    device: Device,
    limits: Limits,
}

impl Predictor {
    /// Loads a model file onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self> {
        let (model, metadata) = checkpoint::load(bytes, device)?;
        Ok(Self { model, metadata, device: device.clone(), limits: Limits::default() })
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Uses new per-label thresholds from now on (see [`checkpoint::with_thresholds`] to
    /// store them in the file).
    pub fn set_thresholds(&mut self, thresholds: &[f32]) -> Result<()> {
        checkpoint::check_thresholds(&self.metadata, thresholds)?;
        self.metadata.thresholds = thresholds.to_vec();
        Ok(())
    }

    /// Probabilities (`images × labels`, row-major) for images already decoded at the model's
    /// input size and channel count (`HWC`, as [`decode_image`] returns them).
    pub async fn probabilities(&self, images: &[Vec<u8>]) -> Result<Vec<f32>> {
        let size = self.metadata.input.image_size as usize;
        let expected = size * size * self.metadata.input.channels;
        if let Some(bad) = images.iter().position(|i| i.len() != expected) {
            return Err(Error::option(
                "images",
                format!(
                    "image #{bad} is not {size}×{size} with {} channel(s)",
                    self.metadata.input.channels
                ),
            ));
        }
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let input = images_tensor(
            images.iter().map(Vec::as_slice),
            size,
            &self.metadata.input.normalization,
            &self.device,
        );
        let data =
            self.model.probabilities(input).into_data_async().await.map_err(Error::backend)?;
        data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))
    }

    /// Decodes one image file (`name` is used in errors) and predicts every label, sorted by
    /// probability, highest first.
    pub async fn predict_file(&self, name: &str, bytes: &[u8]) -> Result<Vec<LabelPrediction>> {
        let input = &self.metadata.input;
        let pixels = decode_image(
            name,
            bytes,
            input.image_size,
            input.channels,
            input.resize,
            &self.limits,
        )?;
        let probs = self.probabilities(&[pixels]).await?;
        Ok(self.label_predictions(&probs))
    }

    /// Pairs one image's probabilities with labels and thresholds, sorted descending.
    pub fn label_predictions(&self, probs: &[f32]) -> Vec<LabelPrediction> {
        let mut out: Vec<LabelPrediction> = self
            .metadata
            .labels
            .iter()
            .zip(&self.metadata.thresholds)
            .zip(probs)
            .map(|((label, &threshold), &probability)| LabelPrediction {
                label: label.clone(),
                probability,
                threshold,
                positive: probability >= threshold,
            })
            .collect();
        out.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        out
    }
}
