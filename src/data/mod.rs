//! Everything between the user's zip and a batch of tensors: the archive (hostile input,
//! bounded by [`crate::Limits`]), `index.csv` (or, without one, a folder per label), image
//! decoding and resizing, sound clips as spectrograms ([`audio`]), the zip-backed
//! [`DatasetSource`] and its profile, decoding it into a [`Dataset`], duplicates, the
//! train/validation split, and batches; natively, a dataset larger than memory streams from
//! its zip's file ([`stream`]).
//!
//! The bottom of the pipeline: it imports only `error`, `limits` and `rng`
//! (`tests/module_graph` checks). What needs the model or the options (the recommended
//! set-up, the memory plan) asks the data from above.

mod archive;
// Reached only with the `sound` feature; compiled always, since the settings are in options and
// model files.
#[cfg_attr(not(feature = "sound"), allow(dead_code))]
pub mod audio;
pub(crate) mod batcher;
mod bundle;
mod changes;
mod dataset;
mod decode;
mod duplicates;
mod edits;
mod folders;
mod folds;
pub mod image;
mod index;
mod locate;
mod relabel;
#[cfg(not(target_arch = "wasm32"))]
mod shared_file;
mod source;
mod split;
#[cfg(not(target_arch = "wasm32"))]
pub mod stream;
#[cfg(not(target_arch = "wasm32"))]
mod stream_source;
mod summary;

pub use archive::{media_type, what_else};
pub use batcher::Normalization;
pub use bundle::zip_folder;
pub use changes::{CHANGES_HEADER, ChangeKind, ChangeLog, LabelChange};
pub use dataset::{Dataset, TimeStrips};
pub use decode::Decoder;
#[cfg(feature = "train")]
pub(crate) use duplicates::Fnv1a;
pub use folds::stratified_folds;
pub use image::ResizePolicy;
pub use index::{IndexCsv, IndexRow, NO_GROUP, SplitTag};
pub use source::DatasetSource;
pub use split::{Split, VALIDATION_POSITIVES, stratified_split, validation_share};
pub use summary::{
    DatasetProfile, GroupCounts, LabelCount, LabelSource, MediaKind, NameCount,
    RARE_LABEL_EXAMPLES, SizeCount, SoundProfile, SplitCounts, ValueCount,
};
