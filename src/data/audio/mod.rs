//! Sound as pictures (issue #33): an audio file becomes a log-mel spectrogram, a one-channel
//! image the network trains on like any photo.
//!
//! [`decode_audio`] reads WAV, FLAC, Ogg Vorbis and MP3 (symphonia, pure Rust: the page, the CLI
//! and the predict package share this path) and mixes to mono; [`resample`] brings the clip to
//! the settings' rate; [`window_of`] takes the fixed-length window; [`log_mel`] and
//! [`LogMel::to_image`] make the picture. [`SoundSettings`] records every choice.

mod decode;
mod resample;
mod spectrogram;

pub use decode::{AudioFormat, Clip, ClipHeader, clip_header, decode_audio};
pub use resample::resample;
pub use spectrogram::{
    CLIP_SECONDS, Crop, DB_CEIL, DB_FLOOR, LogMel, MEL_BANDS, RATES, SoundSettings, WINDOWS,
    log_mel, window_of,
};

use crate::error::{Error, Result};
use crate::limits::Limits;

/// File name endings of the sound formats tagtrain reads.
pub const SOUND_EXTENSIONS: [&str; 5] = [".wav", ".flac", ".ogg", ".oga", ".mp3"];

/// The error of a build without the `sound` feature (the predict package, for now) when it
/// meets a sound clip or a model of sound clips.
pub fn sound_unavailable(name: &str) -> Error {
    Error::audio_decode(
        name,
        "this build of tagtrain reads no sound (the predict package does not yet; use the page or the CLI)",
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
    if cfg!(not(feature = "sound")) {
        return Err(sound_unavailable(name));
    }
    let grey = spectrogram_image(name, bytes, settings, side as usize, Crop::Centre, limits)?;
    Ok(if channels == 1 {
        grey
    } else {
        grey.iter().flat_map(|&p| std::iter::repeat_n(p, channels)).collect()
    })
}

/// A decoded clip's spectrogram image (see [`spectrogram_image`]).
pub fn clip_image(clip: &Clip, settings: &SoundSettings, side: usize, crop: Crop) -> Vec<u8> {
    let samples = resample(&clip.samples, clip.sample_rate, settings.sample_rate);
    let window = window_of(&samples, settings.clip_samples(), crop);
    log_mel(&window, settings).to_image(side)
}

#[cfg(test)]
mod tests;
