//! Parsing `index.csv`: the image column, the label columns and one row per image.
//!
//! Lines are numbered as a text editor shows them: the header is line 1. Label cells accept
//! `0`/`1` (also `0.0`/`1.0`, with surrounding spaces); a column that holds no 0/1 value at all
//! is taken for a note or id column and left out of the targets, with a warning. An optional
//! `split` column (`train`, `valid` or `test`) fixes which side of the split each image is on.
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

use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::error::{Error, ErrorKind, ProblemList, Result};
use crate::limits::Limits;

use super::archive::normalised_components;

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
}

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
        let image_col = header.iter().position(|h| h.eq_ignore_ascii_case("image")).unwrap_or(0);
        if !header[image_col].eq_ignore_ascii_case("image") {
            warnings.push(format!(
                "no column is named 'image'; image paths are read from the first column '{}'",
                header[image_col]
            ));
        }
        let split_col =
            header.iter().position(|h| h.eq_ignore_ascii_case("split")).filter(|&c| c != image_col);

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
            if c == image_col || Some(c) == split_col {
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
            images,
            image_ends,
            lines,
            targets: Vec::new(),
            splits: Vec::new(),
        };
        let firsts = index.first_listings();

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
                index.targets.extend_from_slice(&labels);
                index.move_row(row, start, kept);
                kept += 1;
            }
            start = end;
            row += 1;
        }
        index.truncate(kept);
        if index.has_split {
            index.warnings.push("the 'split' column decides which images train (train) and which validate (valid, test)".into());
        }
        index.problems = problems.into_vec();
        Ok(index)
    }

    /// Number of usable rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no row is usable.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Usable row `i`.
    ///
    /// # Panics
    /// When `i` is not below [`IndexCsv::len`].
    pub fn row(&self, i: usize) -> IndexRow<'_> {
        let start = if i == 0 { 0 } else { self.image_ends[i - 1] as usize };
        let l = self.labels.len();
        IndexRow {
            line: self.lines[i].into(),
            image: text(&self.images[start..self.image_ends[i] as usize]),
            labels: &self.targets[i * l..(i + 1) * l],
            split: self.splits.get(i).copied(),
        }
    }

    /// The usable rows, in file order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = IndexRow<'_>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// The multi-hot targets of every usable row, row-major (`len × labels.len()`).
    pub fn targets(&self) -> &[u8] {
        &self.targets
    }

    /// Keeps the rows for which `keep(row index)` is true, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let l = self.labels.len();
        let (mut kept, mut start) = (0, 0);
        for row in 0..self.len() {
            let end = self.image_ends[row] as usize;
            if keep(row) {
                self.targets.copy_within(row * l..(row + 1) * l, kept * l);
                if let Some(&tag) = self.splits.get(row) {
                    self.splits[kept] = tag;
                }
                self.move_row(row, start, kept);
                kept += 1;
            }
            start = end;
        }
        self.truncate(kept);
    }

    /// Moves the line and image of row `row` (whose image starts at `start`) to row `to`, where
    /// `to <= row` and rows before `to` are already in place.
    fn move_row(&mut self, row: usize, start: usize, to: usize) {
        let end = self.image_ends[row] as usize;
        let to_start = if to == 0 { 0 } else { self.image_ends[to - 1] as usize };
        self.images.copy_within(start..end, to_start);
        self.image_ends[to] = offset(to_start + end - start);
        self.lines[to] = self.lines[row];
    }

    /// Keeps the first `rows` rows (targets and splits are already that long, or longer).
    fn truncate(&mut self, rows: usize) {
        let image_bytes = if rows == 0 { 0 } else { self.image_ends[rows - 1] as usize };
        self.images.truncate(image_bytes);
        self.image_ends.truncate(rows);
        self.lines.truncate(rows);
        self.targets.truncate(rows * self.labels.len());
        self.splits.truncate(rows);
        for v in [&mut self.images, &mut self.targets] {
            v.shrink_to_fit();
        }
        self.image_ends.shrink_to_fit();
        self.lines.shrink_to_fit();
        self.splits.shrink_to_fit();
    }

    /// For every row with an image path, in row order, `row << 32 | first`: `first` is the line
    /// of the earlier row listing the same image (paths compared as
    /// [`super::archive::normalise`] writes them), or 0. Costs 8 bytes per row and no
    /// allocation per row: the rows are sorted by a hash of their path, rows of equal hash
    /// compared, and the result sorted back.
    fn first_listings(&self) -> Vec<u64> {
        let state = std::collections::hash_map::RandomState::new();
        let image = |row: usize| {
            let start = if row == 0 { 0 } else { self.image_ends[row - 1] as usize };
            text(&self.images[start..self.image_ends[row] as usize])
        };
        let hash = |path: &str| {
            let mut hasher = state.build_hasher();
            normalised_components(path).for_each(|c| c.hash(&mut hasher));
            hasher.finish() as u32
        };
        let mut keys: Vec<u64> = Vec::with_capacity(self.len());
        keys.extend(
            (0..self.len())
                .filter(|&row| !image(row).is_empty())
                .map(|row| (u64::from(hash(image(row))) << 32) | row as u64),
        );
        keys.sort_unstable();
        // Rows of one hash, in row order: the first row of each distinct path among them.
        let mut firsts: Vec<usize> = Vec::new();
        let mut previous_hash = None;
        for key in keys.iter_mut() {
            let (hash, row) = (*key >> 32, (*key & u64::from(u32::MAX)) as usize);
            if previous_hash != Some(hash) {
                firsts.clear();
                previous_hash = Some(hash);
            }
            let same = |&&first: &&usize| {
                normalised_components(image(first)).eq(normalised_components(image(row)))
            };
            let first_line = match firsts.iter().find(same) {
                Some(&first) => self.lines[first],
                None => {
                    firsts.push(row);
                    0
                }
            };
            *key = ((row as u64) << 32) | u64::from(first_line);
        }
        keys.sort_unstable();
        keys
    }
}

/// An offset or line number in a file of at most [`Limits::max_csv_bytes`], as `u32`.
fn offset(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Fails on the first record with more fields than [`Limits::max_columns`], before the CSV
/// reader buffers it; a quote toggles quoting, as in the CSV format.
fn check_columns(bytes: &[u8], delimiter: u8, limits: &Limits) -> Result<()> {
    let (mut line, mut start, mut fields, mut quoted) = (1, 1, 1, false);
    for &b in bytes {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            fields += 1;
        } else if b == b'\n' {
            line += 1;
            if !quoted {
                limits.check_columns(start, fields)?;
                (start, fields) = (line, 1);
            }
        }
    }
    limits.check_columns(start, fields)
}

/// The text of `index.csv` as UTF-8. A UTF-8 BOM is dropped; Excel's "Unicode Text" (UTF-16
/// with a BOM) and files in Windows-1252 (Excel's "CSV" on Windows) are converted, with a
/// warning naming what was done.
fn decode_text<'a>(bytes: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf16 = match bytes {
        [0xFF, 0xFE, rest @ ..] => Some((rest, u16::from_le_bytes as fn([u8; 2]) -> u16, "LE")),
        [0xFE, 0xFF, rest @ ..] => Some((rest, u16::from_be_bytes as fn([u8; 2]) -> u16, "BE")),
        _ => None,
    };
    if let Some((rest, unit, order)) = utf16 {
        warnings.push(format!(
            "index.csv is UTF-16 {order} text (Excel's \"Unicode Text\"); it was converted to UTF-8. Save it as \"CSV UTF-8\" to avoid this"
        ));
        let units = rest.chunks_exact(2).map(|p| unit([p[0], p[1]]));
        return Cow::Owned(
            char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect(),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count();
            warnings.push(format!(
                "index.csv is not UTF-8 text (line {line} is the first with other bytes); it was read as Windows-1252, as Excel saves \"CSV\" on Windows. Check the names on that line, or save the file as \"CSV UTF-8\""
            ));
            Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect())
        }
    }
}

/// The character a Windows-1252 byte stands for (the five unassigned bytes map to the C1
/// controls of the same value, as browsers do).
fn windows_1252(byte: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    match byte {
        0x80..=0x9F => char::from_u32(HIGH[usize::from(byte - 0x80)].into()).unwrap_or('\u{FFFD}'),
        _ => char::from(byte),
    }
}

fn detect_delimiter(header: &[u8]) -> u8 {
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    let (commas, semis, tabs) = (count(b','), count(b';'), count(b'\t'));
    if commas == 0 && semis > 0 {
        b';'
    } else if commas == 0 && tabs > 0 {
        b'\t'
    } else {
        b','
    }
}

fn csv_error(e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    Error::csv(line, None, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_plain_index() {
        let csv = IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,0,1\n").unwrap();
        assert_eq!(csv.image_column, "image");
        assert_eq!(csv.labels, vec!["a", "b"]);
        assert_eq!(csv.row(1).line, 3);
        assert_eq!(csv.row(1).labels, [0, 1]);
    }

    #[test]
    fn bom_crlf_and_float_values_are_accepted() {
        let csv = IndexCsv::parse(b"\xEF\xBB\xBFimage,a\r\nx.png, 1.0 \r\n").unwrap();
        assert_eq!(csv.row(0).labels, [1]);
    }

    #[test]
    fn a_two_is_an_error_with_line_and_column() {
        let csv = IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,0,2\n").unwrap();
        let err = &csv.problems[0];
        assert_eq!(csv.len(), 1, "the bad row is left out");
        assert_eq!(
            err.kind(),
            &ErrorKind::BadLabelValue { line: 3, column: "b".into(), value: "2".into() }
        );
        assert!(err.to_string().contains("line 3"));
    }

    #[test]
    fn duplicates_name_both_lines() {
        let csv = IndexCsv::parse(b"image,a\nx.png,1\n./x.png,0\n").unwrap();
        assert!(matches!(
            csv.problems[0].kind(),
            ErrorKind::DuplicateRow { line: 3, first_line: 2, .. }
        ));
    }

    #[test]
    fn note_columns_are_left_out_with_a_warning() {
        let csv = IndexCsv::parse(b"image,note,a\nx.png,hello,1\ny.png,bye,0\n").unwrap();
        assert_eq!(csv.labels, vec!["a"]);
        assert!(csv.warnings.iter().any(|w| w.contains("note")));
    }

    #[test]
    fn semicolons_are_detected() {
        let csv = IndexCsv::parse(b"image;a\nx.png;1\n").unwrap();
        assert_eq!(csv.labels, vec!["a"]);
    }

    #[test]
    fn empty_and_header_only_files_are_errors() {
        assert!(matches!(IndexCsv::parse(b"").unwrap_err().kind(), ErrorKind::Csv { line: 1, .. }));
        assert!(matches!(
            IndexCsv::parse(b"image,a\n").unwrap_err().kind(),
            ErrorKind::EmptyDataset { .. }
        ));
    }

    #[test]
    fn short_rows_name_their_line() {
        let csv = IndexCsv::parse(b"image,a,b\nx.png,1\ny.png,1,0\n").unwrap();
        assert!(matches!(csv.problems[0].kind(), ErrorKind::Csv { line: 2, .. }));
    }

    #[test]
    fn every_row_problem_is_collected() {
        let csv =
            IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,2,0\nx.png,0,1\nz.png,0,yes\n").unwrap();
        let lines: Vec<u64> =
            csv.problems
                .iter()
                .map(|p| match p.kind() {
                    ErrorKind::BadLabelValue { line, .. }
                    | ErrorKind::DuplicateRow { line, .. } => *line,
                    other => panic!("{other:?}"),
                })
                .collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert_eq!(csv.len(), 1);
    }

    #[test]
    fn the_split_column_is_read_and_checked() {
        let csv = IndexCsv::parse(
            b"image,a,split\nx.png,1,train\ny.png,0,Valid\nz.png,1, test \nw.png,0,later\n",
        )
        .unwrap();
        assert!(csv.has_split);
        assert_eq!(csv.labels, vec!["a"]);
        let tags: Vec<_> = csv.rows().map(|r| r.split).collect();
        assert_eq!(tags, vec![Some(SplitTag::Train), Some(SplitTag::Valid), Some(SplitTag::Test)]);
        assert!(
            matches!(csv.problems[0].kind(), ErrorKind::Csv { line: 5, column: Some(c), .. } if c == "split")
        );
    }

    #[test]
    fn columns_over_the_limit_name_their_line_and_quoted_delimiters_do_not_count() {
        let limits = Limits { max_columns: 3, ..Limits::default() };
        let csv = IndexCsv::parse_with(b"image,a,b\n\"x,y.png\",1,0\n", &limits).unwrap();
        assert_eq!(csv.row(0).image, "x,y.png");
        let err =
            IndexCsv::parse_with(b"image,a,b\nx.png,1,0\n\ny.png,1,0,1\n", &limits).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Limit { what: "column count", place, actual: 4, .. }
                if place == "index.csv line 4"),
            "{err}"
        );
    }

    #[test]
    fn repeated_problems_are_counted_beyond_those_kept() {
        let mut text = b"image,a\n".to_vec();
        for _ in 0..crate::PROBLEMS_KEPT + 10 {
            text.extend(b"x.png,1\n");
        }
        let csv = IndexCsv::parse(&text).unwrap();
        assert_eq!(csv.len(), 1);
        assert_eq!(csv.problems.len(), crate::PROBLEMS_KEPT + 1);
        let last = csv.problems[crate::PROBLEMS_KEPT].to_string();
        assert!(last.starts_with("9 more problems are not listed"), "{last}");
        let all = Error::from_problems(csv.problems).unwrap();
        assert_eq!(all.problem_count(), crate::PROBLEMS_KEPT + 9);
        let text = all.to_string();
        assert!(
            text.starts_with(&format!("the dataset has {} problems", crate::PROBLEMS_KEPT + 9))
        );
        assert!(
            text.ends_with(&format!("… and {} more", crate::PROBLEMS_KEPT + 9 - 50)),
            "{text:.200}"
        );
    }

    #[test]
    fn retain_keeps_rows_labels_and_splits_aligned() {
        let mut csv = IndexCsv::parse(
            b"image,a,b,split\nw.png,1,0,train\nlonger/x.png,0,1,valid\ny.png,1,1,test\nz.png,0,0,train\n",
        )
        .unwrap();
        csv.retain(|i| i % 2 == 1);
        let rows: Vec<_> =
            csv.rows().map(|r| (r.line, r.image, r.labels.to_vec(), r.split)).collect();
        assert_eq!(
            rows,
            vec![
                (3, "longer/x.png", vec![0, 1], Some(SplitTag::Valid)),
                (5, "z.png", vec![0, 0], Some(SplitTag::Train)),
            ]
        );
        assert_eq!(csv.targets(), [0, 1, 0, 0]);
    }

    #[test]
    fn windows_1252_and_utf16_are_converted() {
        let csv = IndexCsv::parse(b"image,a\n\x93x\x94.png,1\n").unwrap();
        assert_eq!(csv.row(0).image, "\u{201C}x\u{201D}.png");
        assert!(csv.warnings[0].contains("line 2"), "{:?}", csv.warnings);
        let mut utf16 = vec![0xFF, 0xFE];
        "image,a\nx.png,1\n".encode_utf16().for_each(|u| utf16.extend(u.to_le_bytes()));
        assert_eq!(IndexCsv::parse(&utf16).unwrap().row(0).image, "x.png");
    }
}
