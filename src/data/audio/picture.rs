//! A log-mel spectrogram drawn as pixels (step 7 of [`super::spectrogram`], with the mapping
//! of step 6): the network's square picture of a window, or a wider strip of more time.

use super::spectrogram::{DB_CEIL, DB_FLOOR, LogMel};

impl LogMel {
    /// The spectrogram as a `side × side` one-channel image: levels mapped from
    /// [`DB_FLOOR`]..[`DB_CEIL`] to 0..255, the highest band in the top row, time left to right.
    pub fn to_image(&self, side: usize) -> Vec<u8> {
        self.to_picture(side, side)
    }

    /// The spectrogram as a `height × width` one-channel image, as [`LogMel::to_image`] draws
    /// it: a wider picture of a longer span of time (training's strips to crop from).
    pub fn to_picture(&self, height: usize, width: usize) -> Vec<u8> {
        self.to_picture_at(height, width, self.frames as f64 / width as f64, 0.0)
    }

    /// Like [`LogMel::to_picture`], column `j` drawing frames `origin + j·frames_per_column`
    /// to `origin + (j + 1)·frames_per_column`: a strip whose middle columns are exactly those
    /// of a window's picture.
    pub fn to_picture_at(
        &self,
        height: usize,
        width: usize,
        frames_per_column: f64,
        origin: f64,
    ) -> Vec<u8> {
        // Rows: flip so that high frequencies are at the top, then resize both axes.
        let rows = resize_axis(self.bands, height);
        let cols = resize_axis_at(self.frames, width, frames_per_column, origin);
        let linear: Vec<f32> = self.db.iter().map(|d| 10f32.powf(d / 10.0)).collect();
        let mut out = Vec::with_capacity(height * width);
        for y in 0..height {
            for col in &cols {
                // Averaged as power (the energy of the merged cells), then back to dB.
                let mut power = 0.0f32;
                for &(b, wb) in &rows[height - 1 - y] {
                    for &(t, wt) in col {
                        power += wb * wt * linear[b * self.frames + t];
                    }
                }
                let level = 10.0 * power.max(1e-10).log10();
                let unit = (level - DB_FLOOR) / (DB_CEIL - DB_FLOOR);
                out.push((unit.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
        out
    }
}

/// For each of `to` output positions, the input positions (of `from`) and their weights: the
/// overlap of the output cell with each input cell when shrinking (area averaging), linear
/// interpolation between cell centres when growing.
fn resize_axis(from: usize, to: usize) -> Vec<Vec<(usize, f32)>> {
    resize_axis_at(from, to, from as f64 / to as f64, 0.0)
}

/// [`resize_axis`] with output cell `j` over input `origin + j·scale .. origin + (j + 1)·scale`
/// (input outside `0..from` counts as nothing).
fn resize_axis_at(from: usize, to: usize, scale: f64, origin: f64) -> Vec<Vec<(usize, f32)>> {
    (0..to)
        .map(|j| {
            if scale >= 1.0 {
                let (a, b) = (origin + j as f64 * scale, origin + (j + 1) as f64 * scale);
                let mut taps = Vec::new();
                let mut i = a.max(0.0).floor() as usize;
                while (i as f64) < b && i < from {
                    let overlap = (b.min(i as f64 + 1.0) - a.max(i as f64)) / scale;
                    if overlap > 0.0 {
                        taps.push((i, overlap as f32));
                    }
                    i += 1;
                }
                taps
            } else {
                let x = (origin + (j as f64 + 0.5) * scale - 0.5).clamp(0.0, (from - 1) as f64);
                let i = x.floor() as usize;
                let f = (x - i as f64) as f32;
                if i + 1 < from { vec![(i, 1.0 - f), (i + 1, f)] } else { vec![(i, 1.0)] }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizing_keeps_weights_summing_to_one() {
        for (from, to) in [(101, 64), (64, 64), (20, 64), (1, 8), (200, 7)] {
            for taps in resize_axis(from, to) {
                let sum: f32 = taps.iter().map(|t| t.1).sum();
                assert!((sum - 1.0).abs() < 1e-5, "{from}→{to}: {taps:?}");
                assert!(taps.iter().all(|t| t.0 < from));
            }
        }
    }

    #[test]
    fn a_strip_draws_its_window_where_the_window_would() {
        // 101 frames into 32 columns; the same frames placed 50 frames into a longer axis, drawn
        // with the same frames a column from 16 columns earlier: the same taps, moved by 50.
        let window = resize_axis(101, 32);
        let scale = 101.0 / 32.0;
        let strip = resize_axis_at(201, 64, scale, 50.0 - 16.0 * scale);
        for (j, taps) in window.iter().enumerate() {
            let moved: Vec<(usize, f32)> = taps.iter().map(|&(i, w)| (i + 50, w)).collect();
            let got = &strip[16 + j];
            assert_eq!(got.len(), moved.len(), "column {j}");
            for (a, b) in got.iter().zip(&moved) {
                assert_eq!(a.0, b.0, "column {j}");
                assert!((a.1 - b.1).abs() < 1e-5, "column {j}: {got:?} vs {moved:?}");
            }
        }
    }
}
