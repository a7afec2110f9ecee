//! tagtrain: multi-label image classifiers (ResNetV2) trained in the browser on WebGPU, or
//! natively, from a zip of images and an `index.csv`.
//!
//! The pipeline: [`data`] (zip → `index.csv` → decoded `u8` images → batches) → [`train`]
//! (a step-by-step session with async device reads) → [`checkpoint`] (one `.safetensors` file
//! with JSON metadata) → [`infer`] (per-label probabilities), with [`metrics`], [`review`] and
//! [`report`] to judge a model. [`ComputeDevice`] picks WebGPU or the CPU. The browser front end
//! lives in `wasm/` (the only `#[wasm_bindgen]` module); the CLI in `src/bin/tagtrain/`.
//!
//! The types a program needs are re-exported here, at the crate root; the network, the device,
//! the options and the limits are internal modules. [`unstable`] holds the hooks of this crate's
//! benchmarks, fuzz targets and tests, with no promise that they stay.

#![warn(missing_docs)]

// The public modules follow the pipeline; the rest is internal, and what a program needs of it
// is re-exported below. Hooks for the benches, fuzz targets and tests are in [`unstable`].
pub mod checkpoint;
pub mod data;
pub mod infer;
pub mod metrics;
#[cfg(feature = "train")]
pub mod report;
pub mod review;
#[cfg(feature = "train")]
pub mod train;
pub mod unstable;

mod device;
mod error;
#[cfg_attr(not(feature = "train"), allow(dead_code))]
mod label_errors;
// The web export and the page's gallery and worker state are the training page's: only its
// wasm bindings use them (their own unit tests run natively, where some of it goes unused).
#[cfg(any(all(target_arch = "wasm32", feature = "train"), test))]
#[cfg_attr(not(all(target_arch = "wasm32", feature = "train")), allow(dead_code))]
mod export;
#[cfg(any(all(target_arch = "wasm32", feature = "train"), test))]
#[cfg_attr(not(all(target_arch = "wasm32", feature = "train")), allow(dead_code))]
mod gallery;
mod limits;
mod memory;
mod model;
mod options;
#[cfg(all(test, feature = "train"))]
mod payload_types;
mod rng;
#[cfg(feature = "train")]
mod saliency;
mod scoring;
mod summary;
mod thresholds;
#[cfg(any(all(target_arch = "wasm32", feature = "train"), test))]
#[cfg_attr(not(all(target_arch = "wasm32", feature = "train")), allow(dead_code))]
mod workspace;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use checkpoint::{InputSpec, ModelMetadata, TrainedData, TrainingSummary};
pub use data::{Dataset, DatasetSource, Normalization, ResizePolicy};
pub use device::{BackendKind, BackendPreference, ComputeDevice};
pub use error::{Error, ErrorKind, PROBLEMS_KEPT, PROBLEMS_SHOWN, Result, no_such_label_text};
pub use infer::{Evaluation, LabelPrediction, Predictor};
pub use label_errors::SuspectedError;
pub use limits::Limits;
pub use memory::{MemoryPlan, MemoryVerdict};
pub use metrics::{LabelMetrics, MultiLabelMetrics};
#[cfg(feature = "train")]
pub use model::agreement::{AgreementReport, Comparison, check as check_agreement};
pub use model::efficientnet;
pub use model::{
    ConvInit, Footprint, Network, NetworkConfig, ResNetKind, ResNetV2, ResNetV2Config, StrideOn,
};
pub use options::{
    AugmentOptions, Bounds, KeptEpoch, ModelChoice, OptionLimits, PRETRAINED_BACKBONE_LR_SCALE,
    TrainLayers, TrainingChoices, TrainingOptions, WeightsInit,
};
#[cfg(feature = "train")]
pub use saliency::{HeatMap, Saliency};
pub use summary::{DatasetSummary, Recommendation};
pub use thresholds::ThresholdGoal;
#[cfg(feature = "train")]
pub use train::{EpochReport, LabelCurve, SessionInfo, StepEvent, TrainingSession};
