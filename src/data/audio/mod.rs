//! Sound as pictures (issue #33): an audio file becomes a log-mel spectrogram, a one-channel
//! image the network trains on like any photo.
//!
//! [`decode_audio`] reads WAV, FLAC, Ogg Vorbis and MP3 (symphonia, pure Rust: the page, the CLI
//! and the predict package share this path) and mixes to mono; [`resample`] brings the clip to
//! the settings' rate; [`window_of`] takes the fixed-length window; [`log_mel`] and
//! [`LogMel::to_image`] make the picture. [`SoundSettings`] records every choice.

mod decode;
mod picture;
mod real_fft;
mod resample;
mod spectrogram;

pub use decode::{AudioFormat, Clip, ClipHeader, clip_header, decode_audio, mix_to_mono};
pub use resample::resample;
pub use spectrogram::{
    CLIP_SECONDS, Crop, DB_CEIL, DB_FLOOR, LogMel, MEL_BANDS, RATES, SoundSettings, WINDOWS,
    log_mel, window_of,
};

use crate::error::{Error, Result};
use crate::limits::Limits;

/// File name endings of the sound formats tagtrain reads.
pub const SOUND_EXTENSIONS: [&str; 5] = [".wav", ".flac", ".ogg", ".oga", ".mp3"];

/// The error of a build without the `sound` feature when it meets a sound clip or a model of
/// sound clips (every build tagtrain ships has it: the page, the CLI, the predict package).
pub fn sound_unavailable(name: &str) -> Error {
    Error::audio_decode(
        name,
        "this build of tagtrain reads no sound (it was built without the 'sound' cargo feature)",
    )
}

/// A clip's spectrogram image, `side × side`, one channel: decoded, mixed to mono, resampled,
/// windowed by `crop`, and drawn by `settings` (which must have passed
/// [`SoundSettings::check`]).
///
/// # Errors
/// As [`decode_audio`].
pub fn spectrogram_image(
    name: &str,
    bytes: &[u8],
    settings: &SoundSettings,
    side: usize,
    crop: Crop,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let clip = decode_audio(name, bytes, limits)?;
    Ok(clip_image(&clip, settings, side, crop))
}

/// Clip `name`'s spectrogram (its centre window) as `side × side` pixels with `channels`
/// channels (the one channel repeated for RGB: a thumbnail): a dataset's clip, or a file to
/// explain. Without the `sound` feature, refused in words.
///
/// # Errors
/// As [`decode_audio`].
pub fn spectrogram_pixels(
    name: &str,
    bytes: &[u8],
    settings: &SoundSettings,
    side: u32,
    channels: usize,
    limits: &Limits,
) -> Result<Vec<u8>> {
    Ok(spectrogram_with_strip(name, bytes, settings, side, channels, 0, limits)?.0)
}

/// [`spectrogram_pixels`] and, with `reach > 0`, the clip's [`TimeStrip`] (its pixels with
/// `channels` channels too): a training decoding's two pictures of one clip.
///
/// # Errors
/// As [`decode_audio`]; without the `sound` feature, refused in words.
pub fn spectrogram_with_strip(
    name: &str,
    bytes: &[u8],
    settings: &SoundSettings,
    side: u32,
    channels: usize,
    reach: usize,
    limits: &Limits,
) -> Result<(Vec<u8>, Option<TimeStrip>)> {
    if cfg!(not(feature = "sound")) {
        return Err(sound_unavailable(name));
    }
    let clip = decode_audio(name, bytes, limits)?;
    let (centre, strip) = clip_pictures(&clip, settings, side as usize, reach);
    let spread = |grey: Vec<u8>| {
        if channels == 1 {
            grey
        } else {
            grey.iter().flat_map(|&p| std::iter::repeat_n(p, channels)).collect()
        }
    };
    let strip = strip.map(|s| TimeStrip { pixels: spread(s.pixels), span: s.span });
    Ok((spread(centre), strip))
}

/// A clip's spectrogram over more time than the window, for training's random crops in time
/// (issue #33): the picture of the centre window with `reach` columns more each side (time
/// before and after it, silence past the clip's ends), and how far a crop may move.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeStrip {
    /// `side × (side + 2·reach)` one-channel pixels, row-major, drawn as [`clip_image`] draws
    /// the window (the same columns per second).
    pub pixels: Vec<u8>,
    /// Columns of the clip's own sound each side of the centre window, at most `reach`: a crop
    /// moved further would show only silence the clip never had.
    pub span: usize,
}

/// The centre window's picture (exactly [`clip_image`] with [`Crop::Centre`]) and, with
/// `reach > 0`, its [`TimeStrip`]; the clip is resampled once for both.
pub fn clip_pictures(
    clip: &Clip,
    settings: &SoundSettings,
    side: usize,
    reach: usize,
) -> (Vec<u8>, Option<TimeStrip>) {
    let samples = resample(&clip.samples, clip.sample_rate, settings.sample_rate);
    let n = settings.clip_samples();
    let centre = window_picture(&samples, settings, side, Crop::Centre);
    if reach == 0 {
        return (centre, None);
    }
    // The window starts where window_of's centre crop does; the strip adds `extra` samples (as
    // many as `reach` columns hold, in whole hops so that its frames fall where the window's
    // do) each side, zeros where the clip has none. Its columns take as many frames as the
    // window's picture's, from the same first frame: the middle `side` columns are that picture.
    let start = samples.len().saturating_sub(n) / 2;
    let hop = settings.hop as usize;
    let extra = ((reach * n) as f64 / (side * hop) as f64).round() as usize * hop;
    let wide: Vec<f32> = (0..n + 2 * extra)
        .map(|k| {
            (start + k).checked_sub(extra).and_then(|j| samples.get(j)).copied().unwrap_or(0.0)
        })
        .collect();
    let frames_per_column = (1 + n / hop) as f64 / side as f64;
    let origin = (extra / hop) as f64 - reach as f64 * frames_per_column;
    let pixels =
        log_mel(&wide, settings).to_picture_at(side, side + 2 * reach, frames_per_column, origin);
    // The shorter side: a centred window leaves `start` samples before it and as many (or one
    // more) after.
    let span = (start * side / n).min(reach);
    (centre, Some(TimeStrip { pixels, span }))
}

/// A decoded clip's spectrogram image (see [`spectrogram_image`]).
pub fn clip_image(clip: &Clip, settings: &SoundSettings, side: usize, crop: Crop) -> Vec<u8> {
    let samples = resample(&clip.samples, clip.sample_rate, settings.sample_rate);
    window_picture(&samples, settings, side, crop)
}

/// The picture of the window `crop` takes of `samples` (already at the settings' rate).
fn window_picture(samples: &[f32], settings: &SoundSettings, side: usize, crop: Crop) -> Vec<u8> {
    log_mel(&window_of(samples, settings.clip_samples(), crop), settings).to_image(side)
}

#[cfg(test)]
mod tests;
