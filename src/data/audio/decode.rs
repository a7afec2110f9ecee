//! Decoding one audio file (WAV, FLAC, Ogg Vorbis, MP3) into mono samples, with symphonia.
//!
//! Audio files are hostile input like images: the length and rate a header declares are checked
//! against [`Limits`] before a sample is decoded, and the decoded length is counted as it grows
//! (a header may lie or say nothing), so that memory stays bounded by the limits whatever the
//! file claims.

use std::io::Cursor;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::error::{Error, Result};
use crate::limits::Limits;

/// The audio containers tagtrain reads, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AudioFormat {
    /// RIFF WAVE: 8/16/24/32-bit integer or 32/64-bit float PCM.
    Wav,
    /// FLAC.
    Flac,
    /// Ogg (Vorbis).
    Ogg,
    /// MPEG audio layer III.
    Mp3,
}

impl AudioFormat {
    /// The format of a file from its first bytes, or `None` when it is not audio tagtrain reads.
    ///
    /// MP3 is recognised by an ID3v2 tag or an MPEG audio frame header (11 sync bits, layer
    /// III, a valid bit-rate and sample-rate index), which text and images do not start with.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => Some(Self::Wav),
            [b'f', b'L', b'a', b'C', ..] => Some(Self::Flac),
            [b'O', b'g', b'g', b'S', ..] => Some(Self::Ogg),
            [b'I', b'D', b'3', ..] => Some(Self::Mp3),
            [0xFF, b1, b2, ..] if b1 & 0xE0 == 0xE0 && b1 & 0x06 == 0x02 => {
                let bitrate = b2 >> 4;
                let rate = (b2 >> 2) & 0x03;
                (bitrate != 0x0F && rate != 0x03).then_some(Self::Mp3)
            }
            _ => None,
        }
    }

    /// The name a person knows the format by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Wav => "WAV",
            Self::Flac => "FLAC",
            Self::Ogg => "Ogg Vorbis",
            Self::Mp3 => "MP3",
        }
    }

    /// The file extension symphonia's probe is hinted with.
    fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Flac => "flac",
            Self::Ogg => "ogg",
            Self::Mp3 => "mp3",
        }
    }
}

/// One decoded clip: its channels mixed to mono, at the file's own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Mono samples (the mean of the channels), nominally in `[-1, 1]`.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels in the file.
    pub channels: u16,
    /// The container.
    pub format: AudioFormat,
}

impl Clip {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Samples this quiet or quieter (−100 dBFS) count as silence.
const SILENCE: f32 = 1e-5;

/// What an audio file's header says, read without decoding a sample: enough for a dataset's
/// summary and for the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipHeader {
    /// The container.
    pub format: AudioFormat,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels (0 when the header does not say).
    pub channels: u16,
    /// Length in seconds, when the header says.
    pub seconds: Option<f64>,
}

impl From<&Clip> for ClipHeader {
    /// What a decoded clip is, with its exact length.
    fn from(clip: &Clip) -> Self {
        Self {
            format: clip.format,
            sample_rate: clip.sample_rate,
            channels: clip.channels,
            seconds: Some(clip.seconds()),
        }
    }
}

/// Reads clip `name`'s header and checks it against `limits`.
///
/// # Errors
/// As [`decode_audio`], for what the header alone shows.
pub fn clip_header(name: &str, bytes: &[u8], limits: &Limits) -> Result<ClipHeader> {
    Ok(Opened::new(name, bytes, limits)?.header)
}

/// A probed file: its reader, its audio track and what its header says, checked.
struct Opened {
    reader: Box<dyn symphonia::core::formats::FormatReader>,
    track_id: u32,
    params: symphonia::core::codecs::audio::AudioCodecParameters,
    declared_frames: Option<u64>,
    header: ClipHeader,
}

impl Opened {
    fn new(name: &str, bytes: &[u8], limits: &Limits) -> Result<Self> {
        let bad = |reason: &str| Error::audio_decode(name, reason);
        let format = AudioFormat::sniff(bytes)
            .ok_or_else(|| bad("it is not a WAV, FLAC, Ogg Vorbis or MP3 file"))?;
        let source = MediaSourceStream::new(
            Box::new(Cursor::new(bytes.to_vec())),
            MediaSourceStreamOptions::default(),
        );
        let mut hint = Hint::new();
        hint.with_extension(format.extension());
        let reader = symphonia::default::get_probe()
            .probe(&hint, source, FormatOptions::default(), MetadataOptions::default())
            .map_err(|e| match e {
                // The Ogg reader looks for a stream it knows until the end of the file.
                SymphoniaError::IoError(io)
                    if format == AudioFormat::Ogg
                        && io.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    bad("the Ogg file holds no Vorbis audio (another codec, such as Opus, or cut short)")
                }
                e => bad(&format!("not a readable {} file: {}", format.name(), why(&e))),
            })?;
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or_else(|| bad(&format!("the {} file has no audio track", format.name())))?;
        let track_id = track.id;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| bad("its audio track has no codec parameters"))?
            .clone();
        let rate = params.sample_rate.ok_or_else(|| bad("it does not say its sample rate"))?;
        limits.check_audio_rate(name, rate)?;
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        if channels > 0 {
            limits.check_audio_channels(name, channels as u64)?;
        }
        let declared_frames = track.num_frames;
        if let Some(frames) = declared_frames {
            limits.check_audio_length(name, frames, rate)?;
        }
        let header = ClipHeader {
            format,
            sample_rate: rate,
            channels: channels.try_into().unwrap_or(u16::MAX),
            seconds: declared_frames.map(|f| f as f64 / f64::from(rate)),
        };
        Ok(Self { reader, track_id, params, declared_frames, header })
    }
}

/// Decodes audio file `name` (a zip entry or a file the caller names) from `bytes`.
///
/// # Errors
/// [`crate::ErrorKind::AudioDecode`] naming the clip when the bytes are not WAV, FLAC, Ogg
/// Vorbis or MP3, hold no audio track or no sample, are silent, or cannot be decoded;
/// [`crate::ErrorKind::Limit`] when the rate, the channel count or the length (declared, or
/// reached while decoding) is over `limits`.
pub fn decode_audio(name: &str, bytes: &[u8], limits: &Limits) -> Result<Clip> {
    let bad = |reason: &str| Error::audio_decode(name, reason);
    let Opened { mut reader, track_id, params, declared_frames, header } =
        Opened::new(name, bytes, limits)?;
    let (format, declared_rate) = (header.format, header.sample_rate);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| bad(&format!("its codec is not one tagtrain decodes: {}", why(&e))))?;

    let mut samples: Vec<f32> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    let mut channels = 0usize;
    let mut decode_errors = 0usize;
    let mut first_error = None;
    let mut packet_bytes = 0usize;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A cut file ends early: keep what was decoded (its length is checked below).
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(bad(&format!("its container is damaged: {}", why(&e)))),
        };
        if packet.track_id != track_id {
            continue;
        }
        packet_bytes += packet.data.len();
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(reason)) => {
                // One bad packet is skipped, as players do; many are a damaged file.
                decode_errors += 1;
                first_error.get_or_insert(reason);
                if decode_errors > 16 {
                    return Err(bad(&format!("it is damaged ({reason}, and more)")));
                }
                continue;
            }
            Err(e) => return Err(bad(&format!("it cannot be decoded: {}", why(&e)))),
        };
        let spec = buffer.spec();
        if spec.rate() != declared_rate {
            return Err(bad("its sample rate changes part-way"));
        }
        let n = spec.channels().count();
        if n == 0 || (channels != 0 && n != channels) {
            return Err(bad("its channel count changes part-way"));
        }
        channels = n;
        limits.check_audio_channels(name, n as u64)?;
        limits.check_audio_length(name, (samples.len() + buffer.frames()) as u64, declared_rate)?;
        buffer.copy_to_vec_interleaved(&mut interleaved);
        samples.extend(interleaved.chunks_exact(n).map(|f| mono(f.iter().copied(), n)));
    }
    if samples.is_empty() {
        let reason = match first_error {
            Some(reason) => format!("no sound could be decoded ({reason})"),
            None => "it holds no sound (zero length)".to_string(),
        };
        return Err(bad(&reason));
    }
    if let Some(declared) = declared_frames {
        // Lossy codecs may trim their priming: allow one MP3 frame or 1 %, whichever is more.
        let slack = (declared / 100).max(1152);
        if samples.len() as u64 + slack < declared {
            return Err(bad(&format!(
                "it is cut short: its header says {declared} samples per channel, {} could be decoded",
                samples.len()
            )));
        }
    }
    if format == AudioFormat::Mp3 && declared_frames.is_none() {
        // An MP3 without a frame count: its reader skips what is not a frame in silence, so a
        // file whose middle is damaged decodes short. The frames must make up most of the bytes
        // that are not tags.
        let sound_bytes = bytes.len().saturating_sub(mp3_tag_bytes(bytes));
        if packet_bytes * 5 < sound_bytes * 4 {
            return Err(bad(&format!(
                "it is damaged: only {} % of its bytes are MP3 frames",
                packet_bytes * 100 / sound_bytes.max(1)
            )));
        }
    }
    if samples.iter().any(|s| !s.is_finite()) {
        return Err(bad("it holds samples that are not numbers (NaN or infinite)"));
    }
    if samples.iter().all(|s| s.abs() <= SILENCE) {
        return Err(bad("it is silent (every sample at −100 dBFS or below)"));
    }
    Ok(Clip {
        samples,
        sample_rate: declared_rate,
        channels: channels.try_into().unwrap_or(u16::MAX),
        format,
    })
}

/// Planar channels (an `AudioBuffer`'s, each the same length) mixed to mono as
/// [`decode_audio`] mixes a file's: the mean of the channels, sample by sample.
///
/// # Errors
/// [`crate::ErrorKind::Misuse`] when there are no channels or their lengths differ.
pub fn mix_to_mono(channels: &[Vec<f32>]) -> Result<Vec<f32>> {
    let Some(first) = channels.first() else {
        return Err(Error::misuse("no channels were given"));
    };
    if let Some((i, other)) = channels.iter().enumerate().find(|(_, c)| c.len() != first.len()) {
        return Err(Error::misuse(format!(
            "the channels differ in length (channel 0 has {} samples, channel {i} {})",
            first.len(),
            other.len()
        )));
    }
    if channels.len() == 1 {
        return Ok(first.clone());
    }
    Ok((0..first.len()).map(|i| mono(channels.iter().map(|c| c[i]), channels.len())).collect())
}

/// One sample of `n` channels mixed to mono: their mean, summed in channel order and scaled
/// by `1/n` (a file's frames and an `AudioBuffer`'s mix alike, to the bit).
fn mono(frame: impl Iterator<Item = f32>, n: usize) -> f32 {
    frame.sum::<f32>() * (1.0 / n as f32)
}

/// Bytes of an MP3's ID3v2 tag (at the start; its size is four 7-bit bytes) and ID3v1 tag
/// (the last 128 bytes, starting `TAG`).
fn mp3_tag_bytes(bytes: &[u8]) -> usize {
    let v2 = match bytes {
        [b'I', b'D', b'3', _, _, flags, s @ ..] if s.len() >= 4 => {
            let size = s[..4].iter().fold(0usize, |n, &b| (n << 7) | usize::from(b & 0x7F));
            let footer = if flags & 0x10 != 0 { 10 } else { 0 };
            10 + size + footer
        }
        _ => 0,
    };
    let v1 =
        if bytes.len() >= 128 && bytes[bytes.len() - 128..].starts_with(b"TAG") { 128 } else { 0 };
    (v2 + v1).min(bytes.len())
}

/// symphonia's reason, in words (its I/O errors carry the useful part).
fn why(e: &SymphoniaError) -> String {
    match e {
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "it ends early (cut short?)".to_string()
        }
        other => other.to_string(),
    }
}
