//! What a training run reports: its sizes before the first step, an event after every step,
//! a validation report at the end of every epoch, and the kept weights' threshold curves.
//! Serialised camelCase: the page reads them as they are.

use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::metrics::MultiLabelMetrics;
use crate::options::WeightsInit;
use crate::thresholds::CurvePoint;

/// Reported after each step.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StepEvent {
    /// 1-based epoch of this step.
    pub epoch: usize,
    /// 1-based global step.
    pub step: usize,
    /// Steps of the whole run (early stopping may end it sooner).
    pub total_steps: usize,
    /// Training loss of this step's batch.
    pub loss: f64,
    /// Training throughput, averaged since the start.
    pub images_per_sec: f64,
    /// Estimated seconds until the last step.
    pub eta_seconds: f64,
    /// On the step where a run with a time budget chose its epochs (after timing its first
    /// steps): how many. `total_steps` follows from then on.
    pub epochs_chosen: Option<usize>,
    /// Validation results, on the step that ends an epoch.
    pub validation: Option<EpochReport>,
    /// True after the last step.
    pub done: bool,
    /// True when training ended before the last epoch because validation mAP stopped
    /// improving (`done` is then true too).
    pub stopped_early: bool,
}

/// Validation at the end of an epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Validation loss (`None` without validation images).
    pub valid_loss: Option<f64>,
    /// True when this epoch's weights are the ones kept so far: the best so far, or the last
    /// epoch's at the schedule's end with [`crate::KeptEpoch::Last`].
    pub best: bool,
    /// Validation metrics at 0.5 (thresholds are tuned only when the model is saved).
    #[serde(flatten)]
    pub metrics: MultiLabelMetrics,
}

/// What a run has reported so far: the page redraws its curves from it when a run is resumed.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RunHistory {
    /// Every epoch's validation report, oldest first.
    pub epochs: Vec<EpochReport>,
    /// Every step's training loss, in order.
    pub step_losses: Vec<f32>,
}

/// Sizes of a run, known before the first step.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Images trained on.
    pub train_images: usize,
    /// Images validated on.
    pub valid_images: usize,
    /// Optimisation steps per epoch (the last batch may be partial; a lone last image waits for
    /// the next epoch's shuffle).
    pub steps_per_epoch: usize,
    /// Steps of the whole run.
    pub total_steps: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// The network's name, e.g. `ResNetV2-Small-11`.
    pub model: String,
    /// `webgpu` or `cpu`.
    pub backend: &'static str,
    /// Images per step.
    pub batch_size: usize,
    /// Set when the batch size asked for was lowered to fit the GPU's largest buffer.
    pub batch_notice: Option<String>,
    /// How the weights started (see [`super::TrainingSession::from_model`]).
    pub init: WeightsInit,
    /// The labels trained (the chosen label columns), in the model's order.
    pub labels: Vec<String>,
    /// Sets of images found identical (same bytes, or the same pixels at the training size),
    /// by name; each set is on one side of the split.
    pub duplicates: Vec<Vec<String>>,
    /// Groups of the `group` column kept whole by the split, when there is one.
    pub groups: Option<usize>,
}

/// One label's validation precision–recall curve.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LabelCurve {
    /// The label's name.
    pub label: String,
    /// Highest threshold first.
    pub points: Vec<CurvePoint>,
}

/// Training images per second, with and without validation.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    /// When the first step started.
    started: Option<Instant>,
    images_seen: usize,
    /// Seconds spent in optimisation steps (validation excluded).
    train_seconds: f64,
}

impl Throughput {
    /// Marks a step's start (and the run's, at the first).
    pub(super) fn step_started(&mut self) -> Instant {
        let now = Instant::now();
        self.started.get_or_insert(now);
        now
    }

    /// Counts a finished step of `images` that started at `started`.
    pub(super) fn step_ended(&mut self, started: Instant, images: usize) {
        self.images_seen += images;
        self.train_seconds += started.elapsed().as_secs_f64();
    }

    /// Seconds since the first step (validation included).
    pub fn seconds(&self) -> f64 {
        self.started.map_or(0.0, |t| t.elapsed().as_secs_f64()).max(1e-9)
    }

    /// Training images per second since the first step (validation included).
    pub fn images_per_sec(&self) -> f64 {
        if self.started.is_none() { 0.0 } else { self.images_seen as f64 / self.seconds() }
    }

    /// Training images per second in optimisation steps alone (validation excluded).
    pub fn train_images_per_sec(&self) -> f64 {
        self.images_seen as f64 / self.train_seconds.max(1e-9)
    }
}
