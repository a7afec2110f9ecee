//! Helpers shared by the integration tests: in-memory zips and synthetic images.
#![allow(dead_code)]

use std::io::{Cursor, Write};

use image::{DynamicImage, ImageFormat, RgbImage};
use tagtrain::data::Dataset;
use tagtrain::unstable::SeededRng;
use zip::write::SimpleFileOptions;

/// Builds a zip from (path, bytes) pairs.
pub fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        writer.start_file(*path, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Builds a zip whose entries are stored, not deflated: a hostile file's bytes as they are.
pub fn stored_zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(files.iter().any(|(_, b)| b.len() >= u32::MAX as usize));
    for (path, bytes) in files {
        writer.start_file(*path, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// CRC-32 (IEEE), for hand-made PNG chunks.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// One PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let body = [kind.as_slice(), data].concat();
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
    out
}

/// Encodes an RGB image as PNG.
pub fn png(image: RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image).write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A solid-colour PNG.
pub fn solid_png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    png(RgbImage::from_pixel(w, h, image::Rgb(rgb)))
}

/// A synthetic multi-label task: `n` images of `size` px on a grey, noisy background; label
/// `k` (of 3) is present when a square of colour k (red, green, blue) is drawn at a random
/// place. Each label is present with probability 1/2, independently.
pub fn synthetic_dataset(n: usize, size: usize, seed: u64) -> Dataset {
    let colours = [[220u8, 30, 30], [30, 200, 30], [30, 30, 220]];
    let mut rng = SeededRng::new(seed);
    let mut pixels = Vec::with_capacity(n * size * size * 3);
    let mut targets = Vec::with_capacity(n * 3);
    for _ in 0..n {
        let mut img = vec![0u8; size * size * 3];
        for v in img.iter_mut() {
            *v = 100 + rng.below(56) as u8;
        }
        for colour in &colours {
            let present = rng.below(2) == 1;
            targets.push(u8::from(present));
            if present {
                let side = size / 4;
                let x0 = rng.below(size - side);
                let y0 = rng.below(size - side);
                for y in y0..y0 + side {
                    for x in x0..x0 + side {
                        let p = (y * size + x) * 3;
                        img[p..p + 3].copy_from_slice(colour);
                    }
                }
            }
        }
        pixels.extend_from_slice(&img);
    }
    Dataset {
        image_size: size,
        channels: 3,
        pixels,
        targets,
        labels: vec!["red".into(), "green".into(), "blue".into()],
        names: (0..n).map(|i| format!("img{i}.png")).collect(),
        splits: None,
        ..Default::default()
    }
}
