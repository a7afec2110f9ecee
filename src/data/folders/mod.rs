//! Datasets without an `index.csv`: one folder per label (issue #34). `cat/1.jpg` and
//! `dog/2.jpg` make the labels `cat` and `dog`: a file's label is the name of the folder it
//! lies in. A folder wrapping everything (`pets/cat/1.jpg`, `pets/dog/2.jpg`: a zip made by
//! compressing a folder) is not a label. The same file name in several label folders is one
//! image with each folder's label when its bytes are the same (same CRC-32 and size); with
//! other bytes the files are separate images, and a warning names them.
//!
//! `index.csv` wins when the zip has one ([`find_labels`]). The layout is read from the zip's
//! listing alone (paths, CRC-32s and sizes): no file is inflated. Folder names are checked as
//! labels (not blank, at most [`MAX_LABEL_BYTES`], no control characters, not `image`, unique
//! whatever their case) and counted against [`Limits::max_columns`]; each problem names its
//! folder. Files that are neither images nor sound clips, and images outside any label folder,
//! are left out with a warning; a zip whose images are all outside label folders is refused,
//! saying how to give them labels.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, ProblemList, Result};
use crate::limits::{Limits, MAX_LABEL_BYTES};

use super::archive::Archive;
use super::audio::SOUND_EXTENSIONS;
use super::index::IndexCsv;
use super::locate::{find_index_csv, is_data_path, missing_index_csv};

/// Where a zip's labels come from.
pub(super) enum Labelling {
    /// The `index.csv` at this path.
    IndexCsv(String),
    /// The folders the files lie in (the zip has no `index.csv`).
    Folders(Box<FolderLayout>),
}

/// A dataset read from its folders: the index they make, each row's zip entry, and what the
/// user should know.
pub(super) struct FolderLayout {
    /// One row per image (its path is its zip entry), one 0/1 column per label folder name,
    /// in name order.
    pub(super) index: IndexCsv,
    /// The zip entry of each row's file.
    pub(super) entries: Vec<String>,
    /// Files left out, and file names repeated with other bytes.
    pub(super) warnings: Vec<String>,
}

/// Where the labels come from: `index.csv` when the zip has one (the shallowest), else the
/// folder names.
///
/// # Errors
/// No `index.csv` and no image or sound clip in a label folder: `InnerZip` for a zip holding a
/// zip, else `MissingIndexCsv` counting the files without labels. Folder names that cannot be
/// labels: a `LabelFolder` each (several as `Problems`). More label folders than
/// [`Limits::max_columns`], or label cells than [`Limits::check_label_cells`] allows: `Limit`.
///
/// With `unlabelled_ok`, a zip whose images all lie outside label folders is no error: each
/// image is a row with no label (the page labels them).
pub(super) fn find_labels(
    archive: &mut Archive,
    limits: &Limits,
    unlabelled_ok: bool,
) -> Result<Labelling> {
    match find_index_csv(archive) {
        Some(path) => Ok(Labelling::IndexCsv(path)),
        None => read_folders(archive, limits, unlabelled_ok)
            .map(|layout| Labelling::Folders(Box::new(layout))),
    }
}

/// The folder-per-label layout of a zip with no `index.csv`; see [`find_labels`].
fn read_folders(
    archive: &mut Archive,
    limits: &Limits,
    unlabelled_ok: bool,
) -> Result<FolderLayout> {
    let media: Vec<String> =
        archive.paths().filter(|p| is_data_path(p)).map(str::to_string).collect();
    let mut warnings: Vec<String> = other_files_warning(archive).into_iter().collect();
    let root = common_folder(&media);
    let strip = if root.is_empty() { 0 } else { root.len() + 1 };
    let (loose, labelled): (Vec<&String>, Vec<&String>) =
        media.iter().partition(|path| !path[strip..].contains('/'));
    if labelled.is_empty() {
        if unlabelled_ok && !loose.is_empty() {
            // Every image a row with no label yet.
            let entries: Vec<String> = loose.iter().map(|p| p.to_string()).collect();
            let index = IndexCsv::from_listing(Vec::new(), &entries, Vec::new());
            return Ok(FolderLayout { index, entries, warnings });
        }
        return Err(missing_index_csv(archive, loose.len(), root));
    }
    warnings.extend(loose_files_warning(&loose, root));

    // Each label's name, with the first folder of that name (for messages), in name order.
    let mut folders: BTreeMap<&str, &str> = BTreeMap::new();
    for path in &labelled {
        let folder = parent(path);
        folders.entry(file_name(folder)).or_insert(folder);
    }
    limits.check_label_folders(folders.len() as u64)?;
    check_names(&folders)?;
    let labels: Vec<String> = folders.keys().map(|name| name.to_string()).collect();
    let column: HashMap<&str, usize> =
        folders.keys().enumerate().map(|(j, &name)| (name, j)).collect();

    // One row per file name and content: the same name with the same bytes in several
    // folders is one image with each folder's label.
    let mut rows: HashMap<(&str, u32, u64), usize> = HashMap::new();
    // Per file name, the first path of each distinct content: more than one is a warning.
    let mut contents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut entries = Vec::new();
    // Each labelled file's row and label column.
    let mut cells = Vec::with_capacity(labelled.len());
    for path in &labelled {
        let name = file_name(path);
        let row = match archive.checksum(path) {
            Some((crc, size)) => match rows.get(&(name, crc, size)) {
                Some(&row) => Some(row),
                None => {
                    rows.insert((name, crc, size), entries.len());
                    contents.entry(name).or_default().push(path.as_str());
                    None
                }
            },
            None => None, // not in the listing: never merged
        };
        let row = row.unwrap_or_else(|| {
            entries.push(path.to_string());
            entries.len() - 1
        });
        cells.push((row, column[file_name(parent(path))]));
    }
    // The targets are `images × labels` bytes: no more than an index.csv could hold.
    limits.check_label_cells(entries.len() as u64 * labels.len() as u64)?;
    let mut targets = vec![0; entries.len() * labels.len()];
    for (row, label) in cells {
        targets[row * labels.len() + label] = 1;
    }
    warnings.extend(same_name_warning(&contents));
    let index = IndexCsv::from_listing(labels, &entries, targets);
    Ok(FolderLayout { index, entries, warnings })
}

/// The longest folder every path lies in (`pets` for `pets/cat/1.jpg` and `pets/dog/2.jpg`,
/// also for `pets/1.jpg` and `pets/2.jpg`); empty when there is none.
fn common_folder(paths: &[String]) -> &str {
    let Some(first) = paths.first() else { return "" };
    let mut common = parent(first);
    for path in paths {
        while !within(parent(path), common) {
            common = parent(common);
        }
        if common.is_empty() {
            break;
        }
    }
    common
}

/// True when `folder` is `outer` or lies inside it (whole components); every folder lies in
/// the top level (`""`).
fn within(folder: &str, outer: &str) -> bool {
    outer.is_empty()
        || folder.strip_prefix(outer).is_some_and(|r| r.is_empty() || r.starts_with('/'))
}

/// The folder a normalised path lies in (empty at the top level).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// The last component of a normalised path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Every folder name that cannot be a label, each a problem naming its folder.
fn check_names(folders: &BTreeMap<&str, &str>) -> Result<()> {
    let mut problems = ProblemList::default();
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (&name, &folder) in folders {
        let place = format!("{}/", shown(folder));
        if let Some(reason) = name_problem(name) {
            problems.push(Error::label_folder(&place, reason));
        } else if let Some(first) = seen.get(&name.to_lowercase()) {
            problems.push(Error::label_folder(
                &place,
                format!(
                    "its name differs from folder '{}/' only in case, and labels must differ in more; merge the two folders or rename one",
                    shown(first)
                ),
            ));
        } else {
            seen.insert(name.to_lowercase(), folder);
        }
    }
    problems.into_error().map_or(Ok(()), Err)
}

/// A folder's path as a message shows it: control characters escaped (`\t`), and at most
/// 100 characters (a name may be longer than a label may).
fn shown(folder: &str) -> String {
    let mut out = String::new();
    for (i, c) in folder.chars().enumerate() {
        if i == 100 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Why a folder name cannot be a label (the rules of a model file's labels, and `image`,
/// the file column of `index.csv`), with what to do; `None` when it can.
fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("its name is blank; name the folder after its label".into())
    } else if name.len() > MAX_LABEL_BYTES {
        Some(format!(
            "its name is {} bytes long, and a label holds at most {MAX_LABEL_BYTES}; give the folder a shorter name",
            name.len()
        ))
    } else if name.chars().any(char::is_control) {
        Some("its name holds control characters (a line break, a tab, …); rename the folder".into())
    } else if name.eq_ignore_ascii_case("image") {
        Some(
            "'image' names the file column of a dataset and cannot be a label; rename the folder after its label"
                .into(),
        )
    } else {
        None
    }
}

/// The warning for files that are neither images nor sound clips (they are left out), with
/// examples.
fn other_files_warning(archive: &Archive) -> Option<String> {
    let others: Vec<&str> = archive.paths().filter(|p| !is_data_path(p)).collect();
    (!others.is_empty()).then(|| {
        format!(
            "{} file(s) in the zip are neither images (.png, .jpg, .jpeg) nor sound clips ({}) and are ignored (e.g. {}); convert images of other formats to .jpg or .png to use them",
            others.len(),
            SOUND_EXTENSIONS.join(", "),
            examples(&others)
        )
    })
}

/// The warning for images or clips in no label folder (they are left out), with examples.
fn loose_files_warning(loose: &[&String], root: &str) -> Option<String> {
    let place = if root.is_empty() { "the zip".to_string() } else { format!("'{root}/'") };
    let paths: Vec<&str> = loose.iter().map(|p| p.as_str()).collect();
    (!paths.is_empty()).then(|| {
        format!(
            "{} file(s) lie at the top level of {place}, in no label folder, and are ignored: they have no labels (e.g. {}); move each into the folder of its label",
            paths.len(),
            examples(&paths)
        )
    })
}

/// The warning for file names found with different bytes in several folders: each is a
/// separate image with its own folder's label.
fn same_name_warning(contents: &BTreeMap<&str, Vec<&str>>) -> Option<String> {
    let repeated: Vec<&Vec<&str>> = contents.values().filter(|paths| paths.len() > 1).collect();
    let pairs: Vec<String> =
        repeated.iter().take(3).map(|paths| format!("'{}' and '{}'", paths[0], paths[1])).collect();
    (!repeated.is_empty()).then(|| {
        format!(
            "{} file name(s) appear in several label folders with different bytes (e.g. {}); each such file is a separate image with its own folder's label (a file is one image with several labels only when the same bytes have the same name in each folder)",
            repeated.len(),
            pairs.join(", ")
        )
    })
}

/// The first three paths, for a warning.
fn examples(paths: &[&str]) -> String {
    paths.iter().take(3).copied().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
