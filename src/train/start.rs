//! How a run starts: from fresh weights or from a saved model (fine-tuning). Either way, and a
//! run resumed from its run file too (the `run_file` module), ends in the same parts
//! ([`SessionParts`]), which one constructor assembles into a [`TrainingSession`].

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::checkpoint::{TrainingSummary, load_trainable};
use crate::data::{Dataset, Normalization, Split, stratified_split, validation_share};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::batch_for_buffer;
use crate::model::{ResNetV2, ResNetV2Config};
use crate::options::{TrainingOptions, WeightsInit};
use crate::rng::SeededRng;

use super::adamw::AdamW;
use super::best::EarlyStopping;
use super::budget::EpochBudget;
use super::ema::WeightAverage;
use super::events::RunHistory;
use super::fingerprint::DatasetFingerprint;
use super::loss::positive_weights;
use super::schedule::steps_per_epoch;
use super::session::TrainingSession;

/// The network a run starts from, with what the model file will need to say about it.
pub(super) struct Start {
    /// Trainable weights on the autodiff device.
    pub model: ResNetV2,
    /// The architecture (the parent's when fine-tuning, with this dataset's label count).
    pub config: ResNetV2Config,
    /// Input normalisation: measured on the training images, or the parent's.
    pub norm: Normalization,
    /// How the weights started.
    pub init: WeightsInit,
    /// The runs before this one, oldest first.
    pub lineage: Vec<TrainingSummary>,
}

/// Fresh weights of the chosen depth, or a saved model's (`model_file`).
///
/// With the same labels, in the same order, training continues from every weight. With a
/// different label set the backbone is kept and the classifier head is rebuilt for the new
/// labels. Either way the architecture and the input normalisation come from the model (the
/// backbone learned on them; `options.depth` is ignored).
pub(super) fn start(
    dataset: &Dataset,
    options: &TrainingOptions,
    train: &[usize],
    model_file: Option<&[u8]>,
    device: &Device,
) -> Result<Start> {
    let labels = dataset.labels.len();
    let Some(bytes) = model_file else {
        let config =
            ResNetV2Config::for_depth(options.depth, labels)?.with_in_channels(dataset.channels);
        return Ok(Start {
            model: config.init_with(options.conv_init, device)?,
            config,
            norm: Normalization::measure(dataset, train),
            init: WeightsInit::New,
            lineage: Vec::new(),
        });
    };
    let (model, parent) = load_trainable(bytes, device)?;
    if parent.input.channels != dataset.channels {
        return Err(Error::option(
            "init",
            format!(
                "the model takes {}-channel images and this dataset has {} channels; fine-tune \
                 on images of the same kind",
                parent.input.channels, dataset.channels
            ),
        ));
    }
    let mut lineage = parent.lineage;
    lineage.extend(parent.training);
    let mut config = parent.architecture;
    let (model, init) = if parent.labels == dataset.labels {
        (model, WeightsInit::Continue)
    } else {
        config.num_labels = labels;
        (model.with_new_head(labels, device), WeightsInit::NewHead)
    };
    Ok(Start { model, config, norm: parent.input.normalization, init, lineage })
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
    fn fresh(options: &TrainingOptions, model: &ResNetV2) -> Self {
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

/// Held while a run seeds the backend's generator and draws its initial weights.
static INITIAL_WEIGHTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Draws every parameter that is still lazy (burn initialises a parameter at its first use).
struct DrawWeights;

impl ModuleVisitor for DrawWeights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

impl TrainingSession {
    /// Prepares a run from fresh weights: splits the data, measures the normalisation and
    /// builds the network.
    pub fn new(dataset: Dataset, options: TrainingOptions, compute: ComputeDevice) -> Result<Self> {
        Self::build(dataset, options, compute, None)
    }

    /// Prepares a run that starts from a saved model (fine-tuning).
    ///
    /// With the same labels, in the same order, training continues from every weight
    /// ([`WeightsInit::Continue`]). With a different label set the backbone is kept and the
    /// classifier head is rebuilt for the new labels ([`WeightsInit::NewHead`]). Either way the
    /// architecture and the input normalisation come from the model (the backbone learned on
    /// them; `depth` in `options` is ignored), and the saved model records the earlier runs in
    /// its lineage.
    pub fn from_model(
        dataset: Dataset,
        options: TrainingOptions,
        compute: ComputeDevice,
        model_file: &[u8],
    ) -> Result<Self> {
        Self::build(dataset, options, compute, Some(model_file))
    }

    fn build(
        dataset: Dataset,
        options: TrainingOptions,
        compute: ComputeDevice,
        model_file: Option<&[u8]>,
    ) -> Result<Self> {
        options.validate()?;
        let dataset = chosen_labels(dataset, &options)?;
        if dataset.len() < 2 {
            return Err(Error::empty_dataset("at least 2 images are needed to train"));
        }
        // The run records the share it used (a resumed run, and the model file, then say it).
        let mut options = options;
        options.validation_fraction.get_or_insert_with(|| validation_share(&dataset));
        let split = run_split(&dataset, &options);
        let budget = options.time_budget_seconds.map(EpochBudget::new);
        let train_device = compute.device.clone().autodiff();
        let start = {
            // The CPU backend draws initial weights from one process-wide generator, and
            // lazily, at a parameter's first use: two runs starting at once (tests in
            // parallel, or an embedder's two sessions) would take turns on it and not repeat.
            // Seeding and every draw happen under one lock instead.
            let _draws = INITIAL_WEIGHTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            train_device.seed(options.seed);
            let start = start(&dataset, &options, &split.train, model_file, &train_device)?;
            start.model.visit(&mut DrawWeights);
            start
        };
        let batch_notice =
            fit_batch_to_buffers(&mut options, &start.config, &dataset, &split, &compute)?;
        let progress = Progress::fresh(&options, &start.model);
        Ok(Self::assemble(SessionParts {
            steps_per_epoch: steps_per_epoch(split.train.len(), options.batch_size),
            dataset,
            fingerprint: None,
            options,
            split,
            compute,
            train_device,
            start,
            progress,
            budget,
            batch_notice,
        }))
    }
}

/// The dataset with only the label columns `options.labels` chose (all when `None`).
pub(super) fn chosen_labels(mut dataset: Dataset, options: &TrainingOptions) -> Result<Dataset> {
    if let Some(labels) = &options.labels {
        dataset.select_labels(labels)?;
    }
    Ok(dataset)
}

/// The run's train/validation split: stratified by the seed (all images train when the
/// validation share leaves none to train on). A run without a share (a saved run from before
/// the share was chosen from the data never lacks one) uses the dataset's.
pub(super) fn run_split(dataset: &Dataset, options: &TrainingOptions) -> Split {
    let share = options.validation_fraction.unwrap_or_else(|| validation_share(dataset));
    let mut split = stratified_split(dataset, share, options.seed);
    if split.train.is_empty() {
        split.train = std::mem::take(&mut split.valid);
    }
    split
}

/// Lowers `options.batch_size` to what the device's largest buffer holds (a GPU's; the CPU
/// has no such limit) and returns the notice saying so. A batch is never larger than the
/// training images, so only that many need to fit.
pub(super) fn fit_batch_to_buffers(
    options: &mut TrainingOptions,
    config: &ResNetV2Config,
    dataset: &Dataset,
    split: &Split,
    compute: &ComputeDevice,
) -> Result<Option<String>> {
    let Some(limit) = compute.max_buffer_bytes else {
        return Ok(None);
    };
    let batch = options.batch_size.min(split.train.len().max(1));
    let (fitting, notice) = batch_for_buffer(config, dataset.image_size, batch, limit)?;
    if notice.is_some() {
        options.batch_size = fitting;
    }
    Ok(notice)
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
