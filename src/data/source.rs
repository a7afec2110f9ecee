//! The zip-backed source of a dataset: a zip checked but not yet decoded.
//!
//! Loading happens in two steps so that the user sees the data before choosing how to train:
//! [`DatasetSource::from_zip`] checks the archive, `index.csv` and every image header and gives
//! a [`DatasetProfile`], or every problem found at once; decoding (`decode.rs`) then makes a
//! [`super::Dataset`] at the chosen size. What needs the model (the recommended set-up, the
//! memory plan) is asked of the source from above: `crate::summary`, `crate::memory`.

use crate::error::{Error, ErrorKind, ProblemList, Result};
use crate::limits::Limits;

use super::archive::{Archive, ZipIdentity};
#[cfg(feature = "sound")]
use super::audio::decode_audio;
use super::audio::{AudioFormat, ClipHeader, SOUND_EXTENSIONS, SoundSettings};
use super::changes::ChangeLog;
use super::dataset::{Dataset, TimeStrips};
use super::duplicates::{byte_duplicates_warning, byte_key, equal_sets};
use super::folders::{FolderLayout, Labelling, find_labels};
use super::image::{ImageHeader, all_grayscale, header};
use super::index::{IndexCsv, SplitTag};
use super::locate::{locate_images, unlisted_images_warning};
use super::relabel;
use super::summary::{DatasetProfile, LabelSource, MediaKind, SoundProfile};

/// A dataset's rows as its zip gave them, before any edit (`edits.rs` replays on it).
pub(super) struct Opened {
    pub(super) index: IndexCsv,
    pub(super) entries: Vec<String>,
    pub(super) headers: Vec<ImageHeader>,
}

/// A dataset zip that has been checked but not yet decoded.
///
/// It holds the zip's bytes, since images are inflated only when decoded. Where memory is
/// short (a browser tab), [`DatasetSource::release_zip`] drops them once the images are
/// decoded, and [`DatasetSource::attach_zip`] takes the same zip back before the next decoding.
pub struct DatasetSource {
    /// `None` once released.
    pub(super) archive: Option<Archive>,
    zip: ZipIdentity,
    /// The labels of every file: `index.csv`, or the one made from the folders.
    pub(super) index: IndexCsv,
    /// Where `index.csv` is in the zip (normalised); `None` when the labels come from folders.
    pub(super) index_path: Option<String>,
    labels_from: LabelSource,
    /// Zip entry path of each row's image.
    pub(super) entries: Vec<String>,
    /// Header of each row's image (none when the files are sound clips).
    pub(super) headers: Vec<ImageHeader>,
    /// Header of each row's sound clip, with its length (none when the files are images).
    pub(super) clips: Vec<ClipHeader>,
    /// How the clips become spectrograms (set for sound clips only): chosen from the data, or
    /// by the caller ([`DatasetSource::set_sound_settings`]).
    sound: Option<SoundSettings>,
    warnings: Vec<String>,
    /// Rows whose files are the same bytes (same CRC-32 and size), each set in row order.
    byte_duplicates: Vec<Vec<usize>>,
    /// The label edits made since the zip was opened, oldest first (`edits.rs`).
    pub(super) changes: ChangeLog,
    /// The edits the zip's own `changes.csv` logs (made before it was written).
    pub(super) earlier_edits: usize,
    /// Files added since the zip was opened (captured images), by zip path: kept apart from the
    /// zip, whose bytes may be released and attached again.
    pub(super) added_files: std::collections::BTreeMap<String, Vec<u8>>,
    /// The rows and labels as the zip gave them, before any edit: what an undo replays the
    /// other edits on, and what the export compares with.
    pub(super) opened: Box<Opened>,
    pub(super) limits: Limits,
}

impl DatasetSource {
    /// Opens a dataset zip: checks the archive, parses `index.csv` (or, when the zip has
    /// none, takes the labels from the folders: `folders.rs`), checks that every listed image
    /// is present and reads every image header.
    ///
    /// # Errors
    /// A broken archive or `index.csv` structure, or a zip with neither `index.csv` nor label
    /// folders, stops at once. Problems of single rows, folders and images (a bad value, a
    /// duplicate, a folder name that cannot be a label, a missing or undecodable image, …) are
    /// collected: one is returned as itself, several as [`ErrorKind::Problems`], each located
    /// (zip entry, CSV line and column, folder, image name).
    pub fn from_zip(bytes: Vec<u8>, limits: &Limits) -> Result<Self> {
        Self::open(bytes, limits, false)
    }

    /// Opens a dataset zip as [`DatasetSource::from_zip`] does, then adds the labels `new`
    /// (logged, 0 for every image, see [`DatasetSource::add_label`]). With at least one, a zip
    /// of images in no label folder and without `index.csv` opens too, its images without
    /// labels: the page labels them.
    ///
    /// # Errors
    /// As [`DatasetSource::from_zip`]; a name that cannot be a label.
    pub fn from_zip_adding_labels(bytes: Vec<u8>, limits: &Limits, new: &[String]) -> Result<Self> {
        let mut source = Self::open(bytes, limits, !new.is_empty())?;
        for name in new {
            source.add_label(name, "label added")?;
        }
        Ok(source)
    }

    fn open(bytes: Vec<u8>, limits: &Limits, unlabelled_ok: bool) -> Result<Self> {
        Self::open_archive(Archive::from_bytes(bytes, limits)?, limits, unlabelled_ok)
    }

    /// Opens the dataset in `archive` (held in memory, or read from its file).
    pub(super) fn open_archive(
        mut archive: Archive,
        limits: &Limits,
        unlabelled_ok: bool,
    ) -> Result<Self> {
        let mut problems = ProblemList::default();
        let labelling = find_labels(&mut archive, limits, unlabelled_ok)?;
        let (index, entries, mut warnings, index_path) = match labelling {
            Labelling::IndexCsv(index_path) => {
                let mut index = read_index(&mut archive, &index_path, limits)?;
                std::mem::take(&mut index.problems).into_iter().for_each(|p| problems.push(p));
                let mut warnings = index.warnings.clone();
                let (entries, found) = locate_images(&archive, &index, &index_path, &mut problems);
                warnings.extend(unlisted_images_warning(&archive, &entries));
                // Rows whose image is missing are problems: none is left when loading goes on.
                index.retain(|row| found[row]);
                (index, entries, warnings, Some(index_path))
            }
            Labelling::Folders(folders) => {
                let FolderLayout { index, entries, warnings } = *folders;
                (index, entries, warnings, None)
            }
        };
        let labels_from = match (&index_path, index.labels.is_empty()) {
            (Some(_), _) => LabelSource::IndexCsv,
            (None, false) => LabelSource::Folders,
            (None, true) => LabelSource::Page,
        };
        let (headers, clips) = read_headers(&mut archive, &entries, limits, &mut problems);
        if let Some(error) = problems.into_error() {
            return Err(error);
        }
        if index.is_empty() {
            return Err(Error::new(ErrorKind::EmptyDataset {
                reason: "index.csv lists no usable image or sound clip; add one row per file"
                    .into(),
            }));
        }

        warnings.extend(label_balance_warnings(&index));
        let byte_duplicates = equal_sets(entries.iter().enumerate().filter_map(|(row, path)| {
            let (crc, size) = archive.checksum(path)?;
            Some((byte_key(crc, size), row))
        }));
        warnings.extend(byte_duplicates_warning(&byte_duplicates, &entries));
        let sound = (!clips.is_empty()).then(|| SoundProfile::new(&clips).settings);
        let earlier_edits = match &index_path {
            Some(path) => relabel::earlier_edits(&mut archive, path, &mut warnings),
            None => 0,
        };
        let opened = Box::new(Opened {
            index: index.clone(),
            entries: entries.clone(),
            headers: headers.clone(),
        });
        Ok(Self {
            zip: archive.identity(),
            archive: Some(archive),
            index,
            index_path,
            labels_from,
            entries,
            headers,
            clips,
            sound,
            warnings,
            byte_duplicates,
            changes: ChangeLog::default(),
            earlier_edits,
            added_files: Default::default(),
            opened,
            limits: limits.clone(),
        })
    }

    /// The dataset as a zip in the product's format, with the edits made to it
    /// ([`DatasetSource::changes`]): every file's bytes copied as they are, `index.csv` with
    /// the current labels in the cells the edits touched (its other cells, columns and rows
    /// untouched; a new `index.csv` when the labels came from folders), and `changes.csv`
    /// beside it (the zip's earlier log, then this one).
    ///
    /// # Errors
    /// The zip's bytes released ([`DatasetSource::release_zip`]); an entry that cannot be copied.
    pub fn export_zip(&mut self) -> Result<Vec<u8>> {
        let archive = self.archive.as_mut().ok_or_else(|| {
            Error::misuse("the zip's bytes were released; attach the zip again before exporting")
        })?;
        relabel::export(
            archive,
            (&self.opened.index, &self.index),
            self.index_path.as_deref(),
            &self.changes,
            &self.added_files,
        )
    }

    /// Label names, in CSV order (in name order when they come from folders).
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

    /// Size of the zip in bytes, with the files added since it was opened (held beside it,
    /// so the memory plan counts them too).
    pub fn zip_bytes(&self) -> u64 {
        self.zip.byte_len + self.added_files.values().map(|b| b.len() as u64).sum::<u64>()
    }

    /// What the data holds: label counts, image sizes, the split and group columns, warnings
    /// and byte-for-byte copies.
    pub fn profile(&self) -> DatasetProfile {
        let mut profile = DatasetProfile::new(&self.index, &self.headers, &self.warnings);
        profile.labels_from = self.labels_from;
        if self.kind() == MediaKind::Sounds {
            let mut sound = SoundProfile::new(&self.clips);
            sound.settings = self.sound.clone().unwrap_or(sound.settings);
            profile.kind = MediaKind::Sounds;
            profile.sound = Some(sound);
            profile.grayscale = true;
        }
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

    /// Image `row`'s file as `index.csv` names it (a change log's `image`).
    pub fn image_name(&self, row: usize) -> Option<&str> {
        (row < self.index.len()).then(|| self.index.row(row).image)
    }

    /// Each image's true labels (0/1, `len × labels`), in index order.
    pub fn targets(&self) -> &[u8] {
        self.index.targets()
    }

    /// True when every image is grayscale (then training uses one channel), and for sound
    /// clips (their spectrograms have one channel).
    pub fn grayscale(&self) -> bool {
        self.kind() == MediaKind::Sounds || all_grayscale(&self.headers)
    }

    /// What the files are.
    pub fn kind(&self) -> MediaKind {
        if self.clips.is_empty() { MediaKind::Images } else { MediaKind::Sounds }
    }

    /// How the clips become spectrograms; `None` for images.
    pub fn sound_settings(&self) -> Option<&SoundSettings> {
        self.sound.as_ref()
    }

    /// Sets how the clips become spectrograms (a user's choice, or a model's when evaluating).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidOption`] naming a setting out of range, or `sound` for a dataset of
    /// images.
    pub fn set_sound_settings(&mut self, settings: SoundSettings) -> Result<()> {
        if self.kind() != MediaKind::Sounds {
            return Err(Error::option(
                "sound",
                "the dataset holds images; spectrogram settings apply to sound clips",
            ));
        }
        settings.check()?;
        self.sound = Some(settings);
        Ok(())
    }

    /// Columns each side of the window that a training decoding keeps of each clip at
    /// `image_size` (see [`DatasetSource::decoder`]): half a window when some clip is longer
    /// than the window, else 0 (and for images).
    pub fn strip_reach(&self, image_size: u32) -> usize {
        let Some(window) = self.sound_settings().map(|s| f64::from(s.clip_seconds)) else {
            return 0;
        };
        let longer = self.clips.iter().any(|c| c.seconds.is_some_and(|s| s > window));
        if longer { TimeStrips::reach_for(image_size as usize) } else { 0 }
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

    /// The file bytes of row `index` (an image or a sound clip, as the zip holds it), with its
    /// entry path: what a gallery plays, or decodes.
    ///
    /// # Errors
    /// An index past the rows, a released zip, or an entry that cannot be read.
    pub fn read_file(&mut self, index: usize) -> Result<(&str, Vec<u8>)> {
        let path = self.entries.get(index).ok_or_else(|| {
            Error::misuse(format!(
                "image {index} is past the dataset's {} images",
                self.entries.len()
            ))
        })?;
        if let Some(bytes) = self.added_files.get(path) {
            return Ok((path.as_str(), bytes.clone()));
        }
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
            sound: self.sound.clone(),
            strips: None,
            label_edits: self.label_edits(),
            #[cfg(not(target_arch = "wasm32"))]
            stream: None,
        }
    }
}

/// `index.csv` at `path`, parsed; its row problems and warnings are kept in it.
fn read_index(archive: &mut Archive, path: &str, limits: &Limits) -> Result<IndexCsv> {
    let csv_bytes = archive.read(path, limits.max_csv_bytes)?;
    IndexCsv::parse_with(&csv_bytes, limits)
}

/// The header of each entry's file: images' headers, or sound clips' (a file is a clip when its
/// name or its first bytes say so). An unreadable one is a problem, and so is a dataset with
/// both kinds. Clips are decoded whole (their headers checked against the limits first, by
/// the decoder): a clip costs far less to decode than to train on (BENCHMARKS.md, "Sound").
fn read_headers(
    archive: &mut Archive,
    entries: &[String],
    limits: &Limits,
    problems: &mut ProblemList,
) -> (Vec<ImageHeader>, Vec<ClipHeader>) {
    let mut headers = Vec::with_capacity(entries.len());
    let mut clips = Vec::new();
    let (mut an_image, mut a_clip) = (None, None);
    for path in entries {
        let bytes = match archive.read(path, u64::MAX) {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if is_sound(path, &bytes) {
            a_clip.get_or_insert(path);
            // Decoded whole: a cut or damaged clip is found now, with every other problem,
            // and the summary's lengths are exact (an MP3 rarely says its length).
            #[cfg(feature = "sound")]
            let header = decode_audio(path, &bytes, limits).map(|clip| ClipHeader::from(&clip));
            #[cfg(not(feature = "sound"))]
            let header: Result<ClipHeader> = Err(super::audio::sound_unavailable(path));
            match header {
                Ok(h) => clips.push(h),
                Err(e) => problems.push(e),
            }
        } else {
            an_image.get_or_insert(path);
            match header(path, &bytes, limits) {
                Ok(h) => headers.push(h),
                Err(e) => problems.push(e),
            }
        }
    }
    if let (Some(image), Some(clip)) = (an_image, a_clip) {
        problems.push(Error::mixed_media(image, clip));
    }
    (headers, clips)
}

/// A sound clip by its name (a text file called `x.mp3` is then refused as a bad clip, not
/// as a bad image) or by its first bytes.
fn is_sound(path: &str, bytes: &[u8]) -> bool {
    let lower = path.to_ascii_lowercase();
    SOUND_EXTENSIONS.iter().any(|e| lower.ends_with(e)) || AudioFormat::sniff(bytes).is_some()
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
