//! Hooks for this crate's benchmarks, fuzz targets and tests: the building blocks they time or
//! check on their own (the convolution paths, the composed batch norm, tensor batching, the
//! seeded generator, the tab's memory bound).
//!
//! **No stability promise.** Anything here may change or go in any release. Programs use the
//! crate root and the public modules ([`crate::data`], [`crate::train`], [`crate::checkpoint`],
//! [`crate::infer`], …), which is what the CLI does.

pub use crate::data::batcher::images_tensor;
pub use crate::memory::TAB_COMFORT_BYTES;
pub use crate::model::conv;
pub use crate::model::norm::batch_norm_train_composed;
pub use crate::rng::SeededRng;
