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

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use crate::limits::Limits;

mod header;

pub(crate) use header::all_grayscale;
pub use header::{ImageHeader, dimensions, header};
use header::{checked_decoder, prepared};

/// How a non-square (or differently sized) image becomes `size × size`. Stored in the model so
/// that prediction prepares images exactly as training did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    let bytes = prepared(name, bytes, limits)?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_image_side);
    decoder_limits.max_image_height = Some(limits.max_image_side);
    decoder_limits.max_alloc = Some(limits.image_alloc_bytes());
    let mut decoder = checked_decoder(name, &bytes, limits, decoder_limits)?;
    let orientation = decoder.orientation().map_err(|e| Error::image_decode(name, e))?;
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| Error::image_decode(name, e))?;
    image.apply_orientation(orientation);
    Ok(model_input(image, size, channels, resize))
}

/// Pixels already decoded (a canvas's `ImageData`, a video frame): `width × height` RGBA, 8 bits
/// a channel, unpremultiplied, row-major. They become the model's input exactly as a decoded
/// file's pixels do in [`decode_image`] (alpha onto white, the resize policy, grey or RGB).
///
/// # Errors
/// [`crate::ErrorKind::ImageDecode`] naming `name` when `rgba` is not `width × height × 4`
/// bytes; [`crate::ErrorKind::Limit`] when the image is larger than `limits` allow.
pub fn rgba_input(
    name: &str,
    rgba: Vec<u8>,
    (width, height): (u32, u32),
    size: u32,
    channels: usize,
    resize: ResizePolicy,
    limits: &Limits,
) -> Result<Vec<u8>> {
    limits.check_image(name, width, height)?;
    let expected = u64::from(width) * u64::from(height) * 4;
    if width == 0 || height == 0 || rgba.len() as u64 != expected {
        return Err(Error::image_decode(
            name,
            format!(
                "{} bytes of RGBA for {width}×{height} pixels (expected {expected})",
                rgba.len()
            ),
        ));
    }
    let image = image::RgbaImage::from_raw(width, height, rgba).expect("length checked");
    Ok(model_input(DynamicImage::ImageRgba8(image), size, channels, resize))
}

/// The JPEG quality of a captured webcam frame: visually lossless for training at the sizes
/// tagtrain uses (≤ 224 px), about a tenth of the pixels' bytes.
pub const CAPTURE_QUALITY: u8 = 90;

/// `width × height` RGBA pixels (a video frame drawn on a canvas) as a JPEG of `quality`
/// (1–100), alpha flattened onto white.
///
/// # Errors
/// [`crate::ErrorKind::ImageDecode`] when `rgba` is not `width × height × 4` bytes;
/// [`crate::ErrorKind::Limit`] when the frame is larger than `limits` allow.
pub fn encode_jpeg(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: u8,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let name = "the captured frame";
    limits.check_image(name, width, height)?;
    let expected = u64::from(width) * u64::from(height) * 4;
    if width == 0 || height == 0 || rgba.len() as u64 != expected {
        let got = format!("{} bytes of RGBA for {width}×{height} pixels", rgba.len());
        return Err(Error::image_decode(name, format!("{got} (expected {expected})")));
    }
    let image = image::RgbaImage::from_raw(width, height, rgba.to_vec()).expect("length checked");
    let rgb = flatten_on_white(DynamicImage::ImageRgba8(image));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .encode_image(&rgb)
        .map_err(|e| Error::image_decode(name, e))?;
    Ok(bytes)
}

/// The last steps every image takes: alpha onto white, the square at `size`, then grey (Rec.
/// 709 luma) for one channel or RGB.
fn model_input(image: DynamicImage, size: u32, channels: usize, resize: ResizePolicy) -> Vec<u8> {
    let square = to_square(flatten_on_white(image), size, resize);
    if channels == 1 {
        DynamicImage::ImageRgb8(square).into_luma8().into_raw()
    } else {
        square.into_raw()
    }
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
mod tests;
