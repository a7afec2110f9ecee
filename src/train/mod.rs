//! Training: options come from [`crate::TrainingOptions`]; here are the loss, the
//! learning-rate schedule, augmentation, how a run starts, early stopping, the events a run
//! reports, the step-by-step session that ties them together, what a run produces, and the run
//! file that saves a run and resumes it.

mod adamw;
mod augment;
mod best;
mod budget;
mod cross_validation;
mod ema;
mod events;
mod feature_cache;
mod fingerprint;
mod loss;
mod lr_find;
mod parts;
pub mod peers;
mod products;
mod run_file;
mod schedule;
mod session;
mod sharded;
mod start;
mod validation;

pub use budget::TIMED_STEPS;
pub use cross_validation::{CrossValidation, FOLD_RANGE, FoldStep};
pub use events::{EpochReport, LabelCurve, RunHistory, SessionInfo, StepEvent, Throughput};
pub use lr_find::{LrFindOptions, LrFindReport, LrFinder, LrPoint};
pub use run_file::{SavedRunInfo, saved_run_info};
pub use schedule::steps_per_epoch;
pub use session::TrainingSession;
