//! `index.csv` with some label cells set, everything else as the file had it: the other
//! columns (`split`, `group`, notes of the user's own), the rows' order, the delimiter and the line
//! ends. Blank lines are dropped and the text becomes UTF-8; quoting may differ where a field
//! needed none.

use crate::error::{Error, Result};

use super::text::{decode_text, detect_delimiter};

/// A row `index.csv` gains: its image as the file column names it, and its value of each label.
pub(crate) struct AddedRow<'a> {
    /// The image, relative to `index.csv`'s folder.
    pub(crate) image: &'a str,
    /// `(label, 0/1)` for every label, added ones included.
    pub(crate) values: Vec<(&'a str, u8)>,
}

/// What an export changes in `index.csv` (see [`with_label_values`]).
#[derive(Default)]
pub(crate) struct IndexEdits<'a> {
    /// `(line, label, value)`: the cell of the label's column on that line (1-based, the
    /// header is line 1) becomes `0` or `1`.
    pub(crate) cells: Vec<(u64, &'a str, u8)>,
    /// New label columns, at the end, `0` on every line unless `cells` sets them.
    pub(crate) added_labels: Vec<&'a str>,
    /// Label columns left out.
    pub(crate) removed_labels: Vec<&'a str>,
    /// `(name in the file, new name)`: label columns renamed in place, their values kept.
    pub(crate) renamed_labels: Vec<(&'a str, &'a str)>,
    /// Lines left out (excluded images).
    pub(crate) removed_lines: Vec<u64>,
    /// New rows, at the end.
    pub(crate) added_rows: Vec<AddedRow<'a>>,
}

/// `bytes` (an `index.csv`) with `edits`: label columns left out, renamed and added (at the end), lines
/// left out, cells set, and rows added at the end with the file column and every label filled,
/// `split` (when there is one) `train`, and other columns (notes, `group`: a group of its own)
/// empty. Everything else is as the file had it.
///
/// # Errors
/// [`crate::ErrorKind::Csv`] when a line or label column named by `edits` is not in the file.
pub(crate) fn with_label_values(bytes: &[u8], edits: &IndexEdits<'_>) -> Result<Vec<u8>> {
    let decoded = decode_text(bytes, &mut Vec::new());
    let text = decoded.as_bytes();
    let delimiter = detect_delimiter(text.split(|b| *b == b'\n').next().unwrap_or_default());
    let terminator = if text.windows(2).any(|w| w == b"\r\n") {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(terminator)
        .flexible(true)
        .from_writer(Vec::new());
    let mut header: Vec<String> = Vec::new();
    // Which of the file's columns are kept.
    let mut kept: Vec<bool> = Vec::new();
    let cells = &edits.cells;
    let mut applied = vec![false; cells.len()];
    // Read as `IndexCsv::parse` reads (the iterator numbers lines differently).
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| Error::csv(0, None, e.to_string()))? {
        let line = record.position().map_or(0, |p| p.line());
        let mut fields: Vec<Vec<u8>> = record.iter().map(<[u8]>::to_vec).collect();
        if header.is_empty() {
            let names: Vec<String> =
                fields.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
            kept = names.iter().map(|n| !edits.removed_labels.contains(&n.as_str())).collect();
            fields = fields.into_iter().zip(&kept).filter(|(_, k)| **k).map(|(f, _)| f).collect();
            header = names.into_iter().zip(&kept).filter(|(_, k)| **k).map(|(n, _)| n).collect();
            for (from, to) in &edits.renamed_labels {
                let column = header.iter().position(|h| h == from).ok_or_else(|| {
                    Error::csv(1, None, format!("there is no label column '{from}' to rename"))
                })?;
                header[column] = to.to_string();
                fields[column] = to.as_bytes().to_vec();
            }
            // The new columns go after every column of the header.
            fields.extend(edits.added_labels.iter().map(|l| l.as_bytes().to_vec()));
            header.extend(edits.added_labels.iter().map(|l| l.to_string()));
        } else {
            if edits.removed_lines.contains(&line) {
                continue;
            }
            fields.resize(fields.len().max(kept.len()), Vec::new());
            fields = fields
                .into_iter()
                .enumerate()
                .filter(|(j, _)| kept.get(*j).copied().unwrap_or(true))
                .map(|(_, f)| f)
                .collect();
            if !edits.added_labels.is_empty() {
                fields.resize(header.len() - edits.added_labels.len(), Vec::new());
                fields.extend(edits.added_labels.iter().map(|_| b"0".to_vec()));
            }
            for (k, &(at, label, value)) in cells.iter().enumerate() {
                if at != line {
                    continue;
                }
                let column = header.iter().position(|h| h == label).ok_or_else(|| {
                    Error::csv(1, None, format!("there is no label column '{label}'"))
                })?;
                let cell = fields.get_mut(column).ok_or_else(|| {
                    Error::csv(line, Some(label.to_string()), "the row has no such column")
                })?;
                *cell = vec![if value == 1 { b'1' } else { b'0' }];
                applied[k] = true;
            }
        }
        writer.write_record(&fields).map_err(|e| Error::csv(line, None, e.to_string()))?;
    }
    if let Some(k) = applied.iter().position(|done| !done) {
        return Err(Error::csv(cells[k].0, None, "no such row in the file"));
    }
    for row in &edits.added_rows {
        let mut fields: Vec<&[u8]> = vec![b""; header.len()];
        let file_column = header
            .iter()
            .position(|h| super::FILE_COLUMNS.iter().any(|c| h.eq_ignore_ascii_case(c)))
            .unwrap_or(0);
        fields[file_column] = row.image.as_bytes();
        // An added image trains (an empty `split` cell is not a split).
        if let Some(split) = header.iter().position(|h| h.eq_ignore_ascii_case("split")) {
            fields[split] = b"train";
        }
        for &(label, value) in &row.values {
            if let Some(column) = header.iter().position(|h| h == label) {
                fields[column] = if value == 1 { b"1" } else { b"0" };
            }
        }
        writer.write_record(&fields).map_err(|e| Error::csv(0, None, e.to_string()))?;
    }
    writer.into_inner().map_err(|e| Error::csv(0, None, e.to_string()))
}

impl super::IndexCsv {
    /// This index as a new `index.csv`: the file column (`image`), then one 0/1 column per
    /// label, a row per image with its current values, `\n` line ends; names that need quoting
    /// (a comma, a quote, a line break) are quoted. The way a dataset whose labels came from
    /// its folders gets an `index.csv`.
    ///
    /// # Errors
    /// Never in practice (the writer writes to memory); a CSV error otherwise.
    pub(crate) fn to_csv(&self) -> Result<Vec<u8>> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let failed = |e: csv::Error| Error::csv(0, None, e.to_string());
        let header = std::iter::once(self.image_column.as_str())
            .chain(self.labels.iter().map(String::as_str));
        writer.write_record(header).map_err(failed)?;
        for row in self.rows() {
            let values = row.labels.iter().map(|&v| if v == 1 { "1" } else { "0" });
            writer.write_record(std::iter::once(row.image).chain(values)).map_err(failed)?;
        }
        writer.into_inner().map_err(|e| Error::csv(0, None, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_cells_change() {
        let file = "image;cat;dog;split;note\r\na.png;1;0;train;\"keep; this\"\r\n\r\nb.png;0;0;valid;x\r\n";
        // The lines as the parser numbers its rows (what a dataset's rows carry).
        let index = super::super::IndexCsv::parse(file.as_bytes()).unwrap();
        let (a, b) = (index.row(0).line, index.row(1).line);
        let cells = vec![(a, "dog", 1), (b, "cat", 1), (a, "cat", 0)];
        let out = with_label_values(file.as_bytes(), &IndexEdits { cells, ..Default::default() });
        let out = out.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "image;cat;dog;split;note\r\na.png;0;1;train;\"keep; this\"\r\nb.png;1;0;valid;x\r\n"
        );
    }

    #[test]
    fn added_labels_and_rows_go_at_the_end() {
        let file = "image,cat,split\na.png,1,train\nb.png,0\n";
        let added_rows = vec![AddedRow { image: "new.jpg", values: vec![("cat", 0), ("bird", 1)] }];
        let edits = IndexEdits {
            cells: vec![(3, "bird", 1)],
            added_labels: vec!["bird"],
            added_rows,
            ..Default::default()
        };
        let out = with_label_values(file.as_bytes(), &edits);
        assert_eq!(
            String::from_utf8(out.unwrap()).unwrap(),
            "image,cat,split,bird\na.png,1,train,0\nb.png,0,,1\nnew.jpg,0,train,1\n"
        );
        // A column and a line left out.
        let edits = IndexEdits {
            removed_labels: vec!["cat"],
            removed_lines: vec![2],
            ..Default::default()
        };
        let out = with_label_values(file.as_bytes(), &edits).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "image,split\nb.png,\n");
    }

    #[test]
    fn an_index_written_anew_reads_back_the_same() {
        let file = "image,cat,\"dog, big\"\na.png,1,0\nb c.png,0,1\n";
        let index = super::super::IndexCsv::parse(file.as_bytes()).unwrap();
        let written = index.to_csv().unwrap();
        assert_eq!(String::from_utf8(written.clone()).unwrap(), file);
        let again = super::super::IndexCsv::parse(&written).unwrap();
        assert_eq!(again.labels, index.labels);
        assert_eq!(again.targets(), index.targets());
    }

    #[test]
    fn a_line_or_label_not_in_the_file_is_refused() {
        let file = b"image,cat\na.png,1\n";
        let edits = |cells| IndexEdits { cells, ..Default::default() };
        let error = with_label_values(file, &edits(vec![(2, "dog", 1)])).unwrap_err().to_string();
        assert!(error.contains("there is no label column 'dog'"), "{error}");
        let error = with_label_values(file, &edits(vec![(5, "cat", 1)])).unwrap_err().to_string();
        assert!(error.starts_with("index.csv line 5: no such row"), "{error}");
    }
}
