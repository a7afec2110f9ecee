//! The data pipeline on real and hand-made zips: what loads, and the errors for what does not.

use crate::common;

use common::{solid_png, zip_of};
use tagtrain::ErrorKind;
use tagtrain::Limits;
use tagtrain::data::DatasetSource;

const SMOKE: &[u8] = include_bytes!("../fixtures/smoke_mnist32.zip");

fn open(bytes: Vec<u8>) -> tagtrain::Result<DatasetSource> {
    DatasetSource::from_zip(bytes, &Limits::default())
}

#[test]
fn smoke_dataset_summary_and_decode() {
    let mut source = open(SMOKE.to_vec()).unwrap();
    let summary = source.summary();
    assert_eq!(summary.profile.images, 60);
    assert_eq!(summary.profile.image_column, "image");
    let names: Vec<&str> = summary.profile.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["digit_0", "digit_1", "digit_2", "digit_3"]);
    assert!(
        summary.profile.labels.iter().all(|l| l.positives > 0 && l.positives + l.negatives == 60)
    );
    assert_eq!(summary.profile.sizes.len(), 1);
    assert_eq!((summary.profile.sizes[0].width, summary.profile.sizes[0].height), (32, 32));
    assert_eq!(summary.recommended.kind, tagtrain::ResNetKind::Small);
    assert_eq!(summary.recommended.depth, 11);
    assert_eq!(summary.recommended.image_size, 32);
    // 60 images: batches of 8 give 7 steps an epoch.
    assert_eq!(summary.recommended.batch_size, 8);

    let mut seen = Vec::new();
    let dataset = source
        .decode(16, tagtrain::data::ResizePolicy::Stretch, |done, total| {
            assert_eq!(total, 60);
            seen.push(done);
        })
        .unwrap();
    assert_eq!(seen.last(), Some(&60), "progress reaches the end");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "progress only grows: {seen:?}");
    assert_eq!(dataset.len(), 60);
    // Grey MNIST mosaics: one channel, stored once, as u8.
    assert!(summary.profile.grayscale);
    assert_eq!(dataset.channels, 1);
    assert_eq!(dataset.pixels.len(), 60 * 16 * 16);
    assert_eq!(dataset.pixels.capacity(), 60 * 16 * 16, "one buffer, allocated once");
    assert_eq!(dataset.targets.len(), 60 * 4);
}

#[test]
fn grey_images_decode_at_a_models_rgb_input() {
    // `tagtrain eval` of an RGB model on grey data: every grey value repeated over R, G and B.
    let mut source = open(SMOKE.to_vec()).unwrap();
    let mut last = 0;
    let policy = tagtrain::data::ResizePolicy::Stretch;
    let rgb = source.decode_with_channels(16, policy, 3, |done, _| last = done).unwrap();
    assert_eq!(last, 60, "progress reaches the end");
    assert_eq!(rgb.channels, 3);
    assert_eq!(rgb.pixels.len(), 60 * 16 * 16 * 3);
    let grey = source.decode(16, policy, |_, _| {}).unwrap();
    let repeated: Vec<u8> = grey.pixels.iter().flat_map(|&v| [v, v, v]).collect();
    assert_eq!(rgb.pixels, repeated);
}

#[test]
fn not_a_zip() {
    let err = open(b"this is a text file".to_vec()).err().unwrap();
    assert!(matches!(err.kind(), ErrorKind::NotAZip { .. }), "{err}");
}

#[test]
fn no_index_csv() {
    let zip = zip_of(&[("a.png", solid_png(4, 4, [0, 0, 0]))]);
    let err = open(zip).err().unwrap();
    assert!(matches!(err.kind(), ErrorKind::MissingIndexCsv { .. }));
    assert!(err.to_string().contains("index.csv"));
}

#[test]
fn missing_image_with_did_you_mean() {
    let zip = zip_of(&[
        ("index.csv", b"image,a\nimgs/One.png,1\n".to_vec()),
        ("imgs/one.png", solid_png(4, 4, [0, 0, 0])),
    ]);
    let err = open(zip).err().unwrap();
    assert_eq!(
        err.kind(),
        &ErrorKind::MissingImage {
            line: 2,
            image: "imgs/One.png".into(),
            suggestion: Some("imgs/one.png".into())
        }
    );
    assert!(err.to_string().contains("did you mean 'imgs/one.png'"));
}

#[test]
fn label_value_two_names_line_and_column() {
    let zip = zip_of(&[
        ("index.csv", b"image,cat,dog\na.png,1,0\nb.png,0,2\n".to_vec()),
        ("a.png", solid_png(4, 4, [0, 0, 0])),
        ("b.png", solid_png(4, 4, [9, 9, 9])),
    ]);
    let err = open(zip).err().unwrap();
    assert_eq!(
        err.kind(),
        &ErrorKind::BadLabelValue { line: 3, column: "dog".into(), value: "2".into() }
    );
}

#[test]
fn nested_folder_wrapping_and_relative_paths() {
    let zip = zip_of(&[
        ("data/index.csv", b"image,a\n./x.png,1\nsub\\y.png,0\n".to_vec()),
        ("data/x.png", solid_png(8, 6, [255, 0, 0])),
        ("data/sub/y.png", solid_png(8, 6, [0, 255, 0])),
        ("__MACOSX/data/._x.png", b"junk".to_vec()),
    ]);
    let mut source = open(zip).unwrap();
    assert_eq!(source.summary().profile.images, 2);
    let ds = source.decode(8, tagtrain::data::ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!(&ds.image(0)[0..3], &[255, 0, 0]);
    assert_eq!(&ds.image(1)[0..3], &[0, 255, 0]);
}

#[test]
fn corrupt_image_is_named() {
    let zip = zip_of(&[
        ("index.csv", b"image,a\nbad.png,1\n".to_vec()),
        ("bad.png", b"\x89PNG\r\n\x1a\nnot really".to_vec()),
    ]);
    let err = open(zip).err().unwrap();
    assert!(
        matches!(err.kind(), ErrorKind::ImageDecode { image, .. } if image == "bad.png"),
        "{err}"
    );
}

#[test]
fn zip_bomb_is_refused() {
    // 8 MiB of zeros deflates to a few KiB: a ratio far above the limit.
    let zip =
        zip_of(&[("index.csv", b"image,a\nx.png,1\n".to_vec()), ("x.png", vec![0u8; 8 << 20])]);
    let err = open(zip).err().unwrap();
    assert!(matches!(err.kind(), ErrorKind::Limit { what: "compression ratio", .. }), "{err}");
}

#[test]
fn unlisted_images_are_a_warning() {
    let zip = zip_of(&[
        ("index.csv", b"image,a\nx.png,1\ny.png,0\n".to_vec()),
        ("x.png", solid_png(4, 4, [0, 0, 0])),
        ("y.png", solid_png(4, 4, [0, 0, 0])),
        ("z.png", solid_png(4, 4, [0, 0, 0])),
    ]);
    let summary = open(zip).unwrap().summary();
    assert!(
        summary.profile.warnings.iter().any(|w| w.contains("not listed") && w.contains("z.png"))
    );
}

#[test]
fn released_zip_is_taken_back_only_from_the_same_zip() {
    use tagtrain::data::ResizePolicy;
    let mut source = open(SMOKE.to_vec()).unwrap();
    let first = source.decode(16, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert!(source.holds_zip());

    // The page drops the zip's bytes after decoding; the summary and the plan stay.
    source.release_zip();
    assert!(!source.holds_zip());
    assert_eq!(source.summary().profile.images, 60);
    let plan = source.memory_plan(&tagtrain::TrainingOptions::default()).unwrap();
    assert_eq!(plan.zip_bytes, SMOKE.len() as u64);
    let err = source.decode(16, ResizePolicy::Stretch, |_, _| {}).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Misuse { .. }), "{err}");
    assert!(err.to_string().contains("attach it again"), "{err}");

    // Another zip, even one with the same file names, is refused.
    let other = zip_of(&[
        ("index.csv", b"image,a\nx.png,1\n".to_vec()),
        ("x.png", solid_png(4, 4, [1, 2, 3])),
    ]);
    let err = source.attach_zip(other).unwrap_err();
    assert!(err.to_string().contains("not the zip the dataset was loaded from"), "{err}");
    assert!(!source.holds_zip());

    source.attach_zip(SMOKE.to_vec()).unwrap();
    let again = source.decode(16, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!(again, first, "the same pixels, labels and names as before the release");
}

/// Large images: the recommended batch is halved until a batch's activations leave a browser
/// tab room, and is never below 8.
#[test]
fn the_recommended_batch_fits_a_tab() {
    let image = solid_png(320, 320, [90, 140, 200]);
    let mut files = vec![];
    let mut index = String::from("image,a\n");
    for i in 0..2000 {
        index.push_str(&format!("{i}.png,{}\n", i % 2));
    }
    let names: Vec<String> = (0..2000).map(|i| format!("{i}.png")).collect();
    files.push(("index.csv", index.into_bytes()));
    for name in &names {
        files.push((name.as_str(), image.clone()));
    }
    let source = open(zip_of(&files)).unwrap();
    let recommended = source.summary().recommended;
    assert_eq!(recommended.image_size, 320);
    // 2,000 images alone would ask for 64.
    assert!(recommended.batch_size < 64 && recommended.batch_size >= 8, "{recommended:?}");
    let plan = |batch_size| {
        let options = tagtrain::TrainingOptions {
            depth: recommended.depth,
            image_size: 320,
            batch_size,
            ..Default::default()
        };
        source.memory_plan(&options).unwrap().network_bytes
    };
    let half_tab = tagtrain::unstable::TAB_COMFORT_BYTES / 2;
    assert!(recommended.batch_size == 8 || plan(recommended.batch_size) <= half_tab);
    assert!(plan(recommended.batch_size * 2) > half_tab);
}
