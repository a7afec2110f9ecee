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
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::error::ErrorKind;

    /// A zip of `(path, bytes)`, deflated.
    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (path, bytes) in files {
            writer.start_file(*path, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn labelling(files: &[(&str, &[u8])], limits: &Limits) -> Result<Labelling> {
        let mut archive = Archive::from_bytes(zip_of(files), limits).unwrap();
        find_labels(&mut archive, limits, false)
    }

    fn folders_of(files: &[(&str, &[u8])]) -> FolderLayout {
        match labelling(files, &Limits::default()) {
            Ok(Labelling::Folders(layout)) => *layout,
            Ok(Labelling::IndexCsv(path)) => panic!("read {path} instead of the folders"),
            Err(e) => panic!("{e}"),
        }
    }

    fn error(files: &[(&str, &[u8])]) -> Error {
        match labelling(files, &Limits::default()) {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        }
    }

    /// Each row's entry with the labels it carries.
    fn rows(layout: &FolderLayout) -> Vec<(String, Vec<&str>)> {
        let labels = &layout.index.labels;
        layout
            .index
            .rows()
            .zip(&layout.entries)
            .map(|(row, entry)| {
                assert_eq!(row.image, entry);
                let on = (0..labels.len()).filter(|&j| row.labels[j] == 1);
                (entry.clone(), on.map(|j| labels[j].as_str()).collect())
            })
            .collect()
    }

    #[test]
    fn two_label_folders_are_two_labels() {
        let layout =
            folders_of(&[("cat/1.jpg", b"one"), ("dog/2.jpg", b"two"), ("dog/3.png", b"three")]);
        assert_eq!(layout.index.labels, ["cat", "dog"]);
        assert_eq!(
            rows(&layout),
            [
                ("cat/1.jpg".into(), vec!["cat"]),
                ("dog/2.jpg".into(), vec!["dog"]),
                ("dog/3.png".into(), vec!["dog"])
            ]
        );
        assert_eq!(layout.index.targets(), [1, 0, 0, 1, 0, 1]);
        assert_eq!(layout.index.image_column, "image");
        assert!(layout.warnings.is_empty(), "{:?}", layout.warnings);
    }

    #[test]
    fn the_same_name_and_bytes_in_several_folders_is_one_image_with_each_label() {
        let layout = folders_of(&[
            ("cat/a.png", b"cat and dog"),
            ("dog/a.png", b"cat and dog"),
            ("dog/b.png", b"dog only"),
            ("bird/a.png", b"cat and dog"),
        ]);
        assert_eq!(layout.index.labels, ["bird", "cat", "dog"]);
        assert_eq!(
            rows(&layout),
            [("bird/a.png".into(), vec!["bird", "cat", "dog"]), ("dog/b.png".into(), vec!["dog"])]
        );
        assert!(layout.warnings.is_empty(), "{:?}", layout.warnings);
    }

    #[test]
    fn a_folder_wrapping_everything_is_not_a_label() {
        let layout = folders_of(&[
            ("pets/cat/1.jpg", b"one"),
            ("pets/dog/2.jpg", b"two"),
            ("pets/dog/3.jpg", b"three"),
        ]);
        assert_eq!(layout.index.labels, ["cat", "dog"]);
        assert_eq!(layout.entries, ["pets/cat/1.jpg", "pets/dog/2.jpg", "pets/dog/3.jpg"]);
        // Two wrappers, and a label folder's own sub-folders: the label is the nearest folder.
        let layout = folders_of(&[("a/b/x/cat/1.jpg", b"one"), ("a/b/dog/2.jpg", b"two")]);
        assert_eq!(layout.index.labels, ["cat", "dog"]);
    }

    #[test]
    fn the_same_name_with_other_bytes_is_two_images_and_a_warning_names_both() {
        let layout = folders_of(&[("cat/1.jpg", b"a cat"), ("dog/1.jpg", b"a dog")]);
        assert_eq!(
            rows(&layout),
            [("cat/1.jpg".into(), vec!["cat"]), ("dog/1.jpg".into(), vec!["dog"])]
        );
        assert_eq!(layout.warnings.len(), 1, "{:?}", layout.warnings);
        let warning = &layout.warnings[0];
        assert!(warning.starts_with("1 file name(s) appear in several label folders"), "{warning}");
        assert!(warning.contains("'cat/1.jpg' and 'dog/1.jpg'"), "{warning}");
    }

    #[test]
    fn folder_names_that_cannot_be_labels_are_named_each() {
        let long = format!("pets/{}/1.png", "x".repeat(MAX_LABEL_BYTES + 1));
        let err = error(&[
            ("pets/Cat/1.png", b"1"),
            ("pets/cat/2.png", b"2"),
            ("pets/Image/3.png", b"3"),
            ("pets/tab\there/4.png", b"4"),
            ("pets/ /5.png", b"5"),
            (&long, b"6"),
            ("pets/dog/7.png", b"7"),
        ]);
        assert_eq!(err.problem_count(), 5, "{err}");
        let text = err.to_string();
        for expected in [
            "folder 'pets/cat/': its name differs from folder 'pets/Cat/' only in case",
            "folder 'pets/Image/': 'image' names the file column",
            "folder 'pets/tab\\there/': its name holds control characters",
            "folder 'pets/ /': its name is blank",
            "bytes long, and a label holds at most 1000",
        ] {
            assert!(text.contains(expected), "{expected:?} not in {text}");
        }
        assert!(!text.contains("index.csv line"), "{text}");
        assert!(text.contains(&format!("folder 'pets/{}…/'", "x".repeat(95))), "{text}");
        assert!(err.problems().iter().all(|p| matches!(p.kind(), ErrorKind::LabelFolder { .. })));
    }

    #[test]
    fn more_label_folders_than_the_limit_is_refused_in_words() {
        let names: Vec<String> = (0..5).map(|i| format!("label{i}/x{i}.png")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let limits = Limits { max_columns: 4, ..Limits::default() };
        let Err(err) = labelling(&files, &limits) else { panic!("accepted") };
        assert!(
            matches!(err.kind(), ErrorKind::Limit { what: "label count", limit: 4, actual: 5, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("each folder holding images is a label"), "{err}");
        assert!(labelling(&files[..4], &limits).is_ok());
        // Images × labels: at most what an index.csv of `max_csv_bytes` could hold.
        let limits = Limits { max_csv_bytes: 2 * 19, ..Limits::default() };
        let Err(err) = labelling(&files, &limits) else { panic!("accepted") };
        assert!(matches!(err.kind(), ErrorKind::Limit { limit: 19, actual: 25, .. }), "{err}");
        assert!(labelling(&files[..4], &limits).is_ok(), "16 cells");
    }

    #[test]
    fn other_files_are_ignored_with_a_warning_and_empty_folders_are_no_labels() {
        let layout = folders_of(&[
            ("cat/1.jpg", b"1"),
            ("cat/notes.txt", b"text"),
            ("dog/2.jpg", b"2"),
            ("dog/3.gif", b"GIF89a"),
            ("fish/readme.md", b"no images here"),
            ("LICENSE", b"text"),
            ("sounds/4.ogg", b"OggS"),
        ]);
        assert_eq!(layout.index.labels, ["cat", "dog", "sounds"], "a folder of no media is none");
        assert_eq!(layout.warnings.len(), 1, "{:?}", layout.warnings);
        let warning = &layout.warnings[0];
        assert!(warning.starts_with("4 file(s) in the zip are neither images"), "{warning}");
        assert!(warning.contains("(e.g. LICENSE, cat/notes.txt, dog/3.gif)"), "{warning}");
    }

    #[test]
    fn loose_files_beside_label_folders_are_ignored_with_a_warning() {
        let layout =
            folders_of(&[("pets/cat/1.jpg", b"1"), ("pets/dog/2.jpg", b"2"), ("pets/3.jpg", b"3")]);
        assert_eq!(layout.entries, ["pets/cat/1.jpg", "pets/dog/2.jpg"]);
        assert_eq!(layout.warnings.len(), 1, "{:?}", layout.warnings);
        let warning = &layout.warnings[0];
        assert!(warning.starts_with("1 file(s) lie at the top level of 'pets/'"), "{warning}");
        assert!(warning.contains("(e.g. pets/3.jpg)"), "{warning}");
        let layout = folders_of(&[("cat/1.jpg", b"1"), ("2.jpg", b"2")]);
        assert!(layout.warnings[0].starts_with("1 file(s) lie at the top level of the zip"));
    }

    #[test]
    fn only_loose_files_are_refused_saying_how_to_label_them() {
        let err = error(&[("1.jpg", b"1"), ("2.png", b"2"), ("notes.txt", b"text")]);
        assert!(
            matches!(err.kind(), ErrorKind::MissingIndexCsv { unlabelled: 2, wrapper, .. } if wrapper.is_empty()),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.starts_with("no index.csv in the zip, and its 2 files"), "{text}");
        assert!(text.contains("lie at the top level in no label folder, so they have no labels"));
        assert!(text.contains("cat/1.jpg") && text.contains("or add an index.csv"), "{text}");
        // All in one folder: the folder is a wrapper, not the label of every file.
        let text = error(&[("pets/1.jpg", b"1"), ("pets/2.jpg", b"2")]).to_string();
        assert!(text.contains("are all in one folder, 'pets/', in no label folder"), "{text}");
        assert!(text.contains("pets/cat/1.jpg"), "{text}");
        // Nothing to label: today's message, which says both ways.
        let err = error(&[("notes.txt", b"text"), ("docs/readme.md", b"text")]);
        assert!(matches!(err.kind(), ErrorKind::MissingIndexCsv { unlabelled: 0, .. }), "{err}");
        assert!(err.to_string().starts_with("no index.csv in the zip (2 entries)"), "{err}");
        // A zip of the dataset zip is told to unzip it.
        let err = error(&[("dataset.zip", b"PK")]);
        assert!(matches!(err.kind(), ErrorKind::InnerZip { .. }), "{err}");
    }

    #[test]
    fn loose_images_may_be_opened_without_labels() {
        let files: [(&str, &[u8]); 3] = [("a.jpg", b"1"), ("b.png", b"2"), ("notes.txt", b"x")];
        let mut archive = Archive::from_bytes(zip_of(&files), &Limits::default()).unwrap();
        let Ok(Labelling::Folders(layout)) = find_labels(&mut archive, &Limits::default(), true)
        else {
            panic!("refused")
        };
        assert!(layout.index.labels.is_empty());
        assert_eq!(layout.entries, ["a.jpg", "b.png"]);
        assert_eq!(layout.index.len(), 2);
        assert_eq!(layout.warnings.len(), 1, "notes.txt is ignored: {:?}", layout.warnings);
    }

    #[test]
    fn index_csv_wins_over_folders() {
        let files: [(&str, &[u8]); 3] = [
            ("data/index.csv", b"image,a\ncat/1.jpg,1\n"),
            ("data/cat/1.jpg", b"1"),
            ("data/dog/2.jpg", b"2"),
        ];
        match labelling(&files, &Limits::default()) {
            Ok(Labelling::IndexCsv(path)) => assert_eq!(path, "data/index.csv"),
            Ok(Labelling::Folders(_)) => panic!("the folders were read, not index.csv"),
            Err(e) => panic!("{e}"),
        }
    }
}
