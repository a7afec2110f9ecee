//! The forward FFT of a real signal whose length is a power of two (the spectrogram's window
//! always is: [`super::SoundSettings::check`]).
//!
//! One complex FFT of half the length (rustfft's `Radix4`, used directly: its planner links
//! every algorithm for every length, ~60 KB gzip in the predict package, BENCHMARKS.md "Sound"),
//! then the usual split of the even and odd samples' spectra (what realfft does), so that the
//! result is the same as realfft's to rounding.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftDirection, algorithm::Radix4};

/// A planned forward real FFT of `len` samples (a power of two, at least 2).
pub struct RealFft {
    len: usize,
    half: Radix4<f32>,
    /// `exp(-2πik/len)` for `k` in `0..len/2`, the twiddles of the split.
    twiddles: Vec<Complex<f32>>,
    /// The half-length complex signal, transformed in place.
    buffer: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl RealFft {
    /// Plans the FFT of `len` samples.
    ///
    /// # Panics
    /// When `len` is not a power of two of at least 2 (a settings check lets none through).
    pub fn new(len: usize) -> Self {
        assert!(len >= 2 && len.is_power_of_two(), "a real FFT of {len} samples");
        let half = Radix4::new(len / 2, FftDirection::Forward);
        let twiddles = (0..len / 2)
            .map(|k| {
                let angle = -2.0 * std::f64::consts::PI * k as f64 / len as f64;
                Complex::new(angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        let scratch = vec![Complex::default(); half.get_inplace_scratch_len()];
        Self { len, half, twiddles, buffer: vec![Complex::default(); len / 2], scratch }
    }

    /// The spectrum of `input` (`len` samples) into `output` (`len / 2 + 1` bins, from 0 Hz to
    /// half the sample rate), unnormalised as realfft's and numpy's `rfft`.
    ///
    /// # Panics
    /// When the lengths are not `len` and `len / 2 + 1`.
    pub fn process(&mut self, input: &[f32], output: &mut [Complex<f32>]) {
        let n = self.len / 2;
        assert_eq!((input.len(), output.len()), (self.len, n + 1), "real FFT buffer lengths");
        // The even samples as real parts, the odd ones as imaginary parts.
        for (z, pair) in self.buffer.iter_mut().zip(input.chunks_exact(2)) {
            *z = Complex::new(pair[0], pair[1]);
        }
        self.half.process_with_scratch(&mut self.buffer, &mut self.scratch);
        let z = &self.buffer;
        output[0] = Complex::new(z[0].re + z[0].im, 0.0);
        output[n] = Complex::new(z[0].re - z[0].im, 0.0);
        for k in 1..n {
            // E and O, the spectra of the even and odd samples, from Z[k] and conj(Z[n − k]).
            let (a, b) = (z[k], z[n - k].conj());
            let even = (a + b) * 0.5;
            let odd = (a - b) * Complex::new(0.0, -0.5);
            output[k] = even + self.twiddles[k] * odd;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spectra of realfft's planner (what the spectrogram used before) and of this FFT agree
    /// to rounding, for every window the settings allow and a few small ones.
    #[test]
    fn agrees_with_realfft() {
        let mut rng = crate::rng::SeededRng::new(7);
        for len in [2, 4, 8, 16, 64, 128, 256, 512, 1024, 2048, 4096, 8192] {
            let signal: Vec<f32> = (0..len).map(|_| rng.unit() * 2.0 - 1.0).collect();
            let mut ours = vec![Complex::default(); len / 2 + 1];
            RealFft::new(len).process(&signal, &mut ours);
            let plan = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(len);
            let mut input = signal.clone();
            let mut theirs = plan.make_output_vec();
            plan.process(&mut input, &mut theirs).unwrap();
            let scale = (len as f32).sqrt();
            for (k, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert!((a - b).norm() < 1e-5 * scale, "len {len}, bin {k}: {a} vs {b}");
            }
        }
    }
}
