//! Fuzzes the dataset loader with arbitrary bytes: opening the zip, parsing index.csv, reading
//! image headers, summarising and decoding must return `Ok` or a typed error, never panic,
//! abort or allocate without bound. See ../Cargo.toml for how to run it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagtrain::{DatasetSource, Limits, ResizePolicy};

fuzz_target!(|bytes: &[u8]| {
    // Tighter caps than the defaults keep each run fast; the code paths are the same.
    let limits = Limits { max_total_uncompressed: 16 << 20, max_image_pixels: 1 << 22, ..Limits::default() };
    if let Ok(mut source) = DatasetSource::from_zip(bytes.to_vec(), &limits) {
        let _ = source.summary();
        let _ = source.decode(8, ResizePolicy::CenterCrop, |_, _| {});
    }
});
