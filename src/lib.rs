//! tagtrain: multi-label image classifiers (ResNetV2) trained in the browser on WebGPU, or
//! natively, from a zip of images and an `index.csv`.
//!
//! The pipeline: [`data`] (zip → `index.csv` → decoded `u8` images → batches) → [`train`]
//! (a step-by-step session with async device reads) → [`checkpoint`] (one `.safetensors` file
//! with JSON metadata) → [`infer`] (per-label probabilities). [`device`] picks WebGPU or the CPU.
//! The browser front end lives in `wasm/` (the only `#[wasm_bindgen]` module); the CLI in
//! `src/bin/tagtrain/`.
//!
//! The types a program needs are re-exported here, at the crate root.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod data;
pub mod device;
mod error;
pub mod export;
pub mod gallery;
pub mod infer;
mod limits;
pub mod memory;
pub mod metrics;
pub mod model;
mod options;
#[cfg(all(test, feature = "train"))]
mod payload_types;
#[cfg(feature = "train")]
pub mod report;
pub mod review;
#[doc(hidden)]
pub mod rng;
#[cfg(feature = "train")]
pub mod saliency;
pub mod scoring;
mod summary;
pub mod thresholds;
#[cfg(feature = "train")]
pub mod train;
pub mod workspace;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use checkpoint::{InputSpec, ModelMetadata, TrainingSummary};
pub use data::{Dataset, DatasetSource, Normalization, ResizePolicy};
pub use device::{BackendKind, BackendPreference, ComputeDevice};
pub use error::{Error, ErrorKind, PROBLEMS_KEPT, PROBLEMS_SHOWN, Result, no_such_label_text};
pub use infer::{Evaluation, LabelPrediction, Predictor};
pub use limits::Limits;
pub use memory::{MemoryPlan, MemoryVerdict};
pub use metrics::{LabelMetrics, MultiLabelMetrics};
pub use model::{ConvInit, ResNetKind, ResNetV2, ResNetV2Config, StrideOn};
pub use options::{
    AugmentOptions, Bounds, KeptEpoch, ModelChoice, OptionLimits, TrainingChoices, TrainingOptions,
    WeightsInit,
};
pub use summary::{DatasetSummary, Recommendation};
pub use thresholds::ThresholdGoal;
#[cfg(feature = "train")]
pub use train::{EpochReport, LabelCurve, SessionInfo, StepEvent, TrainingSession};
