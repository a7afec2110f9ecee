//! Image decoding, case by case.

use super::header::declared_dimensions;
use super::*;
use crate::ErrorKind;
use image::{ImageFormat, Rgba, RgbaImage};
use std::io::Cursor;

fn png(image: DynamicImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn transparent_pixels_become_white() {
    let mut img = RgbaImage::new(2, 2);
    img.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
    img.put_pixel(1, 0, Rgba([10, 20, 30, 255]));
    let px = decode_rgb("t.png", &png(img.into()), 2, &Limits::default()).unwrap();
    assert_eq!(&px[0..3], &[255, 255, 255]);
    assert_eq!(&px[3..6], &[10, 20, 30]);
}

#[test]
fn grayscale_and_16_bit_images_load_as_rgb() {
    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 3, image::Luma([200])));
    let px = decode_rgb("g.png", &png(gray), 4, &Limits::default()).unwrap();
    assert_eq!(px.len(), 4 * 4 * 3);
    assert!(px.iter().all(|v| (*v as i32 - 200).abs() <= 1));
    let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        3,
        3,
        image::Rgb([65535u16, 0, 32768]),
    ));
    let px = decode_rgb("d.png", &png(deep), 3, &Limits::default()).unwrap();
    assert_eq!(&px[0..3], &[255, 0, 128]);
}

#[test]
fn garbage_is_a_decode_error_naming_the_image() {
    let err = decode_rgb("bad.png", b"\x89PNG\r\n\x1a\nxx", 8, &Limits::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::ImageDecode { image, .. } if image == "bad.png"));
}

#[test]
fn oversized_images_are_refused_before_decoding() {
    let limits = Limits { max_image_side: 8, ..Limits::default() };
    let img = DynamicImage::ImageRgb8(RgbImage::new(16, 4));
    let err = decode_rgb("big.png", &png(img), 8, &limits).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Limit { .. }));
}

/// A 4×2 image: left half black, right half red.
fn half_black_half_red() -> Vec<u8> {
    let img = RgbImage::from_fn(4, 2, |x, _| {
        if x < 2 { image::Rgb([0, 0, 0]) } else { image::Rgb([255, 0, 0]) }
    });
    png(img.into())
}

#[test]
fn resize_policies() {
    let limits = Limits::default();
    let bytes = half_black_half_red();
    // Stretch keeps both halves: left column black, right column red.
    let s = decode_image("x.png", &bytes, 2, 3, ResizePolicy::Stretch, &limits).unwrap();
    assert!(s[0] < 64 && s[3] > 192, "left dark, right red: {s:?}");
    // Center crop keeps the middle 2×2 (one black, one red column), unscaled.
    let c = decode_image("x.png", &bytes, 2, 3, ResizePolicy::CenterCrop, &limits).unwrap();
    assert_eq!(c, vec![0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0, 0]);
    // Letterbox: 4×2 → 4×2 inside a 4×4 white square, one white row above and below.
    let l = decode_image("x.png", &bytes, 4, 3, ResizePolicy::Letterbox, &limits).unwrap();
    assert_eq!(&l[0..12], &[255; 12], "top row is padding");
    assert_eq!(&l[12..15], &[0, 0, 0]);
    assert_eq!(&l[21..24], &[255, 0, 0]);
    assert_eq!(&l[36..48], &[255; 12], "bottom row is padding");
    for (name, p) in [
        ("stretch", ResizePolicy::Stretch),
        ("center-crop", ResizePolicy::CenterCrop),
        ("letterbox", ResizePolicy::Letterbox),
    ] {
        assert_eq!(ResizePolicy::parse(name).unwrap(), p);
        assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{name}\""));
    }
    assert!(ResizePolicy::parse("squash").is_err());
}

#[test]
fn headers_tell_grayscale_and_one_channel_decodes_luma() {
    let limits = Limits::default();
    let gray = png(DynamicImage::ImageLuma8(image::GrayImage::from_pixel(3, 5, image::Luma([90]))));
    let h = header("g.png", &gray, &limits).unwrap();
    assert_eq!((h.width, h.height, h.grayscale), (3, 5, true));
    let gray_alpha = png(DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_pixel(
        2,
        2,
        image::LumaA([0, 0]),
    )));
    assert!(header("ga.png", &gray_alpha, &limits).unwrap().grayscale);
    assert!(!header("r.png", &half_black_half_red(), &limits).unwrap().grayscale);
    let px = decode_image("g.png", &gray, 4, 1, ResizePolicy::Stretch, &limits).unwrap();
    assert_eq!(px, vec![90; 16]);
    // Transparent gray composites onto white.
    assert_eq!(
        decode_image("ga.png", &gray_alpha, 2, 1, ResizePolicy::Stretch, &limits).unwrap(),
        vec![255; 4]
    );
}

#[test]
fn declared_dimensions_of_png_and_jpeg() {
    let p = png(DynamicImage::ImageRgb8(RgbImage::new(7, 3)));
    assert_eq!(declared_dimensions(&p), Some((7, 3)));
    let mut j = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::new(9, 5)).write_to(&mut j, ImageFormat::Jpeg).unwrap();
    assert_eq!(declared_dimensions(j.get_ref()), Some((9, 5)));
    assert_eq!(declared_dimensions(b"GIF89a"), None);
    assert_eq!(declared_dimensions(&[0xFF, 0xD8, 0xFF]), None);
}
