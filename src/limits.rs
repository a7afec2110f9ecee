//! Explicit caps on what a dataset may ask of us, and the checks that enforce them.
//!
//! Archives and images are hostile input: every size they declare is user data. Each check
//! is a method here and fails with a located [`crate::ErrorKind::Limit`] naming what, where, the cap
//! and the actual value, so that one rule stands in one place whichever module meets it.

use crate::error::{Error, Result};

/// Explicit caps on what a dataset may ask of us. Every cap produces a located error.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most entries (files and folders) in the zip.
    pub max_entries: u64,
    /// Most bytes all entries may inflate to, summed.
    pub max_total_uncompressed: u64,
    /// Most bytes a single entry may inflate to.
    pub max_entry_bytes: u64,
    /// Largest inflated/compressed ratio accepted for entries over 1 MiB (zip bombs).
    pub max_compression_ratio: u64,
    /// Most bytes `index.csv` may hold (this also caps its rows: a row takes at least 4 bytes).
    pub max_csv_bytes: u64,
    /// Most columns in `index.csv`. The dataset summary holds a labels × labels co-occurrence
    /// table (8 bytes a cell), so this also bounds that table: 32 MB at the default 2,000.
    pub max_columns: u64,
    /// Largest width or height of an image.
    pub max_image_side: u32,
    /// Most pixels (width × height) in one image.
    pub max_image_pixels: u64,
    /// Longest audio clip in seconds (its mono samples are held while its spectrogram is made:
    /// 4 bytes × rate × seconds, 230 MB at the defaults' extremes).
    pub max_clip_seconds: u32,
    /// Highest audio sample rate in samples per second.
    pub max_sample_rate: u32,
    /// Most audio channels in one file (they are mixed to mono as they are decoded).
    pub max_audio_channels: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 200_000,
            max_total_uncompressed: 4 << 30,
            max_entry_bytes: 64 << 20,
            max_compression_ratio: 200,
            max_csv_bytes: 64 << 20,
            max_columns: 2_000,
            max_image_side: 12_000,
            max_image_pixels: 50_000_000,
            max_clip_seconds: 600,
            max_sample_rate: 96_000,
            max_audio_channels: 32,
        }
    }
}

/// Longest label name, in bytes: a folder name taken for a label, and a model file's label.
pub const MAX_LABEL_BYTES: usize = 1_000;

/// The smallest training image side in pixels: below it the network's stages have nothing left
/// to downsample.
pub(crate) const MIN_IMAGE_SIZE: u32 = 8;

/// The largest training image side in pixels (a model's input, when decoding at its size, is
/// user data too).
pub(crate) const MAX_IMAGE_SIZE: u32 = 512;

/// The training image side, from [`MIN_IMAGE_SIZE`] to [`MAX_IMAGE_SIZE`].
///
/// # Errors
/// [`crate::ErrorKind::Options`] naming `imageSize` and the range.
pub(crate) fn check_image_size(image_size: u32) -> Result<()> {
    if (MIN_IMAGE_SIZE..=MAX_IMAGE_SIZE).contains(&image_size) {
        return Ok(());
    }
    Err(Error::option(
        "imageSize",
        format!("{image_size} is not between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels"),
    ))
}

/// Entries at most this size are never called zip bombs, whatever their ratio.
const RATIO_FREE_BYTES: u64 = 1 << 20;

impl Limits {
    /// The number of entries in a zip.
    pub fn check_entries(&self, count: u64) -> Result<()> {
        at_most("entry count", "the zip", self.max_entries, count)
    }

    /// The sum of the sizes a zip's entries declare.
    pub fn check_total_uncompressed(&self, total: u64) -> Result<()> {
        at_most("total uncompressed size (bytes)", "the zip", self.max_total_uncompressed, total)
    }

    /// The most bytes entry `path` may inflate to, given the caller's own `cap` for it.
    pub fn entry_cap(&self, cap: u64) -> u64 {
        cap.min(self.max_entry_bytes)
    }

    /// One entry's declared size against `cap` (see [`Limits::entry_cap`]) and its
    /// compression ratio, before anything is inflated.
    pub fn check_entry(&self, path: &str, declared: u64, compressed: u64, cap: u64) -> Result<()> {
        self.check_inflated(path, declared, cap)?;
        let ratio = declared / compressed.max(1);
        if declared > RATIO_FREE_BYTES {
            let place = format!("zip entry '{path}' (a zip bomb?)");
            at_most("compression ratio", &place, self.max_compression_ratio, ratio)?;
        }
        Ok(())
    }

    /// The bytes an entry actually inflated to (its declared size is not trusted).
    pub fn check_inflated(&self, path: &str, bytes: u64, cap: u64) -> Result<()> {
        at_most("size (bytes)", &format!("zip entry '{path}'"), cap, bytes)
    }

    /// The number of label folders of a zip without `index.csv`: each is a label, as each
    /// column of `index.csv` is, so [`Limits::max_columns`] caps them too.
    pub fn check_label_folders(&self, count: u64) -> Result<()> {
        at_most(
            "label count",
            "the zip's folders (each folder holding images is a label)",
            self.max_columns,
            count,
        )
    }

    /// The label cells (images × labels) of a zip without `index.csv`: no more than an
    /// `index.csv` of [`Limits::max_csv_bytes`] holds (a cell takes at least 2 bytes, `0,`),
    /// so that the targets' memory is bounded as it is with one.
    pub fn check_label_cells(&self, cells: u64) -> Result<()> {
        at_most(
            "label cells (images × labels)",
            "the zip's folders (as an index.csv they would be over its size limit)",
            self.max_csv_bytes / 2,
            cells,
        )
    }

    /// The number of fields on one line of `index.csv`.
    pub fn check_columns(&self, line: u64, count: u64) -> Result<()> {
        at_most("column count", &format!("index.csv line {line}"), self.max_columns, count)
    }

    /// An image's width and height, read from its header before any pixel is decoded.
    pub fn check_image(&self, name: &str, width: u32, height: u32) -> Result<()> {
        let place = format!("image '{name}'");
        let side = width.max(height);
        at_most("side (pixels)", &place, self.max_image_side.into(), side.into())?;
        let pixels = u64::from(width) * u64::from(height);
        at_most("pixel count", &place, self.max_image_pixels, pixels)
    }

    /// An audio file's sample rate, declared in its header.
    pub fn check_audio_rate(&self, name: &str, rate: u32) -> Result<()> {
        let place = format!("clip '{name}'");
        at_most("sample rate (Hz)", &place, self.max_sample_rate.into(), rate.into())?;
        if rate == 0 {
            return Err(Error::audio_decode(name, "its header says 0 samples per second"));
        }
        Ok(())
    }

    /// An audio file's channel count.
    pub fn check_audio_channels(&self, name: &str, channels: u64) -> Result<()> {
        at_most(
            "channel count",
            &format!("clip '{name}'"),
            self.max_audio_channels.into(),
            channels,
        )
    }

    /// An audio clip's length in frames at `rate` (declared in its header, or decoded so far),
    /// against [`Limits::max_clip_seconds`].
    pub fn check_audio_length(&self, name: &str, frames: u64, rate: u32) -> Result<()> {
        let limit = u64::from(self.max_clip_seconds) * u64::from(rate);
        at_most("length (samples per channel)", &format!("clip '{name}'"), limit, frames)
    }

    /// The bytes a decoder may allocate for one image: 8 per pixel (16-bit RGBA) at most.
    pub fn image_alloc_bytes(&self) -> u64 {
        self.max_image_pixels.saturating_mul(8)
    }
}

/// Fails with a located [`crate::ErrorKind::Limit`] when `actual` is over `limit`.
fn at_most(what: &'static str, place: &str, limit: u64, actual: u64) -> Result<()> {
    if actual > limit { Err(Error::limit(what, place, limit, actual)) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn each_check_names_what_and_where() {
        let limits = Limits { max_image_side: 8, max_entries: 2, ..Limits::default() };
        let err = limits.check_image("a.png", 9, 4).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Limit { what: "side (pixels)", limit: 8, actual: 9, .. }
            ),
            "{err}"
        );
        assert!(err.to_string().starts_with("image 'a.png'"), "{err}");
        assert!(limits.check_entries(2).is_ok());
        assert!(limits.check_entries(3).is_err());
        // A small entry may compress as well as it likes; a large one may not.
        assert!(limits.check_entry("x", 1000, 1, 1 << 30).is_ok());
        let bomb = limits.check_entry("x", 100 << 20, 1000, 1 << 30).unwrap_err();
        assert!(bomb.to_string().contains("zip bomb"), "{bomb}");
    }
}
