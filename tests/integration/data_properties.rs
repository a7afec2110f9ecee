//! Properties of the loader and the split: random bytes and mutated zips never panic, and the
//! stratified split keeps label shares on real label statistics.

use crate::common;

use common::{solid_png, zip_of};
use proptest::prelude::*;
use tagtrain::Limits;
use tagtrain::data::{Dataset, DatasetSource, IndexCsv, ResizePolicy, stratified_split};

/// Everything the loader does with user bytes: open, summarise, decode.
fn load(bytes: Vec<u8>) {
    let limits = Limits { max_total_uncompressed: 8 << 20, ..Limits::default() };
    if let Ok(mut source) = DatasetSource::from_zip(bytes, &limits) {
        let _ = source.summary();
        let _ = source.decode(8, ResizePolicy::Letterbox, |_, _| {});
    }
}

fn valid_zip() -> Vec<u8> {
    zip_of(&[
        ("data/index.csv", b"image,a,b,split\nx.png,1,0,train\ny.png,0,1,valid\n".to_vec()),
        ("data/x.png", solid_png(6, 4, [200, 0, 0])),
        ("data/y.png", solid_png(3, 7, [0, 0, 200])),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        load(bytes);
    }

    #[test]
    fn mutated_zips_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = valid_zip();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        load(bytes);
    }

    #[test]
    fn csv_text_never_panics(text in "[a-z0-9.,;\t\" \n\r/\\\\]{0,200}") {
        let _ = IndexCsv::parse(text.as_bytes());
        load(zip_of(&[("index.csv", text.into_bytes()), ("x.png", solid_png(2, 2, [1, 2, 3]))]));
    }
}

/// Targets of `A2_emoji_tags_train.zip` (its index.csv is copied into the fixtures; the split
/// needs no pixels).
fn a2_targets() -> Dataset {
    let csv = IndexCsv::parse(include_bytes!("../fixtures/a2_index.csv")).unwrap();
    assert!(csv.problems.is_empty());
    let n = csv.len();
    Dataset {
        image_size: 1,
        channels: 1,
        pixels: vec![0; n],
        targets: csv.rows().flat_map(|r| r.labels.to_vec()).collect(),
        labels: csv.labels.clone(),
        names: csv.rows().map(|r| r.image.to_string()).collect(),
        splits: None,
        ..Default::default()
    }
}

#[test]
fn stratified_split_keeps_label_shares_on_a2() {
    let ds = a2_targets();
    assert_eq!((ds.len(), ds.labels.len()), (3050, 21));
    let split = stratified_split(&ds, 0.2, 42);
    assert_eq!(split.train.len() + split.valid.len(), 3050);
    let share = |side: &[usize], j: usize| {
        side.iter().filter(|&&i| ds.target(i)[j] == 1).count() as f64 / side.len() as f64
    };
    for (j, label) in ds.labels.iter().enumerate() {
        let (t, v) = (share(&split.train, j), share(&split.valid, j));
        assert!(
            (t - v).abs() <= 0.05,
            "{label}: {:.1}% train vs {:.1}% validation",
            t * 100.0,
            v * 100.0
        );
        assert!(split.valid.iter().any(|&i| ds.target(i)[j] == 1), "{label} validates");
    }
    assert!((split.valid.len() as f64 / 3050.0 - 0.2).abs() < 0.01);
    assert_eq!(split, stratified_split(&ds, 0.2, 42), "same seed, same split");
    assert_ne!(split, stratified_split(&ds, 0.2, 43), "another seed, another split");
}
