//! The run's products: the model to save with its metadata (the snapshot), each label's
//! precision–recall curve, the tuned thresholds and the review of the validation images.

use burn::module::Module;

use crate::checkpoint::{InputSpec, ModelMetadata, TrainedData, TrainingSummary};
use crate::error::Result;
use crate::model::Network;
use crate::review::{Review, ReviewSource};
use crate::scoring::ScoreTable;
use crate::thresholds::{curve, tune_thresholds};

use super::events::LabelCurve;
use super::session::{TrainingSession, busy};

impl TrainingSession {
    /// The network to save, in inference mode, with everything the model file needs: the best
    /// epoch's weights when validation ran (early stopping keeps them), else the latest, and
    /// per-label thresholds tuned on their validation probabilities.
    ///
    /// # Errors
    /// After a diverged step with no epoch completed before it: there are no weights to keep.
    pub fn snapshot(&self) -> Result<(Network, ModelMetadata)> {
        let best = self.early_stopping.best();
        let model = match (best, &self.diverged) {
            (Some(best), _) => best.model.clone(),
            // The weights after a diverged step are not a model; nothing earlier was kept.
            (None, Some(diverged)) => return Err(diverged.clone()),
            (None, None) => match &self.ema {
                Some(ema) => ema.model().clone(),
                None => self.model.as_ref().ok_or_else(busy)?.valid(),
            },
        };
        let labels = self.dataset.labels.clone();
        let thresholds = self.tuned_thresholds();
        let input = InputSpec {
            image_size: self.dataset.image_size as u32,
            channels: self.dataset.channels,
            resize: self.options.resize,
            normalization: self.norm.clone(),
            sound: self.options.sound.clone(),
        };
        let training = TrainingSummary {
            labels: labels.clone(),
            init: self.init,
            options: self.options.clone(),
            steps: self.step,
            epochs_completed: self.step / self.steps_per_epoch,
            best_epoch: best.map(|b| b.epoch),
            stopped_early: self.early_stopping.stopped(),
            train_images: self.split.train.len(),
            valid_images: self.split.valid.len(),
            backend: self.compute.kind.as_str().to_string(),
            images_per_sec: self.throughput.images_per_sec(),
            final_map: best.map(|b| b.map),
            final_valid_loss: best.and_then(|b| b.valid_loss),
            data: Some(trained_data(&self.dataset)),
        };
        let config = self.config.clone();
        let lineage = self.lineage.clone();
        Ok((model, ModelMetadata::trained(labels, thresholds, input, config, training, lineage)))
    }

    /// Each label's precision–recall curve on the validation images, for the kept weights
    /// (empty curves without validation images). The page draws threshold sliders from these.
    pub fn threshold_curves(&self) -> Vec<LabelCurve> {
        let probs = self.early_stopping.best().map(|b| b.probs.as_slice()).unwrap_or(&[]);
        let table = ScoreTable::new(probs, &self.valid_targets, self.dataset.labels.len());
        self.dataset
            .labels
            .iter()
            .enumerate()
            .map(|(j, label)| {
                let (scores, truth) = table.column(j);
                LabelCurve { label: label.clone(), points: curve(&scores, &truth) }
            })
            .collect()
    }

    /// Each label's threshold tuned on the validation images for the kept weights (0.5 without
    /// validation images).
    fn tuned_thresholds(&self) -> Vec<f32> {
        let labels = self.dataset.labels.len();
        match self.early_stopping.best() {
            Some(best) if !best.probs.is_empty() => tune_thresholds(
                &best.probs,
                &self.valid_targets,
                labels,
                self.options.threshold_goal,
            ),
            _ => vec![0.5; labels],
        }
    }

    /// The kept weights on the validation images, at the tuned thresholds: what the page's
    /// curves, error galleries and report show after training. `None` before an epoch was
    /// validated, or without validation images.
    pub fn review(&self) -> Option<Review> {
        let best = self.early_stopping.best().filter(|b| !b.probs.is_empty())?;
        let names = self.split.valid.iter().map(|&i| self.dataset.names[i].clone()).collect();
        Review::new(
            ReviewSource::Validation,
            self.dataset.labels.clone(),
            self.tuned_thresholds(),
            self.split.valid.clone(),
            names,
            best.probs.clone(),
            self.valid_targets.clone(),
        )
        .ok()
    }
}

/// What `dataset` holds, as a run records it in the model file (its lineage).
fn trained_data(dataset: &crate::data::Dataset) -> TrainedData {
    TrainedData {
        images: dataset.len(),
        labels_digest: format!("{:016x}", super::fingerprint::labelled_names(dataset).finish()),
        label_edits: dataset.label_edits,
    }
}
