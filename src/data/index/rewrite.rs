//! `index.csv` with some label cells set, everything else as the file had it: the other
//! columns (`split`, `group`, notes of the user's own), the rows' order, the delimiter and the line
//! ends. Blank lines are dropped and the text becomes UTF-8; quoting may differ where a field
//! needed none.

use crate::error::{Error, Result};

use super::text::{decode_text, detect_delimiter};

/// `bytes` (an `index.csv`) with each `(line, label, value)` of `edits` set: the cell of the
/// label's column on that line (1-based, the header is line 1) becomes `0` or `1`.
///
/// # Errors
/// [`crate::ErrorKind::Csv`] when a line or label column named by `edits` is not in the file.
pub(crate) fn with_label_values(bytes: &[u8], edits: &[(u64, &str, u8)]) -> Result<Vec<u8>> {
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
    let mut applied = vec![false; edits.len()];
    // Read as `IndexCsv::parse` reads (the iterator numbers lines differently).
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(|e| Error::csv(0, None, e.to_string()))? {
        let line = record.position().map_or(0, |p| p.line());
        let mut fields: Vec<Vec<u8>> = record.iter().map(<[u8]>::to_vec).collect();
        if header.is_empty() {
            header = fields.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
        } else {
            for (k, &(at, label, value)) in edits.iter().enumerate() {
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
        return Err(Error::csv(edits[k].0, None, "no such row in the file"));
    }
    writer.into_inner().map_err(|e| Error::csv(0, None, e.to_string()))
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
        let out =
            with_label_values(file.as_bytes(), &[(a, "dog", 1), (b, "cat", 1), (a, "cat", 0)]);
        let out = out.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "image;cat;dog;split;note\r\na.png;0;1;train;\"keep; this\"\r\nb.png;1;0;valid;x\r\n"
        );
    }

    #[test]
    fn a_line_or_label_not_in_the_file_is_refused() {
        let file = b"image,cat\na.png,1\n";
        let error = with_label_values(file, &[(2, "dog", 1)]).unwrap_err().to_string();
        assert!(error.contains("there is no label column 'dog'"), "{error}");
        let error = with_label_values(file, &[(5, "cat", 1)]).unwrap_err().to_string();
        assert!(error.starts_with("index.csv line 5: no such row"), "{error}");
    }
}
