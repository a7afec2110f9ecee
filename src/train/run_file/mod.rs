//! The run file: a run saved at the end of an epoch, to be resumed after a reload, a crash or a
//! closed laptop. One function writes it ([`write`]) and one restores it ([`read`]).
//!
//! The run file is a `.safetensors` file, like the model file, so that the same code reads
//! it back asynchronously on every backend. Its tensors:
//! - `model.<module path>`: the current weights (batch-norm statistics included);
//! - `best.<module path>` and `best.probs`: the best epoch's weights and validation
//!   probabilities (early stopping keeps them);
//! - `ema.<module path>`: the weight average, when the run keeps one (`emaDecay` > 0);
//! - `adam.first.<path>`, `adam.second.<path>`: the optimiser's moments.
//!
//! Its header's `__metadata__` holds `format` = `"tagtrain-run"` and `tagtrain-run`, a JSON
//! [`RunFileHeader`]: options, architecture, normalisation, step, random state, early stopping,
//! lineage, the epochs' reports, and a fingerprint of the dataset it trains on. `version` is
//! [`RUN_VERSION`]; a run file of a newer version is refused in words, one of an older version
//! is read (fields added later have defaults).
//!
//! Resuming from the file continues exactly where the run was: the same shuffles and
//! augmentations (the random state is saved), the same optimiser moments, the same curves.

mod header;
mod session;

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};

use crate::checkpoint::{
    NamedTensor, Readback, StoredTensors, TrainingSummary, load_into, read_f32_tensors, serialize,
};
use crate::data::Normalization;
use crate::error::{Error, Result};
use crate::model::{Network, NetworkConfig};
use crate::options::{TrainingOptions, WeightsInit};
use crate::rng::SeededRng;

use super::adamw::{AdamW, Moments};
use super::best::{BestEpoch, EarlyStopping};
use super::ema::WeightAverage;
use super::events::RunHistory;
use super::parts::{Progress, Start};

use super::fingerprint::DatasetFingerprint;
use header::BestHeader;
pub(super) use header::RunFileHeader;
pub use header::{SavedRunInfo, saved_run_info};

/// The `format` value of a run file's header.
pub const RUN_FORMAT: &str = "tagtrain-run";
/// The run file's version: raise it when the header or the tensors change meaning.
pub const RUN_VERSION: u32 = 1;
/// The header key of the JSON [`RunFileHeader`].
const HEADER_KEY: &str = "tagtrain-run";

/// Prefixes of the run file's tensors (see the module's documentation).
const MODEL: &str = "model.";
const BEST: &str = "best.";
const BEST_PROBS: &str = "best.probs";
const EMA: &str = "ema.";
const ADAM_FIRST: &str = "adam.first.";
const ADAM_SECOND: &str = "adam.second.";

/// A run at the end of an epoch, borrowed from its session: everything its run file holds.
pub(super) struct RunFileContents<'a> {
    /// The run's options (a time budget's epochs and the validation share filled in).
    pub options: &'a TrainingOptions,
    /// The network's architecture.
    pub config: &'a NetworkConfig,
    /// The input normalisation.
    pub norm: &'a Normalization,
    /// The dataset the run trains on.
    pub dataset: &'a DatasetFingerprint,
    /// How the weights started.
    pub init: WeightsInit,
    /// The runs before this one, oldest first.
    pub lineage: &'a [TrainingSummary],
    /// Steps in an epoch.
    pub steps_per_epoch: usize,
    /// The current weights, in inference mode.
    pub model: &'a Network,
    /// Steps done (a whole number of epochs).
    pub step: usize,
    /// The shuffling and augmentation generator.
    pub rng: &'a SeededRng,
    /// The optimiser and its moments.
    pub optim: &'a AdamW,
    /// The best epoch and the epochs since.
    pub early_stopping: &'a EarlyStopping,
    /// Every epoch's report and every step's loss so far.
    pub history: &'a RunHistory,
    /// The weight average, when the run keeps one.
    pub ema: Option<&'a WeightAverage>,
}

/// A run restored from its run file: its network and where it stood.
pub(super) struct RestoredRun {
    /// The weights on the autodiff device, with the architecture, normalisation and lineage.
    pub start: Start,
    /// Step, random state, optimiser, early stopping, history and weight average.
    pub progress: Progress,
}

/// Writes `run` as a run file, reading its tensors back asynchronously (so it works on WebGPU
/// in the browser).
pub(super) async fn write(run: RunFileContents<'_>) -> Result<Vec<u8>> {
    let mut readback = Readback::default().module(MODEL, run.model);
    let best = run.early_stopping.best();
    if let Some(best) = best {
        readback = readback.module(BEST, &best.model);
    }
    if let Some(ema) = run.ema {
        readback = readback.module(EMA, ema.model());
    }
    for (path, moments) in run.optim.moments() {
        readback = readback
            .tensor(format!("{ADAM_FIRST}{path}"), moments.first.clone())
            .tensor(format!("{ADAM_SECOND}{path}"), moments.second.clone());
    }
    let mut tensors = readback.read().await?;
    if let Some(best) = best {
        let values = best.probs.clone();
        tensors.push(NamedTensor {
            name: BEST_PROBS.to_string(),
            shape: vec![values.len()],
            values,
        });
    }
    let header = RunFileHeader {
        version: RUN_VERSION,
        options: run.options.clone(),
        architecture: run.config.clone(),
        normalization: run.norm.clone(),
        dataset: run.dataset.clone(),
        step: run.step,
        steps_per_epoch: run.steps_per_epoch,
        rng: run.rng.state().to_string(),
        optimizer_steps: run.optim.time(),
        best: best.map(|b| BestHeader { epoch: b.epoch, map: b.map, valid_loss: b.valid_loss }),
        stale_epochs: run.early_stopping.stale_epochs(),
        stopped_early: run.early_stopping.stopped(),
        init: run.init,
        lineage: run.lineage.to_vec(),
        history: run.history.epochs.clone(),
        step_losses: run.history.step_losses.clone(),
        ema_updates: run.ema.map_or(0, WeightAverage::updates),
    };
    let json = serde_json::to_string(&header).map_err(Error::backend)?;
    let metadata = [("format".to_string(), RUN_FORMAT.to_string()), (HEADER_KEY.to_string(), json)];
    serialize(&tensors, metadata)
}

/// Restores the run in `bytes`, whose header is `header` (read first with
/// [`RunFileHeader::read`], to check the run against the dataset and the device before its
/// tensors are read): the current weights on `train_device`, the best epoch's and the weight
/// average on `device`.
///
/// # Errors
/// [`crate::ErrorKind::RunState`] for tensors that cannot be read, weights that do not fit the
/// architecture, missing optimiser moments, a tensor the run file does not have, or a damaged
/// random state.
pub(super) fn read(
    bytes: &[u8],
    header: RunFileHeader,
    train_device: &Device,
    device: &Device,
) -> Result<RestoredRun> {
    let mut tensors = read_f32_tensors(bytes)
        .map_err(|e| Error::run_state(format!("its tensors cannot be read ({e})")))?;
    let options = &header.options;
    let config = header.architecture;
    let damaged = |e: Error| Error::run_state(format!("its weights do not fit ({e})"));
    let model = load_into(config.init(train_device)?, &mut tensors, MODEL, train_device)
        .map_err(damaged)?;
    let best = match header.best {
        None => None,
        Some(BestHeader { epoch, map, valid_loss }) => {
            let model =
                load_into(config.init(device)?, &mut tensors, BEST, device).map_err(damaged)?;
            let probs = tensors.remove(BEST_PROBS).map(|(_, v)| v).unwrap_or_default();
            Some(BestEpoch { model, epoch, map, valid_loss, probs })
        }
    };
    let moments = take_moments(&mut tensors, device)?;
    let ema = if options.ema_decay > 0.0 {
        let average =
            load_into(config.init(device)?, &mut tensors, EMA, device).map_err(damaged)?;
        Some(WeightAverage::restore(options.ema_decay, header.ema_updates, average))
    } else {
        None
    };
    if let Some(extra) = tensors.keys().next() {
        return Err(Error::run_state(format!("unexpected tensor '{extra}'")));
    }
    let mut optim = AdamW::new(options.weight_decay, options.gradient_clip);
    optim.restore(header.optimizer_steps, moments);
    let rng = header
        .rng
        .parse::<u64>()
        .map(SeededRng::from_state)
        .map_err(|_| Error::run_state("its random state is damaged"))?;
    let early_stopping = EarlyStopping::restore(
        options.patience,
        options.keep,
        best,
        header.stale_epochs,
        header.stopped_early,
    );
    Ok(RestoredRun {
        start: Start {
            model,
            config,
            norm: header.normalization,
            init: header.init,
            lineage: header.lineage,
        },
        progress: Progress {
            step: header.step,
            rng,
            optim,
            early_stopping,
            history: RunHistory { epochs: header.history, step_losses: header.step_losses },
            ema,
        },
    })
}

/// Takes the optimiser's moments out of `tensors`, each parameter's pair on `device`.
fn take_moments(tensors: &mut StoredTensors, device: &Device) -> Result<BTreeMap<String, Moments>> {
    let mut moments = BTreeMap::new();
    let firsts: Vec<String> =
        tensors.keys().filter(|k| k.starts_with(ADAM_FIRST)).cloned().collect();
    for key in firsts {
        let path = &key[ADAM_FIRST.len()..];
        let second = tensors.remove(&format!("{ADAM_SECOND}{path}"));
        let (Some((_, first)), Some((_, second))) = (tensors.remove(&key), second) else {
            return Err(Error::run_state(format!("the optimiser state of '{path}' is missing")));
        };
        let tensor = |values: Vec<f32>| {
            let n = values.len();
            Tensor::<1>::from_data(TensorData::new(values, [n]), device)
        };
        moments.insert(path.to_string(), Moments { first: tensor(first), second: tensor(second) });
    }
    Ok(moments)
}

#[cfg(test)]
mod tests {
    use burn::module::Module;

    use super::*;
    use crate::device::ComputeDevice;

    /// A run of a small network after some made-up progress: two epochs, a best epoch, a
    /// weight average and optimiser moments.
    fn run(device: &Device) -> (TrainingOptions, DatasetFingerprint, RestoredRun) {
        let options = TrainingOptions { ema_decay: 0.9, seed: 3, ..TrainingOptions::default() };
        let labels = ["cat", "dog", "sky"].map(String::from).to_vec();
        let dataset = DatasetFingerprint {
            images: 10,
            labels: labels.clone(),
            image_size: 16,
            channels: 1,
            digest: "0123456789abcdef".to_string(),
            basis: Default::default(),
            parts: None,
        };
        let config: NetworkConfig =
            crate::ResNetV2Config::for_depth(11, labels.len()).unwrap().with_in_channels(1).into();
        let network = || config.init(device).unwrap();
        let best = BestEpoch {
            model: network(),
            epoch: 2,
            map: 0.75,
            valid_loss: Some(0.25),
            probs: vec![0.1, 0.9, 0.5, 0.2, 0.8, 0.4],
        };
        let head = |v: f32| Tensor::<1>::from_data(TensorData::new(vec![v; 3], [3]), device);
        let mut optim = AdamW::new(options.weight_decay, options.gradient_clip);
        let moments = Moments { first: head(0.5), second: head(0.125) };
        optim.restore(8, BTreeMap::from([("head.bias".to_string(), moments)]));
        let progress = Progress {
            step: 8,
            rng: SeededRng::from_state(u64::MAX - 7),
            optim,
            early_stopping: EarlyStopping::restore(3, options.keep, Some(best), 0, false),
            history: RunHistory { epochs: Vec::new(), step_losses: vec![0.75, 0.5, 0.25] },
            ema: Some(WeightAverage::restore(options.ema_decay, 8, network())),
        };
        let start = Start {
            model: network(),
            config: config.clone(),
            norm: Normalization { mean: vec![0.5], std: vec![0.25] },
            init: WeightsInit::New,
            lineage: Vec::new(),
        };
        (options, dataset, RestoredRun { start, progress })
    }

    /// Writes `run` as a run file of 4 steps an epoch.
    fn written(
        options: &TrainingOptions,
        dataset: &DatasetFingerprint,
        run: &RestoredRun,
    ) -> Vec<u8> {
        let (start, progress) = (&run.start, &run.progress);
        let model = start.model.valid();
        pollster::block_on(write(RunFileContents {
            options,
            config: &start.config,
            norm: &start.norm,
            dataset,
            init: start.init,
            lineage: &start.lineage,
            steps_per_epoch: 4,
            model: &model,
            step: progress.step,
            rng: &progress.rng,
            optim: &progress.optim,
            early_stopping: &progress.early_stopping,
            history: &progress.history,
            ema: progress.ema.as_ref(),
        }))
        .unwrap()
    }

    /// Reads the whole run file in `bytes`, as resuming does.
    fn restored(bytes: &[u8]) -> Result<RestoredRun> {
        let device = ComputeDevice::cpu(None).device;
        read(bytes, RunFileHeader::read(bytes)?, &device.clone().autodiff(), &device)
    }

    /// The header and the tensors of the run file in `bytes`.
    fn contents(bytes: &[u8]) -> (serde_json::Value, StoredTensors) {
        let header = serde_json::to_value(RunFileHeader::read(bytes).unwrap()).unwrap();
        (header, read_f32_tensors(bytes).unwrap())
    }

    /// `bytes` with `from` replaced by `to` (of the same length) once in its header's JSON,
    /// where quotes are escaped.
    fn edited(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&bytes[8..end]).unwrap();
        assert_eq!(header.matches(from).count(), 1, "{from} in {header}");
        [&bytes[..8], header.replace(from, to).as_bytes(), &bytes[end..]].concat()
    }

    fn run_file_error(bytes: &[u8]) -> String {
        let error = restored(bytes).err().expect("the file is refused");
        assert!(matches!(error.kind(), crate::ErrorKind::RunState { .. }), "{error}");
        error.to_string()
    }

    #[test]
    fn a_run_file_restores_what_was_written_and_writes_the_same_bytes_again() {
        let device = ComputeDevice::cpu(None).device;
        let (options, dataset, run) = run(&device);
        let bytes = written(&options, &dataset, &run);
        let header = RunFileHeader::read(&bytes).unwrap();
        assert_eq!((header.version, header.step, header.steps_per_epoch), (RUN_VERSION, 8, 4));
        assert_eq!(header.dataset, dataset);

        let again = restored(&bytes).unwrap();
        let (progress, start) = (&again.progress, &again.start);
        assert_eq!(progress.step, 8);
        assert_eq!(progress.rng.state(), u64::MAX - 7);
        assert_eq!(progress.optim.time(), 8);
        assert_eq!(progress.history.step_losses, [0.75, 0.5, 0.25]);
        assert_eq!(progress.ema.as_ref().map(WeightAverage::updates), Some(8));
        let best = progress.early_stopping.best().expect("the best epoch is kept");
        assert_eq!((best.epoch, best.map, best.valid_loss), (2, 0.75, Some(0.25)));
        assert_eq!(best.probs, run.progress.early_stopping.best().unwrap().probs);
        assert_eq!(start.norm, run.start.norm);
        // Every tensor and every header field comes back: written again, the file holds the
        // same (not byte for byte: safetensors writes its metadata map in hash order).
        assert_eq!(contents(&written(&options, &dataset, &again)), contents(&bytes));
    }

    #[test]
    fn a_cut_file_is_refused_in_words() {
        let device = ComputeDevice::cpu(None).device;
        let (options, dataset, run) = run(&device);
        let bytes = written(&options, &dataset, &run);
        let e = run_file_error(&bytes[..bytes.len() / 2]);
        assert!(e.contains("its tensors cannot be read"), "{e}");
        let e = run_file_error(&bytes[..100]);
        assert!(e.contains("not a tagtrain run file"), "{e}");
        let e = run_file_error(&bytes[..5]);
        assert!(e.contains("not a tagtrain run file"), "{e}");
    }

    #[test]
    fn an_edited_file_is_refused_in_words() {
        let device = ComputeDevice::cpu(None).device;
        let (options, dataset, run) = run(&device);
        let bytes = written(&options, &dataset, &run);
        let newer = edited(&bytes, r#"\"version\":1,"#, r#"\"version\":9,"#);
        let e = run_file_error(&newer);
        assert!(e.contains("saved by a newer tagtrain (run format 9"), "{e}");
        let rng = format!(r#"\"rng\":\"{}\""#, u64::MAX - 7);
        let e = run_file_error(&edited(&bytes, &rng, &rng.replacen('1', "x", 1)));
        assert!(e.contains("its random state is damaged"), "{e}");
        let stopped = edited(&bytes, r#"\"stoppedEarly\":false"#, r#"\"stoppedEarly\":0.125"#);
        let e = run_file_error(&stopped);
        assert!(e.contains("its header is damaged"), "{e}");
        let e = run_file_error(&edited(&bytes, "adam.first.head.bias", "adam.first.head.bia_"));
        assert!(e.contains("the optimiser state of 'head.bia_' is missing"), "{e}");
        let e = run_file_error(&edited(&bytes, "best.probs", "best.prob_"));
        assert!(e.contains("unexpected tensor 'best.prob_'"), "{e}");
    }

    #[test]
    fn a_foreign_file_is_refused_in_words() {
        let model_file = serialize(&[], [("format".to_string(), "tagtrain-model".to_string())]);
        let e = run_file_error(&model_file.unwrap());
        assert!(e.contains("not a tagtrain run file"), "{e}");
        let e = run_file_error(b"PK\x03\x04 a zip, not a run");
        assert!(e.contains("not a tagtrain run file"), "{e}");
    }
}
