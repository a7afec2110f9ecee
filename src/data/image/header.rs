//! What an image says about itself before its pixels are decoded: its declared size (checked
//! against [`Limits`] before any other verdict), its format (JPEG and PNG are read; others are
//! named), whether a JPEG is complete, and the PNG chunks dropped because nothing bounds their
//! inflated size. [`header`] and [`super::decode_image`] share these checks and one decoder.

use std::borrow::Cow;
use std::io::Cursor;

use image::{ExtendedColorType, ImageDecoder, ImageReader};

use crate::error::{Error, Result};
use crate::limits::Limits;

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
    let bytes = prepared(name, bytes, limits)?;
    // Reading a header allocates no pixels; our own limits were checked on the declared size.
    let decoder = checked_decoder(name, &bytes, limits, image::Limits::no_limits())?;
    let (width, height) = decoder.dimensions();
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
pub(super) fn declared_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
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

/// The checks every image passes before a decoder sees it, in this order: the declared size
/// (a huge image cut short is huge first; decoders refuse absurd sizes on their own terms,
/// differently per platform), the format, a JPEG's completeness. Returns the bytes to decode
/// (PNG chunks nothing reads, removed).
pub(super) fn prepared<'a>(name: &str, bytes: &'a [u8], limits: &Limits) -> Result<Cow<'a, [u8]>> {
    if let Some((w, h)) = declared_dimensions(bytes) {
        check_dimensions(name, w, h, limits)?;
    }
    if let Some(format) = unsupported_format(bytes) {
        return Err(Error::unsupported_image(name, format));
    }
    check_jpeg_complete(name, bytes)?;
    Ok(without_png_metadata(bytes))
}

/// The decoder of `prepared` bytes under `decoder_limits`, its dimensions checked against
/// ours.
pub(super) fn checked_decoder<'a>(
    name: &str,
    bytes: &'a [u8],
    limits: &Limits,
    decoder_limits: image::Limits,
) -> Result<impl ImageDecoder + 'a> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::image_decode(name, e))?;
    reader.limits(decoder_limits);
    let decoder = reader.into_decoder().map_err(|e| Error::image_decode(name, e))?;
    let (w, h) = decoder.dimensions();
    check_dimensions(name, w, h, limits)?;
    Ok(decoder)
}
