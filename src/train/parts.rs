//! What a training session is assembled from, the same whether it starts fresh, from a saved
//! model or from its run file: the network it starts from ([`Start`]), where the run stands
//! ([`Progress`]), and both with the dataset, split and devices ([`SessionParts`]). The `start`
//! module makes them for a new run, `run_file` for a resumed one; `session` assembles them.

use burn::tensor::{Device, Tensor, TensorData};

use crate::checkpoint::TrainingSummary;
use crate::data::{Dataset, Normalization, Split};
use crate::device::ComputeDevice;
use crate::model::{Network, NetworkConfig};
use crate::options::{TrainingOptions, WeightsInit};
use crate::rng::SeededRng;

use super::adamw::AdamW;
use super::best::EarlyStopping;
use super::budget::EpochBudget;
use super::ema::WeightAverage;
use super::events::RunHistory;
use super::fingerprint::DatasetFingerprint;
use super::loss::positive_weights;

/// The network a run starts from, with what the model file will need to say about it.
pub(super) struct Start {
    /// Trainable weights on the autodiff device.
    pub model: Network,
    /// The architecture (the parent's when fine-tuning, with this dataset's label count).
    pub config: NetworkConfig,
    /// Input normalisation: measured on the training images, or the parent's.
    pub norm: Normalization,
    /// How the weights started.
    pub init: WeightsInit,
    /// The runs before this one, oldest first.
    pub lineage: Vec<TrainingSummary>,
}

/// Where a run stands between two epochs: fresh at step 0, or restored from its run file.
pub(super) struct Progress {
    /// Steps done.
    pub step: usize,
    /// The shuffling and augmentation generator.
    pub rng: SeededRng,
    /// The optimiser and its moments.
    pub optim: AdamW,
    /// The best epoch's weights, and whether to stop.
    pub early_stopping: EarlyStopping,
    /// Every epoch's report and every step's loss so far.
    pub history: RunHistory,
    /// The moving average of the weights (`emaDecay` > 0).
    pub ema: Option<WeightAverage>,
}

impl Progress {
    /// A run before its first step, from `model`'s weights.
    pub(super) fn fresh(options: &TrainingOptions, model: &Network) -> Self {
        Self {
            step: 0,
            rng: SeededRng::new(options.seed.wrapping_add(1)),
            optim: AdamW::new(options.weight_decay, options.gradient_clip),
            early_stopping: EarlyStopping::new(options.patience, options.keep),
            history: RunHistory::default(),
            ema: (options.ema_decay > 0.0).then(|| WeightAverage::new(options.ema_decay, model)),
        }
    }
}

/// What a session is assembled from: the same parts whether it starts from fresh weights, from
/// a saved model or from its run file (see the `start` module).
pub(super) struct SessionParts {
    /// The dataset, with the run's chosen labels only.
    pub dataset: Dataset,
    /// Its fingerprint, when already computed (a resumed run checked it).
    pub fingerprint: Option<DatasetFingerprint>,
    /// The run's options, its batch fitted to the device.
    pub options: TrainingOptions,
    /// The train/validation split.
    pub split: Split,
    /// Steps in an epoch.
    pub steps_per_epoch: usize,
    /// Where validation and the saved weights live.
    pub compute: ComputeDevice,
    /// The autodiff device the run trains on.
    pub train_device: Device,
    /// The network and what the model file says about how it started.
    pub start: Start,
    /// Where the run stands.
    pub progress: Progress,
    /// A time budget still to choose the epochs.
    pub budget: Option<EpochBudget>,
    /// Said when the batch asked for was lowered to fit the GPU's buffers.
    pub batch_notice: Option<String>,
}

/// The positive weights (uploaded once; every step reuses the device tensor) and the
/// validation targets of a split.
pub(super) fn split_tensors(
    dataset: &Dataset,
    options: &TrainingOptions,
    split: &Split,
    device: &Device,
) -> (Option<Tensor<1>>, Vec<u8>) {
    let pos_weight = options.positive_weights.then(|| {
        let w = positive_weights(dataset, &split.train);
        let labels = w.len();
        Tensor::<1>::from_data(TensorData::new(w, [labels]), device)
    });
    let valid_targets =
        split.valid.iter().flat_map(|&i| dataset.target(i).iter().copied()).collect();
    (pos_weight, valid_targets)
}
