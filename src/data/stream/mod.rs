//! Training on a dataset larger than memory (issue #36): the zip is read in place from its
//! file, `index.csv` is parsed as for a zip in memory, and each image keeps only where it is
//! (its zip entry), its name, targets and split and group tags. The pixels are decoded per batch
//! by a pool of worker threads ahead of the step ([`ImageStream`]), optionally kept in a cache
//! of decoded images within a memory budget ([`DecodedCache`]). Memory is then bounded by the
//! budget and the prefetch, not by the dataset.
//!
//! Native only: a browser tab has neither threads nor the file's path.

mod cache;
mod file;
mod loader;
mod memory_info;

use crate::error::{Error, Result};
use crate::limits::{Limits, check_image_size};

use super::archive::{Archive, ZipBytes};
use super::dataset::Dataset;
use super::image::ResizePolicy;
use super::source::DatasetSource;
use super::summary::MediaKind;
use super::what_else;

pub use cache::DecodedCache;
pub use file::SharedFile;
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

impl DatasetSource {
    /// Opens the dataset zip at `path` as [`DatasetSource::from_zip`] does, reading it in place
    /// from the file (never whole into memory): `index.csv` is parsed and every image header
    /// read as for a zip in memory. Its images can then be decoded into memory as usual, or
    /// streamed ([`DatasetSource::stream`]).
    ///
    /// # Errors
    /// The file cannot be opened or read ([`crate::ErrorKind::NotAZip`] saying why); then as
    /// [`DatasetSource::from_zip`].
    pub fn from_file(path: &std::path::Path, limits: &Limits) -> Result<Self> {
        let file = SharedFile::open(path).map_err(|e| {
            Error::new(crate::ErrorKind::NotAZip { reason: format!("it cannot be opened: {e}") })
        })?;
        let looks_like = what_else(&file.first_bytes(512));
        let archive = Archive::open(ZipBytes::File(file), looks_like, limits)?;
        Self::open_archive(archive, limits, false)
    }

    /// The dataset at `image_size × image_size` without its pixels: they are decoded per batch
    /// by `settings.workers` threads reading the zip's file ([`Dataset::images_of`]), with one
    /// channel when every image is grayscale, else RGB. Duplicates are the files with the same
    /// bytes only (the same CRC-32 and size): finding images that decode to the same pixels
    /// would take a full decoding pass.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOption`] (`stream`) for sound clips, which are decoded into
    /// memory only; [`crate::ErrorKind::Misuse`] for a zip not opened from its file
    /// ([`DatasetSource::from_file`]) or with files added since; an image size out of range.
    pub fn stream(
        &mut self,
        image_size: u32,
        resize: ResizePolicy,
        settings: StreamSettings,
    ) -> Result<Dataset> {
        if self.kind() == MediaKind::Sounds {
            return Err(Error::option(
                "stream",
                "sound clips are decoded into memory only (their spectrograms are made once); \
                 train on this dataset in memory",
            ));
        }
        check_image_size(image_size)?;
        self.require_zip()?;
        if !self.added_files.is_empty() {
            return Err(Error::misuse(
                "files were added to the dataset since it was opened: export it and stream the new zip",
            ));
        }
        let archive = self.archive.as_mut().expect("checked: the zip is held");
        let zip = archive.file_zip().ok_or_else(|| {
            Error::misuse("streaming reads the zip from its file: open it with from_file")
        })?;
        let mut files = Vec::with_capacity(self.entries.len());
        for path in &self.entries {
            let entry = archive.entry_number(path);
            let checksum = archive.checksum(path);
            let (Some(entry), Some((crc32, size))) = (entry, checksum) else {
                return Err(Error::zip_entry(path, "the entry is no longer in the zip"));
            };
            files.push(StreamedFile { path: path.clone(), entry, crc32, size });
        }
        let limits = archive.limits().clone();
        let channels = if self.grayscale() { 1 } else { 3 };
        let mut dataset = self.undecoded(image_size, channels);
        let decoding = loader::Decoding { side: image_size, channels, resize, limits };
        dataset.stream = Some(ImageStream::start(zip, files, decoding, settings)?);
        Ok(dataset)
    }
}

impl Limits {
    /// The limits for a zip read from its file: as [`Limits::default`], except the zip's entry
    /// count and total uncompressed size, which bound memory only when the whole zip is held
    /// (a streamed dataset holds a few decoded images at a time). Each entry's size and
    /// compression ratio, and each image's, stay capped.
    pub fn for_zip_file() -> Self {
        Self { max_entries: 50_000_000, max_total_uncompressed: u64::MAX, ..Self::default() }
    }
}
