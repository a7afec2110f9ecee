//! Out-of-sample probabilities by k-fold cross-validation, and the suspected label errors they
//! reveal (`crate::label_errors`, confident learning).
//!
//! Why cross-validation: a model's probability for an image it trained on mostly repeats the
//! label it was given (a network memorises a wrong label as readily as a right one), so the
//! probabilities that can question a label must come from models that never saw it. K-fold
//! gives every image exactly one such probability at the cost of `k` short runs; the folds are
//! stratified per label and keep duplicates and groups together
//! ([`crate::data::stratified_folds`]), so no copy of an image leaks its label into the model
//! that judges it. Each fold's run is an ordinary [`TrainingSession`] whose validation images
//! are the held-out fold, trained for the whole schedule (no early stopping, the last epoch's
//! weights: choosing an epoch on the held-out fold would let it shape its own judge).

use crate::data::{Dataset, SplitTag, stratified_folds};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::label_errors::{SuspectedError, suspected_errors, with_disagreeing_duplicates};
use crate::options::{KeptEpoch, TrainingOptions};
use crate::scoring::ScoreTable;

use super::events::StepEvent;
use super::session::TrainingSession;

/// Folds allowed: 2 leaves half the data to train each model; above 20 the runs cost more than
/// they tell.
pub const FOLD_RANGE: std::ops::RangeInclusive<usize> = 2..=20;

/// One training step of one fold's run.
#[derive(Debug, Clone)]
pub struct FoldStep {
    /// The fold being held out, 0-based.
    pub fold: usize,
    /// How many folds there are.
    pub folds: usize,
    /// The step of that fold's run.
    pub step: StepEvent,
}

/// `k` runs, one per held-out fold, stepped one training step at a time; then every image's
/// out-of-sample probabilities.
pub struct CrossValidation {
    dataset: Dataset,
    options: TrainingOptions,
    compute: ComputeDevice,
    fold_of: Vec<usize>,
    folds: usize,
    /// The fold whose run is next or running.
    fold: usize,
    session: Option<TrainingSession>,
    /// `images × labels` out-of-sample probabilities; NaN until the image's fold is done.
    probs: Vec<f32>,
    /// EfficientNet-Lite0's ImageNet weights, when each fold's run starts from them.
    pretrained: Option<Vec<u8>>,
}

impl CrossValidation {
    /// Prepares `folds` runs with `options` (each fold's run uses them as they are, except that
    /// it trains every epoch and keeps the last; the dataset's own split column is not used:
    /// every image is held out once).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOption`] for a fold count outside [`FOLD_RANGE`] or above the
    /// number of images.
    pub fn new(
        dataset: Dataset,
        mut options: TrainingOptions,
        folds: usize,
        compute: ComputeDevice,
    ) -> Result<Self> {
        if !FOLD_RANGE.contains(&folds) || folds > dataset.len() {
            return Err(Error::option(
                "folds",
                format!(
                    "{folds} folds for {} images: use {} to {}, and no more than the images",
                    dataset.len(),
                    FOLD_RANGE.start(),
                    FOLD_RANGE.end()
                ),
            ));
        }
        options.patience = 0;
        options.labels = None;
        options.keep = KeptEpoch::Last;
        let fold_of = stratified_folds(&dataset, folds, options.seed);
        let probs = vec![f32::NAN; dataset.len() * dataset.labels.len()];
        let pretrained = None;
        Ok(Self {
            dataset,
            options,
            compute,
            fold_of,
            folds,
            fold: 0,
            session: None,
            probs,
            pretrained,
        })
    }

    /// Each fold's run starts from EfficientNet-Lite0's ImageNet weights (`weights`: the
    /// converted `.safetensors`) with a new head, as [`TrainingSession::pretrained`] does: with
    /// the head alone on images without augmentation, each run computes the features once.
    pub fn with_pretrained(self, weights: Vec<u8>) -> Self {
        Self { pretrained: Some(weights), ..self }
    }

    /// The fold of each image.
    pub fn fold_of(&self) -> &[usize] {
        &self.fold_of
    }

    /// Whether every fold's run is done.
    pub fn is_done(&self) -> bool {
        self.fold >= self.folds
    }

    /// Training steps of all the runs together (each fold's run trains on the other folds).
    pub fn total_steps(&self) -> usize {
        (0..self.folds)
            .map(|f| {
                let train = self.fold_of.iter().filter(|&&g| g != f).count();
                super::steps_per_epoch(train, self.options.batch_size.min(train.max(1)))
                    * self.options.epochs
            })
            .sum()
    }

    /// Runs one training step of the current fold's run (starting it when needed); when that
    /// run ends, its held-out images' probabilities are kept. `None` once every fold is done.
    ///
    /// # Errors
    /// What a training run's start or step returns (a diverged run, a lost device, …).
    pub async fn step(&mut self) -> Result<Option<FoldStep>> {
        if self.is_done() {
            return Ok(None);
        }
        if self.session.is_none() {
            let mut dataset = self.dataset.clone();
            let fold = self.fold;
            dataset.splits = Some(
                self.fold_of
                    .iter()
                    .map(|&f| if f == fold { SplitTag::Valid } else { SplitTag::Train })
                    .collect(),
            );
            let (options, compute) = (self.options.clone(), self.compute.clone());
            self.session = Some(match &self.pretrained {
                Some(weights) => TrainingSession::pretrained(dataset, options, compute, weights)?,
                None => TrainingSession::new(dataset, options, compute)?,
            });
        }
        let Some(session) = self.session.as_mut() else { return Ok(None) };
        let step = session.step().await?;
        let event = FoldStep { fold: self.fold, folds: self.folds, step };
        if event.step.done {
            self.keep_held_out_probabilities()?;
            self.session = None;
            self.fold += 1;
        }
        Ok(Some(event))
    }

    /// Copies the finished run's probabilities of its held-out images into the table.
    fn keep_held_out_probabilities(&mut self) -> Result<()> {
        let Some(review) = self.session.as_ref().and_then(TrainingSession::review) else {
            return Err(Error::misuse(format!(
                "fold {} of {} ended without probabilities of its held-out images",
                self.fold + 1,
                self.folds
            )));
        };
        let labels = self.dataset.labels.len();
        for (row, &image) in review.images().iter().enumerate() {
            let probs = &review.probabilities()[row * labels..(row + 1) * labels];
            self.probs[image * labels..(image + 1) * labels].copy_from_slice(probs);
        }
        Ok(())
    }

    /// Every image's out-of-sample probabilities, `images × labels` row-major (NaN for the
    /// images of folds not yet done).
    pub fn probabilities(&self) -> &[f32] {
        &self.probs
    }

    /// The dataset's labels, in column order.
    pub fn labels(&self) -> &[String] {
        &self.dataset.labels
    }

    /// The dataset's image names, in row order.
    pub fn names(&self) -> &[String] {
        &self.dataset.names
    }

    /// The given 0/1 labels, `images × labels` row-major.
    pub fn targets(&self) -> &[u8] {
        &self.dataset.targets
    }

    /// The suspected label errors, most suspicious first (see `crate::label_errors`): the
    /// pairs confident learning finds, and duplicates whose labels disagree.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] before every fold is done.
    pub fn suspected_errors(&self) -> Result<Vec<SuspectedError>> {
        if !self.is_done() {
            return Err(Error::misuse(format!(
                "{} of {} folds are done; step until every fold is",
                self.fold, self.folds
            )));
        }
        let labels = self.dataset.labels.len();
        let table = ScoreTable::new(&self.probs, &self.dataset.targets, labels);
        let (names, labels) = (&self.dataset.names, &self.dataset.labels);
        let found = suspected_errors(&table, names, labels);
        Ok(with_disagreeing_duplicates(found, &table, &self.dataset.duplicates, names, labels))
    }
}
