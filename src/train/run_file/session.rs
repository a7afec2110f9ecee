//! A session written to its run file at an epoch's end, and taken up again from it.

use crate::data::Dataset;
use burn::module::Module;

use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::options::TrainingOptions;

use super::{DatasetFingerprint, RunFileContents, RunFileHeader};
use crate::train::budget::{EpochBudget, TIMED_STEPS};
use crate::train::parts::SessionParts;
use crate::train::session::{TrainingSession, busy};
use crate::train::start::{chosen_labels, fit_batch_to_buffers, run_split};

impl TrainingSession {
    /// The run's state at the end of an epoch, as a run file (see the `run_file` module): what
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
        super::write(RunFileContents {
            options: &self.options,
            config: &self.config,
            norm: &self.norm,
            dataset: self.fingerprint.get_or_init(|| DatasetFingerprint::of(&self.dataset)),
            init: self.init,
            lineage: &self.lineage,
            steps_per_epoch: self.steps_per_epoch,
            model: &model,
            step: self.step,
            rng: &self.rng,
            optim: &self.optim,
            early_stopping: &self.early_stopping,
            history: &self.history,
            ema: self.ema.as_ref(),
        })
        .await
    }

    /// Takes up a run saved by [`Self::save_state`] on the same dataset (decoded at the same
    /// size): it goes on with the same weights, optimiser moments, random state, best epoch and
    /// history, so it ends as the uninterrupted run would have.
    ///
    /// # Errors
    /// [`crate::ErrorKind::RunState`] for a file that is not a run, one saved by a newer
    /// version, or another dataset (said in words).
    pub fn resume(dataset: Dataset, compute: ComputeDevice, run_file: &[u8]) -> Result<Self> {
        let header = RunFileHeader::read(run_file)?;
        let dataset = chosen_labels(dataset, &header.options)?;
        let fingerprint = header.check_dataset(&dataset)?;
        let options = header.options.clone();
        options.validate()?;
        let split = run_split(&dataset, &options);
        let steps_per_epoch = header.check_split(&split)?;
        // A run's batch cannot change (its epochs are counted in steps): on a GPU with smaller
        // buffers than the one it started on, it resumes on the CPU or not at all.
        let mut fitted = options.clone();
        if fit_batch_to_buffers(&mut fitted, &header.architecture, &dataset, &split, &compute)?
            .is_some()
        {
            return Err(batch_too_large_to_resume(&options, &compute));
        }
        // A run saved before its time budget chose the epochs (an epoch shorter than the
        // timed steps) times its steps again and chooses now.
        let budget = options
            .time_budget_seconds
            .filter(|_| header.step < 1 + TIMED_STEPS)
            .map(EpochBudget::new);
        let train_device = compute.device.clone().autodiff();
        train_device.seed(options.seed);
        let restored = super::read(run_file, header, &train_device, &compute.device)?;
        Ok(Self::assemble(SessionParts {
            dataset,
            fingerprint: Some(fingerprint),
            options,
            split,
            steps_per_epoch,
            compute,
            train_device,
            start: restored.start,
            progress: restored.progress,
            budget,
            batch_notice: None,
        }))
    }
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
