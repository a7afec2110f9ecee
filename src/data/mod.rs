//! Everything between the user's zip and a batch of tensors.

pub mod archive;
pub mod batcher;
pub mod dataset;
pub mod image;
pub mod index;
pub mod split;

pub use archive::Limits;
pub use batcher::Normalization;
pub use dataset::{Dataset, DatasetSource, DatasetSummary, Decoder};
pub use image::ResizePolicy;
pub use index::{IndexCsv, SplitTag};
pub use split::{Split, stratified_split};
