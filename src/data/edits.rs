//! Editing a dataset where it is used (the page's labelling grid, its label-error gallery, a
//! change log given to the CLI): a label of an image set, a label column added, renamed or removed, an
//! image added (a webcam frame) or left out, each logged ([`ChangeLog`]). An undo replays the
//! rest of the log on the data as it was opened, so any change can be undone that no later one
//! builds on. Decoding, the summary, training and the export see the edited data.

use std::collections::HashMap;

use crate::error::{Error, Result};

use super::archive::{folder_of, normalise};
use super::changes::{ChangeKind, ChangeLog, LabelChange};
use super::image::{CAPTURE_QUALITY, encode_jpeg, header};
use super::index::new_label_problem;
use super::source::DatasetSource;
use super::summary::MediaKind;

impl DatasetSource {
    /// Applies the changes of `log` in order, and adds them to this source's change log
    /// ([`DatasetSource::changes`]): what decoding, the summary and the export use from now on.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Changes`] at the first change that does not fit: an image or label
    /// the dataset lacks, an old value that is not the current one (a log of another version
    /// of the data), a label that cannot be added (its name, or one too many), an image added
    /// that is not in the zip, is listed already, or is not an image. Nothing is changed then.
    pub fn apply_changes(&mut self, log: &ChangeLog) -> Result<()> {
        let mut index = self.index.clone();
        let (mut entries, mut headers) = (self.entries.clone(), self.headers.clone());
        let mut rows: HashMap<String, usize> =
            index.rows().enumerate().map(|(i, row)| (normalise(row.image), i)).collect();
        let folder = self.index_folder();
        for (k, change) in log.changes.iter().enumerate() {
            let line = log.line(k);
            let refused = |why: String| Error::changes(line, why);
            match change.kind() {
                ChangeKind::Cell => {
                    let row = *rows.get(&normalise(&change.image)).ok_or_else(|| {
                        refused(format!("'{}' is not a row of index.csv", change.image))
                    })?;
                    let label =
                        index.labels.iter().position(|l| *l == change.label).ok_or_else(|| {
                            refused(format!(
                                "'{}' is not a label of index.csv ({})",
                                change.label,
                                index.labels.join(", ")
                            ))
                        })?;
                    let now = index.row(row).labels[label];
                    if now != change.old {
                        return Err(refused(format!(
                            "'{}' has {} = {now}, not {} as the change says; the log was \
                             written for another version of this dataset",
                            change.image, change.label, change.old
                        )));
                    }
                    index.set_target(row, label, change.new);
                }
                ChangeKind::LabelAdded => {
                    if let Some(problem) = new_label_problem(&change.label, &index.labels) {
                        return Err(refused(format!(
                            "label '{}' cannot be added: {problem}",
                            change.label
                        )));
                    }
                    self.limits.check_columns(line, index.labels.len() as u64 + 2)?;
                    index.push_label(&change.label);
                }
                ChangeKind::LabelRenamed => {
                    let to = change.renamed.as_deref().unwrap_or_default();
                    let column =
                        index.labels.iter().position(|l| *l == change.label).ok_or_else(|| {
                            refused(format!("there is no label '{}' to rename", change.label))
                        })?;
                    let others: Vec<String> =
                        (index.labels.iter().enumerate().filter(|(j, _)| *j != column))
                            .map(|(_, l)| l.clone())
                            .collect();
                    let problem = new_label_problem(to, &others).or_else(|| {
                        let value = |name: &str| name == "0" || name == "1";
                        (value(to) && value(&change.label)).then(|| {
                            "a label named 0 or 1 cannot take the other of those names (the \
                             change log could not tell the rename from a value)"
                                .to_string()
                        })
                    });
                    if let Some(problem) = problem {
                        return Err(refused(format!(
                            "label '{}' cannot be renamed '{to}': {problem}",
                            change.label
                        )));
                    }
                    index.labels[column] = to.to_string();
                }
                ChangeKind::LabelRemoved => {
                    let column =
                        index.labels.iter().position(|l| *l == change.label).ok_or_else(|| {
                            refused(format!("there is no label '{}' to remove", change.label))
                        })?;
                    index.remove_label(column);
                }
                ChangeKind::ImageExcluded => {
                    let row = rows.remove(&normalise(&change.image)).ok_or_else(|| {
                        refused(format!("'{}' is not a row of index.csv", change.image))
                    })?;
                    index.remove_row(row);
                    entries.remove(row);
                    headers.remove(row);
                    for later in rows.values_mut().filter(|r| **r > row) {
                        *later -= 1;
                    }
                }
                ChangeKind::ImageAdded => {
                    let key = normalise(&change.image);
                    if rows.contains_key(&key) {
                        return Err(refused(format!("'{}' is listed already", change.image)));
                    }
                    let path = normalise(&format!("{folder}{}", change.image));
                    let bytes = self.added_file(&path).ok_or_else(|| {
                        refused(format!(
                            "'{path}' is not in the zip; an image is added with its file"
                        ))
                    })??;
                    if self.kind() == MediaKind::Sounds {
                        return Err(refused(format!(
                            "'{path}' is an image, and this dataset holds sound clips"
                        )));
                    }
                    let found = header(&path, &bytes, &self.limits)
                        .map_err(|e| refused(format!("'{path}' cannot be added: {e}")))?;
                    rows.insert(key, index.len());
                    index.push_row(&change.image);
                    entries.push(path);
                    headers.push(found);
                }
            }
        }
        (self.index, self.entries, self.headers) = (index, entries, headers);
        self.changes.changes.extend(log.changes.iter().cloned());
        Ok(())
    }

    /// Sets label `label` of image `index` to `value` (0 or 1), logging the edit with `why`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] for a label the dataset lacks, an image past its rows, a
    /// value other than 0 or 1, or the value the image already has; nothing is logged then.
    pub fn set_label(&mut self, index: usize, label: &str, value: u8, why: &str) -> Result<()> {
        if self.set_labels(&[(index, label.to_string(), value)], why)? == 0 {
            let image = self.image_name(index).unwrap_or_default();
            return Err(Error::misuse(format!("'{image}' already has {label} = {value}")));
        }
        Ok(())
    }

    /// Sets several labels at once (a selection in the page's grid): each `(image, label,
    /// value)` whose value differs from the current one is a change logged with `why`; the
    /// others are left as they are. Resolves to the number of changes.
    ///
    /// # Errors
    /// As [`DatasetSource::set_label`] for any of them; nothing is changed then.
    pub fn set_labels(&mut self, edits: &[(usize, String, u8)], why: &str) -> Result<usize> {
        let mut changes = Vec::new();
        let mut now: HashMap<(usize, usize), u8> = HashMap::new();
        for (index, label, value) in edits {
            let column = self
                .labels()
                .iter()
                .position(|l| l == label)
                .ok_or_else(|| Error::no_such_label("dataset", label, self.labels()))?;
            let image = self.image_name(*index).ok_or_else(|| {
                Error::misuse(format!("the dataset has no image {index} ({} images)", self.len()))
            })?;
            if *value > 1 {
                return Err(Error::misuse(format!("a label is 0 or 1, not {value}")));
            }
            let old = *now
                .entry((*index, column))
                .or_insert(self.index.targets()[index * self.labels().len() + column]);
            if old != *value {
                now.insert((*index, column), *value);
                changes.push(LabelChange {
                    image: image.into(),
                    label: label.clone(),
                    old,
                    new: *value,
                    why: why.into(),
                    renamed: None,
                });
            }
        }
        let count = changes.len();
        self.apply_changes(&ChangeLog::new(changes))?;
        Ok(count)
    }

    /// Adds a webcam frame (`width × height` RGBA pixels) as a JPEG of quality
    /// [`CAPTURE_QUALITY`] at `captured/frame-N.jpg` beside `index.csv` (the first N free),
    /// with the labels `labels` present, logged with `why`. Resolves to the new image's index
    /// and its path in the zip.
    ///
    /// # Errors
    /// Pixels that are not `width × height × 4` bytes, a frame over the image limits, a label
    /// the dataset lacks, a dataset of sound clips.
    pub fn add_frame(
        &mut self,
        rgba: &[u8],
        (width, height): (u32, u32),
        labels: &[String],
        why: &str,
    ) -> Result<(usize, String)> {
        if let Some(label) = labels.iter().find(|l| !self.labels().contains(l)) {
            return Err(Error::no_such_label("dataset", label, self.labels()));
        }
        let jpeg = encode_jpeg(rgba, width, height, CAPTURE_QUALITY, &self.limits)?;
        let folder = self.index_folder();
        let taken = |source: &Self, name: &str| {
            let path = normalise(&format!("{folder}{name}"));
            source.added_files.contains_key(&path)
                || source.archive.as_ref().is_some_and(|a| a.contains(&path))
        };
        let name = (1..)
            .map(|n| format!("captured/frame-{n}.jpg"))
            .find(|name| !taken(self, name))
            .expect("some number is free");
        let index = self.add_image(&name, jpeg, why)?;
        let edits: Vec<(usize, String, u8)> =
            labels.iter().map(|l| (index, l.clone(), 1)).collect();
        if let Err(e) = self.set_labels(&edits, why) {
            let k = self.changes.changes.len() - 1;
            self.undo_change(k)?;
            return Err(e);
        }
        Ok((index, self.entries()[index].clone()))
    }

    /// Makes the edits of an earlier session again: the files it added (`files`, by zip path)
    /// and its log, applied in order ([`DatasetSource::apply_changes`]). The changes this source
    /// holds already (the labels it was opened with) begin that log, and are skipped.
    ///
    /// # Errors
    /// A log that does not begin with this source's changes; as
    /// [`DatasetSource::apply_changes`]. Nothing is changed then.
    pub fn restore_changes(
        &mut self,
        log: &ChangeLog,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        let done = self.changes.changes.len();
        if !log.changes.starts_with(&self.changes.changes) {
            return Err(Error::misuse(
                "the kept edits were made on this dataset opened otherwise; discard them",
            ));
        }
        let rest = ChangeLog::new(log.changes[done..].to_vec());
        let log = &rest;
        for (path, bytes) in files {
            self.added_files.entry(normalise(&path)).or_insert(bytes);
        }
        let applied = self.apply_changes(log);
        if applied.is_err() {
            self.drop_unnamed_files();
        }
        applied
    }

    /// The files added since the zip was opened (webcam frames), by zip path.
    pub fn added_files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.added_files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// Adds label `name` (0 for every image), logged with `why`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Changes`] saying why the name cannot be a label (blank, too long,
    /// `image`, the name of a label already there, …) or that the dataset has as many labels as
    /// a dataset may.
    pub fn add_label(&mut self, name: &str, why: &str) -> Result<()> {
        self.apply_changes(&ChangeLog::new(vec![LabelChange::label_added(name, why)]))
    }

    /// Adds an image file to the dataset, with no label yet: `bytes` (kept as they are, and
    /// written as they are by the export) at `name` beside `index.csv`, logged with `why`.
    /// Resolves to the new image's index.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Changes`] for a name the zip (or an earlier addition) holds already,
    /// bytes that are not an image the decoder reads, or a dataset of sound clips.
    pub fn add_image(&mut self, name: &str, bytes: Vec<u8>, why: &str) -> Result<usize> {
        let path = normalise(&format!("{}{name}", self.index_folder()));
        let taken = self.added_files.contains_key(&path)
            || self.archive.as_ref().is_some_and(|a| a.contains(&path));
        if taken || path.is_empty() {
            return Err(Error::changes(0, format!("'{path}' is in the dataset's zip already")));
        }
        self.added_files.insert(path.clone(), bytes);
        let added = self.apply_changes(&ChangeLog::new(vec![LabelChange::image_added(name, why)]));
        if let Err(e) = added {
            self.added_files.remove(&path);
            return Err(e);
        }
        Ok(self.len() - 1)
    }

    /// Renames label `from` to `to`, its values kept, logged with `why`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Changes`] for a label the dataset lacks, or a name that cannot be a
    /// label beside the others (as [`DatasetSource::add_label`]); nothing is changed then.
    pub fn rename_label(&mut self, from: &str, to: &str, why: &str) -> Result<()> {
        if from == to {
            return Err(Error::changes(0, format!("the label is named '{to}' already")));
        }
        self.apply_changes(&ChangeLog::new(vec![LabelChange::label_renamed(from, to, why)]))
    }

    /// Removes label `name` and its values, logged with `why`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Changes`] for a label the dataset lacks, or its last one.
    pub fn remove_label(&mut self, name: &str, why: &str) -> Result<()> {
        if self.labels().len() == 1 && self.labels()[0] == name {
            return Err(Error::changes(0, "a dataset keeps at least one label; add another first"));
        }
        self.apply_changes(&ChangeLog::new(vec![LabelChange::label_removed(name, why)]))
    }

    /// Leaves the images `indices` out of the dataset (their files stay in the zip), logged
    /// with `why`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] for an image past the rows, or every image; nothing is
    /// changed then.
    pub fn exclude_images(&mut self, indices: &[usize], why: &str) -> Result<()> {
        let mut changes = Vec::with_capacity(indices.len());
        for &index in indices {
            let image = self.image_name(index).ok_or_else(|| {
                Error::misuse(format!("the dataset has no image {index} ({} images)", self.len()))
            })?;
            let change = LabelChange::image_excluded(image, why);
            if !changes.contains(&change) {
                changes.push(change);
            }
        }
        if changes.len() >= self.len() {
            return Err(Error::misuse("a dataset keeps at least one image"));
        }
        self.apply_changes(&ChangeLog::new(changes))
    }

    /// Undoes change `k` of the log: the data as it was opened, with every other change of the
    /// log made again in order. Files added by no remaining change are dropped.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] for a change the log lacks, or one that a later change
    /// builds on (the same label of the same image edited again, a label or image added and
    /// then edited, …): undo the later change first. Nothing is changed then.
    pub fn undo_change(&mut self, k: usize) -> Result<()> {
        let count = self.changes.changes.len();
        if k >= count {
            return Err(Error::misuse(format!("there is no change {k} ({count} in the log)")));
        }
        let mut rest = self.changes.changes.clone();
        let undone = rest.remove(k);
        let opened = &self.opened;
        let before = (
            std::mem::replace(&mut self.index, opened.index.clone()),
            std::mem::replace(&mut self.entries, opened.entries.clone()),
            std::mem::replace(&mut self.headers, opened.headers.clone()),
            std::mem::take(&mut self.changes),
        );
        if self.apply_changes(&ChangeLog::new(rest)).is_err() {
            (self.index, self.entries, self.headers, self.changes) = before;
            return Err(Error::misuse("a later change builds on this one; undo that change first"));
        }
        if undone.kind() == ChangeKind::ImageAdded {
            self.drop_unnamed_files();
        }
        Ok(())
    }

    /// Drops the added files that no change of the log adds (an undone addition, a restore
    /// that did not fit).
    fn drop_unnamed_files(&mut self) {
        let folder = self.index_folder();
        let named: std::collections::HashSet<String> = (self.changes.changes.iter())
            .filter(|c| c.kind() == ChangeKind::ImageAdded)
            .map(|c| normalise(&format!("{folder}{}", c.image)))
            .collect();
        self.added_files.retain(|path, _| named.contains(path));
    }

    /// The label edits made since the zip was opened, oldest first.
    pub fn changes(&self) -> &ChangeLog {
        &self.changes
    }

    /// The label edits its data carries: those its zip's `changes.csv` logs, and those made
    /// since it was opened.
    pub fn label_edits(&self) -> usize {
        self.earlier_edits + self.changes.changes.len()
    }

    /// The folder `index.csv` lies in, as a prefix (`data/`, or empty at the top level or
    /// without one): where added images go, and what their names are relative to.
    fn index_folder(&self) -> String {
        folder_of(self.index_path.as_deref().unwrap_or_default())
    }

    /// The bytes of file `path`: an added one, or the zip's (`None` when neither holds it).
    fn added_file(&mut self, path: &str) -> Option<Result<Vec<u8>>> {
        if let Some(bytes) = self.added_files.get(path) {
            return Some(Ok(bytes.clone()));
        }
        let archive = self.archive.as_mut()?;
        archive.contains(path).then(|| archive.read(path, u64::MAX))
    }
}
