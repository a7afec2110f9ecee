//! The folder-per-label layout on small zips: labels, multi-label rows, wrappers, names that
//! cannot be labels, limits, ignored files, loose images.

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
    let Ok(Labelling::Folders(layout)) = find_labels(&mut archive, &Limits::default(), true) else {
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
