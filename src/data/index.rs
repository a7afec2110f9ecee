//! Parsing `index.csv`: the image column, the label columns and one row per image.
//!
//! Lines are numbered as a text editor shows them: the header is line 1. Label cells accept
//! `0`/`1` (also `0.0`/`1.0`, with surrounding spaces); a column that holds no 0/1 value at all
//! is taken for a note or id column and left out of the targets, with a warning. An optional
//! `split` column (`train`, `valid` or `test`) fixes which side of the split each image is on.
//!
//! Problems in the file's structure (no header, no rows, no label column) stop parsing; problems
//! in single rows (a bad value, a duplicate, a short row) are all collected in
//! [`IndexCsv::problems`] so that the user can fix every one of them at once.

use std::collections::HashMap;

use crate::error::{Error, ErrorKind, Result};

use super::archive::normalise;

/// One data row of `index.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// Line number in the file (header = 1).
    pub line: u64,
    /// The image path as written in the CSV.
    pub image: String,
    /// One 0/1 value per label column.
    pub labels: Vec<u8>,
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
        match value.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Some(Self::Train),
            "valid" | "validation" | "val" | "dev" => Some(Self::Valid),
            "test" => Some(Self::Test),
            _ => None,
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
    /// Data rows.
    pub rows: Vec<IndexRow>,
    /// Things the user should know that do not stop training.
    pub warnings: Vec<String>,
    /// Rows that cannot be used, each a located error; those rows are left out of `rows`.
    pub problems: Vec<Error>,
    /// True when the file has a `split` column.
    pub has_split: bool,
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

impl IndexCsv {
    /// Parses the bytes of `index.csv`.
    ///
    /// # Errors
    /// [`ErrorKind::Csv`] for unreadable lines, rows with the wrong number of fields, an empty
    /// file or a header without label columns; [`ErrorKind::BadLabelValue`] for a label cell
    /// that is not 0/1; [`ErrorKind::DuplicateRow`] for an image listed twice.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let delimiter = detect_delimiter(first_line);
        let mut warnings = Vec::new();
        if delimiter != b',' {
            let name = if delimiter == b';' { "semicolons" } else { "tabs" };
            warnings.push(format!("index.csv is separated by {name}; read it that way"));
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);

        let mut records = reader.byte_records();
        let header = match records.next() {
            None => {
                return Err(Error::csv(
                    1,
                    None,
                    "the file is empty; the first line must be a header such as 'image,label_1,label_2'",
                ));
            }
            Some(r) => r.map_err(csv_error)?,
        };
        let header: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, f)| {
                std::str::from_utf8(f).map(|s| s.trim().to_string()).map_err(|_| {
                    Error::csv(
                        1,
                        Some(format!("#{}", i + 1)),
                        "the header is not UTF-8 text; save the file as UTF-8",
                    )
                })
            })
            .collect::<Result<_>>()?;
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

        // Read every row as text first: which columns are labels is decided by their values.
        let mut raw_rows: Vec<(u64, Vec<String>)> = Vec::new();
        let mut problems = Vec::new();
        for record in records {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    problems.push(csv_error(e));
                    continue;
                }
            };
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() == 1
                && record.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue; // blank line
            }
            if record.len() != header.len() {
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
            let fields: Result<Vec<String>> = record
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    std::str::from_utf8(f).map(str::to_string).map_err(|_| {
                        Error::csv(
                            line,
                            Some(header[i].clone()),
                            "the value is not UTF-8 text; save the file as UTF-8",
                        )
                    })
                })
                .collect();
            match fields {
                Ok(fields) => raw_rows.push((line, fields)),
                Err(e) => problems.push(e),
            }
        }
        if raw_rows.is_empty() && problems.is_empty() {
            return Err(Error::new(ErrorKind::EmptyDataset {
                reason: "index.csv has a header but no rows; add one row per image".into(),
            }));
        }

        // A column is a label column when it holds 0/1 values; a column with none is notes.
        let mut label_cols = Vec::new();
        let split_col =
            header.iter().position(|h| h.eq_ignore_ascii_case("split")).filter(|&c| c != image_col);
        for (c, name) in header.iter().enumerate() {
            if c == image_col || Some(c) == split_col {
                continue;
            }
            let any_binary =
                raw_rows.iter().any(|(_, f)| matches!(classify(&f[c]), Cell::Zero | Cell::One));
            if any_binary {
                label_cols.push(c);
            } else {
                warnings.push(format!(
                    "column '{name}' holds no 0/1 values; it is not used as a label"
                ));
            }
        }
        if label_cols.is_empty() && !raw_rows.is_empty() {
            return Err(Error::csv(
                1,
                None,
                "no label column holds 0/1 values; add one 0/1 column per label",
            ));
        }

        let mut rows = Vec::with_capacity(raw_rows.len());
        let mut seen: HashMap<String, u64> = HashMap::new();
        'rows: for (line, fields) in raw_rows {
            let image = fields[image_col].trim().to_string();
            if image.is_empty() {
                problems.push(Error::csv(
                    line,
                    Some(header[image_col].clone()),
                    "the image path is empty",
                ));
                continue;
            }
            if let Some(&first) = seen.get(&normalise(&image)) {
                problems.push(Error::new(ErrorKind::DuplicateRow {
                    line,
                    first_line: first,
                    image,
                }));
                continue;
            }
            seen.insert(normalise(&image), line);
            let mut labels = Vec::with_capacity(label_cols.len());
            let mut bad = false;
            for &c in &label_cols {
                match classify(&fields[c]) {
                    Cell::Zero => labels.push(0),
                    Cell::One => labels.push(1),
                    Cell::Empty | Cell::Other => {
                        problems.push(Error::new(ErrorKind::BadLabelValue {
                            line,
                            column: header[c].clone(),
                            value: fields[c].clone(),
                        }));
                        bad = true;
                    }
                }
            }
            let split = match split_col {
                None => None,
                Some(c) => match SplitTag::parse(&fields[c]) {
                    Some(tag) => Some(tag),
                    None => {
                        problems.push(Error::csv(
                            line,
                            Some(header[c].clone()),
                            format!(
                                "'{}' is not a split; use train, valid or test",
                                fields[c].trim()
                            ),
                        ));
                        continue 'rows;
                    }
                },
            };
            if !bad {
                rows.push(IndexRow { line, image, labels, split });
            }
        }
        if split_col.is_some() {
            warnings.push("the 'split' column decides which images train (train) and which validate (valid, test)".into());
        }
        Ok(Self {
            image_column: header[image_col].clone(),
            labels: label_cols.iter().map(|&c| header[c].clone()).collect(),
            rows,
            warnings,
            problems,
            has_split: split_col.is_some(),
        })
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
        assert_eq!(csv.rows[1].line, 3);
        assert_eq!(csv.rows[1].labels, vec![0, 1]);
    }

    #[test]
    fn bom_crlf_and_float_values_are_accepted() {
        let csv = IndexCsv::parse(b"\xEF\xBB\xBFimage,a\r\nx.png, 1.0 \r\n").unwrap();
        assert_eq!(csv.rows[0].labels, vec![1]);
    }

    #[test]
    fn a_two_is_an_error_with_line_and_column() {
        let csv = IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,0,2\n").unwrap();
        let err = &csv.problems[0];
        assert_eq!(csv.rows.len(), 1, "the bad row is left out");
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
        assert_eq!(csv.rows.len(), 1);
    }

    #[test]
    fn the_split_column_is_read_and_checked() {
        let csv = IndexCsv::parse(
            b"image,a,split\nx.png,1,train\ny.png,0,Valid\nz.png,1, test \nw.png,0,later\n",
        )
        .unwrap();
        assert!(csv.has_split);
        assert_eq!(csv.labels, vec!["a"]);
        let tags: Vec<_> = csv.rows.iter().map(|r| r.split).collect();
        assert_eq!(tags, vec![Some(SplitTag::Train), Some(SplitTag::Valid), Some(SplitTag::Test)]);
        assert!(
            matches!(csv.problems[0].kind(), ErrorKind::Csv { line: 5, column: Some(c), .. } if c == "split")
        );
    }
}
