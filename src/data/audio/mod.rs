//! Sound as pictures (issue #33): an audio file becomes a log-mel spectrogram, a one-channel
//! image the network trains on like any photo.
//!
//! [`decode_audio`] reads WAV, FLAC, Ogg Vorbis and MP3 (symphonia, pure Rust: the page, the CLI
//! and the predict package share this path) and mixes to mono; [`resample`] brings the clip to
//! the settings' rate; [`window_of`] takes the fixed-length window; [`log_mel`] and
//! [`LogMel::to_image`] make the picture. [`SoundSettings`] records every choice.

mod decode;
mod real_fft;
mod resample;
mod spectrogram;

pub use decode::{AudioFormat, Clip, ClipHeader, clip_header, decode_audio, mix_to_mono};
pub use resample::resample;
pub use spectrogram::{Crop, DB_CEIL, DB_FLOOR, LogMel, SoundSettings, log_mel, window_of};

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

/// A decoded clip's spectrogram image (see [`spectrogram_image`]).
pub fn clip_image(clip: &Clip, settings: &SoundSettings, side: usize, crop: Crop) -> Vec<u8> {
    let samples = resample(&clip.samples, clip.sample_rate, settings.sample_rate);
    let window = window_of(&samples, settings.clip_samples(), crop);
    log_mel(&window, settings).to_image(side)
}

#[cfg(test)]
mod tests;
