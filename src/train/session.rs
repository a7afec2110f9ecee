//! A training run driven one step at a time.
//!
//! The caller owns the loop: `while !event.done { event = session.step().await? }`. That keeps
//! the browser worker responsive, lets Stop take effect between two steps, and gives native and
//! wasm one code path. Every read from the device is asynchronous (a synchronous read panics on
//! WebGPU in the browser).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::checkpoint::{
    InputSpec, ModelMetadata, NamedTensor, Readback, TrainingSummary, load_into, read_f32_tensors,
    serialize,
};
use crate::data::batcher::{images_tensor, targets_tensor};
use crate::data::{Dataset, Normalization, Split, stratified_split, validation_share};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::metrics::evaluate;
use crate::model::batch_for_buffer;
use crate::model::{ResNetV2, ResNetV2Config};
use crate::options::{LIMITS, TrainingOptions, WeightsInit};
use crate::review::{Review, ReviewSource};
use crate::rng::SeededRng;
use crate::scoring::ScoreTable;
use crate::thresholds::{curve, tune_thresholds};

use super::adamw::{AdamW, Moments};
use super::augment::augment;
use super::best::{BestEpoch, EarlyStopping};
use super::budget::{EpochBudget, TIMED_STEPS};
use super::ema::WeightAverage;
use super::events::{EpochReport, LabelCurve, RunHistory, SessionInfo, StepEvent, Throughput};
use super::loss::{bce_with_logits, bce_with_logits_cpu, positive_weights};
use super::resume::{
    BestHeader, DatasetFingerprint, HEADER_KEY, RUN_FORMAT, RUN_VERSION, RunHeader, read_header,
};
use super::schedule::{full_batches_per_epoch, steps_per_epoch, warmup_cosine, warmup_steps};
use super::start::start;

/// Held while a run seeds the backend's generator and draws its initial weights.
static INITIAL_WEIGHTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Draws every parameter that is still lazy (burn initialises a parameter at its first use).
struct DrawWeights;

impl ModuleVisitor for DrawWeights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// A training run in progress.
pub struct TrainingSession {
    /// `None` only while a step is running (the optimiser takes the model by value).
    model: Option<ResNetV2>,
    optim: AdamW,
    config: ResNetV2Config,
    options: TrainingOptions,
    dataset: Dataset,
    /// The dataset's fingerprint for run files, computed at the first save (it hashes every
    /// pixel, and the dataset never changes during a run).
    fingerprint: std::cell::OnceCell<DatasetFingerprint>,
    split: Split,
    /// The validation images' 0/1 targets, row-major (the split never changes).
    valid_targets: Vec<u8>,
    norm: Normalization,
    compute: ComputeDevice,
    train_device: Device,
    rng: SeededRng,
    /// This epoch's shuffled training images.
    order: Vec<usize>,
    steps_per_epoch: usize,
    step: usize,
    /// Loss weight of each label's positives, when `positive_weights` is on.
    pos_weight: Option<Tensor<1>>,
    /// The best epoch's weights, and whether to stop.
    early_stopping: EarlyStopping,
    /// How the weights started, and the runs before this one (fine-tuning).
    init: WeightsInit,
    lineage: Vec<TrainingSummary>,
    /// The epoch's training loss summed over its images so far, and their number.
    epoch_loss_sum: f64,
    epoch_loss_images: usize,
    throughput: Throughput,
    /// Every epoch's report and every step's loss, oldest first (a resumed run's included).
    history: RunHistory,
    /// A run with a time budget until its first steps have been timed and its epochs chosen.
    budget: Option<EpochBudget>,
    /// The moving average of the weights (`emaDecay` > 0): validated, kept and saved in
    /// place of the weights themselves.
    ema: Option<WeightAverage>,
    /// Set when a step's loss was not finite: the run is over, and the weights after that
    /// step are not to be saved.
    diverged: Option<Error>,
    /// Set when the batch size asked for was lowered to fit the GPU's largest buffer.
    batch_notice: Option<String>,
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
        let options_budget = options.time_budget_seconds.map(EpochBudget::new);
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
        let (pos_weight, valid_targets) = split_tensors(&dataset, &options, &split, &train_device);
        let ema =
            (options.ema_decay > 0.0).then(|| WeightAverage::new(options.ema_decay, &start.model));
        Ok(Self {
            model: Some(start.model),
            optim: AdamW::new(options.weight_decay, options.gradient_clip),
            config: start.config,
            steps_per_epoch: steps_per_epoch(split.train.len(), options.batch_size),
            valid_targets,
            dataset,
            fingerprint: std::cell::OnceCell::new(),
            split,
            norm: start.norm,
            compute,
            train_device,
            rng: SeededRng::new(options.seed.wrapping_add(1)),
            early_stopping: EarlyStopping::new(options.patience, options.keep),
            options,
            order: Vec::new(),
            step: 0,
            pos_weight,
            init: start.init,
            lineage: start.lineage,
            epoch_loss_sum: 0.0,
            epoch_loss_images: 0,
            throughput: Throughput::default(),
            history: RunHistory::default(),
            budget: options_budget,
            ema,
            diverged: None,
            batch_notice,
        })
    }

    /// Takes up a run saved by [`Self::save_state`] on the same dataset (decoded at the same
    /// size): it goes on with the same weights, optimiser moments, random state, best epoch and
    /// history, so it ends as the uninterrupted run would have.
    ///
    /// # Errors
    /// [`crate::ErrorKind::RunState`] for a file that is not a run, one saved by a newer
    /// version, or another dataset (said in words).
    pub fn resume(dataset: Dataset, compute: ComputeDevice, state: &[u8]) -> Result<Self> {
        let header = read_header(state)?;
        let dataset = chosen_labels(dataset, &header.options)?;
        let fingerprint = DatasetFingerprint::of(&dataset);
        if let Some(why) = header.dataset.difference(&fingerprint) {
            return Err(Error::run_state(format!(
                "it belongs to another dataset: {why}. Open the dataset the run started with"
            )));
        }
        let options = header.options;
        options.validate()?;
        let split = run_split(&dataset, &options);
        // Runs saved before the last partial batch trained keep their full batches only.
        let (images, batch) = (split.train.len(), options.batch_size);
        let saved = header.steps_per_epoch;
        if saved != steps_per_epoch(images, batch) && saved != full_batches_per_epoch(images, batch)
        {
            return Err(Error::run_state("its split of the dataset does not match this one's"));
        }
        let steps_per_epoch = saved;
        let train_device = compute.device.clone().autodiff();
        train_device.seed(options.seed);
        let mut tensors = read_f32_tensors(state)
            .map_err(|e| Error::run_state(format!("its tensors cannot be read ({e})")))?;
        let config = header.architecture;
        // A run's batch cannot change (its epochs are counted in steps): on a GPU with smaller
        // buffers than the one it started on, it resumes on the CPU or not at all.
        let mut fitted = options.clone();
        if fit_batch_to_buffers(&mut fitted, &config, &dataset, &split, &compute)?.is_some() {
            return Err(batch_too_large_to_resume(&options, &compute));
        }
        let damaged = |e: Error| Error::run_state(format!("its weights do not fit ({e})"));
        let model = load_into(config.init(&train_device)?, &mut tensors, "model.", &train_device)
            .map_err(damaged)?;
        let best = match header.best {
            None => None,
            Some(BestHeader { epoch, map, valid_loss }) => {
                let device = &compute.device;
                let model = load_into(config.init(device)?, &mut tensors, "best.", device)
                    .map_err(damaged)?;
                let probs = tensors.remove("best.probs").map(|(_, v)| v).unwrap_or_default();
                Some(BestEpoch { model, epoch, map, valid_loss, probs })
            }
        };
        let mut moments = BTreeMap::<String, Moments>::new();
        let firsts: Vec<String> =
            tensors.keys().filter(|k| k.starts_with("adam.first.")).cloned().collect();
        for key in firsts {
            let path = &key["adam.first.".len()..];
            let second = tensors.remove(&format!("adam.second.{path}"));
            let (Some((_, first)), Some((_, second))) = (tensors.remove(&key), second) else {
                return Err(Error::run_state(format!(
                    "the optimiser state of '{path}' is missing"
                )));
            };
            let tensor = |values: Vec<f32>| {
                let n = values.len();
                Tensor::<1>::from_data(TensorData::new(values, [n]), &compute.device)
            };
            moments
                .insert(path.to_string(), Moments { first: tensor(first), second: tensor(second) });
        }
        let ema = if options.ema_decay > 0.0 {
            let device = &compute.device;
            let average =
                load_into(config.init(device)?, &mut tensors, "ema.", device).map_err(damaged)?;
            Some(WeightAverage::restore(options.ema_decay, header.ema_updates, average))
        } else {
            None
        };
        if let Some(extra) = tensors.keys().next() {
            return Err(Error::run_state(format!("unexpected tensor '{extra}'")));
        }
        let options_budget = options
            .time_budget_seconds
            .filter(|_| header.step < 1 + TIMED_STEPS)
            .map(EpochBudget::new);
        let mut optim = AdamW::new(options.weight_decay, options.gradient_clip);
        optim.restore(header.optimizer_steps, moments);
        let rng = header
            .rng
            .parse::<u64>()
            .map(SeededRng::from_state)
            .map_err(|_| Error::run_state("its random state is damaged"))?;
        let (pos_weight, valid_targets) = split_tensors(&dataset, &options, &split, &train_device);
        let early_stopping = EarlyStopping::restore(
            options.patience,
            options.keep,
            best,
            header.stale_epochs,
            header.stopped_early,
        );
        Ok(Self {
            model: Some(model),
            optim,
            config,
            steps_per_epoch,
            valid_targets,
            dataset,
            fingerprint: fingerprint.into(),
            split,
            norm: header.normalization,
            compute,
            train_device,
            rng,
            early_stopping,
            options,
            order: Vec::new(),
            step: header.step,
            pos_weight,
            init: header.init,
            lineage: header.lineage,
            epoch_loss_sum: 0.0,
            epoch_loss_images: 0,
            throughput: Throughput::default(),
            history: RunHistory { epochs: header.history, step_losses: header.step_losses },
            // A run saved before its time budget chose the epochs (an epoch shorter than the
            // timed steps) times its steps again and chooses now.
            budget: options_budget,
            ema,
            diverged: None,
            batch_notice: None,
        })
    }

    /// The run's state at the end of an epoch, as a run file (see the `resume` module): what
    /// [`Self::resume`] needs to go on exactly from here. Read back asynchronously, so it works
    /// on WebGPU in the browser.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] in the middle of an epoch (the epoch's shuffle is not
    /// saved) or after a diverged step; backend failures.
    pub async fn save_state(&self) -> Result<Vec<u8>> {
        if !self.step.is_multiple_of(self.steps_per_epoch) {
            return Err(Error::misuse("a run is saved at the end of an epoch"));
        }
        if let Some(diverged) = &self.diverged {
            return Err(diverged.clone());
        }
        let model = self.model.as_ref().ok_or_else(busy)?.valid();
        let mut readback = Readback::default().module("model.", &model);
        let best = self.early_stopping.best();
        if let Some(best) = best {
            readback = readback.module("best.", &best.model);
        }
        if let Some(ema) = &self.ema {
            readback = readback.module("ema.", ema.model());
        }
        for (path, moments) in self.optim.moments() {
            readback = readback
                .tensor(format!("adam.first.{path}"), moments.first.clone())
                .tensor(format!("adam.second.{path}"), moments.second.clone());
        }
        let mut tensors = readback.read().await?;
        if let Some(best) = best {
            let values = best.probs.clone();
            tensors.push(NamedTensor {
                name: "best.probs".to_string(),
                shape: vec![values.len()],
                values,
            });
        }
        let header = RunHeader {
            version: RUN_VERSION,
            options: self.options.clone(),
            architecture: self.config.clone(),
            normalization: self.norm.clone(),
            dataset: self.fingerprint.get_or_init(|| DatasetFingerprint::of(&self.dataset)).clone(),
            step: self.step,
            steps_per_epoch: self.steps_per_epoch,
            rng: self.rng.state().to_string(),
            optimizer_steps: self.optim.time(),
            best: best.map(|b| BestHeader { epoch: b.epoch, map: b.map, valid_loss: b.valid_loss }),
            stale_epochs: self.early_stopping.stale_epochs(),
            stopped_early: self.early_stopping.stopped(),
            init: self.init,
            lineage: self.lineage.clone(),
            history: self.history.epochs.clone(),
            step_losses: self.history.step_losses.clone(),
            ema_updates: self.ema.as_ref().map_or(0, WeightAverage::updates),
        };
        let json = serde_json::to_string(&header).map_err(Error::backend)?;
        let metadata =
            [("format".to_string(), RUN_FORMAT.to_string()), (HEADER_KEY.to_string(), json)];
        serialize(&tensors, metadata)
    }

    /// Every epoch's validation report and every step's loss so far, oldest first (a resumed
    /// run's earlier epochs included).
    pub fn history(&self) -> &RunHistory {
        &self.history
    }

    /// True while a run with a time budget has not yet timed its first steps: its epochs
    /// (and so `total_steps`) are provisional until a step event reports `epochs_chosen`.
    pub fn choosing_epochs(&self) -> bool {
        self.budget.is_some()
    }

    /// The run's options (a time budget's epochs and the dataset's validation share filled
    /// in once chosen).
    pub fn options(&self) -> &TrainingOptions {
        &self.options
    }

    /// Sizes of the run.
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            train_images: self.split.train.len(),
            valid_images: self.split.valid.len(),
            steps_per_epoch: self.steps_per_epoch,
            total_steps: self.total_steps(),
            parameters: self.model.as_ref().map(|m| m.num_params()).unwrap_or(0),
            model: self.config.name(),
            backend: self.compute.kind.as_str(),
            batch_size: self.options.batch_size,
            batch_notice: self.batch_notice.clone(),
            init: self.init,
            labels: self.dataset.labels.clone(),
            duplicates: self
                .dataset
                .duplicates
                .iter()
                .map(|set| set.iter().map(|&i| self.dataset.names[i].clone()).collect())
                .collect(),
            groups: self.dataset.groups.as_ref().map(|groups| {
                let mut distinct: Vec<u32> =
                    groups.iter().copied().filter(|&g| g != crate::data::NO_GROUP).collect();
                distinct.sort_unstable();
                distinct.dedup();
                distinct.len()
            }),
        }
    }

    /// The run's split of the dataset (indices of the training and validation images).
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// The dataset the run trains on (its chosen labels only).
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    fn total_steps(&self) -> usize {
        let planned = self.steps_per_epoch * self.options.epochs;
        // A time budget's provisional epochs must leave room for the steps it times.
        match &self.budget {
            Some(budget) => planned.max(budget.deciding_step(self.step)),
            None => planned,
        }
    }

    /// True when every step has run, early stopping ended the run, or it diverged.
    pub fn is_done(&self) -> bool {
        self.early_stopping.stopped() || self.step >= self.total_steps() || self.diverged.is_some()
    }

    /// Runs one optimisation step (and validation when it ends an epoch).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Diverged`] when the loss is not finite (the weights before this
    /// step, and the best epoch's, are kept); [`crate::ErrorKind::Misuse`] after the last step
    /// or while another step runs; backend failures.
    pub async fn step(&mut self) -> Result<StepEvent> {
        let total = self.total_steps();
        if self.is_done() {
            return Err(Error::misuse("training is already finished; save the model instead"));
        }
        let step_started = self.throughput.step_started();
        let in_epoch = self.step % self.steps_per_epoch;
        if in_epoch == 0 {
            self.order = self.split.train.clone();
            self.rng.shuffle(&mut self.order);
            self.epoch_loss_sum = 0.0;
            self.epoch_loss_images = 0;
        }
        // The last batch of an epoch may be partial.
        let start = in_epoch * self.options.batch_size;
        let bs = self.options.batch_size.min(self.order.len() - start);
        let (loss, grads, model) = self.batch_gradients(start, bs)?;
        let warmup = warmup_steps(self.steps_per_epoch, total);
        let lr = warmup_cosine(self.step, total, warmup, self.options.learning_rate, 0.01);
        let model = self.optim.step(lr, model, grads);
        if let Some(ema) = &mut self.ema {
            ema.update(&model);
        }
        self.model = Some(model);
        let loss_value: f32 = loss.into_scalar_async().await.map_err(Error::backend)?;
        if !loss_value.is_finite() {
            let error = Error::new(crate::ErrorKind::Diverged {
                step: self.step + 1,
                loss: loss_value,
                learning_rate: lr,
            });
            self.diverged = Some(error.clone());
            return Err(error);
        }
        self.step += 1;
        self.throughput.step_ended(step_started, bs);
        let mut epochs_chosen = None;
        if let Some(budget) = &mut self.budget {
            let valid_batches = self.split.valid.len().div_ceil(self.options.batch_size.max(1));
            let chosen = budget.step_ended(
                self.step,
                self.steps_per_epoch,
                valid_batches,
                LIMITS.epochs.max as usize,
            );
            if let Some(epochs) = chosen {
                self.options.epochs = epochs;
                self.budget = None;
                epochs_chosen = Some(epochs);
            }
        }
        let total = self.total_steps();
        // The epoch's loss is the mean over its images, a partial batch counting for less.
        self.epoch_loss_sum += f64::from(loss_value) * bs as f64;
        self.history.step_losses.push(loss_value);
        self.epoch_loss_images += bs;

        let epoch = (self.step - 1) / self.steps_per_epoch + 1;
        let validation = if self.step.is_multiple_of(self.steps_per_epoch) {
            let (mut report, probs) = self.validate(epoch).await?;
            let model = match &self.ema {
                Some(ema) => ema.model(),
                None => self.model.as_ref().ok_or_else(busy)?,
            };
            let validated = !self.split.valid.is_empty();
            let schedule_end = self.step >= self.total_steps();
            self.early_stopping.observe(&mut report, model, probs, validated, schedule_end);
            self.history.epochs.push(report.clone());
            Some(report)
        } else {
            None
        };
        let per_step = self.throughput.seconds() / self.step as f64;
        Ok(StepEvent {
            epoch,
            step: self.step,
            total_steps: total,
            loss: f64::from(loss_value),
            images_per_sec: self.throughput.images_per_sec(),
            eta_seconds: per_step * (total - self.step) as f64,
            epochs_chosen,
            validation,
            done: self.is_done(),
            stopped_early: self.early_stopping.stopped(),
        })
    }

    /// Forward and backward pass of the training images `order[start..start + count]`,
    /// augmented, with the model taken out for the optimiser: the batch's loss, the gradients
    /// and the model.
    ///
    /// The loss returned (and reported as the training loss) is the cross-entropy against the
    /// plain 0/1 targets even when label smoothing aims the gradients elsewhere: the smoothed
    /// objective has a floor above zero that depends on ε, so its values would not compare
    /// with the validation loss, with runs without smoothing, or with other tools.
    fn batch_gradients(
        &mut self,
        start: usize,
        count: usize,
    ) -> Result<(Tensor<1>, GradientsParams, ResNetV2)> {
        let batch = &self.order[start..start + count];
        let images = images_tensor(
            batch.iter().map(|&i| self.dataset.image(i)),
            self.dataset.image_size,
            &self.norm,
            &self.train_device,
        );
        let images = augment(images, self.options.augment, &mut self.rng);
        let targets = targets_tensor(&self.dataset, batch, &self.train_device);
        let model = self.model.take().ok_or_else(busy)?;
        let logits = model.forward(images);
        let smoothing = self.options.label_smoothing;
        let (objective, reported) = if smoothing > 0.0 {
            let smoothed = targets.clone().mul_scalar(1.0 - smoothing).add_scalar(smoothing / 2.0);
            let reported =
                bce_with_logits(logits.clone().detach(), targets, self.pos_weight.clone());
            (bce_with_logits(logits, smoothed, self.pos_weight.clone()), reported)
        } else {
            let loss = bce_with_logits(logits, targets, self.pos_weight.clone());
            (loss.clone(), loss.detach())
        };
        let grads = GradientsParams::from_grads(objective.backward(), &model);
        Ok((reported, grads, model))
    }

    /// One optimisation step at learning rate `lr`, outside the run's schedule: no validation,
    /// no history, the step count unchanged. The learning-rate range test
    /// ([`super::LrFinder`]) drives a throwaway session with it. Returns the batch's loss
    /// (not finite once the rate is far too high; the weights then hold that step).
    pub(super) async fn probe_step(&mut self, lr: f64, probe: usize) -> Result<f64> {
        let bs = self.options.batch_size.min(self.split.train.len()).max(1);
        let per_pass = (self.split.train.len() / bs).max(1);
        if probe.is_multiple_of(per_pass) {
            self.order = self.split.train.clone();
            self.rng.shuffle(&mut self.order);
        }
        let k = probe % per_pass;
        let (loss, grads, model) = self.batch_gradients(k * bs, bs)?;
        self.model = Some(self.optim.step(lr, model, grads));
        let value: f32 = loss.into_scalar_async().await.map_err(Error::backend)?;
        Ok(f64::from(value))
    }

    /// Validation report of the current weights, and their validation probabilities.
    async fn validate(&self, epoch: usize) -> Result<(EpochReport, Vec<f32>)> {
        let train_loss = self.epoch_loss_sum / self.epoch_loss_images.max(1) as f64;
        let labels = &self.dataset.labels;
        let thresholds = vec![0.5; labels.len()];
        let (valid_loss, probs) = if self.split.valid.is_empty() {
            (None, Vec::new())
        } else {
            let logits = self.logits(&self.split.valid).await?;
            let loss = bce_with_logits_cpu(&logits, &self.valid_targets);
            (Some(loss), logits.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect())
        };
        let metrics = evaluate(labels, &probs, &self.valid_targets, &thresholds);
        Ok((EpochReport { epoch, train_loss, valid_loss, best: false, metrics }, probs))
    }

    /// Logits of the given images from the current weights in inference mode.
    async fn logits(&self, indices: &[usize]) -> Result<Vec<f32>> {
        let model = match &self.ema {
            Some(ema) => ema.model().clone(),
            None => self.model.as_ref().ok_or_else(busy)?.valid(),
        };
        let device = &self.compute.device;
        let mut out = Vec::with_capacity(indices.len() * self.dataset.labels.len());
        for chunk in indices.chunks(self.options.batch_size.max(1)) {
            let images = images_tensor(
                chunk.iter().map(|&i| self.dataset.image(i)),
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

    /// The network to save, in inference mode, with everything the model file needs: the best
    /// epoch's weights when validation ran (early stopping keeps them), else the latest, and
    /// per-label thresholds tuned on their validation probabilities.
    ///
    /// # Errors
    /// After a diverged step with no epoch completed before it: there are no weights to keep.
    pub fn snapshot(&self) -> Result<(ResNetV2, ModelMetadata)> {
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

    /// Training throughput so far.
    pub fn throughput(&self) -> &Throughput {
        &self.throughput
    }

    /// The latest end-of-epoch report.
    pub fn last_report(&self) -> Option<&EpochReport> {
        self.history.epochs.last()
    }
}

/// The dataset with only the label columns `options.labels` chose (all when `None`).
fn chosen_labels(mut dataset: Dataset, options: &TrainingOptions) -> Result<Dataset> {
    if let Some(labels) = &options.labels {
        dataset.select_labels(labels)?;
    }
    Ok(dataset)
}

/// The run's train/validation split: stratified by the seed (all images train when the
/// validation share leaves none to train on). A run without a share (a saved run from before
/// the share was chosen from the data never lacks one) uses the dataset's.
fn run_split(dataset: &Dataset, options: &TrainingOptions) -> Split {
    let share = options.validation_fraction.unwrap_or_else(|| validation_share(dataset));
    let mut split = stratified_split(dataset, share, options.seed);
    if split.train.is_empty() {
        split.train = std::mem::take(&mut split.valid);
    }
    split
}

/// The positive weights (uploaded once; every step reuses the device tensor) and the
/// validation targets of a split.
fn split_tensors(
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

/// Lowers `options.batch_size` to what the device's largest buffer holds (a GPU's; the CPU
/// has no such limit) and returns the notice saying so. A batch is never larger than the
/// training images, so only that many need to fit.
fn fit_batch_to_buffers(
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

/// A saved run whose batch is too large for this device's buffers: its epochs are counted in
/// steps of that batch, so it cannot change.
fn batch_too_large_to_resume(options: &TrainingOptions, compute: &ComputeDevice) -> Error {
    Error::run_state(format!(
        "its batches of {} images are too large for this GPU's buffers ({} MiB at most): \
         resume it on the CPU (open the page with ?backend=cpu), or start a new run, which \
         picks a batch that fits",
        options.batch_size,
        compute.max_buffer_bytes.unwrap_or(0) >> 20,
    ))
}

/// A step or read while another step holds the model (only possible through misuse of the API).
fn busy() -> Error {
    Error::misuse("the session is busy with another step; await it first")
}
