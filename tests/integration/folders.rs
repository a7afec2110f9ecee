//! Datasets without an `index.csv`, one folder per label (issue #34): the library reads the
//! labels from the folders, and the CLI inspects, trains and evaluates such a zip as it does
//! one with an `index.csv`.

use tagtrain::data::{ChangeLog, LabelChange, LabelSource};
use tagtrain::{DatasetSource, ErrorKind, Limits};

use crate::cli::{json, stderr, stdout, tagtrain, temp_dir};
use crate::common::{solid_png, zip_of};

/// `pets/red/`, `pets/blue/` (a zip made by compressing `pets/`): 6 red and 6 blue squares of
/// 16 px, and 2 purple ones in both folders (the same file: red and blue), a note and a loose
/// image beside the label folders.
fn pets_zip() -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..6u8 {
        files.push((format!("pets/red/r{i}.png"), solid_png(16, 16, [200 + i, 20, 20])));
        files.push((format!("pets/blue/b{i}.png"), solid_png(16, 16, [20, 20, 200 + i])));
    }
    for i in 0..2u8 {
        let purple = solid_png(16, 16, [180, 20 + i, 180]);
        files.push((format!("pets/red/p{i}.png"), purple.clone()));
        files.push((format!("pets/blue/p{i}.png"), purple));
    }
    files.push(("pets/README.txt".into(), b"red and blue squares".to_vec()));
    files.push(("pets/unsorted.png".into(), solid_png(16, 16, [0, 200, 0])));
    let entries: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(path, bytes)| (path.as_str(), bytes.clone())).collect();
    zip_of(&entries)
}

#[test]
fn the_library_reads_labels_from_folders() {
    let mut source = DatasetSource::from_zip(pets_zip(), &Limits::default()).unwrap();
    assert_eq!(source.labels(), ["blue", "red"]);
    assert_eq!(source.len(), 14, "6 + 6 + 2 images in both folders");
    let profile = source.profile();
    assert_eq!(profile.labels_from, LabelSource::Folders);
    let counts: Vec<(&str, usize, usize)> =
        profile.labels.iter().map(|l| (l.name.as_str(), l.positives, l.negatives)).collect();
    assert_eq!(counts, [("blue", 8, 6), ("red", 8, 6)]);
    assert_eq!(profile.labels_per_image, [0, 12, 2]);
    let purple = source.entries().iter().position(|e| e == "pets/blue/p0.png").unwrap();
    assert_eq!(&source.targets()[purple * 2..purple * 2 + 2], [1, 1]);
    let warnings = profile.warnings.join("\n");
    assert!(warnings.contains("ignored (e.g. pets/README.txt)"), "{warnings}");
    assert!(warnings.contains("top level of 'pets/'"), "{warnings}");
    assert!(warnings.contains("pets/unsorted.png"), "{warnings}");
    let json = serde_json::to_value(source.summary()).unwrap();
    assert_eq!(json["labelsFrom"], "folders");

    // Decoding, the split and batches need nothing more.
    let dataset = source.decode(16, tagtrain::ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!(dataset.labels, ["blue", "red"]);
    assert_eq!(dataset.targets, source.targets());
}

#[test]
fn an_edited_folder_dataset_exports_with_an_index_csv() {
    let mut source = DatasetSource::from_zip(pets_zip(), &Limits::default()).unwrap();
    let change = |image: &str, label: &str, old, new| LabelChange {
        image: image.into(),
        label: label.into(),
        old,
        new,
        why: "edited by hand".into(),
        renamed: None,
    };
    let log = ChangeLog::new(vec![
        change("pets/red/r0.png", "blue", 0, 1),
        change("pets/blue/p1.png", "red", 1, 0),
    ]);
    source.apply_changes(&log).unwrap();
    let exported = source.export_zip().unwrap();
    assert_eq!(source.changes(), &log);
    assert_eq!(source.label_edits(), 2);

    let again = DatasetSource::from_zip(exported.clone(), &Limits::default()).unwrap();
    assert_eq!(again.profile().labels_from, LabelSource::IndexCsv, "the export has an index.csv");
    assert_eq!(again.labels(), source.labels());
    assert_eq!(again.entries(), source.entries());
    assert_eq!(again.targets(), source.targets());
    let r0 = again.entries().iter().position(|e| e == "pets/red/r0.png").unwrap();
    assert_eq!(&again.targets()[r0 * 2..r0 * 2 + 2], [1, 1]);
    let p1 = again.entries().iter().position(|e| e == "pets/blue/p1.png").unwrap();
    assert_eq!(&again.targets()[p1 * 2..p1 * 2 + 2], [1, 0]);
    // The log beside it, and every file of the original zip, bytes untouched.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(exported)).unwrap();
    let mut original = zip::ZipArchive::new(std::io::Cursor::new(pets_zip())).unwrap();
    let read = |zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str| {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut bytes).unwrap();
        bytes
    };
    let logged = ChangeLog::parse(&read(&mut zip, "changes.csv")).unwrap();
    assert_eq!(logged.changes, log.changes);
    for i in 0..original.len() {
        let name = original.by_index(i).unwrap().name().unwrap().to_string();
        assert_eq!(read(&mut zip, &name), read(&mut original, &name), "{name}");
    }
}

#[test]
fn labels_set_by_hand_are_logged_and_undone_in_order() {
    let mut source = DatasetSource::from_zip(pets_zip(), &Limits::default()).unwrap();
    let r0 = source.entries().iter().position(|e| e == "pets/red/r0.png").unwrap();
    let cell = |source: &DatasetSource| source.targets()[r0 * 2];
    source.set_label(r0, "blue", 1, "by hand").unwrap();
    source.set_label(r0, "blue", 0, "changed my mind").unwrap();
    assert_eq!(cell(&source), 0);
    assert_eq!(source.changes().changes.len(), 2);
    // The first cannot be undone before the second, which edited the same cell.
    let refused = source.undo_change(0).unwrap_err().to_string();
    assert!(
        refused.contains("a later change builds on this one; undo that change first"),
        "{refused}"
    );
    source.undo_change(1).unwrap();
    assert_eq!(cell(&source), 1);
    source.undo_change(0).unwrap();
    assert_eq!(cell(&source), 0);
    assert!(source.changes().changes.is_empty());
    // What cannot be set is refused in words, and nothing is logged.
    for (label, value, expected) in [
        ("green", 1, "no label 'green'"),
        ("red", 1, "already has red = 1"),
        ("red", 2, "a label is 0 or 1, not 2"),
    ] {
        let error = source.set_label(r0, label, value, "x").unwrap_err().to_string();
        assert!(error.contains(expected), "{expected:?} not in {error}");
    }
    assert!(source.set_label(99, "red", 0, "x").unwrap_err().to_string().contains("no image 99"));
    assert!(source.changes().changes.is_empty());
    assert_eq!(source.label_edits(), 0);
}

#[test]
fn an_index_csv_decides_over_the_folders() {
    let zip = zip_of(&[
        ("index.csv", b"image,square\nred/a.png,1\nblue/b.png,0\n".to_vec()),
        ("red/a.png", solid_png(4, 4, [200, 0, 0])),
        ("blue/b.png", solid_png(4, 4, [0, 0, 200])),
    ]);
    let source = DatasetSource::from_zip(zip, &Limits::default()).unwrap();
    assert_eq!(source.labels(), ["square"]);
    assert_eq!(source.profile().labels_from, LabelSource::IndexCsv);
}

#[test]
fn folder_names_that_cannot_be_labels_are_located() {
    let png = solid_png(4, 4, [0, 0, 0]);
    let zip =
        zip_of(&[("Cat/a.png", png.clone()), ("cat/b.png", png.clone()), ("image/c.png", png)]);
    let Err(err) = DatasetSource::from_zip(zip, &Limits::default()) else { panic!("accepted") };
    let text = err.to_string();
    assert!(text.starts_with("the dataset has 2 problems"), "{text}");
    assert!(text.contains("folder 'cat/': its name differs from folder 'Cat/' only in case"));
    assert!(text.contains("folder 'image/': 'image' names the file column"), "{text}");
}

#[test]
fn loose_images_without_folders_are_refused_saying_how_to_label_them() {
    let png = solid_png(4, 4, [0, 0, 0]);
    let zip = zip_of(&[("a.png", png.clone()), ("b.png", png)]);
    let Err(err) = DatasetSource::from_zip(zip, &Limits::default()) else { panic!("accepted") };
    assert!(matches!(err.kind(), ErrorKind::MissingIndexCsv { unlabelled: 2, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("so they have no labels"), "{text}");
    assert!(text.contains("in a folder named after the label"), "{text}");
    assert!(text.contains("or add an index.csv"), "{text}");
}

/// `tagtrain inspect` says where the labels came from and counts them; `train` makes a model
/// whose labels are the folder names, and `eval` measures it on the same zip.
#[test]
fn the_cli_inspects_trains_and_evaluates_a_folder_per_label_zip() {
    let dir = temp_dir("folders");
    let zip = dir.join("pets.zip");
    std::fs::write(&zip, pets_zip()).unwrap();
    let zip = zip.to_str().unwrap();

    let out = tagtrain(&["inspect", zip]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("14 images, 2 labels (labels from folder names, no index.csv)"),
        "{text}"
    );
    let row = |name: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.split_whitespace().next() == Some(name));
        let line = line.unwrap_or_else(|| panic!("no row for {name}: {text}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("blue"), ["blue", "8", "6"]);
    assert_eq!(row("red"), ["red", "8", "6"]);
    assert!(text.contains("warning: 1 file(s) lie at the top level of 'pets/'"), "{text}");
    let summary = json(&tagtrain(&["inspect", zip, "--json"]));
    assert_eq!(summary["labelsFrom"], "folders");

    let model = dir.join("pets.safetensors");
    let model = model.to_str().unwrap();
    let out = tagtrain(&[
        "train",
        zip,
        "-o",
        model,
        "--epochs",
        "2",
        "--image-size",
        "16",
        "--batch-size",
        "4",
        "--quiet",
    ]);
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    let meta = json(&tagtrain(&["inspect", model, "--json"]));
    assert_eq!(meta["labels"], serde_json::json!(["blue", "red"]));
    assert_eq!(meta["input"]["imageSize"], 16);

    let eval = json(&tagtrain(&["eval", model, zip, "--json"]));
    assert_eq!(eval["images"], 14);
    let names: Vec<&str> =
        eval["labels"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["blue", "red"]);

    let loose = dir.join("loose.zip");
    std::fs::write(&loose, zip_of(&[("a.png", solid_png(4, 4, [0, 0, 0]))])).unwrap();
    let out = tagtrain(&["inspect", loose.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("so they have no labels"), "{}", stderr(&out));
    std::fs::remove_dir_all(dir).ok();
}
