//! Training: the loss, the learning-rate schedule and the step-by-step session.

pub mod loss;
pub mod schedule;
pub mod session;

pub use session::{EpochReport, SessionInfo, StepEvent, TrainingOptions, TrainingSession};
