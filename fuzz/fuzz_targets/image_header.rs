//! Fuzzes the image path: reading the header (declared size, format, metadata chunks) and,
//! when the header is accepted, decoding at a small size. Arbitrary bytes must give `Ok` or a
//! typed error, never a panic, and never allocate beyond the limits. The first bytes pick the
//! start of a PNG or a JPEG half the time, so that the fuzzer reaches their chunks and segments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagtrain::data::image::{decode_image, header};
use tagtrain::{Limits, ResizePolicy};

fuzz_target!(|bytes: &[u8]| {
    let limits = Limits { max_image_side: 512, max_image_pixels: 1 << 16, ..Limits::default() };
    let data: Vec<u8> = match bytes.first() {
        Some(b'P') => [b"\x89PNG\r\n\x1a\n".as_slice(), &bytes[1..]].concat(),
        Some(b'J') => [[0xFF, 0xD8].as_slice(), &bytes[1..]].concat(),
        _ => bytes.to_vec(),
    };
    if let Ok(h) = header("fuzz", &data, &limits) {
        assert!(h.width <= 512 && h.height <= 512);
        if let Ok(px) = decode_image("fuzz", &data, 8, 3, ResizePolicy::Letterbox, &limits) {
            assert_eq!(px.len(), 8 * 8 * 3);
        }
    }
});
