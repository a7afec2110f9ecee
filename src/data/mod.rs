//! Everything between the user's zip and a batch of tensors: the archive (hostile input,
//! bounded by [`crate::Limits`]), `index.csv`, image decoding and resizing, the decoded
//! [`Dataset`], the train/validation split, and batches.

mod archive;
pub mod batcher;
mod dataset;
pub mod image;
mod index;
mod split;
mod summary;

pub use archive::what_else;
pub use batcher::Normalization;
pub use dataset::{Dataset, DatasetSource, Decoder};
pub use image::ResizePolicy;
pub use index::{IndexCsv, IndexRow, NO_GROUP, SplitTag};
pub use split::{Split, VALIDATION_POSITIVES, stratified_split, validation_share};
pub use summary::{
    DatasetSummary, GroupCounts, LabelCount, RARE_LABEL_EXAMPLES, Recommendation, SizeCount,
    SplitCounts,
};
