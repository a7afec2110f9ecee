//! Writes a dataset zip of many small JPEGs for the streaming benchmark (issue #36): a shape
//! (a disc or a square) on a background, with three labels learnable from colour and shape.
//!
//! `cargo run --release --example make_big_dataset -- OUT.zip [IMAGES] [SIDE]` (200,000 images
//! of 64 px by default). The output is not committed; BENCHMARKS.md ("Streaming data") trains
//! on it. JPEGs are stored (deflating them gains nothing), `index.csv` is deflated.

use std::io::Write;

use image::codecs::jpeg::JpegEncoder;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// xorshift64*: a few random numbers a picture, the same every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One picture and its labels: `red` (the shape is red rather than blue or green), `disc`
/// (a disc rather than a square), `dark` (a dark background rather than a light one).
fn picture(random: &mut Random, side: u32) -> (Vec<u8>, [u8; 3]) {
    let red = random.below(2) == 1;
    let disc = random.below(2) == 1;
    let dark = random.below(2) == 1;
    let shade = |r: &mut Random, base: u8| base.saturating_add(r.below(40) as u8);
    let background = if dark { [shade(random, 10); 3] } else { [shade(random, 190); 3] };
    let colour = match (red, random.below(2)) {
        (true, _) => [shade(random, 200), shade(random, 20), shade(random, 20)],
        (false, 0) => [shade(random, 20), shade(random, 20), shade(random, 200)],
        (false, _) => [shade(random, 20), shade(random, 170), shade(random, 20)],
    };
    let s = i64::from(side);
    let radius = s / 6 + random.below((s / 6) as u64) as i64;
    let cx = radius + random.below((s - 2 * radius).max(1) as u64) as i64;
    let cy = radius + random.below((s - 2 * radius).max(1) as u64) as i64;
    let mut rgb = Vec::with_capacity((side * side * 3) as usize);
    for y in 0..s {
        for x in 0..s {
            let (dx, dy) = (x - cx, y - cy);
            let inside = if disc {
                dx * dx + dy * dy <= radius * radius
            } else {
                dx.abs().max(dy.abs()) <= radius
            };
            rgb.extend_from_slice(if inside { &colour } else { &background });
        }
    }
    (rgb, [u8::from(red), u8::from(disc), u8::from(dark)])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        return Err("usage: make_big_dataset OUT.zip [IMAGES] [SIDE]".into());
    };
    let images: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(200_000);
    let side: u32 = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(64);
    let mut zip = ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(out)?));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut index = String::from("image,red,disc,dark\n");
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut jpeg = Vec::new();
    for i in 0..images {
        let (rgb, labels) = picture(&mut random, side);
        jpeg.clear();
        JpegEncoder::new_with_quality(&mut jpeg, 85).encode(
            &rgb,
            side,
            side,
            image::ExtendedColorType::Rgb8,
        )?;
        let name = format!("images/{:03}/{i:07}.jpg", i / 1000);
        zip.start_file(&name, stored)?;
        zip.write_all(&jpeg)?;
        index.push_str(&format!("{name},{},{},{}\n", labels[0], labels[1], labels[2]));
        if (i + 1) % 20_000 == 0 {
            eprintln!("{} images", i + 1);
        }
    }
    zip.start_file("index.csv", SimpleFileOptions::default())?;
    zip.write_all(index.as_bytes())?;
    zip.finish()?.flush()?;
    eprintln!("wrote {out}: {images} images of {side} px");
    Ok(())
}
