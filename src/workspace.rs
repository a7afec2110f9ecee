//! What a front end has loaded (a dataset, a model, the model's review) and what it is running
//! (a training run, a learning-rate test, an evaluation), with the rules between them: one
//! task at a time, a review only of the loaded dataset, and the words for each refusal.
//!
//! The browser's worker keeps its objects here (`src/wasm/workspace.rs`); the types are
//! parameters so that the rules are tested natively, without a browser.

use crate::error::{Error, Result};

/// Long work that holds the dataset's decoded images; one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// A training run (new, fine-tuned or resumed).
    Training,
    /// A learning-rate range test.
    LearningRateTest,
    /// A model measured on the dataset.
    Evaluation,
    /// Label errors searched for by cross-validation (`CrossValidation`): several short runs.
    LabelErrors,
    /// The compute backend's forms compared with burn's (`check_agreement`): it needs no
    /// dataset and holds no images, but shares the device with everything else.
    BackendCheck,
}

impl Task {
    /// What is running, as the start of a refusal.
    fn running(self) -> &'static str {
        match self {
            Task::Training => "a training run is in progress",
            Task::LearningRateTest => "a learning-rate test is in progress",
            Task::Evaluation => "an evaluation is in progress",
            Task::LabelErrors => "a search for label errors is in progress",
            Task::BackendCheck => "a check of the backend is in progress",
        }
    }
}

/// A dataset `D`, a model `M` and its review `R`, each loaded or not, and the task running.
#[derive(Debug)]
pub struct Workspace<D, M, R> {
    dataset: Option<D>,
    model: Option<M>,
    review: Option<R>,
    running: Option<Task>,
    stop_requested: bool,
}

impl<D, M, R> Default for Workspace<D, M, R> {
    fn default() -> Self {
        Workspace { dataset: None, model: None, review: None, running: None, stop_requested: false }
    }
}

impl<D, M, R> Workspace<D, M, R> {
    /// The loaded dataset.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] before one is loaded.
    pub fn dataset(&self) -> Result<&D> {
        self.dataset
            .as_ref()
            .ok_or_else(|| Error::misuse("no dataset is loaded; load a dataset zip first"))
    }

    /// The loaded model.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] before one is trained or loaded.
    pub fn model(&self) -> Result<&M> {
        self.model.as_ref().ok_or_else(no_model)
    }

    /// The loaded model, to change (its thresholds, its test-time augmentation): refused while
    /// an evaluation uses it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] without a model, or during an evaluation.
    pub fn model_mut(&mut self, what: &str) -> Result<&mut M> {
        if self.running == Some(Task::Evaluation) {
            return Err(busy(Task::Evaluation, what));
        }
        self.model.as_mut().ok_or_else(no_model)
    }

    /// The loaded model, to change a setting no evaluation depends on (test-time
    /// augmentation).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] without a model.
    pub fn model_settings_mut(&mut self) -> Result<&mut M> {
        self.model.as_mut().ok_or_else(no_model)
    }

    /// The model's review (measured on the loaded dataset), if any.
    pub fn review(&self) -> Option<&R> {
        self.review.as_ref()
    }

    /// The model's review.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] before the model was measured on labelled images.
    pub fn measured(&self) -> Result<&R> {
        self.review.as_ref().ok_or_else(|| {
            Error::misuse(
                "the model has not been measured on labelled images yet; train it, or evaluate it on a dataset",
            )
        })
    }

    /// The model's review, to change (its thresholds).
    pub fn review_mut(&mut self) -> Option<&mut R> {
        self.review.as_mut()
    }

    /// Loads `dataset` in place of the last one; the review goes with it (its images are
    /// indices into the dataset it was measured on). A task running goes on with the images
    /// it decoded.
    pub fn set_dataset(&mut self, dataset: D) {
        self.dataset = Some(dataset);
        self.review = None;
    }

    /// Makes `model` the current model, with its `review` (of the loaded dataset) if it has
    /// one.
    pub fn set_model(&mut self, model: M, review: Option<R>) {
        self.model = Some(model);
        self.review = review;
    }

    /// Makes `review` the current model's review.
    pub fn set_review(&mut self, review: R) {
        self.review = Some(review);
    }

    /// The loaded dataset for a new `task`, which is now running (until [`Workspace::finish`]);
    /// an evaluation needs a model too.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] without a dataset (or a model, to evaluate), or while
    /// another task runs.
    pub fn start(&mut self, task: Task) -> Result<&D> {
        self.dataset()?;
        if task == Task::Evaluation {
            self.model()?;
        }
        let what = match task {
            Task::Training => "train",
            Task::LearningRateTest => "test learning rates",
            Task::Evaluation => "evaluate",
            Task::LabelErrors => "find label errors",
            Task::BackendCheck => "check the backend",
        };
        self.idle(what)?;
        self.running = Some(task);
        self.stop_requested = false;
        self.dataset()
    }

    /// Starts a check of the compute backend ([`Task::BackendCheck`]), which needs nothing
    /// loaded, until [`Workspace::finish`].
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] while another task runs.
    pub fn start_backend_check(&mut self) -> Result<()> {
        self.idle("check the backend")?;
        self.running = Some(Task::BackendCheck);
        Ok(())
    }

    /// The running task is over (done, stopped or failed).
    pub fn finish(&mut self) {
        self.running = None;
    }

    /// Asks the running training run or learning-rate test to stop after its current step;
    /// whether one was running.
    pub fn request_stop(&mut self) -> bool {
        self.stop_requested = true;
        matches!(self.running, Some(Task::Training | Task::LearningRateTest | Task::LabelErrors))
    }

    /// Whether a stop was asked since the task started.
    pub fn stop_requested(&self) -> bool {
        self.stop_requested
    }

    /// The loaded dataset's images, for showing: refused while a task holds them decoded (the
    /// zip's bytes are out of memory meanwhile).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] without a dataset, or while a task runs.
    pub fn images(&self) -> Result<&D> {
        let dataset = self.dataset()?;
        if self.running != Some(Task::BackendCheck) {
            self.idle("show the images")?;
        }
        Ok(dataset)
    }

    /// Nothing runs, so `what` may.
    fn idle(&self, what: &str) -> Result<()> {
        match self.running {
            Some(task) => Err(busy(task, what)),
            None => Ok(()),
        }
    }
}

fn no_model() -> Error {
    Error::misuse("no model is loaded; train one or load a model file")
}

fn busy(task: Task, what: &str) -> Error {
    Error::misuse(format!("{}; {what} when it is done", task.running()))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Loaded = Workspace<&'static str, &'static str, &'static str>;

    #[test]
    fn nothing_loaded_says_what_to_load() {
        let mut w = Loaded::default();
        assert_eq!(
            w.dataset().unwrap_err().to_string(),
            "no dataset is loaded; load a dataset zip first"
        );
        assert_eq!(
            w.model().unwrap_err().to_string(),
            "no model is loaded; train one or load a model file"
        );
        assert!(w.model_mut("set thresholds").is_err());
        assert!(
            w.measured().unwrap_err().to_string().starts_with("the model has not been measured")
        );
        assert!(w.start(Task::Training).is_err());
        assert!(w.images().is_err());
        assert_eq!(w.running, None);
        assert!(!w.request_stop());
    }

    #[test]
    fn the_backend_check_needs_nothing_loaded_and_runs_alone() {
        let mut w = Loaded::default();
        w.start_backend_check().unwrap();
        assert_eq!(
            w.start_backend_check().unwrap_err().to_string(),
            "a check of the backend is in progress; check the backend when it is done"
        );
        w.set_dataset("zip");
        assert_eq!(
            w.start(Task::Training).unwrap_err().to_string(),
            "a check of the backend is in progress; train when it is done"
        );
        assert_eq!(*w.images().unwrap(), "zip", "the check holds no images");
        assert!(!w.request_stop(), "a check is not stopped");
        w.finish();
        w.start(Task::Training).unwrap();
        assert_eq!(
            w.start_backend_check().unwrap_err().to_string(),
            "a training run is in progress; check the backend when it is done"
        );
    }

    #[test]
    fn one_task_at_a_time_and_the_images_wait_for_it() {
        let mut w = Loaded::default();
        w.set_dataset("zip");
        assert_eq!(*w.start(Task::Training).unwrap(), "zip");
        assert_eq!(w.running, Some(Task::Training));
        assert_eq!(
            w.start(Task::Training).unwrap_err().to_string(),
            "a training run is in progress; train when it is done"
        );
        assert_eq!(
            w.start(Task::LearningRateTest).unwrap_err().to_string(),
            "a training run is in progress; test learning rates when it is done"
        );
        assert_eq!(
            w.images().unwrap_err().to_string(),
            "a training run is in progress; show the images when it is done"
        );
        w.finish();
        assert_eq!(*w.images().unwrap(), "zip");
        w.start(Task::LearningRateTest).unwrap();
        w.set_model("model", None);
        assert_eq!(
            w.start(Task::Evaluation).unwrap_err().to_string(),
            "a learning-rate test is in progress; evaluate when it is done"
        );
    }

    #[test]
    fn an_evaluation_needs_a_model_and_freezes_it() {
        let mut w = Loaded::default();
        w.set_dataset("zip");
        assert!(
            w.start(Task::Evaluation).unwrap_err().to_string().starts_with("no model is loaded")
        );
        w.set_model("model", None);
        w.start(Task::Evaluation).unwrap();
        assert_eq!(
            w.model_mut("change the thresholds").unwrap_err().to_string(),
            "an evaluation is in progress; change the thresholds when it is done"
        );
        assert_eq!(*w.model().unwrap(), "model");
        assert!(!w.request_stop(), "an evaluation is not stopped");
        *w.model_settings_mut().unwrap() = "averaging";
        w.finish();
        w.set_review("review");
        *w.model_mut("change the thresholds").unwrap() = "tuned";
        assert_eq!((*w.model().unwrap(), *w.measured().unwrap()), ("tuned", "review"));
    }

    #[test]
    fn a_new_dataset_or_model_replaces_the_review() {
        let mut w = Loaded::default();
        w.set_dataset("zip");
        w.set_model("model", Some("validation"));
        assert_eq!(w.review(), Some(&"validation"));
        w.set_dataset("other");
        assert_eq!(w.review(), None);
        w.set_review("evaluation");
        w.set_model("loaded", None);
        assert_eq!(w.review(), None);
        assert_eq!(*w.dataset().unwrap(), "other");
    }

    #[test]
    fn a_stop_is_for_the_running_run_only() {
        let mut w = Loaded::default();
        w.set_dataset("zip");
        assert!(!w.request_stop());
        w.start(Task::Training).unwrap();
        assert!(!w.stop_requested(), "a new task starts unstopped");
        assert!(w.request_stop());
        assert!(w.stop_requested());
        w.finish();
        w.start(Task::LearningRateTest).unwrap();
        assert!(!w.stop_requested());
    }
}
