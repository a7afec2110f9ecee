//! Parsing `index.csv`: the file column (`image`, `audio`, `sound`, `file` or `path`), the label
//! columns and one row per image or sound clip.
//!
//! Lines are numbered as a text editor shows them: the header is line 1. Label cells accept
//! `0`/`1` (also `0.0`/`1.0`, with surrounding spaces); a column that holds no 0/1 value at all
//! is taken for a note or id column and left out of the targets, with a warning. An optional
//! `split` column (`train`, `valid` or `test`) fixes which side of the split each image is on;
//! an optional `group` column (any text: a person, a scene, a source photo) keeps the images of
//! one group together on one side of the split, so that validation never sees a subject that
//! training saw.
//!
//! Problems in the file's structure (no header, no rows, no label column, too many columns) stop
//! parsing; problems in single rows (a bad value, a duplicate, a short row) are all collected in
//! [`IndexCsv::problems`] so that the user can fix every one of them at once.
//!
//! The file is user data of up to [`Limits::max_csv_bytes`]: it is parsed without one
//! allocation per cell or per row. The rows are kept column-wise (every image path in one
//! string, the labels as one `Vec<u8>` of 0/1), so that the parsed index costs about 10 bytes
//! per row beyond its text and the cells themselves, whatever the file holds. Text saved by Excel
//! as UTF-16 or Windows-1252 is converted to UTF-8, with a warning.

use std::hash::Hash;

use crate::error::{Error, ErrorKind, ProblemList, Result};
use crate::limits::Limits;

mod grow;
mod rewrite;
mod rows;
mod text;

pub(crate) use grow::new_label_problem;
pub(crate) use rewrite::{AddedRow, IndexEdits, with_label_values};

use text::{check_columns, decode_text, detect_delimiter};

/// One data row of `index.csv`, borrowed from the [`IndexCsv`] that holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexRow<'a> {
    /// Line number in the file (header = 1).
    pub line: u64,
    /// The image path as written in the CSV (trimmed).
    pub image: &'a str,
    /// One 0/1 value per label column.
    pub labels: &'a [u8],
    /// The row's `split` value, when the file has a `split` column.
    pub split: Option<SplitTag>,
    /// The row's group (an id per distinct `group` value), when the file has a `group` column
    /// and the cell is not empty.
    pub group: Option<u32>,
}

/// A value of the `split` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitTag {
    /// Trained on.
    Train,
    /// Used for validation (metrics, early stopping, thresholds).
    Valid,
    /// Held out; tagtrain validates on it like `valid` (it never trains on it).
    Test,
}

impl SplitTag {
    fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let is = |names: &[&str]| names.iter().any(|n| value.eq_ignore_ascii_case(n));
        if is(&["train", "training"]) {
            Some(Self::Train)
        } else if is(&["valid", "validation", "val", "dev"]) {
            Some(Self::Valid)
        } else if is(&["test"]) {
            Some(Self::Test)
        } else {
            None
        }
    }
}

/// A parsed `index.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexCsv {
    /// Header name of the column that holds image paths.
    pub image_column: String,
    /// Names of the label columns, in file order.
    pub labels: Vec<String>,
    /// Things the user should know that do not stop training.
    pub warnings: Vec<String>,
    /// Rows that cannot be used, each a located error; those rows are left out of the rows.
    /// At most [`crate::PROBLEMS_KEPT`] are kept, then one [`ErrorKind::MoreProblems`].
    pub problems: Vec<Error>,
    /// True when the file has a `split` column.
    pub has_split: bool,
    /// The `group` column's header, when the file has one.
    pub group_column: Option<String>,
    /// Distinct non-empty values of the `group` column.
    pub group_count: usize,
    /// Every row's image path (UTF-8), one after the other.
    images: Vec<u8>,
    /// End of each row's image path in `images`.
    image_ends: Vec<u32>,
    /// Each row's line.
    lines: Vec<u32>,
    /// `rows × labels` 0/1 values, row-major.
    targets: Vec<u8>,
    /// Each row's split, when the file has a `split` column (else empty).
    splits: Vec<SplitTag>,
    /// Each row's group id ([`NO_GROUP`] for an empty cell), when the file has a `group`
    /// column (else empty).
    groups: Vec<u32>,
}

/// Headers of the column that names each row's file (images or sound clips), any case; the
/// first column with one of them is it.
pub const FILE_COLUMNS: [&str; 5] = ["image", "audio", "sound", "file", "path"];

/// The group id of a row whose `group` cell is empty: it is a group of its own.
pub const NO_GROUP: u32 = u32::MAX;

enum Cell {
    Zero,
    One,
    Empty,
    Other,
}

fn classify(value: &str) -> Cell {
    match value.trim() {
        "" => Cell::Empty,
        "0" | "0.0" => Cell::Zero,
        "1" | "1.0" => Cell::One,
        _ => Cell::Other,
    }
}

/// A field as text. The whole file is valid UTF-8 by then (see [`decode_text`]) and the CSV
/// reader splits and unquotes only at ASCII bytes, so every field is valid UTF-8 too.
fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or_default()
}

/// What a record of the file is.
enum Record {
    /// An empty line, skipped.
    Blank,
    /// A row with another number of fields than the header.
    WrongLength,
    /// A data row.
    Row,
}

fn record_kind(record: &csv::ByteRecord, columns: usize) -> Record {
    if record.len() == 1 && record.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace)) {
        Record::Blank
    } else if record.len() != columns {
        Record::WrongLength
    } else {
        Record::Row
    }
}

fn record_line(record: &csv::ByteRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

impl IndexCsv {
    /// Parses the bytes of `index.csv` with the default [`Limits`].
    ///
    /// # Errors
    /// See [`IndexCsv::parse_with`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::parse_with(bytes, &Limits::default())
    }

    /// Parses the bytes of `index.csv`, with at most `limits.max_columns` columns.
    ///
    /// # Errors
    /// [`ErrorKind::Csv`] for unreadable lines, rows with the wrong number of fields, an empty
    /// file or a header without label columns; [`ErrorKind::Limit`] for a line with too many
    /// columns; [`ErrorKind::BadLabelValue`] for a label cell that is not 0/1;
    /// [`ErrorKind::DuplicateRow`] for an image listed twice.
    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Self> {
        let mut warnings = Vec::new();
        let decoded = decode_text(bytes, &mut warnings);
        let bytes = decoded.as_bytes();
        let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = detect_delimiter(first_line);
        if delimiter != b',' {
            let name = if delimiter == b';' { "semicolons" } else { "tabs" };
            warnings.push(format!("index.csv is separated by {name}; read it that way"));
        }
        check_columns(bytes, delimiter, limits)?;
        let reader = || {
            csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes)
        };

        // First pass: the header, every row's image path and line, which columns hold 0/1.
        let mut csv = reader();
        let mut record = csv::ByteRecord::new();
        if !csv.read_byte_record(&mut record).map_err(csv_error)? {
            return Err(Error::csv(
                1,
                None,
                "the file is empty; the first line must be a header such as 'image,label_1,label_2'",
            ));
        }
        let header: Vec<String> = record.iter().map(|f| text(f).trim().to_string()).collect();
        if header.len() < 2 {
            return Err(Error::csv(
                1,
                None,
                "the header needs an image column and at least one label column, separated by commas",
            ));
        }
        let is_file_column =
            |h: &String| FILE_COLUMNS.iter().any(|name| h.eq_ignore_ascii_case(name));
        let image_col = header.iter().position(is_file_column).unwrap_or(0);
        if !is_file_column(&header[image_col]) {
            warnings.push(format!(
                "no column is named 'image', 'audio', 'sound', 'file' or 'path'; file paths are read from the first column '{}'",
                header[image_col]
            ));
        }
        let split_col =
            header.iter().position(|h| h.eq_ignore_ascii_case("split")).filter(|&c| c != image_col);
        let group_col = header
            .iter()
            .position(|h| h.eq_ignore_ascii_case("group"))
            .filter(|&c| c != image_col && Some(c) != split_col);

        let mut problems = ProblemList::default();
        // At most one row per line: reserved once, so that no vector doubles past its need.
        let most_rows = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        let mut images = Vec::new();
        let mut image_ends = Vec::with_capacity(most_rows);
        let mut lines = Vec::with_capacity(most_rows);
        let mut binary = vec![false; header.len()];
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    problems.push(csv_error(e));
                    continue;
                }
            }
            let line = record_line(&record);
            match record_kind(&record, header.len()) {
                Record::Blank => continue,
                Record::WrongLength => {
                    problems.push(Error::csv(
                        line,
                        None,
                        format!(
                            "{} fields, but the header has {}; every row needs one value per column",
                            record.len(),
                            header.len()
                        ),
                    ));
                    continue;
                }
                Record::Row => {}
            }
            for (seen, field) in binary.iter_mut().zip(record.iter()) {
                *seen = *seen || matches!(classify(text(field)), Cell::Zero | Cell::One);
            }
            let image = text(&record[image_col]).trim().as_bytes();
            if images.capacity() - images.len() < image.len() {
                // Grow by a quarter, not double: the arena's slack stays under 25 %.
                images.reserve_exact(image.len().max(images.len() / 4).max(4096));
            }
            images.extend_from_slice(image);
            image_ends.push(offset(images.len()));
            lines.push(offset(line as usize));
        }
        if lines.is_empty() && problems.is_empty() {
            return Err(Error::empty_dataset(
                "index.csv has a header but no rows; add one row per image",
            ));
        }

        // A column is a label column when it holds 0/1 values; a column with none is notes.
        let mut label_cols = Vec::new();
        for (c, name) in header.iter().enumerate() {
            if c == image_col || Some(c) == split_col || Some(c) == group_col {
                continue;
            }
            if binary[c] {
                label_cols.push(c);
            } else {
                warnings.push(format!(
                    "column '{name}' holds no 0/1 values; it is not used as a label"
                ));
            }
        }
        if label_cols.is_empty() && !lines.is_empty() {
            return Err(Error::csv(
                1,
                None,
                "no label column holds 0/1 values; add one 0/1 column per label",
            ));
        }

        let mut index = Self {
            image_column: header[image_col].clone(),
            labels: label_cols.iter().map(|&c| header[c].clone()).collect(),
            warnings,
            problems: Vec::new(),
            has_split: split_col.is_some(),
            group_column: group_col.map(|c| header[c].clone()),
            group_count: 0,
            images,
            image_ends,
            lines,
            targets: Vec::new(),
            splits: Vec::new(),
            groups: Vec::new(),
        };
        let firsts = index.first_listings();
        // One id per distinct group value; the map holds each value once, bounded by the rows.
        let mut group_ids: std::collections::HashMap<String, u32> = Default::default();

        // Second pass: the labels and split of every row that is not a repeat, kept in place.
        let mut csv = reader();
        csv.read_byte_record(&mut record).map_err(csv_error)?;
        let (mut row, mut kept, mut start) = (0, 0, 0);
        let mut firsts = firsts.iter().peekable();
        let mut labels = Vec::with_capacity(label_cols.len());
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(_) => continue, // reported by the first pass
            }
            if !matches!(record_kind(&record, header.len()), Record::Row) || row >= index.len() {
                continue;
            }
            let (line, end) = (u64::from(index.lines[row]), index.image_ends[row] as usize);
            let image = text(&index.images[start..end]);
            let first_line = match firsts.peek() {
                Some(&&key) if (key >> 32) as usize == row => {
                    firsts.next();
                    key as u32
                }
                _ => 0,
            };
            let usable = if image.is_empty() {
                problems.push(Error::csv(
                    line,
                    Some(header[image_col].clone()),
                    "the image path is empty",
                ));
                false
            } else if first_line != 0 {
                problems.push(Error::new(ErrorKind::DuplicateRow {
                    line,
                    first_line: first_line.into(),
                    image: image.to_string(),
                }));
                false
            } else {
                labels.clear();
                for &c in &label_cols {
                    match classify(text(&record[c])) {
                        Cell::Zero => labels.push(0),
                        Cell::One => labels.push(1),
                        Cell::Empty | Cell::Other => {
                            problems.push(Error::new(ErrorKind::BadLabelValue {
                                line,
                                column: header[c].clone(),
                                value: text(&record[c]).to_string(),
                            }));
                        }
                    }
                }
                let split = split_col.map(|c| (c, SplitTag::parse(text(&record[c]))));
                if let Some((c, None)) = split {
                    problems.push(Error::csv(
                        line,
                        Some(header[c].clone()),
                        format!(
                            "'{}' is not a split; use train, valid or test",
                            text(&record[c]).trim()
                        ),
                    ));
                }
                match split {
                    _ if labels.len() != label_cols.len() => false,
                    Some((_, None)) => false,
                    Some((_, Some(tag))) => {
                        index.splits.push(tag);
                        true
                    }
                    None => true,
                }
            };
            if usable {
                if let Some(c) = group_col {
                    let value = text(&record[c]).trim();
                    let id = if value.is_empty() {
                        NO_GROUP
                    } else if let Some(&id) = group_ids.get(value) {
                        id
                    } else {
                        let id = offset(group_ids.len());
                        group_ids.insert(value.to_string(), id);
                        id
                    };
                    index.groups.push(id);
                }
                index.targets.extend_from_slice(&labels);
                index.move_row(row, start, kept);
                kept += 1;
            }
            start = end;
            row += 1;
        }
        index.truncate(kept);
        index.group_count = group_ids.len();
        if let (Some(column), true) = (&index.group_column, index.has_split) {
            index.warnings.push(format!(
                "the 'split' column decides the split; the '{column}' column is not used for it"
            ));
        }
        if index.has_split {
            index.warnings.push("the 'split' column decides which images train (train) and which validate (valid, test)".into());
        }
        index.problems = problems.into_vec();
        Ok(index)
    }
}

/// An offset or line number in a file of at most [`Limits::max_csv_bytes`], as `u32`.
fn offset(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn csv_error(e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    Error::csv(line, None, e.to_string())
}

#[cfg(test)]
mod tests;
