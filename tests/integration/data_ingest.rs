//! Dataset ingestion on hostile and messy zips: each bad case gives the exact error kind and
//! location, several problems are reported together, and odd-but-valid files load.

use crate::common;

use common::{crc32, png, png_chunk, solid_png, zip_of};
use image::RgbImage;
use tagtrain::ErrorKind;
use tagtrain::Limits;
use tagtrain::data::{DatasetSource, ResizePolicy, SplitTag, stratified_split};

fn open(bytes: Vec<u8>) -> tagtrain::Result<DatasetSource> {
    DatasetSource::from_zip(bytes, &Limits::default())
}

fn err(bytes: Vec<u8>) -> tagtrain::Error {
    open(bytes).err().expect("the zip is refused")
}

/// A PNG whose header claims `w × h` pixels, with no pixel data at all.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    out.extend(13u32.to_be_bytes());
    out.extend(&ihdr);
    out.extend(crc32(&ihdr).to_be_bytes());
    // One tiny IDAT (an empty zlib stream) so that decoders read the header as real.
    let idat = [b"IDAT".as_slice(), &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]].concat();
    out.extend(8u32.to_be_bytes());
    out.extend(&idat);
    out.extend(crc32(&idat).to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend(b"IEND");
    out.extend(crc32(b"IEND").to_be_bytes());
    out
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn one(name: &str) -> (&str, Vec<u8>) {
    (name, solid_png(4, 4, [200, 10, 10]))
}

#[test]
fn truncated_zip_is_not_a_zip() {
    let good = zip_of(&[("index.csv", b"image,a\nx.png,1\n".to_vec()), one("x.png")]);
    let e = err(good[..good.len() / 2].to_vec());
    assert!(matches!(e.kind(), ErrorKind::NotAZip { .. }), "{e}");
}

#[test]
fn path_traversal_entries_are_refused_by_name() {
    let zip =
        zip_of(&[("index.csv", b"image,a\nx.png,1\n".to_vec()), one("x.png"), one("../evil.png")]);
    let e = err(zip);
    assert!(matches!(e.kind(), ErrorKind::ZipEntry { entry, .. } if entry == "../evil.png"), "{e}");
    assert!(e.to_string().contains("leaves the archive"));
}

#[test]
fn empty_csv_and_header_only() {
    let e = err(zip_of(&[("index.csv", Vec::new()), one("x.png")]));
    assert!(matches!(e.kind(), ErrorKind::Csv { line: 1, .. }), "{e}");
    let e = err(zip_of(&[("index.csv", b"image,a\n".to_vec()), one("x.png")]));
    assert!(matches!(e.kind(), ErrorKind::EmptyDataset { .. }), "{e}");
}

#[test]
fn duplicate_row_names_both_lines() {
    let e = err(zip_of(&[
        ("index.csv", b"image,a\nx.png,1\ny.png,0\nx.png,0\n".to_vec()),
        one("x.png"),
        one("y.png"),
    ]));
    assert!(
        matches!(e.kind(), ErrorKind::DuplicateRow { line: 4, first_line: 2, image } if image == "x.png"),
        "{e}"
    );
}

#[test]
fn corrupt_png_and_truncated_jpeg_name_the_image() {
    let mut bad_png = solid_png(8, 8, [1, 2, 3]);
    bad_png.truncate(20); // the signature and part of IHDR
    let e = err(zip_of(&[("index.csv", b"image,a\nbad.png,1\n".to_vec()), ("bad.png", bad_png)]));
    assert!(matches!(e.kind(), ErrorKind::ImageDecode { image, .. } if image == "bad.png"), "{e}");

    // A JPEG cut in the middle of its pixel data: the header reads, the pixels do not.
    let full = jpeg(64, 64);
    let cut = full[..full.len() / 2].to_vec();
    let zip = zip_of(&[
        ("index.csv", b"image,a\ncut.jpg,1\nok.jpg,0\n".to_vec()),
        ("cut.jpg", cut),
        ("ok.jpg", full),
    ]);
    match open(zip) {
        // Header errors surface at once…
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::ImageDecode { image, .. } if image == "cut.jpg"),
            "{e}"
        ),
        // …otherwise decoding names the image.
        Ok(mut source) => {
            let e = source.decode(16, ResizePolicy::Stretch, |_, _| {}).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::ImageDecode { image, .. } if image == "cut.jpg"),
                "{e}"
            );
        }
    }
}

#[test]
fn a_30000_pixel_square_png_is_refused_before_allocating() {
    let zip = zip_of(&[
        ("index.csv", b"image,a\nhuge.png,1\n".to_vec()),
        ("huge.png", png_header_only(30_000, 30_000)),
    ]);
    let e = err(zip);
    match e.kind() {
        ErrorKind::Limit { place, actual, .. } => {
            assert!(place.contains("huge.png"), "{place}");
            assert!(*actual >= 30_000, "{actual}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn semicolons_bom_and_crlf_are_read() {
    let csv = b"\xEF\xBB\xBFimage;cat;dog\r\nx.png;1;0\r\ny.png; 0 ;1.0\r\n".to_vec();
    let source = open(zip_of(&[("index.csv", csv), one("x.png"), one("y.png")])).unwrap();
    let s = source.summary().profile;
    assert_eq!(s.images, 2);
    assert_eq!(s.labels.iter().map(|l| l.positives).collect::<Vec<_>>(), vec![1, 1]);
    assert!(s.warnings.iter().any(|w| w.contains("semicolons")), "{:?}", s.warnings);
}

#[test]
fn one_wrapping_folder_backslashes_and_dot_slash() {
    let csv = b"image,a\n./img/x.png,1\nimg\\\\y.png,0\n".to_vec();
    let zip = zip_of(&[
        ("data/index.csv", csv),
        one("data/img/x.png"),
        one("data/img/y.png"),
        one("__MACOSX/data/._x.png"),
    ]);
    let source = open(zip).unwrap();
    assert_eq!(source.summary().profile.images, 2);
}

#[test]
fn every_problem_is_reported_at_once() {
    let csv =
        b"image,a,b\nx.png,1,0\nX.PNG2,0,1\nz.png,2,0\ny.png,0,1\ny.png,1,1\nmissing.png,0,0\n"
            .to_vec();
    let mut garbage = b"\x89PNG\r\n\x1a\n".to_vec();
    garbage.extend([0u8; 10]);
    let zip = zip_of(&[("index.csv", csv), one("x.png"), one("y.png"), ("x.png2", garbage)]);
    let e = err(zip);
    let problems = e.problems();
    let kinds: Vec<String> = problems
        .iter()
        .map(|p| match p.kind() {
            ErrorKind::BadLabelValue { line, column, .. } => format!("value {line} {column}"),
            ErrorKind::DuplicateRow { line, .. } => format!("duplicate {line}"),
            ErrorKind::MissingImage { line, suggestion, .. } => {
                format!("missing {line} {suggestion:?}")
            }
            ErrorKind::ImageDecode { image, .. } => format!("decode {image}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "value 4 a".to_string(),
            "duplicate 6".to_string(),
            "missing 3 Some(\"x.png2\")".to_string(),
            "missing 7 None".to_string(),
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(text.starts_with("the dataset has 4 problems"), "{text}");
    assert_eq!(text.lines().count(), 5);
}

#[test]
fn the_split_column_is_honoured_and_counted() {
    let csv =
        b"image,a,split\nw.png,1,train\nx.png,0,train\ny.png,1,valid\nz.png,0,test\n".to_vec();
    let mut source =
        open(zip_of(&[("index.csv", csv), one("w.png"), one("x.png"), one("y.png"), one("z.png")]))
            .unwrap();
    let s = source.summary().profile;
    let counts = s.split_column.clone().unwrap();
    assert_eq!((counts.train, counts.valid, counts.test), (2, 1, 1));
    assert_eq!(s.labels.len(), 1, "split is not a label");
    let ds = source.decode(8, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!(
        ds.splits.as_deref(),
        Some(&[SplitTag::Train, SplitTag::Train, SplitTag::Valid, SplitTag::Test][..])
    );
    let split = stratified_split(&ds, 0.5, 1);
    assert_eq!((split.train, split.valid), (vec![0, 1], vec![2, 3]));
}

#[test]
fn summary_counts_labels_per_image_and_cooccurrence() {
    let csv = b"image,a,b,c\nw.png,1,1,0\nx.png,1,0,0\ny.png,0,0,0\nz.png,1,1,1\n".to_vec();
    let source = open(zip_of(&[
        ("index.csv", csv),
        ("w.png", png(RgbImage::new(10, 20))),
        one("x.png"),
        one("y.png"),
        one("z.png"),
    ]))
    .unwrap();
    let s = source.summary().profile;
    assert_eq!(s.labels_per_image, vec![1, 1, 1, 1]);
    assert_eq!(s.cooccurrence, vec![vec![3, 2, 1], vec![2, 2, 1], vec![1, 1, 1]]);
    assert!(!s.grayscale);
    assert_eq!((s.min_side, s.max_side), (4, 20));
    assert_eq!(s.sizes.len(), 2);
}

#[test]
fn labels_without_positives_or_negatives_are_warnings() {
    let csv = b"image,never,always\nx.png,0,1\ny.png,0,1\n".to_vec();
    let s =
        open(zip_of(&[("index.csv", csv), one("x.png"), one("y.png")])).unwrap().summary().profile;
    assert!(s.warnings.iter().any(|w| w.contains("'never' has no positive")), "{:?}", s.warnings);
    assert!(s.warnings.iter().any(|w| w.contains("'always' has no negative")), "{:?}", s.warnings);
}

#[test]
fn limits_are_configurable_and_located() {
    let zip = zip_of(&[
        ("index.csv", b"image,a\nx.png,1\ny.png,0\n".to_vec()),
        one("x.png"),
        one("y.png"),
    ]);
    let e = DatasetSource::from_zip(zip.clone(), &Limits { max_entries: 2, ..Limits::default() })
        .err()
        .unwrap();
    assert!(
        matches!(e.kind(), ErrorKind::Limit { what: "entry count", limit: 2, actual: 3, .. }),
        "{e}"
    );
    let e = DatasetSource::from_zip(zip.clone(), &Limits { max_csv_bytes: 5, ..Limits::default() })
        .err()
        .unwrap();
    assert!(
        matches!(e.kind(), ErrorKind::Limit { place, .. } if place.contains("index.csv")),
        "{e}"
    );
    let e =
        DatasetSource::from_zip(zip, &Limits { max_total_uncompressed: 10, ..Limits::default() })
            .err()
            .unwrap();
    assert!(matches!(e.kind(), ErrorKind::Limit { .. }), "{e}");
}

#[test]
fn too_many_columns_are_refused_with_the_line() {
    let zip =
        zip_of(&[("index.csv", b"image,a,b\nx.png,1,0\n\"y,png\",1,0,0\n".to_vec()), one("x.png")]);
    let limits = Limits { max_columns: 3, ..Limits::default() };
    let e = DatasetSource::from_zip(zip, &limits).err().unwrap();
    assert!(
        matches!(e.kind(), ErrorKind::Limit { what: "column count", place, limit: 3, actual: 4 }
            if place == "index.csv line 3"),
        "{e}"
    );
}

#[test]
fn a_zip_inside_the_zip_says_to_unzip_it_first() {
    let inner = zip_of(&[("index.csv", b"image,a\nx.png,1\n".to_vec()), one("x.png")]);
    let e = err(zip_of(&[("dataset.zip", inner)]));
    assert!(matches!(e.kind(), ErrorKind::InnerZip { entry } if entry == "dataset.zip"), "{e}");
    assert!(e.to_string().contains("unzip the inner 'dataset.zip' first"), "{e}");
    // Beside other files, when index.csv is missing, too.
    let e = err(zip_of(&[("photos/all.zip", vec![1, 2, 3]), one("x.png")]));
    assert!(matches!(e.kind(), ErrorKind::InnerZip { entry } if entry == "photos/all.zip"), "{e}");
    // With an index.csv, a zip among the files is only a file.
    let ok = open(zip_of(&[
        ("index.csv", b"image,a\nx.png,1\n".to_vec()),
        one("x.png"),
        ("old.zip", vec![1, 2, 3]),
    ]));
    assert!(ok.is_ok());
}

#[test]
fn gif_webp_bmp_and_tiff_say_which_formats_work() {
    let cases: [(&str, &str, Vec<u8>); 4] = [
        ("a.gif", "GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
        ("b.webp", "WebP", [b"RIFF\x1a\x00\x00\x00WEBPVP8 ".as_slice(), &[0; 14]].concat()),
        ("c.bmp", "BMP", [b"BM".as_slice(), &[0; 60]].concat()),
        ("d.tif", "TIFF", [b"II*\x00".as_slice(), &[8, 0, 0, 0, 0, 0]].concat()),
    ];
    for (name, format, bytes) in cases {
        let csv = format!("image,a\n{name},1\n").into_bytes();
        let e = err(zip_of(&[("index.csv", csv), (name, bytes)]));
        assert!(
            matches!(e.kind(), ErrorKind::UnsupportedImage { image, format: f }
                if image == name && *f == format),
            "{e}"
        );
        let words =
            format!("image '{name}' is a {format}; tagtrain reads JPEG and PNG: convert it");
        assert!(e.to_string().contains(&words), "{e}");
    }
}

#[test]
fn png_text_and_icc_chunks_are_ignored() {
    let png = solid_png(4, 4, [200, 10, 10]);
    let zlib_of_nothing = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    let iccp = [b"icc\0\0".as_slice(), &zlib_of_nothing].concat();
    let with_metadata = [
        &png[..33],
        &png_chunk(b"iCCP", &iccp),
        &png_chunk(b"tEXt", b"Comment\0hello"),
        &png[33..],
    ]
    .concat();
    let mut source =
        open(zip_of(&[("index.csv", b"image,a\nx.png,1\n".to_vec()), ("x.png", with_metadata)]))
            .unwrap();
    let data = source.decode(8, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!(&data.image(0)[..3], &[200, 10, 10]);
}

#[test]
fn utf16_csv_from_excel_is_read_with_a_warning() {
    // Excel's "Unicode Text": UTF-16 with a byte order mark, tab separated.
    type Unit = fn(u16) -> [u8; 2];
    let orders: [([u8; 2], Unit); 2] =
        [([0xFF, 0xFE], u16::to_le_bytes), ([0xFE, 0xFF], u16::to_be_bytes)];
    for (bom, unit) in orders {
        let mut csv = bom.to_vec();
        for u in "image\tà_la_mode\r\nx.png\t1\r\n".encode_utf16() {
            csv.extend(unit(u));
        }
        let source = open(zip_of(&[("index.csv", csv), one("x.png")])).unwrap();
        assert_eq!(source.labels(), ["à_la_mode"]);
        let warnings = source.summary().profile.warnings;
        assert!(
            warnings.iter().any(|w| w.contains("UTF-16") && w.contains("converted to UTF-8")),
            "{warnings:?}"
        );
    }
}

#[test]
fn windows_1252_csv_is_read_with_a_warning_naming_the_line() {
    let csv = b"image,a\nx.png,1\ncaf\xe9.png,0\n".to_vec();
    let source = open(zip_of(&[("index.csv", csv), one("x.png"), one("café.png")])).unwrap();
    assert_eq!(source.len(), 2);
    let warnings = source.summary().profile.warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("not UTF-8") && w.contains("line 3") && w.contains("Windows-1252")),
        "{warnings:?}"
    );
}

// --- Sound clips (issue #33) ------------------------------------------------------------

/// A fixture of `tests/fixtures/sounds/` (see `scripts/make-sounds.mjs --fixtures`): its name
/// and bytes.
macro_rules! fixture {
    ($name:literal) => {
        ($name, include_bytes!(concat!("../fixtures/sounds/", $name)).as_slice())
    };
}

/// A stored zip of `files` (name, bytes) with `index.csv` first.
fn sound_zip(csv: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("index.csv", stored).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    for (name, bytes) in files {
        zip.start_file(*name, stored).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_zip_of_clips_is_a_dataset_of_spectrograms() {
    let files = [
        fixture!("tone_wav16_16k_stereo.wav"),
        fixture!("tone_flac_22k_mono.flac"),
        fixture!("tone_ogg_22k_stereo.ogg"),
        fixture!("tone_mp3_44k_stereo.mp3"),
    ];
    let csv = "audio,tone,stereo\ntone_wav16_16k_stereo.wav,1,1\ntone_flac_22k_mono.flac,1,0\n\
               tone_ogg_22k_stereo.ogg,1,1\ntone_mp3_44k_stereo.mp3,1,1\n";
    let mut source = DatasetSource::from_zip(sound_zip(csv, &files), &Limits::default()).unwrap();
    assert_eq!(source.kind(), tagtrain::data::MediaKind::Sounds);
    let profile = source.profile();
    assert_eq!(
        (profile.kind, profile.image_column.as_str()),
        (tagtrain::data::MediaKind::Sounds, "audio")
    );
    let sound = profile.sound.expect("a sound profile");
    assert_eq!(sound.clips, 4);
    // Every clip is 0.3 s (the MP3's length is learned by decoding it: no frame count).
    assert!((sound.median_seconds - 0.3).abs() < 0.05, "{sound:?}");
    assert!((sound.total_seconds - 1.2).abs() < 0.1, "{sound:?}");
    assert_eq!(sound.formats.len(), 4);
    assert_eq!(sound.channels.iter().map(|c| c.count).sum::<usize>(), 4);
    assert_eq!(
        sound.settings,
        tagtrain::data::audio::SoundSettings::for_median_seconds(sound.median_seconds)
    );
    assert!(profile.grayscale);

    let dataset = source.decode(32, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!((dataset.len(), dataset.channels, dataset.image_size), (4, 1, 32));
    // The same tone: a bright band in the same row of every picture, and pictures near each
    // other (the MP3 less near: its encoder's delay moves the tone in time, and it cuts the
    // highs).
    let first = dataset.image(0);
    // Half scale (−6 dB) spread over neighbouring bands and rows: about −10 dB, level 190.
    assert!(first.iter().any(|&p| p > 170), "no loud band: {:?}", first.iter().max());
    let brightest_row = |image: &[u8]| {
        (0..32)
            .max_by_key(|&y| image[y * 32..(y + 1) * 32].iter().map(|&p| u32::from(p)).sum::<u32>())
    };
    for i in 1..4 {
        assert_eq!(brightest_row(dataset.image(i)), brightest_row(first), "clip {i}");
        let mean =
            first.iter().zip(dataset.image(i)).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>()
                / first.len() as f64;
        assert!(mean < 16.0, "clip {i}: mean difference {mean}");
    }
    // Thumbnails repeat the one channel.
    let rgb = source.decode_one(1, 16, 3, ResizePolicy::Letterbox).unwrap();
    assert_eq!(rgb.len(), 16 * 16 * 3);
    assert!(rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]));

    let bad = tagtrain::data::audio::SoundSettings { hop: 0, ..Default::default() };
    assert!(source.set_sound_settings(bad).unwrap_err().to_string().contains("sound.hop"));
}

#[test]
fn images_and_clips_in_one_dataset_are_refused_in_words() {
    let png = include_bytes!("../fixtures/digit.png").as_slice();
    let files = [fixture!("tone_flac_22k_mono.flac"), ("digit.png", png)];
    let csv = "file,a\ntone_flac_22k_mono.flac,1\ndigit.png,0\n";
    let Err(err) = DatasetSource::from_zip(sound_zip(csv, &files), &Limits::default()) else {
        panic!("the dataset was accepted");
    };
    let text = err.to_string();
    assert!(matches!(err.kind(), tagtrain::ErrorKind::MixedMedia { .. }), "{text}");
    assert!(text.contains("'digit.png'") && text.contains("'tone_flac_22k_mono.flac'"), "{text}");
    assert!(text.contains("two zips"), "{text}");
}

#[test]
fn a_bad_clip_in_a_dataset_is_named() {
    let files = [
        fixture!("tone_flac_22k_mono.flac"),
        fixture!("bad_plain_text.mp3"),
        fixture!("bad_hours.wav"),
    ];
    let csv = "sound,a\ntone_flac_22k_mono.flac,1\nbad_plain_text.mp3,0\nbad_hours.wav,1\n";
    let Err(err) = DatasetSource::from_zip(sound_zip(csv, &files), &Limits::default()) else {
        panic!("the dataset was accepted");
    };
    let text = err.to_string();
    assert!(text.contains("clip 'bad_plain_text.mp3'"), "{text}");
    assert!(text.contains("clip 'bad_hours.wav'"), "{text}");
}
