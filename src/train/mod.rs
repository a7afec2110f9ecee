//! Training: the loss, the learning-rate schedule and the step-by-step session.

pub mod augment;
pub mod loss;
pub mod schedule;
pub mod session;

pub use session::{EpochReport, LabelCurve, SessionInfo, StepEvent, TrainingSession};
