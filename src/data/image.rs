//! Decoding user images into RGB pixels at the training size.
//!
//! Every format the product accepts goes through one function, [`decode_rgb`], so that training
//! and prediction see exactly the same pixels: EXIF orientation applied, alpha composited onto
//! white, 16-bit and palette images brought to 8-bit RGB, then resized.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use crate::error::{Error, ErrorKind, Result};

use super::archive::{Limits, limit};

/// Reads an image's width and height from its header, without decoding the pixels.
pub fn dimensions(name: &str, bytes: &[u8], limits: &Limits) -> Result<(u32, u32)> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_err(name, e))?;
    let (w, h) = reader.into_dimensions().map_err(|e| decode_err(name, e))?;
    check_dimensions(name, w, h, limits)?;
    Ok((w, h))
}

fn check_dimensions(name: &str, w: u32, h: u32, limits: &Limits) -> Result<()> {
    let place = format!("image '{name}'");
    let side = w.max(h);
    if side > limits.max_image_side {
        return Err(limit("side (pixels)", &place, limits.max_image_side.into(), side.into()));
    }
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_image_pixels {
        return Err(limit("pixel count", &place, limits.max_image_pixels, pixels));
    }
    if w == 0 || h == 0 {
        return Err(decode_err(name, "the image has no pixels"));
    }
    Ok(())
}

/// Decodes `bytes` (JPEG or PNG) and returns `size × size` RGB pixels, row-major, `HWC` order.
///
/// # Errors
/// [`ErrorKind::ImageDecode`] naming `name` when the bytes are not a decodable image;
/// [`ErrorKind::Limit`] when the image is larger than `limits` allow.
pub fn decode_rgb(name: &str, bytes: &[u8], size: u32, limits: &Limits) -> Result<Vec<u8>> {
    // Check the header's dimensions first, so that an absurd size is reported as our limit
    // (with the numbers) before the decoder is asked for anything.
    dimensions(name, bytes, limits)?;
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_err(name, e))?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_image_side);
    image_limits.max_image_height = Some(limits.max_image_side);
    image_limits.max_alloc = Some(limits.max_image_pixels.saturating_mul(8));
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode_err(name, e))?;
    let (w, h) = decoder.dimensions();
    check_dimensions(name, w, h, limits)?;
    let orientation = decoder.orientation().map_err(|e| decode_err(name, e))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode_err(name, e))?;
    image.apply_orientation(orientation);
    let rgb = flatten_on_white(image);
    let resized = if rgb.width() == size && rgb.height() == size {
        rgb
    } else {
        image::imageops::resize(&rgb, size, size, FilterType::Triangle)
    };
    Ok(resized.into_raw())
}

/// Converts any colour type to 8-bit RGB, compositing transparent pixels onto white (a
/// transparent emoji or logo means "nothing there", which white shows better than black).
fn flatten_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            let v = u16::from(src[c]) * a + 255 * (255 - a);
            dst[c] = ((v + 127) / 255) as u8;
        }
    }
    out
}

fn decode_err(name: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::ImageDecode {
        image: name.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgba, RgbaImage};

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
        let deep = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(3, 3, image::Rgb([65535u16, 0, 32768])));
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
        let limits = Limits {
            max_image_side: 8,
            ..Limits::default()
        };
        let img = DynamicImage::ImageRgb8(RgbImage::new(16, 4));
        let err = decode_rgb("big.png", &png(img), 8, &limits).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Limit { .. }));
    }
}
