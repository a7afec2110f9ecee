//! The run file's header: what a run is besides its tensors, read without them (the page shows a
//! saved run from its first bytes), and checked against the dataset it is to resume on.

use serde::{Deserialize, Serialize};

use crate::checkpoint::TrainingSummary;
use crate::data::{Dataset, Normalization, Split};
use crate::error::{Error, Result};
use crate::model::NetworkConfig;
use crate::options::{TrainingOptions, WeightsInit};

use super::{DatasetFingerprint, HEADER_KEY, RUN_FORMAT, RUN_VERSION};
use crate::train::events::EpochReport;
use crate::train::schedule::{full_batches_per_epoch, steps_per_epoch};

/// The best epoch so far, besides its weights and probabilities (which are tensors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::train) struct BestHeader {
    pub epoch: usize,
    pub map: f64,
    pub valid_loss: Option<f64>,
}

/// Everything of a saved run besides its tensors: the JSON under the header key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::train) struct RunFileHeader {
    pub version: u32,
    #[serde(deserialize_with = "crate::options::recorded_options")]
    pub options: TrainingOptions,
    pub architecture: NetworkConfig,
    pub normalization: Normalization,
    pub dataset: DatasetFingerprint,
    /// Steps done (a whole number of epochs).
    pub step: usize,
    pub steps_per_epoch: usize,
    /// The shuffling and augmentation generator's state, in decimal (JSON numbers lose 64-bit
    /// integers in JavaScript).
    pub rng: String,
    /// The optimiser's step count.
    pub optimizer_steps: i32,
    pub best: Option<BestHeader>,
    pub stale_epochs: usize,
    pub stopped_early: bool,
    pub init: WeightsInit,
    #[serde(default)]
    pub lineage: Vec<TrainingSummary>,
    /// Every epoch's report so far, oldest first.
    #[serde(default)]
    pub history: Vec<EpochReport>,
    /// Every step's training loss so far.
    #[serde(default)]
    pub step_losses: Vec<f32>,
    /// Updates of the weight average (`emaDecay` > 0), whose tensors are saved as `ema.*`.
    #[serde(default)]
    pub ema_updates: usize,
}

impl RunFileHeader {
    /// Reads a run file's header. `bytes` may be the whole file or only its beginning up to the end
    /// of the safetensors header (8-byte length + JSON): the page reads no more than that to show
    /// what a saved run is, so that a large run file is not copied into the module's memory for it.
    pub fn read(bytes: &[u8]) -> Result<Self> {
        let not_a_run =
            || Error::run_state("this is not a tagtrain run file (an autosave of a training run)");
        let metadata = header_metadata(bytes).ok_or_else(not_a_run)?;
        if metadata.get("format").map(String::as_str) != Some(RUN_FORMAT) {
            return Err(not_a_run());
        }
        let json = metadata.get(HEADER_KEY).ok_or_else(not_a_run)?;
        let version = serde_json::from_str::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64))
            .ok_or_else(not_a_run)?;
        if version > u64::from(RUN_VERSION) {
            return Err(Error::run_state(format!(
                "it was saved by a newer tagtrain (run format {version}; this one reads up to \
                 {RUN_VERSION}): open it with that version, or start the run again"
            )));
        }
        serde_json::from_str(json)
            .map_err(|e| Error::run_state(format!("its header is damaged ({e})")))
    }

    /// The fingerprint of `dataset` (its chosen labels only), when it is the dataset this run
    /// trains on.
    ///
    /// # Errors
    /// [`crate::ErrorKind::RunState`] naming the difference.
    pub fn check_dataset(&self, dataset: &Dataset) -> Result<DatasetFingerprint> {
        let fingerprint = DatasetFingerprint::of(dataset);
        if let Some(why) = self.dataset.difference(&fingerprint) {
            return Err(Error::run_state(format!(
                "it belongs to another dataset: {why}. Open the dataset the run started with"
            )));
        }
        Ok(fingerprint)
    }

    /// The run's steps per epoch, when they fit `split`'s training images in batches of the
    /// run's size. Runs saved before the last partial batch trained keep their full batches only.
    ///
    /// # Errors
    /// [`crate::ErrorKind::RunState`] for another split.
    pub fn check_split(&self, split: &Split) -> Result<usize> {
        let (images, batch) = (split.train.len(), self.options.batch_size);
        let saved = self.steps_per_epoch;
        if saved != steps_per_epoch(images, batch) && saved != full_batches_per_epoch(images, batch)
        {
            return Err(Error::run_state("its split of the dataset does not match this one's"));
        }
        Ok(saved)
    }
}

/// Most bytes a safetensors header may take (the `safetensors` crate's own limit).
const MAX_HEADER_BYTES: usize = 100_000_000;

/// The `__metadata__` map of a safetensors header, from the file's first bytes (the tensors
/// are checked when they are read, by `checkpoint::read_f32_tensors`).
fn header_metadata(bytes: &[u8]) -> Option<std::collections::HashMap<String, String>> {
    #[derive(Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__")]
        metadata: std::collections::HashMap<String, String>,
    }
    let length = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let json = bytes.get(8..8 + length.min(MAX_HEADER_BYTES))?;
    serde_json::from_slice::<Header>(json).ok().map(|h| h.metadata)
}

/// What the page shows about a saved run before it is resumed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SavedRunInfo {
    /// Whole epochs done.
    pub epochs_completed: usize,
    /// Epochs the run was asked for.
    pub epochs: usize,
    /// Whether early stopping had already ended it.
    pub stopped_early: bool,
    /// Labels trained.
    pub labels: Vec<String>,
    /// Images in the dataset.
    pub images: usize,
    /// The network, e.g. `ResNetV2 Small-11`.
    pub model: String,
    /// The options of the run.
    pub options: TrainingOptions,
    /// Validation mAP of the best epoch so far.
    pub best_map: Option<f64>,
    /// Whether the run streamed its images (its dataset fingerprint is then of the files, and
    /// resuming it streams them too). Not sent to the page, which never streams.
    #[serde(skip)]
    pub streamed: bool,
}

/// What the page shows about the run in `bytes` before resuming it.
pub fn saved_run_info(bytes: &[u8]) -> Result<SavedRunInfo> {
    let header = RunFileHeader::read(bytes)?;
    Ok(SavedRunInfo {
        epochs_completed: header.step / header.steps_per_epoch.max(1),
        epochs: header.options.epochs,
        stopped_early: header.stopped_early,
        labels: header.dataset.labels.clone(),
        images: header.dataset.images,
        model: header.architecture.name(),
        best_map: header.best.as_ref().map(|b| b.map),
        streamed: header.dataset.basis == super::super::fingerprint::FingerprintBasis::Files,
        options: header.options,
    })
}
