//! One error type for the whole crate.
//!
//! Every problem a user can cause names *where* it happened: the zip entry, the line and
//! column of `index.csv`, the image, the model file. The same message is printed by the CLI and
//! thrown as a `JsError` in the browser, so it is written for a person, and says what to do.

use std::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error with its kind and, where it applies, its location in the user's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong, with the place it went wrong. Grouped by cause: the user's archive, its
/// `index.csv`, its images, the dataset as a whole, a model file, the run, the machine, and
/// the caller's own mistakes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- The archive ---------------------------------------------------------------------
    /// The bytes are not a readable zip archive.
    NotAZip {
        /// What the zip reader said.
        reason: String,
    },
    /// One entry of the archive could not be read.
    ZipEntry {
        /// The entry's path in the zip.
        entry: String,
        /// Why.
        reason: String,
    },
    /// A configured limit was exceeded (zip bomb, oversized CSV, huge image, ...); see
    /// [`crate::Limits`].
    Limit {
        /// What was measured, e.g. `"side (pixels)"`.
        what: &'static str,
        /// Where, e.g. `"image 'a.png'"`.
        place: String,
        /// The cap.
        limit: u64,
        /// The value found.
        actual: u64,
    },
    /// The archive has no `index.csv`, and no folder per label to take the labels from.
    MissingIndexCsv {
        /// Usable entries in the zip.
        entries: usize,
        /// Images or sound clips in it that lie in no label folder (so have no labels).
        unlabelled: usize,
        /// The one folder that holds every such file (`pets`, for `pets/1.jpg` and
        /// `pets/2.jpg`), or empty when they lie at the top level.
        wrapper: String,
    },
    /// The archive holds another zip (and no `index.csv` beside it): the dataset is inside.
    InnerZip {
        /// The inner zip's path in the outer one.
        entry: String,
    },

    /// A label folder (the folder-per-label layout, no `index.csv`) whose name cannot be a
    /// label, or too many of them.
    LabelFolder {
        /// The folder's path in the zip, ending in `/`.
        folder: String,
        /// What is wrong and what to do.
        message: String,
    },

    // --- index.csv -----------------------------------------------------------------------
    /// `index.csv` is malformed at a line (1-based, the header is line 1) and column.
    Csv {
        /// 1-based line.
        line: u64,
        /// The column's header name (or `#n`), when one column is at fault.
        column: Option<String>,
        /// What is wrong and what to do.
        message: String,
    },
    /// A change log (`changes.csv`, the label edits made to a dataset) cannot be applied at a
    /// line (1-based, the header is line 1).
    Changes {
        /// 1-based line.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// A label cell holds something other than 0 or 1.
    BadLabelValue {
        /// 1-based line.
        line: u64,
        /// The label column.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// The same image is listed twice.
    DuplicateRow {
        /// 1-based line of the repeat.
        line: u64,
        /// 1-based line of the first listing.
        first_line: u64,
        /// The image path.
        image: String,
    },
    /// A row names an image that is not in the zip.
    MissingImage {
        /// 1-based line.
        line: u64,
        /// The path the row gives.
        image: String,
        /// An entry with the same file name elsewhere in the zip.
        suggestion: Option<String>,
    },

    // --- Images and the dataset ----------------------------------------------------------
    /// An image is in a format tagtrain does not read (GIF, WebP, BMP, TIFF, HEIC, ...).
    UnsupportedImage {
        /// The image's path in the zip (or the name the caller gave).
        image: String,
        /// The format's name, e.g. `"WebP"`.
        format: &'static str,
    },
    /// An image could not be decoded.
    ImageDecode {
        /// The image's path in the zip (or the name the caller gave).
        image: String,
        /// The decoder's reason.
        reason: String,
    },
    /// An audio clip could not be decoded, or holds nothing to hear.
    AudioDecode {
        /// The clip's path in the zip (or the name the caller gave).
        clip: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A dataset lists both images and sound clips.
    MixedMedia {
        /// One of its images.
        image: String,
        /// One of its sound clips.
        clip: String,
    },
    /// The dataset has nothing to train on.
    EmptyDataset {
        /// Why, and what to do.
        reason: String,
    },
    /// Several problems in one dataset, each located; reported together so that the user can
    /// fix them all at once.
    Problems {
        /// Every problem, in the order found (at most [`PROBLEMS_KEPT`], then one
        /// [`ErrorKind::MoreProblems`] counting the rest).
        problems: Vec<Error>,
    },
    /// Stands last in a [`ErrorKind::Problems`] list for the problems not kept, so that a
    /// hostile file with millions of bad rows costs no more memory than a few thousand.
    MoreProblems {
        /// How many problems were found but not kept.
        count: usize,
    },

    // --- Options, model files and runs ---------------------------------------------------
    /// A training or model option is out of range.
    InvalidOption {
        /// The option's JSON name (the CLI flag's in its messages).
        option: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// A model file is not one tagtrain can read.
    ModelFile {
        /// Why.
        reason: String,
    },
    /// A saved training run (autosave) cannot be resumed: not a run file, a newer format, or
    /// another dataset than the one given.
    RunState {
        /// Why, and what to do.
        reason: String,
    },
    /// The loss stopped being a finite number: the run cannot go on from these weights.
    Diverged {
        /// 1-based step whose loss was not finite.
        step: usize,
        /// The loss.
        loss: f32,
        /// The learning rate of that step.
        learning_rate: f64,
    },

    // --- The machine and the caller ------------------------------------------------------
    /// A run would need more memory than the place it runs in has (a browser tab's wasm
    /// heap); refused before anything is allocated. See [`crate::MemoryPlan`].
    WillNotFit {
        /// Bytes the run would need.
        needed: u64,
        /// Bytes available.
        available: u64,
        /// The plan in words: what takes the memory and what to change.
        advice: String,
    },
    /// A peer of a data-parallel run left it, did not answer, or runs something else
    /// ([`crate::train::peers`]).
    Peer {
        /// The peer's rank.
        rank: usize,
        /// What happened, and what to do.
        reason: String,
    },
    /// The compute backend failed (device lost, readback failed, ...).
    Backend {
        /// What the backend said.
        reason: String,
    },
    /// A file could not be read or written (CLI only).
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The API was used out of order: a step while another is running, a step after the
    /// last one. A bug in the caller, not in the user's data.
    Misuse {
        /// What was asked, and what to do instead.
        message: String,
    },
}

/// How many problems a [`ErrorKind::Problems`] message lists before "and N more".
pub const PROBLEMS_SHOWN: usize = 50;

/// How many located problems are kept in memory; further ones are only counted.
pub const PROBLEMS_KEPT: usize = 1_000;

/// Collects located problems, keeping the first [`PROBLEMS_KEPT`] and counting the rest, so
/// that the memory spent on problems is bounded whatever the input.
#[derive(Debug, Default)]
pub(crate) struct ProblemList {
    kept: Vec<Error>,
    more: usize,
}

impl ProblemList {
    /// Adds one problem (or several, when `error` is itself a list).
    pub(crate) fn push(&mut self, error: Error) {
        match error.kind {
            ErrorKind::Problems { problems } => problems.into_iter().for_each(|p| self.push(p)),
            ErrorKind::MoreProblems { count } => self.more += count,
            _ if self.kept.len() < PROBLEMS_KEPT => self.kept.push(error),
            _ => self.more += 1,
        }
    }

    /// True when no problem was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.more == 0
    }

    /// The problems as a list of errors, with a last [`ErrorKind::MoreProblems`] counting
    /// those not kept.
    pub(crate) fn into_vec(mut self) -> Vec<Error> {
        if self.more > 0 {
            self.kept.push(Error::new(ErrorKind::MoreProblems { count: self.more }));
        }
        self.kept
    }

    /// One error for every problem; see [`Error::from_problems`].
    pub(crate) fn into_error(self) -> Option<Error> {
        Error::from_problems(self.into_vec())
    }
}

impl Error {
    /// Builds an error of the given kind.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// The kind of error, with its location.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// One error for a list of problems: the problem itself when there is one, else
    /// [`ErrorKind::Problems`]. `None` for an empty list.
    pub fn from_problems(mut problems: Vec<Error>) -> Option<Self> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(Self::new(ErrorKind::Problems { problems })),
        }
    }

    /// How many problems this error stands for: those listed plus those only counted.
    pub fn problem_count(&self) -> usize {
        match &self.kind {
            ErrorKind::Problems { problems } => problems.iter().map(Error::problem_count).sum(),
            ErrorKind::MoreProblems { count } => *count,
            _ => 1,
        }
    }

    /// The located problems inside this error: the list of [`ErrorKind::Problems`], or itself.
    pub fn problems(&self) -> Vec<&Error> {
        match &self.kind {
            ErrorKind::Problems { problems } => problems.iter().collect(),
            _ => vec![self],
        }
    }

    pub(crate) fn zip_entry(entry: &str, reason: impl fmt::Display) -> Self {
        Self::new(ErrorKind::ZipEntry { entry: entry.to_string(), reason: reason.to_string() })
    }

    pub(crate) fn limit(what: &'static str, place: &str, limit: u64, actual: u64) -> Self {
        Self::new(ErrorKind::Limit { what, place: place.to_string(), limit, actual })
    }

    pub(crate) fn csv(line: u64, column: Option<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Csv { line, column, message: message.into() })
    }

    pub(crate) fn changes(line: u64, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Changes { line, message: message.into() })
    }

    pub(crate) fn unsupported_image(image: &str, format: &'static str) -> Self {
        Self::new(ErrorKind::UnsupportedImage { image: image.to_string(), format })
    }

    pub(crate) fn inner_zip(entry: &str) -> Self {
        Self::new(ErrorKind::InnerZip { entry: entry.to_string() })
    }

    pub(crate) fn missing_index_csv(entries: usize, unlabelled: usize, wrapper: &str) -> Self {
        Self::new(ErrorKind::MissingIndexCsv { entries, unlabelled, wrapper: wrapper.to_string() })
    }

    pub(crate) fn label_folder(folder: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::LabelFolder { folder: folder.to_string(), message: message.into() })
    }

    pub(crate) fn image_decode(image: &str, reason: impl fmt::Display) -> Self {
        Self::new(ErrorKind::ImageDecode { image: image.to_string(), reason: reason.to_string() })
    }

    pub(crate) fn audio_decode(clip: &str, reason: &str) -> Self {
        Self::new(ErrorKind::AudioDecode { clip: clip.to_string(), reason: reason.to_string() })
    }

    pub(crate) fn mixed_media(image: &str, clip: &str) -> Self {
        Self::new(ErrorKind::MixedMedia { image: image.to_string(), clip: clip.to_string() })
    }

    pub(crate) fn empty_dataset(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::EmptyDataset { reason: reason.into() })
    }

    pub(crate) fn misuse(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Misuse { message: message.into() })
    }

    /// A label asked for by name that `whose` (the dataset, the model) does not have: the one
    /// wording wherever a label is named, listing the labels there are.
    pub fn no_such_label(whose: &str, name: &str, labels: &[String]) -> Self {
        Self::misuse(no_such_label_text(whose, name, labels))
    }

    pub(crate) fn option(option: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidOption { option, message: message.into() })
    }

    #[cfg(feature = "train")]
    pub(crate) fn run_state(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::RunState { reason: reason.into() })
    }

    pub(crate) fn model_file(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::ModelFile { reason: reason.into() })
    }

    pub(crate) fn backend(reason: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Backend { reason: reason.to_string() })
    }
}

/// "the dataset has no label 'x'; its labels are a, b": the text of [`Error::no_such_label`],
/// for callers that report it as another kind (an option, a command-line flag).
pub fn no_such_label_text(whose: &str, name: &str, labels: &[String]) -> String {
    format!("the {whose} has no label '{name}'; its labels are {}", labels.join(", "))
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

mod display;

impl std::error::Error for Error {}
