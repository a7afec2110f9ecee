//! The log-mel spectrogram: how a clip becomes the one-channel image the network sees.
//!
//! The steps, each a choice that [`SoundSettings`] records so that prediction repeats it:
//! 1. the clip's mono samples at [`SoundSettings::sample_rate`] (see [`super::resample`]);
//! 2. a window of [`SoundSettings::clip_seconds`]: short clips padded with silence at the end,
//!    long ones cropped (the centre for evaluation and prediction; anywhere in training);
//! 3. a short-time Fourier transform ([`super::real_fft`]): a periodic Hann window of [`SoundSettings::window`]
//!    samples every [`SoundSettings::hop`] samples, the signal padded with `window / 2` zeros on
//!    each side so that frame `t` is centred on sample `t × hop` (librosa's `center=True`);
//! 4. power, scaled so that a full-scale sine at a bin's centre is 1 (0 dB);
//! 5. [`SoundSettings::mel_bands`] triangular filters of peak 1, evenly spaced on the Slaney mel
//!    scale (linear below 1 kHz, logarithmic above; librosa's default scale) from
//!    [`SoundSettings::min_hz`] to [`SoundSettings::max_hz`];
//! 6. decibels, `10 log10(max(power, 1e-10))`, mapped linearly from [`DB_FLOOR`]..[`DB_CEIL`]
//!    to 0..255, highest band in the top row;
//! 7. the bands × frames picture brought to the network's square by area averaging (or linear
//!    interpolation where it grows) of power, before the mapping to pixels of step 6.
//!
//! `benches/logmel_reference.py` computes steps 3–6 with librosa and compares.

use serde::{Deserialize, Serialize};

use super::real_fft::RealFft;
use crate::error::{Error, Result};

/// The quietest level shown, in dB relative to a full-scale sine (pixel 0).
pub const DB_FLOOR: f32 = -100.0;
/// The loudest level shown (pixel 255). A band holding several loud components can exceed
/// 0 dB; 20 dB of headroom keeps them apart before the picture saturates.
pub const DB_CEIL: f32 = 20.0;

/// How clips become spectrograms; recorded in the model file and repeated by prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SoundSettings {
    /// Samples per second every clip is resampled to.
    pub sample_rate: u32,
    /// The length of the window the network hears, in seconds.
    pub clip_seconds: f32,
    /// STFT window (and FFT) length in samples.
    pub window: u32,
    /// Samples between two STFT frames.
    pub hop: u32,
    /// Mel bands.
    pub mel_bands: u32,
    /// Lowest frequency the bands cover, Hz.
    pub min_hz: f32,
    /// Highest frequency the bands cover, Hz (at most half the sample rate).
    pub max_hz: f32,
}

impl Default for SoundSettings {
    /// 16 kHz (speech and most environmental sound), 1 s windows, 32 ms STFT windows every
    /// 10 ms, 64 mel bands from 20 Hz to 8 kHz: the common choices of audio tagging.
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            clip_seconds: 1.0,
            window: 512,
            hop: 160,
            mel_bands: 64,
            min_hz: 20.0,
            max_hz: 8_000.0,
        }
    }
}

// Bounds on each setting (a model file's are user data too); the page offers them
// (`options::SoundChoices`).
/// Sample rates a clip may be resampled to, Hz.
pub const RATES: std::ops::RangeInclusive<u32> = 4_000..=48_000;
/// Window lengths, seconds.
pub const CLIP_SECONDS: std::ops::RangeInclusive<f32> = 0.1..=30.0;
/// STFT window lengths, samples (powers of two only).
pub const WINDOWS: std::ops::RangeInclusive<u32> = 64..=8_192;
/// Mel bands (at most half the window, too).
pub const MEL_BANDS: std::ops::RangeInclusive<u32> = 8..=256;

impl SoundSettings {
    /// The defaults with the window set from the clips' median length (rounded to 0.1 s, from
    /// 0.5 to 10 s): the network then hears most clips whole.
    pub fn for_median_seconds(median: f64) -> Self {
        let seconds = ((median * 10.0).round() / 10.0).clamp(0.5, 10.0) as f32;
        Self { clip_seconds: seconds, ..Self::default() }
    }

    /// Checks every setting against its range and the others.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOption`] naming the setting and what it may be.
    pub fn check(&self) -> Result<()> {
        let range = |name: &'static str, ok: bool, what: String| {
            if ok { Ok(()) } else { Err(Error::option(name, what)) }
        };
        range(
            "sound.sampleRate",
            RATES.contains(&self.sample_rate),
            format!(
                "{} Hz is not between {} and {} Hz",
                self.sample_rate,
                RATES.start(),
                RATES.end()
            ),
        )?;
        range(
            "sound.clipSeconds",
            CLIP_SECONDS.contains(&self.clip_seconds),
            format!(
                "{} s is not between {} and {} s",
                self.clip_seconds,
                CLIP_SECONDS.start(),
                CLIP_SECONDS.end()
            ),
        )?;
        range(
            "sound.window",
            WINDOWS.contains(&self.window) && self.window.is_power_of_two(),
            format!(
                "{} samples is not a power of two from {} to {}",
                self.window,
                WINDOWS.start(),
                WINDOWS.end()
            ),
        )?;
        range(
            "sound.hop",
            (1..=self.window).contains(&self.hop),
            format!("{} samples is not between 1 and the window ({})", self.hop, self.window),
        )?;
        range(
            "sound.melBands",
            MEL_BANDS.contains(&self.mel_bands) && self.mel_bands <= self.window / 2,
            format!(
                "{} is not between {} and {} (nor above half the window)",
                self.mel_bands,
                MEL_BANDS.start(),
                MEL_BANDS.end()
            ),
        )?;
        let nyquist = self.sample_rate as f32 / 2.0;
        range(
            "sound.minHz",
            self.min_hz.is_finite() && self.min_hz >= 0.0 && self.min_hz < self.max_hz,
            format!("{} Hz is not from 0 to below maxHz ({} Hz)", self.min_hz, self.max_hz),
        )?;
        range(
            "sound.maxHz",
            self.max_hz.is_finite() && self.max_hz <= nyquist,
            format!("{} Hz is above half the sample rate ({nyquist} Hz)", self.max_hz),
        )?;
        Ok(())
    }

    /// Samples in one window.
    pub fn clip_samples(&self) -> usize {
        (f64::from(self.clip_seconds) * f64::from(self.sample_rate)).round() as usize
    }

    /// STFT frames in one window.
    pub fn frames(&self) -> usize {
        1 + self.clip_samples() / self.hop as usize
    }
}

/// Where a window is taken from a clip longer than it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crop {
    /// The middle of the clip: evaluation and prediction.
    Centre,
    /// Starting at this share (0 to 1) of the room the clip leaves: training's random crops.
    At(f32),
}

/// Exactly `len` samples of `samples`: padded with silence at the end, or cropped by `crop`.
pub fn window_of(samples: &[f32], len: usize, crop: Crop) -> Vec<f32> {
    let room = samples.len().saturating_sub(len);
    let start = match crop {
        Crop::Centre => room / 2,
        Crop::At(share) => ((share.clamp(0.0, 1.0) * room as f32) as usize).min(room),
    };
    let mut out: Vec<f32> = samples[start..].iter().take(len).copied().collect();
    out.resize(len, 0.0);
    out
}

/// A log-mel spectrogram in dB: `bands × frames`, band-major, lowest band first.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    /// Mel bands (rows).
    pub bands: usize,
    /// STFT frames (columns).
    pub frames: usize,
    /// `bands × frames` levels in dB relative to a full-scale sine.
    pub db: Vec<f32>,
}

/// The log-mel spectrogram of `samples` (mono, at `settings.sample_rate`), steps 3–6 above
/// without the mapping to pixels. `settings` must have passed [`SoundSettings::check`].
pub fn log_mel(samples: &[f32], settings: &SoundSettings) -> LogMel {
    let n_fft = settings.window as usize;
    let hop = settings.hop as usize;
    let bins = n_fft / 2 + 1;
    let frames = 1 + samples.len() / hop;
    let hann: Vec<f32> = (0..n_fft)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos()) as f32)
        .collect();
    let half_sum: f32 = hann.iter().sum::<f32>() / 2.0;
    let norm = 1.0 / (half_sum * half_sum);
    let filters = mel_filters(settings, bins);
    let mut fft = RealFft::new(n_fft);
    let mut input = vec![0.0f32; n_fft];
    let mut spectrum = vec![Default::default(); bins];
    let mut power = vec![0.0f32; bins];
    let mut db = vec![0.0f32; settings.mel_bands as usize * frames];
    let pad = n_fft / 2;
    for t in 0..frames {
        // Frame t covers samples t·hop − pad .. t·hop − pad + n_fft (zeros outside).
        for (i, slot) in input.iter_mut().enumerate() {
            let s = (t * hop + i).checked_sub(pad).and_then(|j| samples.get(j)).copied();
            *slot = s.unwrap_or(0.0) * hann[i];
        }
        fft.process(&input, &mut spectrum);
        for (p, c) in power.iter_mut().zip(&spectrum) {
            *p = c.norm_sqr() * norm;
        }
        for (b, filter) in filters.iter().enumerate() {
            let energy: f32 =
                filter.weights.iter().zip(&power[filter.first..]).map(|(w, p)| w * p).sum();
            db[b * frames + t] = 10.0 * energy.max(1e-10).log10();
        }
    }
    LogMel { bands: settings.mel_bands as usize, frames, db }
}

/// One triangular mel filter: its non-zero weights from FFT bin `first` on.
struct MelFilter {
    first: usize,
    weights: Vec<f32>,
}

/// The mel filterbank over `bins` FFT bins (librosa's `filters.mel` with `htk=False`,
/// `norm=None`).
fn mel_filters(settings: &SoundSettings, bins: usize) -> Vec<MelFilter> {
    let n = settings.mel_bands as usize;
    let rate = f64::from(settings.sample_rate);
    let (low, high) = (hz_to_mel(settings.min_hz.into()), hz_to_mel(settings.max_hz.into()));
    let edges: Vec<f64> =
        (0..n + 2).map(|i| mel_to_hz(low + (high - low) * i as f64 / (n + 1) as f64)).collect();
    let bin_hz = |k: usize| k as f64 * rate / (2 * (bins - 1)) as f64;
    (0..n)
        .map(|m| {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
            let weight = |k: usize| {
                let f = bin_hz(k);
                let rising = (f - left) / (centre - left);
                let falling = (right - f) / (right - centre);
                rising.min(falling).max(0.0)
            };
            let first = (0..bins).find(|&k| weight(k) > 0.0).unwrap_or(0);
            let last = (0..bins).rev().find(|&k| weight(k) > 0.0).unwrap_or(0);
            let weights = (first..=last.max(first)).map(|k| weight(k) as f32).collect();
            MelFilter { first, weights }
        })
        .collect()
}

/// Hz to mels on the Slaney scale (linear to 1 kHz, then logarithmic).
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    let log_step = 6.4f64.ln() / 27.0;
    if hz < 1000.0 { hz / F_SP } else { 15.0 + (hz / 1000.0).ln() / log_step }
}

/// Mels to Hz on the Slaney scale.
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    let log_step = 6.4f64.ln() / 27.0;
    if mel < 15.0 { mel * F_SP } else { 1000.0 * ((mel - 15.0) * log_step).exp() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, n: usize, amplitude: f64) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as f32
            })
            .collect()
    }

    #[test]
    fn the_defaults_pass_their_own_check_and_bad_settings_name_themselves() {
        SoundSettings::default().check().unwrap();
        let bad = SoundSettings { window: 500, ..SoundSettings::default() };
        assert!(bad.check().unwrap_err().to_string().contains("option 'sound.window'"));
        let bad = SoundSettings { max_hz: 9_000.0, ..SoundSettings::default() };
        assert!(bad.check().unwrap_err().to_string().contains("option 'sound.maxHz'"));
        let bad = SoundSettings { clip_seconds: f32::NAN, ..SoundSettings::default() };
        assert!(bad.check().unwrap_err().to_string().contains("option 'sound.clipSeconds'"));
    }

    #[test]
    fn a_full_scale_tone_peaks_at_0_db_in_its_band_and_nowhere_else() {
        let settings = SoundSettings::default();
        let spec = log_mel(&sine(1000.0, 16_000, 16_000, 1.0), &settings);
        assert_eq!((spec.bands, spec.frames), (64, 101));
        let t = 50; // a frame in the middle
        let column: Vec<f32> = (0..spec.bands).map(|b| spec.db[b * spec.frames + t]).collect();
        let (peak, level) = column
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |m, (b, &v)| if v > m.1 { (b, v) } else { m });
        // The band whose centre is nearest 1 kHz.
        let edges: Vec<f64> = (0..66)
            .map(|i| {
                mel_to_hz(hz_to_mel(20.0) + (hz_to_mel(8000.0) - hz_to_mel(20.0)) * i as f64 / 65.0)
            })
            .collect();
        let nearest = (0..64).min_by(|&a, &b| {
            (edges[a + 1] - 1000.0).abs().total_cmp(&(edges[b + 1] - 1000.0).abs())
        });
        assert_eq!(Some(peak), nearest);
        assert!(level > -3.0 && level < 0.5, "peak level {level} dB");
        // Far from 1 kHz the Hann window's leakage is below −60 dB.
        assert!(column[5] < -60.0 && column[60] < -60.0, "{} {}", column[5], column[60]);
    }

    #[test]
    fn halving_the_amplitude_takes_6_db_and_silence_is_the_floor() {
        let settings = SoundSettings::default();
        let loud = log_mel(&sine(440.0, 16_000, 8_000, 0.5), &settings);
        let soft = log_mel(&sine(440.0, 16_000, 8_000, 0.25), &settings);
        let i = (0..loud.db.len()).max_by(|&a, &b| loud.db[a].total_cmp(&loud.db[b])).unwrap();
        assert!((loud.db[i] - soft.db[i] - 6.02).abs() < 0.01, "{} {}", loud.db[i], soft.db[i]);
        let quiet = log_mel(&vec![0.0; 4_000], &settings);
        assert!(quiet.db.iter().all(|&d| d == -100.0));
        assert!(quiet.to_image(32).iter().all(|&p| p == 0));
    }

    #[test]
    fn the_image_puts_high_frequencies_on_top_and_time_left_to_right() {
        let settings = SoundSettings::default();
        // 0.5 s of silence, then 0.5 s of a 4 kHz tone.
        let mut samples = vec![0.0; 8_000];
        samples.extend(sine(4000.0, 16_000, 8_000, 0.5));
        let image = log_mel(&samples, &settings).to_image(32);
        assert_eq!(image.len(), 32 * 32);
        let at = |y: usize, x: usize| image[y * 32 + x];
        let brightest_row = (0..32).max_by_key(|&y| at(y, 28)).unwrap();
        assert!(brightest_row < 16, "4 kHz drawn in row {brightest_row} (top half expected)");
        // −6 dB (half scale) shared by two bands, merged into one row: about −9 dB.
        assert!(at(brightest_row, 28) > 185, "{}", at(brightest_row, 28));
        assert_eq!(at(brightest_row, 3), 0, "silence before the tone");
    }

    /// The spectrogram as it was computed before [`RealFft`], with realfft's planner.
    fn log_mel_by_realfft(samples: &[f32], settings: &SoundSettings) -> Vec<f32> {
        let (n_fft, hop) = (settings.window as usize, settings.hop as usize);
        let frames = 1 + samples.len() / hop;
        let hann: Vec<f32> = (0..n_fft)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos()) as f32
            })
            .collect();
        let half_sum: f32 = hann.iter().sum::<f32>() / 2.0;
        let filters = mel_filters(settings, n_fft / 2 + 1);
        let fft = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        let (mut input, mut spectrum) = (fft.make_input_vec(), fft.make_output_vec());
        let mut db = vec![0.0f32; settings.mel_bands as usize * frames];
        for t in 0..frames {
            for (i, slot) in input.iter_mut().enumerate() {
                let s = (t * hop + i).checked_sub(n_fft / 2).and_then(|j| samples.get(j));
                *slot = s.copied().unwrap_or(0.0) * hann[i];
            }
            fft.process(&mut input, &mut spectrum).unwrap();
            let power: Vec<f32> =
                spectrum.iter().map(|c| c.norm_sqr() / (half_sum * half_sum)).collect();
            for (b, filter) in filters.iter().enumerate() {
                let energy: f32 =
                    filter.weights.iter().zip(&power[filter.first..]).map(|(w, p)| w * p).sum();
                db[b * frames + t] = 10.0 * energy.max(1e-10).log10();
            }
        }
        db
    }

    #[test]
    fn the_spectrogram_is_the_one_realfft_gave() {
        // A chirp with noise, at the default settings and at a long and a short window.
        let mut rng = crate::rng::SeededRng::new(3);
        let samples: Vec<f32> = (0..16_000)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                let chirp = (2.0 * std::f64::consts::PI * (200.0 + 3000.0 * t) * t).sin();
                (0.5 * chirp) as f32 + 0.01 * (rng.unit() - 0.5)
            })
            .collect();
        for (window, hop, mel_bands) in [(512, 160, 64), (2048, 512, 128), (64, 32, 8)] {
            let settings = SoundSettings { window, hop, mel_bands, ..SoundSettings::default() };
            let ours = log_mel(&samples, &settings).db;
            let theirs = log_mel_by_realfft(&samples, &settings);
            let worst_above = |floor: f32| {
                ours.iter()
                    .zip(&theirs)
                    .filter(|(_, t)| **t > floor)
                    .map(|(o, t)| (o - t).abs())
                    .fold(0.0f32, f32::max)
            };
            // Two f32 FFTs round differently by ~1e-7 of the frame's loudest component: ~1e-5 dB
            // within 40 dB of it, ~1e-3 dB at 80 dB below (a pixel is 0.47 dB).
            let (near, far) = (worst_above(-40.0), worst_above(-80.0));
            eprintln!("window {window}: {near:e} dB above -40 dB, {far:e} dB above -80 dB");
            assert!(near < 2e-5 && far < 2e-3, "window {window}: {near} / {far} dB apart");
        }
    }

    #[test]
    fn windows_pad_short_clips_and_crop_long_ones() {
        let short = window_of(&[1.0, 2.0], 4, Crop::Centre);
        assert_eq!(short, vec![1.0, 2.0, 0.0, 0.0]);
        let long: Vec<f32> = (0..10).map(|i| i as f32).collect();
        assert_eq!(window_of(&long, 4, Crop::Centre), vec![3.0, 4.0, 5.0, 6.0]);
        assert_eq!(window_of(&long, 4, Crop::At(0.0)), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(window_of(&long, 4, Crop::At(1.0)), vec![6.0, 7.0, 8.0, 9.0]);
    }
}
