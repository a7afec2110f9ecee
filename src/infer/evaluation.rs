//! A model measured on a labelled dataset: every metric at the model's thresholds, and the
//! probabilities behind them for a review.

use serde::Serialize;
use web_time::Instant;

use crate::checkpoint::ModelMetadata;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::{MultiLabelMetrics, evaluate};
use crate::review::{Review, ReviewSource};

use super::Predictor;

/// Images per forward pass when evaluating a dataset.
const EVAL_BATCH: usize = 64;

/// A model measured on a labelled dataset (`tagtrain eval`, the page's *Evaluate*).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// Images evaluated.
    pub images: usize,
    /// Prediction throughput, decoding excluded.
    pub images_per_sec: f64,
    /// Every metric, at the model's thresholds.
    #[serde(flatten)]
    pub metrics: MultiLabelMetrics,
    /// The probabilities behind the metrics (`images × labels`, row-major, the model's label
    /// order), for a [`crate::review::Review`].
    #[serde(skip)]
    pub probs: Vec<f32>,
    /// The truth they were measured against, same layout.
    #[serde(skip)]
    pub targets: Vec<u8>,
}

impl Evaluation {
    /// The evaluation as a [`Review`] of every image of `dataset` (the one evaluated), at the
    /// model's thresholds.
    ///
    /// # Errors
    /// A dataset other than the one evaluated (another size).
    pub fn review(&self, dataset: &Dataset, metadata: &ModelMetadata) -> Result<Review> {
        Review::new(
            ReviewSource::Evaluation,
            metadata.labels.clone(),
            metadata.thresholds.clone(),
            (0..dataset.len()).collect(),
            dataset.names.clone(),
            self.probs.clone(),
            self.targets.clone(),
        )
    }
}

impl Predictor {
    /// For each of the model's labels, the column of `labels` (a dataset's) with the same
    /// name.
    ///
    /// # Errors
    /// A model label missing from `labels`, named, with the labels the data needs.
    pub fn label_columns(&self, labels: &[String]) -> Result<Vec<usize>> {
        let wanted = &self.metadata.labels;
        wanted
            .iter()
            .map(|label| {
                labels.iter().position(|l| l == label).ok_or_else(|| {
                    Error::empty_dataset(format!(
                        "it has no column '{label}', which the model predicts; evaluate on data \
                         labelled with the model's labels ({})",
                        wanted.join(", ")
                    ))
                })
            })
            .collect()
    }

    /// Measures the model on `dataset` (decoded at the model's input size and channels, e.g.
    /// with [`crate::DatasetSource::decoder_with_channels`]): every metric at the model's
    /// thresholds. The dataset's label columns are matched to the model's labels by name, so
    /// extra columns and another order are fine.
    pub async fn evaluate(&self, dataset: &Dataset) -> Result<Evaluation> {
        let columns = self.label_columns(&dataset.labels)?;
        let n = dataset.len();
        let mut targets = Vec::with_capacity(n * columns.len());
        for i in 0..n {
            let row = dataset.target(i);
            targets.extend(columns.iter().map(|&c| row[c]));
        }
        let started = Instant::now();
        let mut probs = Vec::with_capacity(n * columns.len());
        for start in (0..n).step_by(EVAL_BATCH) {
            let images: Vec<&[u8]> =
                (start..(start + EVAL_BATCH).min(n)).map(|i| dataset.image(i)).collect();
            probs.extend(self.probabilities(&images).await?);
        }
        let images_per_sec = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let metadata = &self.metadata;
        Ok(Evaluation {
            images: n,
            images_per_sec,
            metrics: evaluate(&metadata.labels, &probs, &targets, &metadata.thresholds),
            probs,
            targets,
        })
    }
}
