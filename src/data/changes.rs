//! The label edits made to a dataset, as a log: which image, which label, the value before and
//! after, and why (`changes.csv`: `image,label,old,new,why`). The page writes it beside the
//! edited `index.csv` when it exports a dataset; `tagtrain apply-changes` applies one to a zip.
//!
//! A log is applied in order and each change must find what it says it changes: the image, the
//! label, and the old value. A log written for another version of the dataset is refused at the
//! first change that does not fit, by line, instead of silently editing the wrong rows.
//!
//! Most rows change one label of one image. The others change the dataset's shape
//! ([`ChangeKind`]): a row with no image adds (`0,1`) or removes (`1,0`) the label column it
//! names (`,bird,0,1,label added`: 0 for every image); a row with no label adds (`0,1`) the
//! image it names as a row of `index.csv` with no label yet (`captured/1.jpg,,0,1,…`: the file
//! must be in the zip) or leaves it out (`1,0`: excluded, its file kept in the zip). A row with
//! no image whose `old` and `new` are names instead of 0 and 1 renames the label `old` (which
//! its `label` repeats) to `new`, its values kept (`,cat,cat,kitten,label renamed`).

use serde::Serialize;

use crate::error::{Error, Result};

/// The header of a change log.
pub const CHANGES_HEADER: [&str; 5] = ["image", "label", "old", "new", "why"];

/// One label edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LabelChange {
    /// The image, as `index.csv` names it.
    pub image: String,
    /// The label (a column of `index.csv`).
    pub label: String,
    /// The value before: 0 (absent) or 1 (present).
    pub old: u8,
    /// The value after.
    pub new: u8,
    /// Why, in words ("suspected label error, accepted", "edited by hand", …).
    pub why: String,
    /// For a label renamed, its new name (`label` is the name before; `old` and `new` are 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub renamed: Option<String>,
}

/// What a [`LabelChange`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// One label of one image.
    Cell,
    /// A new label column (no image named, 0 → 1).
    LabelAdded,
    /// A label column removed (no image named, 1 → 0).
    LabelRemoved,
    /// A new image row, with no label yet (no label named, 0 → 1).
    ImageAdded,
    /// An image row left out (no label named, 1 → 0); its file stays in the zip.
    ImageExcluded,
    /// A label column renamed, its values kept (no image named, old and new are names).
    LabelRenamed,
}

impl LabelChange {
    /// What this change changes.
    pub fn kind(&self) -> ChangeKind {
        if self.renamed.is_some() {
            return ChangeKind::LabelRenamed;
        }
        match (self.image.is_empty(), self.label.is_empty(), self.new) {
            (true, _, 1) => ChangeKind::LabelAdded,
            (true, _, _) => ChangeKind::LabelRemoved,
            (false, true, 1) => ChangeKind::ImageAdded,
            (false, true, _) => ChangeKind::ImageExcluded,
            (false, false, _) => ChangeKind::Cell,
        }
    }

    /// A change removing label column `name`.
    pub fn label_removed(name: &str, why: &str) -> Self {
        LabelChange {
            image: String::new(),
            label: name.into(),
            old: 1,
            new: 0,
            why: why.into(),
            renamed: None,
        }
    }

    /// A change leaving image `image` (as `index.csv` names it) out of the dataset.
    pub fn image_excluded(image: &str, why: &str) -> Self {
        LabelChange {
            image: image.into(),
            label: String::new(),
            old: 1,
            new: 0,
            why: why.into(),
            renamed: None,
        }
    }

    /// A change adding label column `name`.
    pub fn label_added(name: &str, why: &str) -> Self {
        LabelChange {
            image: String::new(),
            label: name.into(),
            old: 0,
            new: 1,
            why: why.into(),
            renamed: None,
        }
    }

    /// A change renaming label column `from` to `to`, its values kept.
    pub fn label_renamed(from: &str, to: &str, why: &str) -> Self {
        LabelChange {
            image: String::new(),
            label: from.into(),
            old: 0,
            new: 0,
            why: why.into(),
            renamed: Some(to.into()),
        }
    }

    /// A change adding image `image` (as `index.csv` names it) with no label.
    pub fn image_added(image: &str, why: &str) -> Self {
        LabelChange {
            image: image.into(),
            label: String::new(),
            old: 0,
            new: 1,
            why: why.into(),
            renamed: None,
        }
    }
}

/// Label edits, in the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeLog {
    /// The edits, oldest first.
    pub changes: Vec<LabelChange>,
    /// Each change's line in the file it was read from (empty for a log made in memory).
    lines: Vec<u64>,
}

impl ChangeLog {
    /// A log of `changes`, oldest first.
    pub fn new(changes: Vec<LabelChange>) -> Self {
        ChangeLog { changes, lines: Vec::new() }
    }

    /// The line of change `i` in the file it was read from; for a log made in memory, the line
    /// [`ChangeLog::to_csv`] writes it on.
    pub fn line(&self, i: usize) -> u64 {
        self.lines.get(i).copied().unwrap_or(i as u64 + 2)
    }

    /// Reads a change log (`image,label,old,new,why`, the header first).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Changes`] naming the line: another header, a row without five
    /// fields, a value that is not 0 or 1, a change that changes nothing.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
        let (mut changes, mut lines) = (Vec::new(), Vec::new());
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(i as u64 + 1, |p| p.line());
                Error::changes(line, format!("{e}"))
            })?;
            let line = record.position().map_or(i as u64 + 1, |p| p.line());
            let fields: Vec<&str> = record.iter().map(str::trim).collect();
            if i == 0 {
                if fields != CHANGES_HEADER {
                    return Err(Error::changes(
                        1,
                        format!(
                            "the header is '{}'; a change log starts with '{}'",
                            fields.join(","),
                            CHANGES_HEADER.join(",")
                        ),
                    ));
                }
                continue;
            }
            if fields.len() == 1 && fields[0].is_empty() {
                continue;
            }
            let [image, label, old, new, why] = fields[..] else {
                return Err(Error::changes(
                    line,
                    format!(
                        "{} fields; each change has five: image,label,old,new,why",
                        fields.len()
                    ),
                ));
            };
            let is_value = |text: &str| text == "0" || text == "1";
            if image.is_empty() && label == old && !(is_value(old) && is_value(new)) {
                changes.push(LabelChange::label_renamed(old, new, why));
                lines.push(line);
                continue;
            }
            let value = |name: &str, text: &str| match text {
                "0" => Ok(0),
                "1" => Ok(1),
                _ => Err(Error::changes(line, format!("{name} is '{text}', not 0 or 1"))),
            };
            let (old, new) = (value("old", old)?, value("new", new)?);
            if old == new {
                return Err(Error::changes(line, format!("old and new are both {old}")));
            }
            if image.is_empty() && label.is_empty() {
                return Err(Error::changes(line, "neither an image nor a label is named"));
            }
            changes.push(LabelChange {
                image: image.to_string(),
                label: label.to_string(),
                old,
                new,
                why: why.to_string(),
                renamed: None,
            });
            lines.push(line);
        }
        Ok(ChangeLog { changes, lines })
    }

    /// The log as CSV text (UTF-8, `\n` line ends), which [`ChangeLog::parse`] reads back.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = writer.write_record(CHANGES_HEADER);
        for c in &self.changes {
            let (old, new) = match &c.renamed {
                Some(to) => (c.label.clone(), to.clone()),
                None => (c.old.to_string(), c.new.to_string()),
            };
            let _ = writer.write_record([&c.image, &c.label, &old, &new, &c.why]);
        }
        writer.into_inner().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_reads_back_what_it_wrote() {
        let log = ChangeLog::new(vec![
            LabelChange {
                image: "images/a, b.png".into(),
                label: "cat".into(),
                old: 0,
                new: 1,
                why: "suspected label error (score 0.97), accepted".into(),
                renamed: None,
            },
            LabelChange {
                image: "x.png".into(),
                label: "dog \"big\"".into(),
                old: 1,
                new: 0,
                why: String::new(),
                renamed: None,
            },
            LabelChange::label_renamed("dog \"big\"", "hound, big", "label renamed"),
            LabelChange::label_renamed("0", "zero", ""),
        ]);
        let text = log.to_csv();
        assert!(text.starts_with(b"image,label,old,new,why\n"));
        let read = ChangeLog::parse(&text).unwrap();
        assert_eq!(read.changes, log.changes);
        assert_eq!((read.line(0), read.line(1), log.line(1)), (2, 3, 3));
        assert_eq!(read.changes[2].kind(), ChangeKind::LabelRenamed);
        assert!(String::from_utf8_lossy(&text).contains("\n,0,0,zero,\n"));
    }

    #[test]
    fn a_bad_log_is_refused_by_line() {
        let cases: [(&str, &str); 6] = [
            ("image,label,value\n", "changes.csv line 1: the header is 'image,label,value'"),
            ("image,label,old,new,why\na.png,cat,0,1\n", "changes.csv line 2: 4 fields"),
            (
                "image,label,old,new,why\na.png,cat,0,1,x\nb.png,cat,2,1,x\n",
                "changes.csv line 3: old is '2'",
            ),
            (
                "image,label,old,new,why\na.png,cat,1,1,x\n",
                "changes.csv line 2: old and new are both 1",
            ),
            (
                "image,label,old,new,why\n,,0,1,x\n",
                "changes.csv line 2: neither an image nor a label",
            ),
            (
                "image,label,old,new,why\n,cat,dog,kitten,x\n",
                "changes.csv line 2: old is 'dog', not 0 or 1",
            ),
        ];
        for (text, expected) in cases {
            let error = ChangeLog::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
        assert_eq!(ChangeLog::parse(b"image,label,old,new,why\n").unwrap().changes, vec![]);
        let text =
            b"image,label,old,new,why\n,bird,0,1,x\nnew.jpg,,0,1,y\n,cat,1,0,z\nold.jpg,,1,0,w\n";
        let kinds: Vec<ChangeKind> =
            ChangeLog::parse(text).unwrap().changes.iter().map(LabelChange::kind).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::LabelAdded,
                ChangeKind::ImageAdded,
                ChangeKind::LabelRemoved,
                ChangeKind::ImageExcluded
            ]
        );
    }
}
