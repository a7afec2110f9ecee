//! Dataset ingestion benchmark (run by hand, never in CI):
//!
//! ```text
//! cargo bench --bench ingest -- [DATASET.zip] [IMAGE_SIZE] [--save GENERATED.zip]
//!                                [--count 10000] [--side 96]
//! ```
//!
//! `--save` also writes the generated zip, for the browser benchmarks (`benches/browser_ingest.mjs`,
//! `benches/browser_50k.mjs`); `--count 50000 --side 64` makes issue #9's 50,000-image set.
//!
//! 1. With a dataset zip (e.g. `A2_emoji_tags_train.zip`): open + check + decode + resize
//!    throughput in images per second.
//! 2. Always: builds a zip of `--count` generated `--side`×`--side` JPEGs in memory (10,000 at
//!    96 px unless told), loads and decodes it at that size, and reports the peak resident memory
//!    (VmHWM) of the process.

use std::io::{Cursor, Write};
use std::time::Instant;

use image::RgbImage;
use tagtrain::Limits;
use tagtrain::data::{DatasetSource, ResizePolicy};
use zip::write::SimpleFileOptions;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn throughput(path: &str, size: u32) {
    let bytes = std::fs::read(path).expect("read the dataset zip");
    let started = Instant::now();
    let mut source = DatasetSource::from_zip(bytes, &Limits::default()).expect("a usable dataset");
    let opened = started.elapsed().as_secs_f64();
    let dataset = source.decode(size, ResizePolicy::Stretch, |_, _| {}).expect("decodes");
    let total = started.elapsed().as_secs_f64();
    println!(
        "{path}: {} images; open+check {opened:.2} s; open+check+decode+resize to {size} px {total:.2} s = {:.0} images/s",
        dataset.len(),
        dataset.len() as f64 / total
    );
}

fn generated_jpegs(count: usize, side: u32) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut csv = String::from("image,warm,bright\n");
    for i in 0..count {
        let (r, g) = ((i * 37 % 256) as u8, (i * 91 % 256) as u8);
        // Gradients plus a little hashed noise, so that each JPEG weighs about what a small
        // photo does (~3 KB at 64 px) rather than what a flat test card does.
        let img = RgbImage::from_fn(side, side, |x, y| {
            let noise =
                |k: u32| ((x * 7919 + y * 104_729 + (i as u32 + k) * 15_485_863) % 97) as u8;
            image::Rgb([
                r ^ (x as u8) ^ noise(0),
                g ^ (y as u8) ^ noise(1),
                ((x + y) % 256) as u8 ^ noise(2),
            ])
        });
        let mut jpeg = Cursor::new(Vec::new());
        img.write_to(&mut jpeg, image::ImageFormat::Jpeg).expect("encode");
        zip.start_file(format!("img/{i:05}.jpg"), stored).expect("zip");
        zip.write_all(&jpeg.into_inner()).expect("zip");
        csv.push_str(&format!("img/{i:05}.jpg,{},{}\n", u8::from(r > 127), u8::from(g > 127)));
    }
    zip.start_file("index.csv", stored).expect("zip");
    zip.write_all(csv.as_bytes()).expect("zip");
    zip.finish().expect("zip").into_inner()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let save = args.iter().position(|a| a == "--save").map(|i| {
        let path = args.get(i + 1).cloned().expect("--save needs a path");
        args.drain(i..=i + 1);
        path
    });
    let mut flag = |name: &str, default: u32| {
        args.iter().position(|a| a == name).map_or(default, |i| {
            let value = args.get(i + 1).and_then(|v| v.parse().ok()).expect("a number");
            args.drain(i..=i + 1);
            value
        })
    };
    let count = flag("--count", 10_000) as usize;
    let side = flag("--side", 96);
    let size = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    if let Some(path) = args.first() {
        throughput(path, size);
    }
    let before = peak_rss_mib();
    let bytes = generated_jpegs(count, side);
    if let Some(path) = &save {
        std::fs::write(path, &bytes).expect("write the generated zip");
    }
    let zip_mib = bytes.len() as f64 / 1048576.0;
    let started = Instant::now();
    let mut source = DatasetSource::from_zip(bytes, &Limits::default()).expect("usable");
    let dataset = source.decode(side, ResizePolicy::Stretch, |_, _| {}).expect("decodes");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{count} generated {side}×{side} JPEGs ({zip_mib:.1} MiB zip): decoded {} images at {side} px in {seconds:.1} s \
         ({:.0} images/s); pixels {:.1} MiB; peak RSS {:.0} MiB (before building the zip: {before:.0} MiB)",
        dataset.len(),
        dataset.len() as f64 / seconds,
        dataset.pixels.len() as f64 / 1048576.0,
        peak_rss_mib()
    );
}
