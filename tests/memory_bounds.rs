//! Memory is bounded by the input: hostile zips, generated here (no large file in the
//! repository), are loaded under a counting global allocator, and the peak heap they add is
//! held to the bound README.md states ("Dataset format"): for a stored zip of N bytes whose
//! `index.csv` has R rows, at most 3 N + 20 R + 8 MiB besides the decoded pixels, on top of
//! the zip itself. Before issue #9 the 40-cell CSV cost about 40 bytes a cell, and the PNG
//! its whole inflated profile.
//!
//! The cases are those of issue #9: a PNG whose `iCCP` chunk inflates to 512 MiB (the zip is
//! 0.5 MiB), an `index.csv` of 16 MiB with 40 cells a row, one of 16 MiB with a tiny row per
//! line, and a JPEG that declares 65,000 × 65,000 pixels and is cut short.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Cursor, Read, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use common::{png_chunk, solid_png, stored_zip_of};
use tagtrain::data::DatasetSource;
use tagtrain::{ErrorKind, Limits, PROBLEMS_KEPT, ResizePolicy};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this file run one at a time, so that each peak is its own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f`, returning its result and the peak heap it added to what was in use before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = CURRENT.load(Relaxed);
    PEAK.store(before, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed).saturating_sub(before))
}

/// The bound README.md states for a stored zip of N bytes whose `index.csv` has R rows:
/// 3 N + 20 R + 8 MiB besides the decoded pixels, on top of the zip itself (which the caller
/// holds).
fn bound(zip_len: usize, rows: usize) -> usize {
    3 * zip_len + 20 * rows + (8 << 20)
}

const MIB: f64 = (1 << 20) as f64;

/// A zlib stream that inflates to `n` zero bytes: the zip crate's deflater writes the raw
/// stream, which gets zlib's two-byte header and Adler-32 (of zeros: a = 1, b = n mod 65521).
fn zlib_zeros(n: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("zeros", deflated).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..n / block.len() {
        zip.write_all(&block).unwrap();
    }
    zip.write_all(&block[..n % block.len()]).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut raw = vec![0x78, 0x9C];
    archive.by_index_raw(0).unwrap().read_to_end(&mut raw).unwrap();
    let adler = (((n % 65521) as u32) << 16) | 1;
    raw.extend(adler.to_be_bytes());
    raw
}

/// A valid 8×8 PNG with an `iCCP` chunk (after IHDR, where the format puts it) whose profile
/// inflates to `n` bytes.
fn iccp_bomb_png(n: usize) -> Vec<u8> {
    let png = solid_png(8, 8, [30, 120, 200]);
    let ihdr_end = 8 + 25;
    let mut profile = b"icc\0\0".to_vec();
    profile.extend(zlib_zeros(n));
    [&png[..ihdr_end], &png_chunk(b"iCCP", &profile), &png[ihdr_end..]].concat()
}

#[test]
fn a_png_whose_icc_profile_inflates_to_512_mib_costs_its_size() {
    let _serial = serial();
    let zip = stored_zip_of(&[
        ("index.csv", b"image,a\nbomb.png,1\n".to_vec()),
        ("bomb.png", iccp_bomb_png(512 << 20)),
    ]);
    let zip_len = zip.len();
    let (pixels, peak) = peak_during(|| {
        let mut source = DatasetSource::from_zip(zip, &Limits::default()).expect("loads");
        assert_eq!(source.summary().profile.images, 1);
        let data = source.decode(16, ResizePolicy::Stretch, |_, _| {}).expect("decodes");
        // The profile is dropped, the pixels are the image's.
        data.image(0)[..3].to_vec()
    });
    assert_eq!(pixels, [30, 120, 200]);
    eprintln!(
        "iCCP bomb: zip {:.2} MiB, peak added {:.2} MiB",
        zip_len as f64 / MIB,
        peak as f64 / MIB
    );
    assert!(peak <= bound(zip_len, 1), "peak {peak} bytes for a zip of {zip_len}");
}

/// A stored zip with `index.csv` (`rows` rows from `row(i)`, whose image is `image(i)`) and the
/// image of the first row.
fn csv_zip(header: &str, rows: usize, row: impl Fn(usize) -> String, first: &str) -> Vec<u8> {
    let mut csv = String::from(header);
    for i in 0..rows {
        csv.push_str(&row(i));
    }
    stored_zip_of(&[("index.csv", csv.into_bytes()), (first, solid_png(4, 4, [9, 9, 9]))])
}

/// Loads a zip whose rows (all but the first) name images that are not there, the first
/// missing one being `second`; checks the error and the peak heap.
fn load_missing(zip: Vec<u8>, rows: usize, second: &str, name: &str) {
    let zip_len = zip.len();
    let (result, peak) = peak_during(|| DatasetSource::from_zip(zip, &Limits::default()).err());
    let e = result.expect("the missing images are reported");
    assert!(
        matches!(e.kind(), ErrorKind::Problems { problems } if problems.len() == PROBLEMS_KEPT + 1)
    );
    assert_eq!(e.problem_count(), rows - 1, "every missing image is counted");
    let first = &e.problems()[0];
    assert!(
        matches!(first.kind(), ErrorKind::MissingImage { line: 3, image, .. } if image == second),
        "{first}"
    );
    let text = e.to_string();
    assert!(text.starts_with(&format!("the dataset has {} problems", rows - 1)), "{text:.300}");
    assert!(text.contains(&format!("… and {} more", rows - 1 - 50)), "{text:.300}");
    eprintln!(
        "{name}: {rows} rows, zip {:.2} MiB, peak added {:.2} MiB",
        zip_len as f64 / MIB,
        peak as f64 / MIB
    );
    assert!(peak <= bound(zip_len, rows), "{name}: peak {peak} bytes for a zip of {zip_len}");
}

#[test]
fn a_16_mib_csv_of_40_cells_a_row_costs_a_small_multiple_of_its_size() {
    let _serial = serial();
    let header =
        format!("image,{}\n", (1..40).map(|i| format!("l{i}")).collect::<Vec<_>>().join(","));
    let row = |i: usize| format!("i{i}.png{}\n", ",0".repeat(39));
    let rows = (16 << 20) / row(100_000).len();
    load_missing(csv_zip(&header, rows, row, "i0.png"), rows, "i1.png", "40-cell rows");
}

#[test]
fn a_16_mib_csv_of_tiny_rows_costs_a_small_multiple_of_its_size() {
    let _serial = serial();
    // The shortest rows that are neither blank nor repeats: "0,1", "1,1", ...
    let row = |i: usize| format!("{i},1\n");
    let rows = (16 << 20) / row(1_000_000).len();
    load_missing(csv_zip("image,a\n", rows, row, "0"), rows, "1", "tiny rows");
}

#[test]
fn a_jpeg_declaring_65000_pixels_a_side_is_over_the_size_limit_not_truncated() {
    let _serial = serial();
    // SOI, JFIF, then a start of frame declaring 65,000 × 65,000 × 3, and the file ends.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    jpeg.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    jpeg.extend([
        0xFF, 0xC0, 0, 17, 8, 0xFD, 0xE8, 0xFD, 0xE8, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0,
    ]);
    jpeg.resize(1024, 0);
    let zip =
        stored_zip_of(&[("index.csv", b"image,a\nhuge.jpg,1\n".to_vec()), ("huge.jpg", jpeg)]);
    let zip_len = zip.len();
    let (e, peak) = peak_during(|| DatasetSource::from_zip(zip, &Limits::default()).err());
    let e = e.expect("refused");
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Limit { what: "side (pixels)", place, limit: 12_000, actual: 65_000 }
                if place == "image 'huge.jpg'"
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("over the limit") && !text.contains("truncated"), "{text}");
    eprintln!("65,000² JPEG: zip {zip_len} bytes, peak added {peak} bytes");
    assert!(peak <= bound(zip_len, 1), "peak {peak} bytes for a zip of {zip_len}");
}
