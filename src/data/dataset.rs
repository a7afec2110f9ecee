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
    /// Rows whose files are the same bytes (same CRC-32 and size), each set in row order.
    byte_duplicates: Vec<Vec<usize>>,
    limits: Limits,
}

/// Decoded images at the training size, ready for batching.
#[derive(Debug, Clone, PartialEq, Default)]
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
    /// Each image's group id (equal ids: one subject; [`crate::data::NO_GROUP`]: a group of its own), when
    /// `index.csv` has a `group` column. The split keeps a group on one side.
    pub groups: Option<Vec<u32>>,
    /// Sets of images that are the same (same file bytes, or the same pixels once decoded at
    /// the training size), each in index order. The split keeps a set on one side.
    pub duplicates: Vec<Vec<usize>>,
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

    /// Keeps only the label columns named in `labels`, in that order (the brief's "feature
    /// set": train on a chosen set of label columns).
    ///
    /// # Errors
    /// [`ErrorKind::Options`] naming an unknown label, a label given twice, or an empty choice.
    pub fn select_labels(&mut self, labels: &[String]) -> Result<()> {
        if labels.is_empty() {
            return Err(Error::option("labels", "choose at least one label to train on"));
        }
        let mut columns = Vec::with_capacity(labels.len());
        for (k, name) in labels.iter().enumerate() {
            let column = self.labels.iter().position(|l| l == name).ok_or_else(|| {
                Error::option(
                    "labels",
                    format!(
                        "the dataset has no label '{name}'; its labels are {}",
                        self.labels.join(", ")
                    ),
                )
            })?;
            if labels[..k].contains(name) {
                return Err(Error::option("labels", format!("'{name}' is chosen twice")));
            }
            columns.push(column);
        }
        if columns.iter().copied().eq(0..self.labels.len()) {
            return Ok(());
        }
        let targets = (0..self.len())
            .flat_map(|i| {
                let row = self.target(i);
                columns.iter().map(move |&c| row[c])
            })
            .collect();
        self.targets = targets;
        self.labels = labels.to_vec();
        Ok(())
    }
}

/// 64-bit FNV-1a: tells identical buffers apart from different ones (duplicate detection).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Sets of indices sharing a key, each in index order, sets ordered by their first index.
fn equal_sets(keys: impl IntoIterator<Item = (u64, usize)>) -> Vec<Vec<usize>> {
    let mut keys: Vec<(u64, usize)> = keys.into_iter().collect();
    keys.sort_unstable();
    let mut sets: Vec<Vec<usize>> = keys
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| run.iter().map(|&(_, i)| i).collect())
        .collect();
    sets.sort_unstable_by_key(|set| set[0]);
    sets
}

/// Merges sets of indices that share an index (union–find), each in index order.
pub(crate) fn merge_sets(n: usize, sets: impl IntoIterator<Item = Vec<usize>>) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut touched = Vec::new();
    for set in sets {
        for pair in set.windows(2) {
            let (a, b) = (root(&mut parent, pair[0]), root(&mut parent, pair[1]));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        touched.extend(set);
    }
    let keys = touched.into_iter().map(|i| (root(&mut parent, i) as u64, i));
    let mut sets = equal_sets(keys);
    for set in &mut sets {
        set.dedup();
    }
    sets.retain(|s| s.len() > 1);
    sets
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

        let checksums: Vec<(u64, usize)> = entries
            .iter()
            .enumerate()
            .filter_map(|(row, path)| {
                let (crc, size) = archive.checksum(path)?;
                Some(((u64::from(crc) << 32) ^ size, row))
            })
            .collect();
        let byte_duplicates = equal_sets(checksums);
        if !byte_duplicates.is_empty() {
            let copies: usize = byte_duplicates.iter().map(|s| s.len() - 1).sum();
            let example = &byte_duplicates[0];
            warnings.push(format!(
                "{copies} image(s) are byte-for-byte copies of others (e.g. {} and {}); each set is kept on one side of the split",
                entries[example[0]], entries[example[1]]
            ));
        }
        let zip = archive.identity();
        let archive = Some(archive);
        Ok(Self {
            archive,
            zip,
            index,
            entries,
            headers,
            warnings,
            byte_duplicates,
            limits: limits.clone(),
        })
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
        let mut summary = DatasetSummary::new(&self.index, &self.headers, &self.warnings);
        summary.duplicates = self
            .byte_duplicates
            .iter()
            .map(|set| set.iter().map(|&i| self.entries[i].clone()).collect())
            .collect();
        // A batch's activations should leave a browser tab room for everything else: halve
        // the recommended batch while they alone would take half of what a tab can hold.
        let recommended = &mut summary.recommended;
        while recommended.batch_size > 8 {
            let options = crate::TrainingOptions {
                depth: recommended.depth,
                image_size: recommended.image_size,
                batch_size: recommended.batch_size,
                ..Default::default()
            };
            match self.memory_plan(&options) {
                Ok(plan) if plan.network_bytes > crate::memory::TAB_COMFORT_BYTES / 2 => {
                    recommended.batch_size /= 2;
                }
                _ => break,
            }
        }
        summary
    }

    /// Zip entry path of each image, in index order.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Each image's true labels (0/1, `len × labels`), in index order.
    pub fn targets(&self) -> &[u8] {
        self.index.targets()
    }

    /// Decodes image `index` alone at `side × side` with `channels` channels, brought to the
    /// square by `resize`: a gallery's thumbnail, or one image to explain.
    ///
    /// # Errors
    /// The zip was released ([`DatasetSource::attach_zip`] first), or the image cannot be
    /// decoded, by name.
    pub fn decode_one(
        &mut self,
        index: usize,
        side: u32,
        channels: usize,
        resize: ResizePolicy,
    ) -> Result<Vec<u8>> {
        let path = self.entries.get(index).ok_or_else(|| {
            Error::misuse(format!(
                "image {index} is past the dataset's {} images",
                self.entries.len()
            ))
        })?;
        let archive = self.archive.as_mut().ok_or_else(|| {
            Error::misuse("the dataset's zip was released after decoding; attach it again first")
        })?;
        let bytes = archive.read(path, u64::MAX)?;
        decode_image(path, &bytes, side, channels, resize, &self.limits)
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
                groups: self.index.groups().map(<[u32]>::to_vec),
                duplicates: self.byte_duplicates.clone(),
            },
            pixel_hashes: Vec::with_capacity(total),
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
            decoder.pixel_hashes.push(fnv1a(&px));
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
    /// A hash of each decoded image's pixels, to find duplicates.
    pixel_hashes: Vec<u64>,
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

    /// The decoded dataset (complete once `decode_next` returned true), with its duplicate
    /// sets: the same file bytes, or the same pixels at the training size.
    pub fn finish(self) -> Dataset {
        let mut dataset = self.dataset;
        let same_pixels = equal_sets(self.pixel_hashes.into_iter().zip(0..));
        let bytes = std::mem::take(&mut dataset.duplicates);
        dataset.duplicates = merge_sets(dataset.len(), bytes.into_iter().chain(same_pixels));
        dataset
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
