//! An edited dataset (`edits.rs`) written back as a zip in the product's format: every file's
//! original bytes copied as the zip holds them (never inflated, never re-encoded), added files
//! stored as they are, `index.csv` with the edited cells and the added labels and rows, and
//! `changes.csv`, the log (appended to the one the zip already had, so the log of several
//! rounds stays whole).

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::error::{Error, Result};

use super::archive::{Archive, normalise};
use super::changes::{ChangeKind, ChangeLog};
use super::index::{AddedRow, IndexCsv, with_label_values};

/// The name of the change log beside `index.csv`.
pub const CHANGES_CSV: &str = "changes.csv";

/// The zip of `archive` with `index` (read from `index_path`, and edited since by `log`):
/// every other entry copied raw; `index.csv` rewritten with `index`'s values in the cells `log`
/// touched; `changes.csv` beside it holding the zip's earlier log (if any) and then `log`.
/// Without `index_path` (the labels came from the folders) a new `index.csv` at the top level
/// lists every image with its current labels, so the zip is a dataset in the product's format
/// (its folders stay as they were).
///
/// # Errors
/// A change naming a row or label `index` lacks; an entry that cannot be copied.
pub(super) fn export(
    archive: &mut Archive,
    index: &IndexCsv,
    index_path: Option<&str>,
    log: &ChangeLog,
    added_files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<u8>> {
    let edited = match index_path {
        Some(path) => edited_index(archive, index, path, log)?,
        None => index.to_csv()?,
    };
    let index_path = index_path.unwrap_or(INDEX_CSV);
    let folder = index_path.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
    let changes_path = format!("{folder}{CHANGES_CSV}");
    let earlier = match archive.contains(&changes_path) {
        true => ChangeLog::parse(&archive.read(&changes_path, u64::MAX)?)?,
        false => ChangeLog::default(),
    };

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let paths: Vec<String> = archive.paths().map(str::to_string).collect();
    for path in paths.iter().filter(|p| **p != index_path && **p != changes_path) {
        archive.copy_raw(path, &mut zip)?;
    }
    // Added files are JPEG frames or images brought in: compressed already, stored as they are.
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, bytes) in added_files {
        zip.start_file(path.as_str(), stored).map_err(|e| Error::zip_entry(path, e))?;
        zip.write_all(bytes).map_err(|e| Error::zip_entry(path, e))?;
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

/// The file name of a dataset's index, where an export writes one the zip lacked.
const INDEX_CSV: &str = "index.csv";

/// The `index.csv` at `index_path` with `index`'s values in the cells `log` touched, the
/// labels it added (as new columns) and the images it added (as new rows).
fn edited_index(
    archive: &mut Archive,
    index: &IndexCsv,
    index_path: &str,
    log: &ChangeLog,
) -> Result<Vec<u8>> {
    let rows: HashMap<String, usize> =
        index.rows().enumerate().map(|(i, row)| (normalise(row.image), i)).collect();
    let row_of = |k: usize, image: &str| {
        rows.get(&normalise(image)).copied().ok_or_else(|| {
            Error::changes(log.line(k), format!("'{image}' is not a row of index.csv"))
        })
    };
    let mut added_labels: Vec<&str> = Vec::new();
    let mut added_rows: Vec<usize> = Vec::new();
    for (k, change) in log.changes.iter().enumerate() {
        match change.kind() {
            ChangeKind::LabelAdded => added_labels.push(&change.label),
            ChangeKind::ImageAdded => added_rows.push(row_of(k, &change.image)?),
            ChangeKind::Cell => {}
        }
    }
    let mut cells: Vec<(u64, &str, u8)> = Vec::with_capacity(log.changes.len());
    for (k, change) in log.changes.iter().enumerate() {
        if change.kind() != ChangeKind::Cell {
            continue;
        }
        let row = row_of(k, &change.image)?;
        if added_rows.contains(&row) {
            continue; // written whole below
        }
        let label = index.labels.iter().position(|l| *l == change.label).ok_or_else(|| {
            Error::changes(log.line(k), format!("'{}' is not a label of index.csv", change.label))
        })?;
        cells.push((index.row(row).line, &index.labels[label], index.row(row).labels[label]));
    }
    let added: Vec<AddedRow> = added_rows
        .iter()
        .map(|&row| {
            let row = index.row(row);
            let values = index.labels.iter().map(String::as_str).zip(row.labels.iter().copied());
            AddedRow { image: row.image, values: values.collect() }
        })
        .collect();
    let original = archive.read(index_path, u64::MAX)?;
    with_label_values(&original, &cells, &added_labels, &added)
}
