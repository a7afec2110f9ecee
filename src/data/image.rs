//! Decoding user images into pixels at the training size.
//!
//! Every format the product accepts goes through one function, [`decode_image`], so that
//! training and prediction see exactly the same pixels: EXIF orientation applied, alpha
//! composited onto white, 16-bit, palette and CMYK images brought to 8-bit RGB, brought to the
//! square training size by the chosen [`ResizePolicy`], and reduced to one grey channel for
//! grayscale models.
//!
//! Memory is bounded by the file and the declared size: the declared width and height are
//! checked against [`Limits`] before anything else is said about an image, and the PNG chunks
//! tagtrain never reads whose inflated size the file does not bound (`iCCP`, `zTXt`, `iTXt`,
//! `tEXt`) are dropped before the decoder sees them. JPEG metadata (EXIF, ICC) lives in
//! segments of at most 64 KiB each, so it is bounded by the file's size.

use std::borrow::Cow;
use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use crate::limits::Limits;

/// How a non-square (or differently sized) image becomes `size × size`. Stored in the model so
/// that prediction prepares images exactly as training did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizePolicy {
    /// Scale each side to `size`, changing the aspect ratio (nothing is lost, shapes stretch).
    #[default]
    Stretch,
    /// Scale the shorter side to `size` and cut off the middle square (shapes kept, edges lost).
    CenterCrop,
    /// Scale the longer side to `size` and pad the rest with white (everything kept, smaller).
    Letterbox,
}

impl ResizePolicy {
    /// Every policy, the default first.
    pub const ALL: [Self; 3] = [Self::Stretch, Self::CenterCrop, Self::Letterbox];

    /// The name used in options and model files: `stretch`, `center-crop` or `letterbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stretch => "stretch",
            Self::CenterCrop => "center-crop",
            Self::Letterbox => "letterbox",
        }
    }

    /// Parses a policy name.
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "stretch" => Ok(Self::Stretch),
            "center-crop" | "centre-crop" | "crop" => Ok(Self::CenterCrop),
            "letterbox" | "pad" => Ok(Self::Letterbox),
            other => Err(Error::option(
                "resize",
                format!("'{other}' is not one of stretch, center-crop, letterbox"),
            )),
        }
    }
}

impl std::fmt::Display for ResizePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an image's header says, read without decoding the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Width in pixels, as the header declares it.
    pub width: u32,
    /// Height in pixels, as the header declares it.
    pub height: u32,
    /// Gray (with or without alpha): such a dataset can train on one channel.
    pub grayscale: bool,
}

/// Reads an image's header (size and colour type) without decoding the pixels; checks the size
/// against `limits` before anything is allocated for the pixels.
pub fn header(name: &str, bytes: &[u8], limits: &Limits) -> Result<ImageHeader> {
    // Decoders refuse absurd sizes on their own terms, differently per platform (in wasm32 the
    // PNG decoder stops at "Memory limit exceeded"): read the declared size first, before any
    // other verdict (a huge image cut short is huge first), so that the user gets our limit,
    // with the numbers.
    if let Some((w, h)) = declared_dimensions(bytes) {
        check_dimensions(name, w, h, limits)?;
    }
    if let Some(format) = unsupported_format(bytes) {
        return Err(Error::unsupported_image(name, format));
    }
    check_jpeg_complete(name, bytes)?;
    let bytes = without_png_metadata(bytes);
    let mut reader = ImageReader::new(Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| Error::image_decode(name, e))?;
    // Reading a header allocates no pixels; our own limits are checked on the dimensions just
    // below, so that an absurd size is reported with its numbers (the decoder's own limit
    // gives only "Memory limit exceeded", and only on some platforms).
    reader.no_limits();
    let decoder = reader.into_decoder().map_err(|e| Error::image_decode(name, e))?;
    let (width, height) = decoder.dimensions();
    check_dimensions(name, width, height, limits)?;
    let grayscale = matches!(
        decoder.original_color_type(),
        ExtendedColorType::L1
            | ExtendedColorType::L2
            | ExtendedColorType::L4
            | ExtendedColorType::L8
            | ExtendedColorType::L16
            | ExtendedColorType::La1
            | ExtendedColorType::La2
            | ExtendedColorType::La4
            | ExtendedColorType::La8
            | ExtendedColorType::La16
    );
    Ok(ImageHeader { width, height, grayscale })
}

/// The eight bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// PNG chunks tagtrain never reads whose content may inflate far beyond the file's size (a
/// 2 MB `iCCP` chunk can inflate to 2 GB): dropped before decoding.
const IGNORED_PNG_CHUNKS: [&[u8]; 4] = [b"iCCP", b"zTXt", b"iTXt", b"tEXt"];

/// The PNG without its [`IGNORED_PNG_CHUNKS`] (borrowed when it has none; other formats are
/// returned as they are). A chunk cut short ends the walk and is kept, so that the decoder
/// still reports the file as truncated.
fn without_png_metadata(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some(chunks) = bytes.strip_prefix(PNG_SIGNATURE) else {
        return Cow::Borrowed(bytes);
    };
    let mut out: Option<Vec<u8>> = None;
    let mut at = 0;
    while let Some(&[a, b, c, d, ref kind @ ..]) = chunks.get(at..at + 8) {
        let length = u32::from_be_bytes([a, b, c, d]) as usize;
        let end = at.saturating_add(12).saturating_add(length).min(chunks.len());
        if IGNORED_PNG_CHUNKS.contains(&kind) {
            out.get_or_insert_with(|| {
                let mut kept = Vec::with_capacity(bytes.len());
                kept.extend_from_slice(&bytes[..PNG_SIGNATURE.len() + at]);
                kept
            });
        } else if let Some(out) = &mut out {
            out.extend_from_slice(&chunks[at..end]);
        }
        at = end;
    }
    match out {
        None => Cow::Borrowed(bytes),
        Some(mut out) => {
            out.extend_from_slice(&chunks[at..]);
            Cow::Owned(out)
        }
    }
}

/// Formats people drop that tagtrain does not decode, told by their first bytes.
fn unsupported_format(bytes: &[u8]) -> Option<&'static str> {
    let brand = bytes.get(8..12).filter(|_| bytes.get(4..8) == Some(b"ftyp"));
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("GIF")
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("WebP")
    } else if bytes.starts_with(b"BM") && bytes.len() >= 26 {
        Some("BMP")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("TIFF")
    } else if brand.is_some_and(|b| matches!(b, b"heic" | b"heix" | b"hevc" | b"mif1")) {
        Some("HEIC")
    } else if brand == Some(b"avif") {
        Some("AVIF")
    } else {
        None
    }
}

/// The width and height a PNG (IHDR) or JPEG (SOFn) header declares, read from the bytes.
fn declared_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| Some(u32::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?])));
    let be32 = |i: usize| Some(u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
    if bytes.starts_with(PNG_SIGNATURE) && bytes.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let length = be16(i + 2)? as usize;
        // Start-of-frame markers (not DHT C4, JPG C8, DAC CC) carry height then width.
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            return Some((be16(i + 7)?, be16(i + 5)?));
        }
        if marker == 0xDA {
            return None;
        }
        i += 2 + length;
    }
    None
}

/// JPEG decoders fill a cut-off file with grey and report success; a truncated upload must be
/// an error instead. The end-of-image marker (`FF D9`) must follow the last start-of-scan
/// (`FF DA`); an EXIF thumbnail's own markers come before the main scan, and inside scan data
/// `FF` is always followed by `00` or a restart marker, so the check cannot be fooled by them.
fn check_jpeg_complete(name: &str, bytes: &[u8]) -> Result<()> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(());
    }
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let complete = last_scan.is_some_and(|sos| bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9]));
    if complete {
        Ok(())
    } else {
        Err(Error::image_decode(
            name,
            "the JPEG file is truncated (it has no end-of-image marker); export or copy it again",
        ))
    }
}

/// True when there are images and every one is grayscale (then training uses one channel).
pub(crate) fn all_grayscale(headers: &[ImageHeader]) -> bool {
    !headers.is_empty() && headers.iter().all(|h| h.grayscale)
}

/// Reads an image's width and height from its header, without decoding the pixels.
pub fn dimensions(name: &str, bytes: &[u8], limits: &Limits) -> Result<(u32, u32)> {
    header(name, bytes, limits).map(|h| (h.width, h.height))
}

fn check_dimensions(name: &str, w: u32, h: u32, limits: &Limits) -> Result<()> {
    limits.check_image(name, w, h)?;
    if w == 0 || h == 0 {
        return Err(Error::image_decode(name, "the image has no pixels"));
    }
    Ok(())
}

/// Decodes `bytes` (JPEG or PNG) and returns `size × size` RGB pixels, row-major, `HWC` order,
/// stretched to the square. See [`decode_image`].
pub fn decode_rgb(name: &str, bytes: &[u8], size: u32, limits: &Limits) -> Result<Vec<u8>> {
    decode_image(name, bytes, size, 3, ResizePolicy::Stretch, limits)
}

/// Decodes `bytes` (JPEG or PNG) and returns `size × size × channels` pixels, row-major, `HWC`
/// order: RGB for 3 channels, luma (Rec. 709) for 1.
///
/// # Errors
/// [`crate::ErrorKind::ImageDecode`] naming `name` when the bytes are not a decodable image (truncated,
/// corrupt, another format); [`crate::ErrorKind::Limit`] when the image is larger than `limits` allow.
pub fn decode_image(
    name: &str,
    bytes: &[u8],
    size: u32,
    channels: usize,
    resize: ResizePolicy,
    limits: &Limits,
) -> Result<Vec<u8>> {
    // Check the header's dimensions first, so that an absurd size is reported as our limit
    // (with the numbers) before the decoder is asked for anything.
    dimensions(name, bytes, limits)?;
    let bytes = without_png_metadata(bytes);
    let mut reader = ImageReader::new(Cursor::new(&bytes[..]))
        .with_guessed_format()
        .map_err(|e| Error::image_decode(name, e))?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_image_side);
    image_limits.max_image_height = Some(limits.max_image_side);
    image_limits.max_alloc = Some(limits.image_alloc_bytes());
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| Error::image_decode(name, e))?;
    let (w, h) = decoder.dimensions();
    check_dimensions(name, w, h, limits)?;
    let orientation = decoder.orientation().map_err(|e| Error::image_decode(name, e))?;
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| Error::image_decode(name, e))?;
    image.apply_orientation(orientation);
    let rgb = flatten_on_white(image);
    let square = to_square(rgb, size, resize);
    Ok(if channels == 1 {
        DynamicImage::ImageRgb8(square).into_luma8().into_raw()
    } else {
        square.into_raw()
    })
}

fn to_square(rgb: RgbImage, size: u32, policy: ResizePolicy) -> RgbImage {
    let (w, h) = rgb.dimensions();
    let scale = |img: &RgbImage, tw: u32, th: u32| {
        if img.width() == tw && img.height() == th {
            img.clone()
        } else {
            image::imageops::resize(img, tw, th, FilterType::Triangle)
        }
    };
    match policy {
        ResizePolicy::Stretch => scale(&rgb, size, size),
        ResizePolicy::CenterCrop => {
            let side = w.min(h);
            let square =
                image::imageops::crop_imm(&rgb, (w - side) / 2, (h - side) / 2, side, side)
                    .to_image();
            scale(&square, size, size)
        }
        ResizePolicy::Letterbox => {
            let longer = w.max(h);
            let tw = ((u64::from(w) * u64::from(size) + u64::from(longer) / 2) / u64::from(longer))
                .max(1) as u32;
            let th = ((u64::from(h) * u64::from(size) + u64::from(longer) / 2) / u64::from(longer))
                .max(1) as u32;
            let inner = scale(&rgb, tw.min(size), th.min(size));
            let mut canvas = RgbImage::from_pixel(size, size, image::Rgb([255, 255, 255]));
            image::imageops::replace(
                &mut canvas,
                &inner,
                i64::from((size - inner.width()) / 2),
                i64::from((size - inner.height()) / 2),
            );
            canvas
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
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
        let gray =
            png(DynamicImage::ImageLuma8(image::GrayImage::from_pixel(3, 5, image::Luma([90]))));
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
}
