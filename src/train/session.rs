//! A training run driven one step at a time.
//!
//! The caller owns the loop: `while !event.done { event = session.step().await? }`. That keeps
//! the browser worker responsive, lets Stop take effect between two steps, and gives native and
//! wasm one code path. Every read from the device is asynchronous (a synchronous read panics on
//! WebGPU in the browser).

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use web_time::Instant;

use crate::checkpoint::{InputSpec, ModelMetadata, TrainingSummary};
use crate::data::batcher::{images_tensor, targets_tensor};
use crate::data::{Dataset, Normalization, Split, stratified_split};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::metrics::{MultiLabelMetrics, evaluate};
use crate::model::{ResNetV2, ResNetV2Config};
use crate::options::{TrainingOptions, WeightsInit};
use crate::rng::SeededRng;
use crate::thresholds::{CurvePoint, ThresholdGoal, curve, tune_thresholds};

use super::augment::augment;
use super::loss::{bce_with_logits, bce_with_logits_cpu};
use super::schedule::warmup_cosine;

/// Reported after each step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepEvent {
    /// 1-based epoch of this step.
    pub epoch: usize,
    /// 1-based global step.
    pub step: usize,
    pub total_steps: usize,
    /// Training loss of this step's batch.
    pub loss: f64,
    /// Training throughput, averaged since the start.
    pub images_per_sec: f64,
    /// Estimated seconds until the last step.
    pub eta_seconds: f64,
    /// Validation results, on the step that ends an epoch.
    pub validation: Option<EpochReport>,
    /// True after the last step.
    pub done: bool,
    /// True when training ended before the last epoch because validation mAP stopped
    /// improving (`done` is then true too).
    pub stopped_early: bool,
}

/// Validation at the end of an epoch.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Validation loss (`None` without validation images).
    pub valid_loss: Option<f64>,
    /// True when this epoch's weights are the best so far (they are the ones kept).
    pub best: bool,
    #[serde(flatten)]
    pub metrics: MultiLabelMetrics,
}

/// Sizes of a run, known before the first step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub train_images: usize,
    pub valid_images: usize,
    pub steps_per_epoch: usize,
    pub total_steps: usize,
    pub parameters: usize,
    pub model: String,
    pub backend: &'static str,
    /// How the weights started (see [`TrainingSession::from_model`]).
    pub init: WeightsInit,
}

/// One label's validation precision–recall curve.
#[derive(Debug, Clone, Serialize)]
pub struct LabelCurve {
    pub label: String,
    /// Highest threshold first.
    pub points: Vec<CurvePoint>,
}

/// A training run in progress.
pub struct TrainingSession {
    /// `None` only while a step is running (the optimiser takes the model by value).
    model: Option<ResNetV2>,
    optim: ModuleOptimizer,
    config: ResNetV2Config,
    options: TrainingOptions,
    dataset: Dataset,
    split: Split,
    norm: Normalization,
    compute: ComputeDevice,
    train_device: Device,
    rng: SeededRng,
    order: Vec<usize>,
    steps_per_epoch: usize,
    step: usize,
    /// Loss weight of each label's positives, when `positive_weights` is on.
    pos_weight: Option<Tensor<1>>,
    /// The weights of the best epoch so far, with their validation probabilities.
    best: Option<BestEpoch>,
    /// Epochs since the best one.
    stale_epochs: usize,
    stopped_early: bool,
    /// How the weights started, and the runs before this one (fine-tuning).
    init: WeightsInit,
    lineage: Vec<TrainingSummary>,
    epoch_loss_sum: f64,
    epoch_loss_count: usize,
    started: Option<Instant>,
    images_seen: usize,
    /// Seconds spent in optimisation steps (validation excluded).
    train_seconds: f64,
    last_report: Option<EpochReport>,
}

/// The best epoch's weights (inference mode) and validation probabilities.
struct BestEpoch {
    model: ResNetV2,
    epoch: usize,
    map: f64,
    valid_loss: Option<f64>,
    probs: Vec<f32>,
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
    /// (`"continue"`). With a different label set the backbone is kept and the classifier
    /// head is rebuilt for the new labels (`"new-head"`). Either way the architecture and the
    /// input normalisation come from the model (the backbone learned on them; `depth` in
    /// `options` is ignored), and the saved model records the earlier runs in its lineage.
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
        if dataset.len() < 2 {
            return Err(Error::new(crate::error::ErrorKind::EmptyDataset {
                reason: "at least 2 images are needed to train".into(),
            }));
        }
        let mut split = stratified_split(&dataset, options.validation_fraction, options.seed);
        if split.train.is_empty() {
            split.train = std::mem::take(&mut split.valid);
        }
        let train_device = compute.device.clone().autodiff();
        train_device.seed(options.seed);
        let labels = dataset.labels.len();
        let (model, config, norm, init, lineage) = match model_file {
            None => {
                let config = ResNetV2Config::for_depth(options.depth, labels)?
                    .with_in_channels(dataset.channels);
                let norm = Normalization::measure(&dataset, &split.train);
                (config.init(&train_device)?, config, norm, WeightsInit::New, Vec::new())
            }
            Some(bytes) => {
                let (model, parent) = crate::checkpoint::load_trainable(bytes, &train_device)?;
                if parent.input.channels != dataset.channels {
                    return Err(Error::option(
                        "init",
                        format!(
                            "the model takes {}-channel images and this dataset has {} channels; \
                             fine-tune on images of the same kind",
                            parent.input.channels, dataset.channels
                        ),
                    ));
                }
                let mut lineage = parent.lineage.clone();
                lineage.extend(parent.training.clone());
                let mut config = parent.architecture.clone();
                let (model, init) = if parent.labels == dataset.labels {
                    (model, WeightsInit::Continue)
                } else {
                    config.num_labels = labels;
                    (model.with_new_head(labels, &train_device), WeightsInit::NewHead)
                };
                (model, config, parent.input.normalization, init, lineage)
            }
        };
        let mut optim = AdamWConfig::new().with_weight_decay(options.weight_decay as f32);
        if options.gradient_clip > 0.0 {
            optim =
                optim.with_grad_clipping(Some(GradientClippingConfig::Norm(options.gradient_clip)));
        }
        // Uploaded once; every step reuses the same device tensor.
        let pos_weight = options.positive_weights.then(|| {
            let w = positive_weights(&dataset, &split.train);
            Tensor::<1>::from_data(TensorData::new(w, [labels]), &train_device)
        });
        let steps_per_epoch = (split.train.len() / options.batch_size).max(1);
        Ok(Self {
            model: Some(model),
            optim: optim.init(),
            config,
            dataset,
            split,
            norm,
            compute,
            train_device,
            rng: SeededRng::new(options.seed.wrapping_add(1)),
            options,
            order: Vec::new(),
            steps_per_epoch,
            step: 0,
            pos_weight,
            best: None,
            stale_epochs: 0,
            stopped_early: false,
            init,
            lineage,
            epoch_loss_sum: 0.0,
            epoch_loss_count: 0,
            started: None,
            images_seen: 0,
            train_seconds: 0.0,
            last_report: None,
        })
    }

    /// The options of this run.
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
            init: self.init,
        }
    }

    fn total_steps(&self) -> usize {
        self.steps_per_epoch * self.options.epochs
    }

    /// True when every step has run, or early stopping ended the run.
    pub fn is_done(&self) -> bool {
        self.stopped_early || self.step >= self.total_steps()
    }

    /// Runs one optimisation step (and validation when it ends an epoch).
    pub async fn step(&mut self) -> Result<StepEvent> {
        let total = self.total_steps();
        if self.is_done() {
            return Err(Error::option("step", "training is already finished"));
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        let step_started = Instant::now();
        let in_epoch = self.step % self.steps_per_epoch;
        if in_epoch == 0 {
            self.order = self.split.train.clone();
            self.rng.shuffle(&mut self.order);
            self.epoch_loss_sum = 0.0;
            self.epoch_loss_count = 0;
        }
        let bs = self.options.batch_size.min(self.order.len());
        let batch: Vec<usize> = self.order[in_epoch * bs..(in_epoch + 1) * bs].to_vec();

        let size = self.dataset.image_size;
        let images = images_tensor(
            batch.iter().map(|&i| self.dataset.image(i)),
            size,
            &self.norm,
            &self.train_device,
        );
        let images = augment(images, self.options.augment, &mut self.rng);
        let targets = targets_tensor(&self.dataset, &batch, &self.train_device);
        let model = self.model.take().ok_or_else(busy)?;
        let logits = model.forward(images);
        let loss = bce_with_logits(logits, targets, self.pos_weight.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let warmup = (total / 20).min(100);
        let lr = warmup_cosine(self.step, total, warmup, self.options.learning_rate, 0.01);
        self.model = Some(self.optim.step(lr, model, grads));
        let loss_value: f32 = loss.into_scalar_async().await.map_err(Error::backend)?;
        if !loss_value.is_finite() {
            return Err(Error::option(
                "learningRate",
                format!(
                    "training diverged at step {} (loss {loss_value}); lower the learning rate",
                    self.step + 1
                ),
            ));
        }
        self.step += 1;
        self.images_seen += batch.len();
        self.train_seconds += step_started.elapsed().as_secs_f64();
        self.epoch_loss_sum += f64::from(loss_value);
        self.epoch_loss_count += 1;

        let epoch = (self.step - 1) / self.steps_per_epoch + 1;
        let validation = if self.step % self.steps_per_epoch == 0 {
            let (mut report, probs) = self.validate(epoch).await?;
            self.keep_if_best(&mut report, probs);
            self.last_report = Some(report.clone());
            Some(report)
        } else {
            None
        };
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let per_step = elapsed / self.step as f64;
        Ok(StepEvent {
            epoch,
            step: self.step,
            total_steps: total,
            loss: f64::from(loss_value),
            images_per_sec: self.images_seen as f64 / elapsed,
            eta_seconds: per_step * (total - self.step) as f64,
            validation,
            done: self.is_done(),
            stopped_early: self.stopped_early,
        })
    }

    /// Keeps this epoch's weights when validation mAP improved, and decides early stopping.
    /// Without validation images the latest weights count as the best.
    fn keep_if_best(&mut self, report: &mut EpochReport, probs: Vec<f32>) {
        let Some(model) = self.model.as_ref() else {
            return;
        };
        let improved = match &self.best {
            None => true,
            Some(best) => self.split.valid.is_empty() || report.metrics.map > best.map,
        };
        report.best = improved;
        if improved {
            self.best = Some(BestEpoch {
                model: model.valid(),
                epoch: report.epoch,
                map: report.metrics.map,
                valid_loss: report.valid_loss,
                probs,
            });
            self.stale_epochs = 0;
        } else {
            self.stale_epochs += 1;
            if self.options.patience > 0 && self.stale_epochs >= self.options.patience {
                self.stopped_early = true;
            }
        }
    }

    /// Validation report of the current weights, and their validation probabilities.
    async fn validate(&self, epoch: usize) -> Result<(EpochReport, Vec<f32>)> {
        let train_loss = self.epoch_loss_sum / self.epoch_loss_count.max(1) as f64;
        let labels = self.dataset.labels.len();
        let thresholds = vec![0.5; labels];
        if self.split.valid.is_empty() {
            let report = EpochReport {
                epoch,
                train_loss,
                valid_loss: None,
                best: false,
                metrics: evaluate(&self.dataset.labels, &[], &[], &thresholds),
            };
            return Ok((report, Vec::new()));
        }
        let logits = self.logits(&self.split.valid).await?;
        let targets: Vec<u8> =
            self.split.valid.iter().flat_map(|&i| self.dataset.target(i).iter().copied()).collect();
        let valid_loss = bce_with_logits_cpu(&logits, &targets);
        let probs: Vec<f32> = logits.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
        let report = EpochReport {
            epoch,
            train_loss,
            valid_loss: Some(valid_loss),
            best: false,
            metrics: evaluate(&self.dataset.labels, &probs, &targets, &thresholds),
        };
        Ok((report, probs))
    }

    /// Logits of the given images from the current weights in inference mode.
    async fn logits(&self, indices: &[usize]) -> Result<Vec<f32>> {
        let model = self.model.as_ref().ok_or_else(busy)?.valid();
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
    /// epoch's weights when validation ran (early stopping keeps them), else the latest.
    pub fn snapshot(&self) -> Result<(ResNetV2, ModelMetadata)> {
        let (model, best_epoch, map, valid_loss) = match &self.best {
            Some(best) => (best.model.clone(), Some(best.epoch), Some(best.map), best.valid_loss),
            None => (self.model.as_ref().ok_or_else(busy)?.valid(), None, None, None),
        };
        let labels = self.dataset.labels.len();
        let thresholds = match &self.best {
            Some(best) if !best.probs.is_empty() => tune_thresholds(
                &best.probs,
                &self.valid_targets(),
                labels,
                self.options.threshold_goal,
            ),
            _ => vec![0.5; labels],
        };
        let metadata = ModelMetadata {
            labels: self.dataset.labels.clone(),
            thresholds,
            input: InputSpec {
                image_size: self.dataset.image_size as u32,
                channels: self.dataset.channels,
                resize: self.options.resize,
                normalization: self.norm.clone(),
            },
            architecture: self.config.clone(),
            training: Some(TrainingSummary {
                labels: self.dataset.labels.clone(),
                init: self.init,
                options: self.options.clone(),
                steps: self.step,
                epochs_completed: self.step / self.steps_per_epoch,
                best_epoch,
                stopped_early: self.stopped_early,
                train_images: self.split.train.len(),
                valid_images: self.split.valid.len(),
                backend: self.compute.kind.as_str().to_string(),
                images_per_sec: self.images_per_sec(),
                final_map: map,
                final_valid_loss: valid_loss,
            }),
            lineage: self.lineage.clone(),
            ..ModelMetadata::default()
        };
        Ok((model, metadata))
    }

    /// 0/1 targets of the validation images, row-major.
    fn valid_targets(&self) -> Vec<u8> {
        self.split.valid.iter().flat_map(|&i| self.dataset.target(i).iter().copied()).collect()
    }

    /// Each label's precision–recall curve on the validation images, for the kept weights
    /// (empty curves without validation images). The page draws threshold sliders from these.
    pub fn threshold_curves(&self) -> Vec<LabelCurve> {
        let labels = self.dataset.labels.len();
        let targets = self.valid_targets();
        let probs = self.best.as_ref().map(|b| b.probs.as_slice()).unwrap_or(&[]);
        let n = if labels == 0 { 0 } else { (probs.len() / labels).min(targets.len() / labels) };
        self.dataset
            .labels
            .iter()
            .enumerate()
            .map(|(j, label)| {
                let scores: Vec<f32> = (0..n).map(|i| probs[i * labels + j]).collect();
                let truth: Vec<u8> = (0..n).map(|i| targets[i * labels + j]).collect();
                LabelCurve { label: label.clone(), points: curve(&scores, &truth) }
            })
            .collect()
    }

    /// Training images per second in optimisation steps alone (validation excluded).
    pub fn train_images_per_sec(&self) -> f64 {
        self.images_seen as f64 / self.train_seconds.max(1e-9)
    }

    /// Training images per second since the first step (validation included).
    pub fn images_per_sec(&self) -> f64 {
        match self.started {
            Some(t) => self.images_seen as f64 / t.elapsed().as_secs_f64().max(1e-9),
            None => 0.0,
        }
    }

    /// The latest end-of-epoch report.
    pub fn last_report(&self) -> Option<&EpochReport> {
        self.last_report.as_ref()
    }
}

/// A step or read while another step holds the model (only possible through misuse of the API).
fn busy() -> Error {
    Error::option("step", "the session is busy with another step; await it first")
}

/// `min(negatives / positives, 10)`, at least 1, per label over `indices`.
fn positive_weights(dataset: &Dataset, indices: &[usize]) -> Vec<f32> {
    let labels = dataset.labels.len();
    let mut positives = vec![0usize; labels];
    for &i in indices {
        for (count, &t) in positives.iter_mut().zip(dataset.target(i)) {
            *count += usize::from(t);
        }
    }
    positives
        .iter()
        .map(|&p| {
            let negatives = indices.len().saturating_sub(p);
            (negatives as f32 / p.max(1) as f32).clamp(1.0, 10.0)
        })
        .collect()
}
