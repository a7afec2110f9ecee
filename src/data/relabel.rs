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

use super::archive::{Archive, folder_of, normalise};
use super::changes::{ChangeKind, ChangeLog};
use super::index::{AddedRow, IndexCsv, IndexEdits, with_label_values};

/// The name of the change log beside `index.csv`.
pub const CHANGES_CSV: &str = "changes.csv";

/// How many edits the `changes.csv` beside `index_path` logs (0 without one); one that cannot
/// be read is a warning, not an error: the data is usable without it.
pub(super) fn earlier_edits(
    archive: &mut Archive,
    index_path: &str,
    warnings: &mut Vec<String>,
) -> usize {
    let path = format!("{}{CHANGES_CSV}", folder_of(index_path));
    if !archive.contains(&path) {
        return 0;
    }
    match archive.read(&path, u64::MAX).and_then(|bytes| ChangeLog::parse(&bytes)) {
        Ok(log) => log.changes.len(),
        Err(e) => {
            warnings.push(format!(
                "{path} (the log of earlier label edits) cannot be read, so a model trained on this data cannot count them: {e}"
            ));
            0
        }
    }
}

/// The zip of `archive` with its edited `index` (`opened`: as the zip gave it, read from
/// `index_path`): every other entry copied raw; `index.csv` with `index`'s labels and rows (see
/// [`edited_index`]); `changes.csv` beside it holding the zip's earlier log (if any) and then
/// `log`. Without `index_path` (the labels came from the folders or the page) a new `index.csv`
/// at the top level lists every image with its current labels, so the zip is a dataset in the
/// product's format (its folders stay as they were).
///
/// # Errors
/// An entry that cannot be copied or read.
pub(super) fn export(
    archive: &mut Archive,
    (opened, index): (&IndexCsv, &IndexCsv),
    index_path: Option<&str>,
    log: &ChangeLog,
    added_files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<u8>> {
    let edited = match index_path {
        Some(path) => {
            with_label_values(&archive.read(path, u64::MAX)?, &edited_index(opened, index, log))?
        }
        None => index.to_csv()?,
    };
    let index_path = index_path.unwrap_or(INDEX_CSV);
    let changes_path = format!("{}{CHANGES_CSV}", folder_of(index_path));
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

/// What turns the `index.csv` that `opened` was read from into `index` (by the changes of
/// `log`): the labels and rows it no longer has left out, the labels renamed, the new ones
/// added, and every cell whose value differs set. It compares the two states (following the
/// log only for renames), so edits undone or made twice leave no trace.
fn edited_index<'a>(
    opened: &'a IndexCsv,
    index: &'a IndexCsv,
    log: &'a ChangeLog,
) -> IndexEdits<'a> {
    let now: HashMap<String, usize> =
        index.rows().enumerate().map(|(i, row)| (normalise(row.image), i)).collect();
    let before: HashMap<String, usize> =
        opened.rows().enumerate().map(|(i, row)| (normalise(row.image), i)).collect();
    let names = current_names(opened, log);
    // The column of `opened` each label of `index` was, if any.
    let was_column = |label: &str| names.iter().position(|n| *n == Some(label));
    let mut edits = IndexEdits {
        added_labels: index
            .labels
            .iter()
            .filter(|l| was_column(l).is_none())
            .map(String::as_str)
            .collect(),
        removed_labels: (opened.labels.iter().zip(&names))
            .filter(|(_, now)| !now.is_some_and(|n| index.labels.iter().any(|l| l == n)))
            .map(|(l, _)| l.as_str())
            .collect(),
        renamed_labels: (opened.labels.iter().zip(&names))
            .filter_map(|(l, now)| now.filter(|n| *n != l).map(|n| (l.as_str(), n)))
            .filter(|(_, n)| index.labels.iter().any(|l| l == n))
            .collect(),
        ..IndexEdits::default()
    };
    for row in opened.rows() {
        let Some(&i) = now.get(&normalise(row.image)) else {
            edits.removed_lines.push(row.line);
            continue;
        };
        let values = index.row(i).labels;
        for (label, &value) in index.labels.iter().zip(values) {
            let was = was_column(label).map(|j| row.labels[j]);
            // Added columns start at 0 on every line.
            if was.unwrap_or(0) != value {
                edits.cells.push((row.line, label, value));
            }
        }
    }
    for row in index.rows().filter(|row| !before.contains_key(&normalise(row.image))) {
        let values = index.labels.iter().map(String::as_str).zip(row.labels.iter().copied());
        edits.added_rows.push(AddedRow { image: row.image, values: values.collect() });
    }
    edits
}

/// The name each label of `opened` has after `log` (its renames and removals, in order), or
/// `None` for one removed. A label removed and then added again under its name is a new label.
fn current_names<'a>(opened: &'a IndexCsv, log: &'a ChangeLog) -> Vec<Option<&'a str>> {
    let mut names: Vec<Option<&str>> = opened.labels.iter().map(|l| Some(l.as_str())).collect();
    for change in &log.changes {
        let named = |n: &Option<&str>| *n == Some(change.label.as_str());
        match (change.kind(), &change.renamed) {
            (ChangeKind::LabelRenamed, Some(to)) => {
                names.iter_mut().filter(|n| named(n)).for_each(|n| *n = Some(to.as_str()));
            }
            (ChangeKind::LabelRemoved, _) => {
                names.iter_mut().filter(|n| named(n)).for_each(|n| *n = None);
            }
            _ => {}
        }
    }
    names
}
