//! From a zip to a [`Dataset`]: the pixels of every image at the training size, as `u8`, in one
//! buffer, with multi-hot labels.
//!
//! Loading happens in two steps so that the user sees the data before choosing how to train:
//! [`DatasetSource::from_zip`] checks the archive, `index.csv` and every image header and gives a
//! [`DatasetSummary`], or every problem found at once; [`DatasetSource::decode`] (or, a few
//! images at a time so that a browser stays responsive, [`DatasetSource::decoder`] and
//! [`DatasetSource::decode_next`]) then decodes and resizes at the chosen size.

use std::collections::HashMap;

use crate::error::{Error, ErrorKind, ProblemList, Result};

use super::archive::{Archive, ZipIdentity, normalise};
use super::image::{ImageHeader, ResizePolicy, all_grayscale, decode_image, header};
use super::index::{IndexCsv, SplitTag};
use super::summary::DatasetSummary;
use crate::limits::Limits;

/// A dataset zip that has been checked but not yet decoded.
///
/// It holds the zip's bytes, since images are inflated only when decoded. Where memory is
/// short (a browser tab), [`DatasetSource::release_zip`] drops them once the images are
/// decoded, and [`DatasetSource::attach_zip`] takes the same zip back before the next decoding.
pub struct DatasetSource {
    /// `None` once released.
    archive: Option<Archive>,
    zip: ZipIdentity,
    index: IndexCsv,
    /// Zip entry path of each row's image.
    entries: Vec<String>,
    /// Header of each row's image.
    headers: Vec<ImageHeader>,
    warnings: Vec<String>,
    limits: Limits,
}

/// Decoded images at the training size, ready for batching.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Square side of every image.
    pub image_size: usize,
    /// Colour channels per pixel (3, RGB).
    pub channels: usize,
    /// `len × size × size × channels` bytes, image-major, `HWC` within an image.
    pub pixels: Vec<u8>,
    /// `len × labels.len()` multi-hot targets.
    pub targets: Vec<u8>,
    /// Label names.
    pub labels: Vec<String>,
    /// Image names (paths in the zip), one per image.
    pub names: Vec<String>,
    /// Each image's side of the split, when `index.csv` has a `split` column.
    pub splits: Option<Vec<SplitTag>>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Bytes of one image.
    pub fn image_bytes(&self) -> usize {
        self.image_size * self.image_size * self.channels
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_bytes();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The targets of image `i`.
    pub fn target(&self, i: usize) -> &[u8] {
        let l = self.labels.len();
        &self.targets[i * l..(i + 1) * l]
    }
}

impl DatasetSource {
    /// Opens a dataset zip: checks the archive, parses `index.csv`, checks that every listed
    /// image is present and reads every image header.
    ///
    /// # Errors
    /// A broken archive or `index.csv` structure stops at once. Problems of single rows and
    /// images (a bad value, a duplicate, a missing or undecodable image, …) are collected: one
    /// is returned as itself, several as [`ErrorKind::Problems`], each located (zip entry, CSV
    /// line and column, image name).
    pub fn from_zip(bytes: Vec<u8>, limits: &Limits) -> Result<Self> {
        let mut archive = Archive::from_bytes(bytes, limits)?;
        let index_path = find_index_csv(&archive)?;
        let prefix =
            index_path.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
        let csv_bytes = archive.read(&index_path, limits.max_csv_bytes)?;
        let mut index = IndexCsv::parse_with(&csv_bytes, limits)?;
        drop(csv_bytes);
        let mut problems = ProblemList::default();
        std::mem::take(&mut index.problems).into_iter().for_each(|p| problems.push(p));
        let mut warnings = index.warnings.clone();

        let lower: HashMap<String, &str> = archive.paths().map(|p| (p.to_lowercase(), p)).collect();
        // An entry of each file name (the first in path order), for suggestions: built once, so
        // that many missing rows cost one lookup each.
        let mut by_file_name: HashMap<String, &str> = HashMap::new();
        for path in archive.paths() {
            by_file_name.entry(file_name(path).to_lowercase()).or_insert(path);
        }
        // Rows that name an image of the zip are at most as many as its entries.
        let mut entries = Vec::with_capacity(index.len().min(archive.len()));
        let mut found = Vec::with_capacity(index.len());
        for row in index.rows() {
            let wanted = normalise(row.image);
            let candidates = [format!("{prefix}{wanted}"), wanted.clone()];
            let path = candidates.iter().find(|c| archive.contains(c));
            found.push(path.is_some());
            match path {
                Some(path) => entries.push(path.clone()),
                None => {
                    let suggestion = lower
                        .get(&candidates[0].to_lowercase())
                        .or_else(|| lower.get(&wanted.to_lowercase()))
                        .or_else(|| by_file_name.get(&file_name(&wanted).to_lowercase()))
                        .map(|s| s.to_string());
                    problems.push(Error::new(ErrorKind::MissingImage {
                        line: row.line,
                        image: row.image.to_string(),
                        suggestion,
                    }));
                }
            }
        }

        let listed: std::collections::HashSet<&str> = entries.iter().map(String::as_str).collect();
        let unlisted: Vec<&str> =
            archive.paths().filter(|p| is_image_path(p) && !listed.contains(p)).collect();
        if !unlisted.is_empty() {
            let examples = unlisted.iter().take(3).copied().collect::<Vec<_>>().join(", ");
            warnings.push(format!(
                "{} image(s) in the zip are not listed in index.csv and are ignored (e.g. {examples})",
                unlisted.len()
            ));
        }

        let mut headers = Vec::with_capacity(entries.len());
        for path in &entries {
            match archive.read(path, u64::MAX).and_then(|bytes| header(path, &bytes, limits)) {
                Ok(h) => headers.push(h),
                Err(e) => problems.push(e),
            }
        }
        if let Some(error) = problems.into_error() {
            return Err(error);
        }
        index.retain(|row| found[row]);
        if index.is_empty() {
            return Err(Error::new(ErrorKind::EmptyDataset {
                reason: "index.csv lists no usable image; add one row per image".into(),
            }));
        }

        for (j, name) in index.labels.iter().enumerate() {
            let positives = index.rows().filter(|r| r.labels[j] == 1).count();
            if positives == 0 {
                warnings
                    .push(format!("label '{name}' has no positive example; it cannot be learned"));
            } else if positives == index.len() {
                warnings.push(format!("label '{name}' has no negative example (it is on every image); it cannot be learned"));
            }
        }

        let zip = archive.identity();
        let archive = Some(archive);
        Ok(Self { archive, zip, index, entries, headers, warnings, limits: limits.clone() })
    }

    /// Label names, in CSV order.
    pub fn labels(&self) -> &[String] {
        &self.index.labels
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the user sees before training.
    pub fn summary(&self) -> DatasetSummary {
        DatasetSummary::new(&self.index, &self.headers, &self.warnings)
    }

    /// What training on this dataset with `options` will hold in memory (see
    /// [`crate::MemoryPlan`]), before any image is decoded.
    ///
    /// # Errors
    /// Options naming no valid network.
    pub fn memory_plan(&self, options: &crate::TrainingOptions) -> Result<crate::MemoryPlan> {
        let dataset = crate::memory::PlannedDataset {
            zip_bytes: self.zip.byte_len,
            images: self.len(),
            channels: if self.grayscale() { 1 } else { 3 },
            labels: self.labels().len(),
        };
        crate::MemoryPlan::for_training(dataset, options)
    }

    /// Drops the zip's bytes, keeping what the summary and a memory plan need. Decoding again
    /// needs [`DatasetSource::attach_zip`] first.
    pub fn release_zip(&mut self) {
        self.archive = None;
    }

    /// Whether the zip's bytes are held (decoding is possible).
    pub fn holds_zip(&self) -> bool {
        self.archive.is_some()
    }

    /// Takes back the bytes of the zip this dataset was opened from (after
    /// [`DatasetSource::release_zip`]).
    ///
    /// # Errors
    /// Any other zip (different entries, contents or size): [`ErrorKind::Misuse`].
    pub fn attach_zip(&mut self, bytes: Vec<u8>) -> Result<()> {
        let archive = Archive::from_bytes(bytes, &self.limits)?;
        if archive.identity() != self.zip {
            return Err(Error::misuse(
                "this is not the zip the dataset was loaded from (it changed on disk?); load the dataset again",
            ));
        }
        self.archive = Some(archive);
        Ok(())
    }

    /// True when every image is grayscale (then training uses one channel).
    pub fn grayscale(&self) -> bool {
        all_grayscale(&self.headers)
    }

    /// Decodes every image at `image_size × image_size`, brought to the square by `resize`,
    /// with one channel when every image is grayscale, else RGB.
    ///
    /// `progress(done, total)` is called after each image so that a caller can report it.
    pub fn decode(
        &mut self,
        image_size: u32,
        resize: ResizePolicy,
        progress: impl FnMut(usize, usize),
    ) -> Result<Dataset> {
        let decoder = self.decoder(image_size, resize)?;
        self.decode_all(decoder, progress)
    }

    /// Like [`DatasetSource::decode`], with the channel count fixed by the caller (a model's
    /// input; see [`DatasetSource::decoder_with_channels`]).
    pub fn decode_with_channels(
        &mut self,
        image_size: u32,
        resize: ResizePolicy,
        channels: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Dataset> {
        let decoder = self.decoder_with_channels(image_size, resize, channels)?;
        self.decode_all(decoder, progress)
    }

    /// Runs `decoder` to the end, calling `progress(done, total)` after each chunk.
    fn decode_all(
        &mut self,
        mut decoder: Decoder,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Dataset> {
        while !self.decode_next(&mut decoder, 16)? {
            progress(decoder.done(), decoder.total());
        }
        progress(decoder.done(), decoder.total());
        Ok(decoder.finish())
    }

    /// Starts decoding (see [`DatasetSource::decode_next`]). The pixel buffer is allocated once,
    /// at its final size.
    pub fn decoder(&self, image_size: u32, resize: ResizePolicy) -> Result<Decoder> {
        self.decoder_with_channels(image_size, resize, if self.grayscale() { 1 } else { 3 })
    }

    /// Like [`DatasetSource::decoder`], with the channel count fixed by the caller (a model's
    /// input): grayscale images are repeated over RGB, colour images averaged to one channel.
    pub fn decoder_with_channels(
        &self,
        image_size: u32,
        resize: ResizePolicy,
        channels: usize,
    ) -> Result<Decoder> {
        crate::options::check_image_size(image_size)?;
        let total = self.entries.len();
        let per_image = (image_size as usize).pow(2) * channels;
        let pixels = Vec::new();
        let mut decoder = Decoder {
            next: 0,
            resize,
            dataset: Dataset {
                image_size: image_size as usize,
                channels,
                pixels,
                targets: self.index.targets().to_vec(),
                labels: self.index.labels.clone(),
                names: self.entries.clone(),
                splits: self.index.has_split.then(|| {
                    self.index.rows().map(|r| r.split.unwrap_or(SplitTag::Train)).collect()
                }),
            },
        };
        let bytes = total.saturating_mul(per_image);
        // The allocator's refusal is the limit here: say how much was asked.
        decoder.dataset.pixels.try_reserve_exact(bytes).map_err(|_| {
            Error::limit("decoded pixel bytes", "the dataset", bytes as u64 - 1, bytes as u64)
        })?;
        Ok(decoder)
    }

    /// Decodes up to `count` more images into `decoder`; true when every image is decoded.
    ///
    /// # Errors
    /// The first image that cannot be decoded, by name.
    pub fn decode_next(&mut self, decoder: &mut Decoder, count: usize) -> Result<bool> {
        let end = (decoder.next + count).min(self.entries.len());
        let ds = &mut decoder.dataset;
        let archive = self.archive.as_mut().ok_or_else(|| {
            Error::misuse("the dataset's zip was released after decoding; attach it again first")
        })?;
        for path in &self.entries[decoder.next..end] {
            let bytes = archive.read(path, u64::MAX)?;
            let px = decode_image(
                path,
                &bytes,
                ds.image_size as u32,
                ds.channels,
                decoder.resize,
                &self.limits,
            )?;
            ds.pixels.extend_from_slice(&px);
        }
        decoder.next = end;
        Ok(end == self.entries.len())
    }
}

/// A decoding in progress; see [`DatasetSource::decoder`].
pub struct Decoder {
    next: usize,
    resize: ResizePolicy,
    dataset: Dataset,
}

impl Decoder {
    /// Images decoded so far.
    pub fn done(&self) -> usize {
        self.next
    }

    /// Images to decode in all.
    pub fn total(&self) -> usize {
        self.dataset.names.len()
    }

    /// The decoded dataset (complete once `decode_next` returned true).
    pub fn finish(self) -> Dataset {
        self.dataset
    }
}

fn find_index_csv(archive: &Archive) -> Result<String> {
    let mut found: Vec<&str> = archive
        .paths()
        .filter(|p| p.rsplit('/').next().is_some_and(|f| f.eq_ignore_ascii_case("index.csv")))
        .collect();
    // The shallowest wins: `data/index.csv` in a zip made by compressing a folder.
    found.sort_by_key(|p| p.matches('/').count());
    if let Some(path) = found.first() {
        return Ok(path.to_string());
    }
    // A zip of the zip (or a zip of a folder holding the dataset zip): say which to unzip.
    match archive.paths().find(|p| p.to_lowercase().ends_with(".zip")) {
        Some(inner) => Err(Error::inner_zip(inner)),
        None => Err(Error::missing_index_csv(archive.len())),
    }
}

/// The last component of a normalised path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_image_path(path: &str) -> bool {
    let lower = path.to_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e))
}
