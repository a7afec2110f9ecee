//! A training run driven one step at a time.
//!
//! The caller owns the loop: `while !event.done { event = session.step().await? }`. That keeps
//! the browser worker responsive, lets Stop take effect between two steps, and gives native and
//! wasm one code path. Every read from the device is asynchronous (a synchronous read panics on
//! WebGPU in the browser).

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use crate::checkpoint::TrainingSummary;
use crate::data::batcher::{images_tensor, targets_tensor};
use crate::data::{Dataset, Normalization, Split};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::{Network, NetworkConfig};
use crate::options::{AugmentOptions, LIMITS, TrainLayers, TrainingOptions, WeightsInit};
use crate::rng::SeededRng;

use super::adamw::AdamW;
use super::augment::{augment, time_crops};
use super::best::EarlyStopping;
use super::budget::EpochBudget;
use super::ema::WeightAverage;
use super::events::{EpochReport, RunHistory, SessionInfo, StepEvent, Throughput};
use super::feature_cache::FeatureCache;
use super::fingerprint::DatasetFingerprint;
use super::loss::bce_with_logits;
use super::parts::{SessionParts, split_tensors};
use super::schedule::{warmup_cosine, warmup_steps};

/// A training run in progress.
///
/// Built in one place ([`Self::assemble`]) from the parts the `start` module prepares. The
/// fields the run's products (the `products` module) and its run file (`run_file`) read are
/// visible to the `train` module; the step loop's working state stays here.
pub struct TrainingSession {
    /// `None` only while a step is running (the optimiser takes the model by value).
    pub(super) model: Option<Network>,
    pub(super) optim: AdamW,
    pub(super) config: NetworkConfig,
    pub(super) options: TrainingOptions,
    pub(super) dataset: Dataset,
    /// The dataset's fingerprint for run files, computed at the first save (it hashes every
    /// pixel, and the dataset never changes during a run).
    pub(super) fingerprint: std::cell::OnceCell<DatasetFingerprint>,
    pub(super) split: Split,
    /// The validation images' 0/1 targets, row-major (the split never changes).
    pub(super) valid_targets: Vec<u8>,
    pub(super) norm: Normalization,
    pub(super) compute: ComputeDevice,
    pub(super) train_device: Device,
    pub(super) rng: SeededRng,
    /// This epoch's shuffled training images.
    pub(super) order: Vec<usize>,
    pub(super) steps_per_epoch: usize,
    pub(super) step: usize,
    /// Loss weight of each label's positives, when `positive_weights` is on.
    pos_weight: Option<Tensor<1>>,
    /// The best epoch's weights, and whether to stop.
    pub(super) early_stopping: EarlyStopping,
    /// How the weights started, and the runs before this one (fine-tuning).
    pub(super) init: WeightsInit,
    pub(super) lineage: Vec<TrainingSummary>,
    /// The epoch's training loss summed over its images so far, and their number.
    pub(super) epoch_loss_sum: f64,
    pub(super) epoch_loss_images: usize,
    pub(super) throughput: Throughput,
    /// Every epoch's report and every step's loss, oldest first (a resumed run's included).
    pub(super) history: RunHistory,
    /// A run with a time budget until its first steps have been timed and its epochs chosen.
    budget: Option<EpochBudget>,
    /// The frozen backbone's features of each image, when only the head trains on images
    /// without augmentation (they never change during the run).
    pub(super) features: Option<FeatureCache>,
    /// The moving average of the weights (`emaDecay` > 0): validated, kept and saved in
    /// place of the weights themselves.
    pub(super) ema: Option<WeightAverage>,
    /// Set when a step's loss was not finite: the run is over, and the weights after that
    /// step are not to be saved.
    pub(super) diverged: Option<Error>,
    /// Set when the batch size asked for was lowered to fit the GPU's largest buffer.
    batch_notice: Option<String>,
    /// The other peers of a data-parallel run (`sharded.rs`).
    pub(super) peers: Option<crate::train::peers::Peers>,
    /// Passes a batch is taken in by one process (gradient accumulation; 1: whole).
    pub(super) shards: usize,
}

impl TrainingSession {
    /// The one constructor: a session from its parts, with the split's tensors uploaded.
    pub(super) fn assemble(parts: SessionParts) -> Self {
        let SessionParts { dataset, options, split, start, progress, .. } = parts;
        // Layers that do not train are frozen again whenever a session is assembled (a resumed
        // run's weights load unfrozen).
        let model = match options.train_layers {
            TrainLayers::All => start.model,
            TrainLayers::Top => start.model.freeze_backbone(&start.config, true),
            TrainLayers::Head => start.model.freeze_backbone(&start.config, false),
        };
        let (pos_weight, valid_targets) =
            split_tensors(&dataset, &options, &split, &parts.train_device);
        let features = (options.train_layers == TrainLayers::Head
            && options.augment == AugmentOptions::NONE)
            .then(|| start.config.features().ok())
            .flatten()
            .map(|width| FeatureCache::new(dataset.len(), width));
        Self {
            features,
            model: Some(model),
            optim: progress.optim,
            config: start.config,
            options,
            dataset,
            fingerprint: parts.fingerprint.map(Into::into).unwrap_or_default(),
            split,
            valid_targets,
            norm: start.norm,
            compute: parts.compute,
            train_device: parts.train_device,
            rng: progress.rng,
            order: Vec::new(),
            steps_per_epoch: parts.steps_per_epoch,
            step: progress.step,
            pos_weight,
            early_stopping: progress.early_stopping,
            init: start.init,
            lineage: start.lineage,
            epoch_loss_sum: 0.0,
            epoch_loss_images: 0,
            throughput: Throughput::default(),
            history: progress.history,
            budget: parts.budget,
            ema: progress.ema,
            diverged: None,
            batch_notice: parts.batch_notice,
            peers: None,
            shards: 1,
        }
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
            // A streamed dataset decodes the epoch's images ahead (not while features are cached).
            if self.features.is_none() {
                self.dataset.prefetch(&self.epoch_images());
            }
            self.epoch_loss_sum = 0.0;
            self.epoch_loss_images = 0;
        }
        // The last batch of an epoch may be partial.
        let start = in_epoch * self.options.batch_size;
        let bs = self.options.batch_size.min(self.order.len() - start);
        let (loss, grads, model) = match self.sharded() {
            true => {
                let (loss, grads, model) = self.sharded_gradients(start, bs).await?;
                (StepLoss::Read(loss), grads, model)
            }
            false => {
                self.cache_features(Batch::Train(start..start + bs)).await?;
                let (loss, grads, model) = self.batch_gradients(start, bs)?;
                (StepLoss::OnDevice(Box::new(loss)), grads, model)
            }
        };
        let warmup = warmup_steps(self.steps_per_epoch, total);
        let lr = warmup_cosine(self.step, total, warmup, self.options.learning_rate, 0.01);
        let model = self.optim.step((lr, self.options.backbone_lr_scale), model, grads);
        if let Some(ema) = &mut self.ema {
            ema.update(&model);
        }
        self.model = Some(model);
        let loss_value: f32 = match loss {
            StepLoss::OnDevice(loss) => loss.into_scalar_async().await.map_err(Error::backend)?,
            StepLoss::Read(loss) => loss,
        };
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
            self.cache_features(Batch::Valid).await?;
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
    pub(super) fn batch_gradients(
        &mut self,
        start: usize,
        count: usize,
    ) -> Result<(Tensor<1>, GradientsParams, Network)> {
        let batch = self.order[start..start + count].to_vec();
        let targets = targets_tensor(&self.dataset, &batch, &self.train_device);
        let logits = match &self.features {
            Some(cache) => {
                let pooled = cache.tensor(&batch, &self.train_device)?;
                self.model.as_ref().ok_or_else(busy)?.classify_pooled(pooled)
            }
            None => {
                let images = self.augmented_images(&batch)?;
                self.model.as_ref().ok_or_else(busy)?.forward(images)
            }
        };
        let model = self.model.take().ok_or_else(busy)?;
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
        self.cache_features(Batch::Train(k * bs..(k + 1) * bs)).await?;
        let (loss, grads, model) = self.batch_gradients(k * bs, bs)?;
        self.model = Some(self.optim.step((lr, self.options.backbone_lr_scale), model, grads));
        let value: f32 = loss.into_scalar_async().await.map_err(Error::backend)?;
        Ok(f64::from(value))
    }

    /// The training images `batch`, cropped (in time, for spectrograms) and augmented, on the
    /// training device.
    fn augmented_images(&mut self, batch: &[usize]) -> Result<Tensor<4>> {
        let crops = time_crops(&self.dataset, batch, self.options.augment.crop, &mut self.rng)?;
        let images = images_tensor(
            crops.iter().map(AsRef::as_ref),
            self.dataset.image_size,
            &self.norm,
            &self.train_device,
        );
        Ok(augment(images, self.options.augment, self.options.sound.is_some(), &mut self.rng))
    }

    /// Computes the frozen backbone's features of `batch` that are not cached yet (nothing
    /// without a feature cache).
    pub(super) async fn cache_features(&mut self, batch: Batch) -> Result<()> {
        let Some(mut cache) = self.features.take() else {
            return Ok(());
        };
        let indices = match batch {
            Batch::Train(range) => &self.order[range.start..range.end.min(self.order.len())],
            Batch::Valid => self.valid_shard(),
        };
        // After an image's first epoch there is nothing to compute: no inference copy either.
        if !cache.misses(indices) {
            self.features = Some(cache);
            return Ok(());
        }
        let model = self.model.as_ref().ok_or_else(busy)?.valid();
        let chunk = (self.options.batch_size, &self.compute.device);
        let filled = cache.fill(&model, (&self.dataset, &self.norm), indices, chunk).await;
        self.features = Some(cache);
        filled
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

/// A step's loss: still on the device, or read already (a sharded step reads its shards').
enum StepLoss {
    OnDevice(Box<Tensor<1>>),
    Read(f32),
}

/// Which images' features [`TrainingSession::cache_features`] computes.
pub(super) enum Batch {
    /// `order[range]`: a training batch.
    Train(std::ops::Range<usize>),
    /// The validation images.
    Valid,
}

/// A step or read while another step holds the model (only possible through misuse of the API).
pub(super) fn busy() -> Error {
    Error::misuse("the session is busy with another step; await it first")
}
