//! Training on a dataset larger than memory (issue #36): the zip is read in place from its
//! file, `index.csv` is parsed as for a zip in memory, and each image keeps only where it is
//! (its zip entry), its name, targets and split and group tags. The pixels are decoded per batch
//! by a pool of worker threads ahead of the step ([`ImageStream`]), optionally kept in a cache
//! of decoded images within a memory budget ([`DecodedCache`]). Memory is then bounded by the
//! budget and the prefetch, not by the dataset.
//!
//! Native only: a browser tab has neither threads nor the file's path.
//!
//! Opening a zip from its file and starting its stream are `DatasetSource::from_file` and
//! `DatasetSource::stream` (`super::stream_source`); the file is read through
//! `super::shared_file`.

mod cache;
mod loader;
mod memory_info;

pub use cache::DecodedCache;
pub(crate) use loader::Decoding;
pub use loader::{ImageStream, StreamStats};
pub use memory_info::{available_memory, default_cache_budget};

/// How a streamed dataset is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSettings {
    /// Worker threads decoding images (at least 1).
    pub workers: usize,
    /// Images decoded ahead of the step at most (at least 1): with the batch, what bounds the
    /// loader's memory besides the cache.
    pub ahead: usize,
    /// Bytes of decoded images kept between epochs (0: none).
    pub cache_bytes: u64,
}

impl StreamSettings {
    /// Settings for batches of `batch_size`: a worker a core (at most 4: decoding a small
    /// image takes far less than a step), four batches ahead, the cache within `cache_bytes`.
    pub fn for_batches(batch_size: usize, cache_bytes: u64) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self { workers: cores.clamp(1, 4), ahead: 4 * batch_size.max(1), cache_bytes }
    }
}

/// One row's file in the zip: what a worker reads, and what the fingerprint hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamedFile {
    /// The entry's path (normalised), which errors name.
    pub path: String,
    /// Its number in the zip's central directory.
    pub entry: usize,
    /// Its CRC-32 and uncompressed size, as the central directory records them.
    pub crc32: u32,
    pub size: u64,
}
