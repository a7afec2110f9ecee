//! A run saved at the end of an epoch, to be resumed after a reload, a crash or a closed laptop.
//!
//! The run file is a `.safetensors` file, like the model file, so that the same code reads
//! it back asynchronously on every backend. Its tensors:
//! - `model.<module path>`: the current weights (batch-norm statistics included);
//! - `best.<module path>` and `best.probs`: the best epoch's weights and validation
//!   probabilities (early stopping keeps them);
//! - `adam.first.<path>`, `adam.second.<path>`: the optimiser's moments.
//!
//! Its header's `__metadata__` holds `format` = `"tagtrain-run"` and `tagtrain-run`, a JSON
//! [`RunHeader`]: options, architecture, normalisation, step, random state, early stopping,
//! lineage, the epochs' reports, and a fingerprint of the dataset it trains on. `version` is
//! [`RUN_VERSION`]; a run file of a newer version is refused in words, one of an older version
//! is read (fields added later have defaults).
//!
//! Resuming from the file continues exactly where the run was: the same shuffles and
//! augmentations (the random state is saved), the same optimiser moments, the same curves.

use serde::{Deserialize, Serialize};

use crate::checkpoint::TrainingSummary;
use crate::data::{Dataset, Normalization};
use crate::error::{Error, Result};
use crate::model::ResNetV2Config;
use crate::options::{TrainingOptions, WeightsInit};

use super::events::EpochReport;

/// The `format` value of a run file's header.
pub const RUN_FORMAT: &str = "tagtrain-run";
/// The run file's version: raise it when the header or the tensors change meaning.
pub const RUN_VERSION: u32 = 1;
/// The header key of the JSON [`RunHeader`].
pub(super) const HEADER_KEY: &str = "tagtrain-run";

/// Which dataset a run trains on, to refuse resuming it on another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFingerprint {
    /// Number of images.
    pub images: usize,
    /// Label names, in order.
    pub labels: Vec<String>,
    /// Side the images were decoded at.
    pub image_size: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// FNV-1a 64 of the image names, targets and decoded pixels, in hex.
    pub digest: String,
}

impl DatasetFingerprint {
    /// The fingerprint of a decoded dataset.
    pub fn of(dataset: &Dataset) -> Self {
        let mut hash = Fnv::default();
        for name in &dataset.names {
            hash.write(name.as_bytes());
            hash.write(&[0]);
        }
        hash.write(&dataset.targets);
        hash.write(&dataset.pixels);
        Self {
            images: dataset.len(),
            labels: dataset.labels.clone(),
            image_size: dataset.image_size,
            channels: dataset.channels,
            digest: format!("{:016x}", hash.0),
        }
    }

    /// Why `other` is not this dataset, in words; `None` when it is.
    pub fn difference(&self, other: &Self) -> Option<String> {
        if self.labels != other.labels {
            Some(format!(
                "it trained on the labels {:?} and this dataset has {:?}",
                self.labels, other.labels
            ))
        } else if self.images != other.images {
            Some(format!(
                "it trained on {} images and this dataset has {}",
                self.images, other.images
            ))
        } else if (self.image_size, self.channels) != (other.image_size, other.channels) {
            Some(format!(
                "it trained on {0}×{0} images with {1} channels, not {2}×{2} with {3}",
                self.image_size, self.channels, other.image_size, other.channels
            ))
        } else if self.digest != other.digest {
            Some("the images or their labels differ from the ones it trained on".to_string())
        } else {
            None
        }
    }
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The best epoch so far, besides its weights and probabilities (which are tensors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BestHeader {
    pub epoch: usize,
    pub map: f64,
    pub valid_loss: Option<f64>,
}

/// Everything of a saved run besides its tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RunHeader {
    pub version: u32,
    #[serde(deserialize_with = "crate::options::recorded_options")]
    pub options: TrainingOptions,
    pub architecture: ResNetV2Config,
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
}

/// Reads a run file's header. `bytes` may be the whole file or only its beginning up to the end
/// of the safetensors header (8-byte length + JSON): the page reads no more than that to show
/// what a saved run is, so that a large run file is not copied into the module's memory for it.
pub(super) fn read_header(bytes: &[u8]) -> Result<RunHeader> {
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
    serde_json::from_str(json).map_err(|e| Error::run_state(format!("its header is damaged ({e})")))
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

/// What the page shows about the run in `bytes` before resuming it.
pub fn saved_run_info(bytes: &[u8]) -> Result<SavedRunInfo> {
    let header = read_header(bytes)?;
    Ok(SavedRunInfo {
        epochs_completed: header.step / header.steps_per_epoch.max(1),
        epochs: header.options.epochs,
        stopped_early: header.stopped_early,
        labels: header.dataset.labels.clone(),
        images: header.dataset.images,
        model: header.architecture.name(),
        best_map: header.best.as_ref().map(|b| b.map),
        options: header.options,
    })
}
