//! Band-limited resampling of mono audio to the rate the spectrogram is made at.
//!
//! A windowed-sinc (Kaiser) interpolator in polyphase form. The ratio of two rates reduces to
//! `up / down`; each output sample is the input convolved with one of `up` precomputed filter
//! phases. For unusual rates where `up` is large, phases are quantised to [`MAX_PHASES`] per
//! input sample (a timing error under 1/2048 of a sample, below the 8-bit spectrogram's
//! resolution). The cut-off sits at [`CUTOFF`] of the lower Nyquist frequency, so downsampling
//! does not fold high frequencies into the band the network sees.

use std::f64::consts::PI;

/// Zero crossings of the sinc on each side of the centre, at the filter's cut-off.
const HALF_ZEROS: usize = 16;
/// The cut-off, as a share of the lower of the two Nyquist frequencies.
const CUTOFF: f64 = 0.94;
/// Kaiser window shape (β): ~90 dB stop-band attenuation.
const KAISER_BETA: f64 = 9.0;
/// Most filter phases kept.
const MAX_PHASES: usize = 1024;

/// `samples` at `from` samples per second resampled to `to`. Equal rates return a copy.
/// The output holds `ceil(len × to / from)` samples; the first is at the first input's time.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let g = gcd(from, to);
    let (up, down) = ((to / g) as usize, (from / g) as usize);
    let out_len = (samples.len() * up).div_ceil(down);
    // Filter geometry in input samples: the cut-off relative to the input's Nyquist.
    let scale = (up as f64 / down as f64).min(1.0) * CUTOFF;
    let half = (HALF_ZEROS as f64 / scale).ceil() as usize;
    let taps = 2 * half;
    let phases = up.min(MAX_PHASES);
    // bank[p][k]: the weight of input `base - half + 1 + k` for an output at `base + p/phases`.
    let bank: Vec<Vec<f32>> = (0..phases)
        .map(|p| {
            let frac = p as f64 / phases as f64;
            let weights: Vec<f64> = (0..taps)
                .map(|k| {
                    let t = (k as f64 - (half as f64 - 1.0)) - frac;
                    scale * sinc(scale * t) * kaiser(t / (half as f64), KAISER_BETA)
                })
                .collect();
            // Unit gain at DC whatever the rounding of the window.
            let sum: f64 = weights.iter().sum();
            weights.iter().map(|w| (w / sum) as f32).collect()
        })
        .collect();
    (0..out_len)
        .map(|n| {
            let position = n * down;
            let base = position / up;
            let phase = (position % up) * phases / up;
            let filter = &bank[phase];
            let first = base as isize - (half as isize - 1);
            if first >= 0 && first as usize + taps <= samples.len() {
                let window = &samples[first as usize..first as usize + taps];
                return window.iter().zip(filter).map(|(s, w)| s * w).sum();
            }
            // Near the edges: the input is zero outside.
            let mut acc = 0.0f32;
            for (k, w) in filter.iter().enumerate() {
                let i = first + k as isize;
                if i >= 0 && (i as usize) < samples.len() {
                    acc += samples[i as usize] * w;
                }
            }
            acc
        })
        .collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// sin(πx)/(πx).
fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 { 1.0 } else { (PI * x).sin() / (PI * x) }
}

/// The Kaiser window at `x` in [-1, 1] (0 outside).
fn kaiser(x: f64, beta: f64) -> f64 {
    if x.abs() > 1.0 {
        return 0.0;
    }
    bessel_i0(beta * (1.0 - x * x).sqrt()) / bessel_i0(beta)
}

/// The modified Bessel function of the first kind, order 0 (its power series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, seconds: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n).map(|i| (2.0 * PI * freq * i as f64 / f64::from(rate)).sin() as f32).collect()
    }

    /// The amplitude of `freq` in `x` (a correlation with sine and cosine over the middle,
    /// away from the edges).
    fn amplitude(x: &[f32], freq: f64, rate: u32) -> f64 {
        let (a, b) = (x.len() / 4, 3 * x.len() / 4);
        let (mut s, mut c) = (0.0, 0.0);
        for (i, v) in x.iter().enumerate().take(b).skip(a) {
            let t = 2.0 * PI * freq * i as f64 / f64::from(rate);
            s += f64::from(*v) * t.sin();
            c += f64::from(*v) * t.cos();
        }
        2.0 * (s * s + c * c).sqrt() / (b - a) as f64
    }

    #[test]
    fn keeps_a_tone_in_the_band_at_its_frequency_and_level() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (8_000, 16_000),
            (22_050, 16_000),
            (11_111, 16_000),
        ] {
            let out = resample(&sine(1000.0, from, 0.5), from, to);
            assert_eq!(out.len(), (from as usize / 2 * to as usize).div_ceil(from as usize));
            let a = amplitude(&out, 1000.0, to);
            assert!((a - 1.0).abs() < 0.01, "{from}→{to}: amplitude {a}");
            // The same tone sample by sample (delay-free), away from the edges.
            let expected = sine(1000.0, to, 0.5);
            let worst = (out.len() / 4..3 * out.len() / 4)
                .map(|i| (out[i] - expected[i]).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 0.01, "{from}→{to}: off by {worst}");
        }
    }

    #[test]
    fn removes_what_the_new_rate_cannot_hold() {
        // 7 kHz at 48 kHz, to 8 kHz (Nyquist 4 kHz): without the filter it would fold to 1 kHz.
        let out = resample(&sine(7000.0, 48_000, 0.5), 48_000, 8_000);
        let folded = amplitude(&out, 1000.0, 8_000);
        assert!(folded < 1e-3, "folded tone at {folded}");
    }

    #[test]
    fn equal_rates_and_empty_input_are_copies() {
        assert_eq!(resample(&[0.5, -0.5], 16_000, 16_000), vec![0.5, -0.5]);
        assert!(resample(&[], 8_000, 16_000).is_empty());
    }
}
