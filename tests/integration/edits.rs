//! Building a dataset where it is used (issue #34): labels added, images added (a webcam frame
//! as JPEG bytes), labels set and undone; the edited data decodes and exports as a zip whose
//! `index.csv` has the new columns and rows, whose other files are untouched, and which the
//! library reads back with the same labels; a change log adding them applies to the original.

use std::io::{Cursor, Read};

use tagtrain::data::{ChangeKind, ChangeLog};
use tagtrain::{DatasetSource, Limits, ResizePolicy};

use crate::common::{solid_png, zip_of};

/// `data/index.csv` (a zip made by compressing `data/`) with a `split` column and a note
/// column, and two images.
fn dataset_zip() -> Vec<u8> {
    zip_of(&[
        ("data/index.csv", b"image,cat,split,note\na.png,1,train,first\nb.png,0,valid,\n".to_vec()),
        ("data/a.png", solid_png(8, 8, [200, 30, 30])),
        ("data/b.png", solid_png(8, 8, [30, 30, 200])),
    ])
}

/// A 12×10 JPEG, as the page encodes a webcam frame.
fn jpeg() -> Vec<u8> {
    let frame =
        image::RgbImage::from_fn(12, 10, |x, y| image::Rgb([x as u8 * 20, y as u8 * 20, 90]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(&frame)
        .unwrap();
    bytes
}

fn entry(zip: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut bytes = Vec::new();
    archive.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn labels_and_images_added_are_decoded_exported_and_read_back() {
    let mut source = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    source.add_label("bird", "label added").unwrap();
    assert_eq!(source.labels(), ["cat", "bird"]);
    assert_eq!(source.targets(), [1, 0, 0, 0]);
    let frame = jpeg();
    let new = source.add_image("captured/frame-1.jpg", frame.clone(), "webcam frame").unwrap();
    assert_eq!((new, source.len()), (2, 3));
    assert_eq!(source.entries()[2], "data/captured/frame-1.jpg");
    source.set_label(new, "bird", 1, "labelled by hand").unwrap();
    source.set_label(1, "bird", 1, "labelled by hand").unwrap();
    assert_eq!(source.targets(), [1, 0, 0, 1, 0, 1]);
    let kinds: Vec<ChangeKind> = source.changes().changes.iter().map(|c| c.kind()).collect();
    assert_eq!(
        kinds,
        [ChangeKind::LabelAdded, ChangeKind::ImageAdded, ChangeKind::Cell, ChangeKind::Cell]
    );

    // What cannot be added is refused in words, and nothing changes.
    for (name, expected) in
        [("Cat", "has a label 'cat' already"), ("image", "file column"), ("", "needs a name")]
    {
        let error = source.add_label(name, "x").unwrap_err().to_string();
        assert!(error.contains(expected), "{name:?}: {error}");
    }
    let error = source.add_image("a.png", frame.clone(), "x").unwrap_err().to_string();
    assert!(error.contains("'data/a.png' is in the dataset's zip already"), "{error}");
    let error = source.add_image("captured/bad.jpg", b"not a jpeg".to_vec(), "x").unwrap_err();
    assert!(error.to_string().contains("'data/captured/bad.jpg' cannot be added"), "{error}");
    assert_eq!((source.len(), source.changes().changes.len()), (3, 4));

    // Decoding sees the frame.
    let dataset = source.decode(8, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!((dataset.len(), dataset.labels.len(), dataset.label_edits), (3, 2, 4));
    let frame_pixels = &dataset.pixels[2 * 8 * 8 * 3..3 * 8 * 8 * 3];
    assert!(frame_pixels.iter().any(|&v| v > 0), "the frame decoded");

    // The export: the new column and row, the frame's bytes as captured, the log.
    let exported = source.export_zip().unwrap();
    let index = String::from_utf8(entry(&exported, "data/index.csv")).unwrap();
    assert_eq!(
        index,
        "image,cat,split,note,bird\na.png,1,train,first,0\nb.png,0,valid,,1\ncaptured/frame-1.jpg,0,train,,1\n"
    );
    assert_eq!(entry(&exported, "data/captured/frame-1.jpg"), frame);
    assert_eq!(entry(&exported, "data/a.png"), entry(&dataset_zip(), "data/a.png"));
    let log = ChangeLog::parse(&entry(&exported, "data/changes.csv")).unwrap();
    assert_eq!(log.changes, source.changes().changes);
    let again = DatasetSource::from_zip(exported.clone(), &Limits::default()).unwrap();
    assert_eq!(again.labels(), source.labels());
    assert_eq!(again.targets(), source.targets());
    assert_eq!(again.entries(), source.entries());
    assert_eq!(again.label_edits(), 4, "the exported log counts");

    // The log applies to the original zip once the frame is in it (the CLI's apply-changes).
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("data/index.csv", entry(&dataset_zip(), "data/index.csv")),
        ("data/a.png", entry(&dataset_zip(), "data/a.png")),
        ("data/b.png", entry(&dataset_zip(), "data/b.png")),
    ];
    let mut without = DatasetSource::from_zip(zip_of(&files), &Limits::default()).unwrap();
    let error = without.apply_changes(&log).unwrap_err().to_string();
    assert!(
        error.starts_with("changes.csv line 3: 'data/captured/frame-1.jpg' is not in the zip"),
        "{error}"
    );
    assert_eq!((without.len(), without.labels().len()), (2, 1), "nothing changed");
    files.push(("data/captured/frame-1.jpg", frame));
    let mut with = DatasetSource::from_zip(zip_of(&files), &Limits::default()).unwrap();
    with.apply_changes(&log).unwrap();
    assert_eq!(with.targets(), source.targets());
}

#[test]
fn additions_are_undone_only_after_what_builds_on_them() {
    let mut source = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    source.add_label("bird", "label added").unwrap();
    let new = source.add_image("captured/1.jpg", jpeg(), "webcam frame").unwrap();
    source.set_label(new, "bird", 1, "by hand").unwrap();
    for k in [0, 1] {
        let error = source.undo_change(k).unwrap_err().to_string();
        assert!(
            error.contains("a later change builds on this one; undo that change first"),
            "{error}"
        );
    }
    source.undo_change(2).unwrap();
    source.undo_change(1).unwrap();
    assert_eq!(source.len(), 2);
    source.undo_change(0).unwrap();
    assert_eq!(source.labels(), ["cat"]);
    assert_eq!(source.targets(), [1, 0]);
    assert!(source.changes().changes.is_empty());
    // The name is free again.
    source.add_image("captured/1.jpg", jpeg(), "webcam frame").unwrap();
    assert_eq!(source.len(), 3);
}

#[test]
fn a_webcam_frame_is_stored_as_jpeg_and_the_session_restores_on_the_same_zip() {
    let mut source = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    source.add_label("bird", "label added").unwrap();
    let rgba: Vec<u8> = (0..16 * 12).flat_map(|i| [200, (i % 256) as u8, 40, 255]).collect();
    let zip_bytes = source.zip_bytes();
    let (index, path) =
        source.add_frame(&rgba, (16, 12), &["bird".to_string()], "webcam frame").unwrap();
    assert_eq!((index, path.as_str()), (2, "data/captured/frame-1.jpg"));
    let (_, second) = source.add_frame(&rgba, (16, 12), &[], "webcam frame").unwrap();
    assert_eq!(second, "data/captured/frame-2.jpg", "the next free name");
    let (stored, jpeg) = source.added_files().next().unwrap();
    assert_eq!(stored, "data/captured/frame-1.jpg");
    assert_eq!(&jpeg[..3], [0xFF, 0xD8, 0xFF], "a JPEG");
    let added: u64 = source.added_files().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(source.zip_bytes(), zip_bytes + added, "the memory plan counts the frames");
    let decoded = image::load_from_memory(jpeg).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (16, 12));
    assert_eq!(&source.targets()[2 * 2..3 * 2], [0, 1], "labelled bird");
    // Bad frames and labels are refused, and nothing is added.
    let error = source.add_frame(&rgba[4..], (16, 12), &[], "x").unwrap_err().to_string();
    assert!(error.contains("expected 768"), "{error}");
    let error = source.add_frame(&rgba, (16, 12), &["fish".into()], "x").unwrap_err().to_string();
    assert!(error.contains("no label 'fish'"), "{error}");
    assert_eq!(source.len(), 4);

    // A reload: the same zip, the log and the added files make the same dataset.
    let files: Vec<(String, Vec<u8>)> =
        source.added_files().map(|(p, b)| (p.to_string(), b.to_vec())).collect();
    let mut again = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    again.restore_changes(source.changes(), files).unwrap();
    assert_eq!(again.labels(), source.labels());
    assert_eq!(again.entries(), source.entries());
    assert_eq!(again.targets(), source.targets());
    assert_eq!(again.changes(), source.changes());
    // Without the frames the log does not fit, and nothing changes.
    let mut without = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    let error = without.restore_changes(source.changes(), Vec::new()).unwrap_err().to_string();
    assert!(error.contains("'data/captured/frame-1.jpg' is not in the zip"), "{error}");
    assert_eq!((without.len(), without.labels().len()), (2, 1));
}

#[test]
fn loose_images_open_with_the_labels_named_for_them() {
    let zip =
        zip_of(&[("a.png", solid_png(8, 8, [1, 2, 3])), ("b.png", solid_png(8, 8, [4, 5, 6]))]);
    assert!(DatasetSource::from_zip(zip.clone(), &Limits::default()).is_err());
    let names = vec!["cat".to_string(), "dog".to_string()];
    let mut source =
        DatasetSource::from_zip_adding_labels(zip, &Limits::default(), &names).unwrap();
    assert_eq!(source.labels(), ["cat", "dog"]);
    assert_eq!(source.targets(), [0, 0, 0, 0]);
    assert_eq!(source.profile().labels_from, tagtrain::data::LabelSource::Page);
    assert_eq!(source.changes().changes.len(), 2, "the labels added are logged");
    source
        .set_labels(&[(0, "cat".into(), 1), (1, "dog".into(), 1), (1, "dog".into(), 1)], "by hand")
        .unwrap();
    assert_eq!(source.targets(), [1, 0, 0, 1]);
    assert_eq!(source.changes().changes.len(), 4, "a value already set is no change");
    let exported = source.export_zip().unwrap();
    let index = String::from_utf8(entry(&exported, "index.csv")).unwrap();
    assert_eq!(index, "image,cat,dog\na.png,1,0\nb.png,0,1\n");
    // After a reload: opened with the same labels, the kept log (which begins with them) fits.
    let zip =
        zip_of(&[("a.png", solid_png(8, 8, [1, 2, 3])), ("b.png", solid_png(8, 8, [4, 5, 6]))]);
    let mut again =
        DatasetSource::from_zip_adding_labels(zip.clone(), &Limits::default(), &names).unwrap();
    again.restore_changes(source.changes(), Vec::new()).unwrap();
    assert_eq!(again.targets(), source.targets());
    assert_eq!(again.changes(), source.changes());
    let other = ["dog".to_string()];
    let mut otherwise =
        DatasetSource::from_zip_adding_labels(zip, &Limits::default(), &other).unwrap();
    let error = otherwise.restore_changes(source.changes(), Vec::new()).unwrap_err().to_string();
    assert!(error.contains("opened otherwise"), "{error}");
}

#[test]
fn images_left_out_and_labels_removed_export_and_undo() {
    let mut source = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    source.add_label("bird", "label added").unwrap();
    source.set_label(1, "bird", 1, "by hand").unwrap();
    source.exclude_images(&[0], "blurred").unwrap();
    assert_eq!((source.len(), source.entries()), (1, &["data/b.png".to_string()][..]));
    assert_eq!(source.targets(), [0, 1]);
    source.remove_label("cat", "not needed").unwrap();
    assert_eq!(source.labels(), ["bird"]);
    let error = source.remove_label("bird", "x").unwrap_err().to_string();
    assert!(error.contains("keeps at least one label"), "{error}");
    let error = source.exclude_images(&[0], "x").unwrap_err().to_string();
    assert!(error.contains("keeps at least one image"), "{error}");

    // The export: the line and the column left out, the file kept in the zip.
    let exported = source.export_zip().unwrap();
    let index = String::from_utf8(entry(&exported, "data/index.csv")).unwrap();
    assert_eq!(index, "image,split,note,bird\nb.png,valid,,1\n");
    assert_eq!(entry(&exported, "data/a.png"), entry(&dataset_zip(), "data/a.png"));
    let again = DatasetSource::from_zip(exported, &Limits::default()).unwrap();
    assert_eq!((again.labels(), again.targets()), (source.labels(), source.targets()));

    // Undo replays the rest: the image comes back with its labels, in its place.
    let excluded = source.changes().changes.iter().position(|c| c.why == "blurred").unwrap();
    source.undo_change(excluded).unwrap();
    assert_eq!(source.entries(), ["data/a.png", "data/b.png"]);
    assert_eq!(source.labels(), ["bird"]);
    assert_eq!(source.targets(), [0, 1]);
    let removed = source.changes().changes.iter().position(|c| c.why == "not needed").unwrap();
    source.undo_change(removed).unwrap();
    assert_eq!(source.labels(), ["cat", "bird"]);
    assert_eq!(source.targets(), [1, 0, 0, 1], "cat's values are back");
    // The label added cannot go while a change sets it.
    let error = source.undo_change(0).unwrap_err().to_string();
    assert!(error.contains("a later change builds on this one"), "{error}");
    assert_eq!(source.changes().changes.len(), 2, "nothing changed");
}

#[test]
fn a_label_renamed_keeps_its_values_and_its_column_and_replays() {
    let mut source = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    source.add_label("bird", "label added").unwrap();
    source.rename_label("cat", "kitten", "label renamed").unwrap();
    assert_eq!(source.labels(), ["kitten", "bird"]);
    assert_eq!(source.targets(), [1, 0, 0, 0], "the values stay");
    source.set_label(1, "kitten", 1, "by hand").unwrap();
    for (from, to, expected) in [
        ("dog", "x", "there is no label 'dog' to rename"),
        ("kitten", "Bird", "the dataset has a label 'bird' already"),
        ("kitten", "image", "names the file column"),
        ("kitten", "kitten", "is named 'kitten' already"),
        ("kitten", " k", "cannot start or end with a space"),
    ] {
        let error = source.rename_label(from, to, "x").unwrap_err().to_string();
        assert!(error.contains(expected), "{from} → {to}: {error}");
    }
    assert_eq!(source.changes().changes.len(), 3, "nothing logged by a refused rename");
    source.rename_label("kitten", "Kitten", "case").unwrap();

    // The export renames the column where it was; the other columns and cells as they were.
    let exported = source.export_zip().unwrap();
    let index = String::from_utf8(entry(&exported, "data/index.csv")).unwrap();
    assert_eq!(index, "image,Kitten,split,note,bird\na.png,1,train,first,0\nb.png,1,valid,,0\n");
    let log = String::from_utf8(entry(&exported, "data/changes.csv")).unwrap();
    assert!(log.contains("\n,cat,cat,kitten,label renamed\n"), "{log}");
    let again = DatasetSource::from_zip(exported, &Limits::default()).unwrap();
    assert_eq!((again.labels(), again.targets()), (source.labels(), source.targets()));
    assert_eq!(again.label_edits(), 4);

    // The log applies to the original zip (as `tagtrain apply-changes` does).
    let mut original = DatasetSource::from_zip(dataset_zip(), &Limits::default()).unwrap();
    original.apply_changes(&ChangeLog::parse(log.as_bytes()).unwrap()).unwrap();
    assert_eq!((original.labels(), original.targets()), (source.labels(), source.targets()));
    let kinds: Vec<ChangeKind> = original.changes().changes.iter().map(|c| c.kind()).collect();
    assert_eq!(kinds[1], ChangeKind::LabelRenamed);

    // An edit made under the new name builds on the rename; the rename of the case does not.
    let error = source.undo_change(1).unwrap_err().to_string();
    assert!(error.contains("a later change builds on this one"), "{error}");
    source.undo_change(3).unwrap();
    assert_eq!(source.labels(), ["kitten", "bird"]);
    source.undo_change(2).unwrap();
    source.undo_change(1).unwrap();
    assert_eq!(
        (source.labels(), source.targets()),
        (&["cat".to_string(), "bird".into()][..], &[1, 0, 0, 0][..])
    );
}
