//! The zip-backed source of a dataset: a zip checked but not yet decoded.
//!
//! Loading happens in two steps so that the user sees the data before choosing how to train:
//! [`DatasetSource::from_zip`] checks the archive, `index.csv` and every image header and gives
//! a [`DatasetProfile`], or every problem found at once; decoding (`decode.rs`) then makes a
//! [`super::Dataset`] at the chosen size. What needs the model (the recommended set-up, the
//! memory plan) is asked of the source from above: `crate::summary`, `crate::memory`.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, ErrorKind, ProblemList, Result};
use crate::limits::Limits;

use super::archive::{Archive, ZipIdentity, normalise};
use super::dataset::Dataset;
use super::duplicates::{byte_duplicates_warning, byte_key, equal_sets};
use super::image::{ImageHeader, all_grayscale, header};
use super::index::{IndexCsv, SplitTag};
use super::summary::DatasetProfile;

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
        let mut index = read_index(&mut archive, &index_path, limits)?;
        let mut problems = ProblemList::default();
        std::mem::take(&mut index.problems).into_iter().for_each(|p| problems.push(p));
        let mut warnings = index.warnings.clone();

        let (entries, found) = locate_images(&archive, &index, &index_path, &mut problems);
        warnings.extend(unlisted_images_warning(&archive, &entries));
        let headers = read_headers(&mut archive, &entries, limits, &mut problems);
        if let Some(error) = problems.into_error() {
            return Err(error);
        }
        index.retain(|row| found[row]);
        if index.is_empty() {
            return Err(Error::new(ErrorKind::EmptyDataset {
                reason: "index.csv lists no usable image; add one row per image".into(),
            }));
        }

        warnings.extend(label_balance_warnings(&index));
        let byte_duplicates = equal_sets(entries.iter().enumerate().filter_map(|(row, path)| {
            let (crc, size) = archive.checksum(path)?;
            Some((byte_key(crc, size), row))
        }));
        warnings.extend(byte_duplicates_warning(&byte_duplicates, &entries));
        Ok(Self {
            zip: archive.identity(),
            archive: Some(archive),
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

    /// Size of the zip in bytes.
    pub fn zip_bytes(&self) -> u64 {
        self.zip.byte_len
    }

    /// What the data holds: label counts, image sizes, the split and group columns, warnings
    /// and byte-for-byte copies.
    pub fn profile(&self) -> DatasetProfile {
        let mut profile = DatasetProfile::new(&self.index, &self.headers, &self.warnings);
        profile.duplicates = self
            .byte_duplicates
            .iter()
            .map(|set| set.iter().map(|&i| self.entries[i].clone()).collect())
            .collect();
        profile
    }

    /// Zip entry path of each image, in index order.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Each image's true labels (0/1, `len × labels`), in index order.
    pub fn targets(&self) -> &[u8] {
        self.index.targets()
    }

    /// True when every image is grayscale (then training uses one channel).
    pub fn grayscale(&self) -> bool {
        all_grayscale(&self.headers)
    }

    /// Drops the zip's bytes, keeping what the profile and a memory plan need. Decoding again
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

    /// Fails unless the zip's bytes are held.
    ///
    /// # Errors
    /// [`ErrorKind::Misuse`] once released.
    pub(super) fn require_zip(&self) -> Result<()> {
        match self.archive {
            Some(_) => Ok(()),
            None => Err(Error::misuse(
                "the dataset's zip was released after decoding; attach it again first",
            )),
        }
    }

    /// The file bytes of image `index`, with its entry path.
    ///
    /// # Errors
    /// An index past the images, a released zip, or an entry that cannot be read.
    pub(super) fn read_image(&mut self, index: usize) -> Result<(&str, Vec<u8>)> {
        let path = self.entries.get(index).ok_or_else(|| {
            Error::misuse(format!(
                "image {index} is past the dataset's {} images",
                self.entries.len()
            ))
        })?;
        self.require_zip()?;
        let archive = self.archive.as_mut().expect("checked: the zip is held");
        let bytes = archive.read(path, u64::MAX)?;
        Ok((path.as_str(), bytes))
    }

    /// The caps its images are decoded under.
    pub(super) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The dataset at `image_size` with `channels`, everything but its pixels: labels, names,
    /// the split and group columns, the byte-for-byte copies.
    pub(super) fn undecoded(&self, image_size: u32, channels: usize) -> Dataset {
        Dataset {
            image_size: image_size as usize,
            channels,
            pixels: Vec::new(),
            targets: self.index.targets().to_vec(),
            labels: self.index.labels.clone(),
            names: self.entries.clone(),
            splits: self
                .index
                .has_split
                .then(|| self.index.rows().map(|r| r.split.unwrap_or(SplitTag::Train)).collect()),
            groups: self.index.groups().map(<[u32]>::to_vec),
            duplicates: self.byte_duplicates.clone(),
        }
    }
}

/// The path of `index.csv`: the shallowest of any case.
///
/// # Errors
/// None in the zip, saying which inner zip to unzip when there is one.
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

/// `index.csv` at `path`, parsed; its row problems and warnings are kept in it.
fn read_index(archive: &mut Archive, path: &str, limits: &Limits) -> Result<IndexCsv> {
    let csv_bytes = archive.read(path, limits.max_csv_bytes)?;
    IndexCsv::parse_with(&csv_bytes, limits)
}

/// The zip entry of each row's image (rows name images relative to `index.csv`'s folder, or
/// to the zip's root), and whether each row's was found. A missing image is a problem, with
/// the entry it likely meant (another case, another folder) when there is one.
fn locate_images(
    archive: &Archive,
    index: &IndexCsv,
    index_path: &str,
    problems: &mut ProblemList,
) -> (Vec<String>, Vec<bool>) {
    let prefix = index_path.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
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
    (entries, found)
}

/// The warning for images in the zip that no row lists (they are ignored), with examples.
fn unlisted_images_warning(archive: &Archive, entries: &[String]) -> Option<String> {
    let listed: HashSet<&str> = entries.iter().map(String::as_str).collect();
    let unlisted: Vec<&str> =
        archive.paths().filter(|p| is_image_path(p) && !listed.contains(p)).collect();
    if unlisted.is_empty() {
        return None;
    }
    let examples = unlisted.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    Some(format!(
        "{} image(s) in the zip are not listed in index.csv and are ignored (e.g. {examples})",
        unlisted.len()
    ))
}

/// The header of each entry's image; an unreadable one is a problem.
fn read_headers(
    archive: &mut Archive,
    entries: &[String],
    limits: &Limits,
    problems: &mut ProblemList,
) -> Vec<ImageHeader> {
    let mut headers = Vec::with_capacity(entries.len());
    for path in entries {
        match archive.read(path, u64::MAX).and_then(|bytes| header(path, &bytes, limits)) {
            Ok(h) => headers.push(h),
            Err(e) => problems.push(e),
        }
    }
    headers
}

/// A warning for each label that cannot be learned: on no image, or on every image.
fn label_balance_warnings(index: &IndexCsv) -> Vec<String> {
    let mut warnings = Vec::new();
    for (j, name) in index.labels.iter().enumerate() {
        let positives = index.rows().filter(|r| r.labels[j] == 1).count();
        if positives == 0 {
            warnings.push(format!("label '{name}' has no positive example; it cannot be learned"));
        } else if positives == index.len() {
            warnings.push(format!(
                "label '{name}' has no negative example (it is on every image); it cannot be learned"
            ));
        }
    }
    warnings
}

/// The last component of a normalised path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_image_path(path: &str) -> bool {
    let lower = path.to_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e))
}
