//! Label edits applied to a dataset ([`ChangeLog`]), and the edited dataset written back as a
//! zip in the product's format: every file's original bytes copied as the zip holds them (never
//! inflated, never re-encoded), `index.csv` with the edited cells, and `changes.csv`, the log
//! (appended to the one the zip already had, so the log of several rounds stays whole).

use std::collections::HashMap;
use std::io::{Cursor, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::error::{Error, Result};

use super::archive::{Archive, normalise};
use super::changes::ChangeLog;
use super::index::{IndexCsv, with_label_values};

/// The name of the change log beside `index.csv`.
pub const CHANGES_CSV: &str = "changes.csv";

/// Applies `log` to `index`, in order.
///
/// # Errors
/// [`crate::ErrorKind::Changes`] at the first change whose image or label the dataset lacks, or
/// whose old value is not the dataset's (a log of another version of the data); `index` is then
/// unchanged.
pub(super) fn apply(index: &mut IndexCsv, log: &ChangeLog) -> Result<()> {
    let edits = located_edits(index, log)?;
    for (row, label, value) in edits {
        index.set_target(row, label, value);
    }
    Ok(())
}

/// Each change of `log` as `(row, label column, new value)`, checked against `index` with the
/// earlier changes applied.
fn located_edits(index: &IndexCsv, log: &ChangeLog) -> Result<Vec<(usize, usize, u8)>> {
    let rows: HashMap<String, usize> =
        index.rows().enumerate().map(|(i, row)| (normalise(row.image), i)).collect();
    let mut values: HashMap<(usize, usize), u8> = HashMap::new();
    let mut edits = Vec::with_capacity(log.changes.len());
    for (k, change) in log.changes.iter().enumerate() {
        let line = log.line(k);
        let row = *rows.get(&normalise(&change.image)).ok_or_else(|| {
            Error::changes(line, format!("'{}' is not a row of index.csv", change.image))
        })?;
        let label = index.labels.iter().position(|l| *l == change.label).ok_or_else(|| {
            Error::changes(
                line,
                format!(
                    "'{}' is not a label of index.csv ({})",
                    change.label,
                    index.labels.join(", ")
                ),
            )
        })?;
        let now = *values.entry((row, label)).or_insert(index.row(row).labels[label]);
        if now != change.old {
            return Err(Error::changes(
                line,
                format!(
                    "'{}' has {} = {now}, not {} as the change says; the log was written for \
                     another version of this dataset",
                    change.image, change.label, change.old
                ),
            ));
        }
        values.insert((row, label), change.new);
        edits.push((row, label, change.new));
    }
    Ok(edits)
}

/// The zip of `archive` with `index` (read from `index_path`, and edited since by `log`):
/// every other entry copied raw; `index.csv` rewritten with `index`'s values in the cells `log`
/// touched; `changes.csv` beside it holding the zip's earlier log (if any) and then `log`.
///
/// # Errors
/// A change naming a row or label `index` lacks; an entry that cannot be copied.
pub(super) fn export(
    archive: &mut Archive,
    index: &IndexCsv,
    index_path: &str,
    log: &ChangeLog,
) -> Result<Vec<u8>> {
    let folder = index_path.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
    let changes_path = format!("{folder}{CHANGES_CSV}");
    let earlier = match archive.contains(&changes_path) {
        true => ChangeLog::parse(&archive.read(&changes_path, u64::MAX)?)?,
        false => ChangeLog::default(),
    };
    let rows: HashMap<String, usize> =
        index.rows().enumerate().map(|(i, row)| (normalise(row.image), i)).collect();
    let mut cells: Vec<(u64, &str, u8)> = Vec::with_capacity(log.changes.len());
    for (k, change) in log.changes.iter().enumerate() {
        let row = rows.get(&normalise(&change.image)).map(|&i| index.row(i));
        let label = index.labels.iter().position(|l| *l == change.label);
        let (Some(row), Some(label)) = (row, label) else {
            return Err(Error::changes(
                log.line(k),
                format!("'{}', '{}' is not a cell of index.csv", change.image, change.label),
            ));
        };
        cells.push((row.line, &index.labels[label], row.labels[label]));
    }
    let original = archive.read(index_path, u64::MAX)?;
    let edited = with_label_values(&original, &cells)?;

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let paths: Vec<String> = archive.paths().map(str::to_string).collect();
    for path in paths.iter().filter(|p| **p != index_path && **p != changes_path) {
        archive.copy_raw(path, &mut zip)?;
    }
    let written = |e: zip::result::ZipError| Error::zip_entry(index_path, e);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(index_path, options).map_err(written)?;
    zip.write_all(&edited).map_err(|e| Error::zip_entry(index_path, e))?;
    let mut whole = earlier;
    whole.changes.extend(log.changes.iter().cloned());
    zip.start_file(changes_path.as_str(), options).map_err(written)?;
    zip.write_all(&whole.to_csv()).map_err(|e| Error::zip_entry(&changes_path, e))?;
    Ok(zip.finish().map_err(written)?.into_inner())
}
