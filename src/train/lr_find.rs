//! The learning-rate range test (Smith, 2017; fastai's `lr_find`): a short run whose learning
//! rate grows geometrically from tiny to huge, one batch per rate. The loss stays flat while the
//! rate is too low to matter, falls once it is large enough, and blows up once it is too large.
//!
//! The suggestion is the rate where the loss's fall levels off (four fifths of the way down to
//! its lowest point), or a tenth of the rate where it was lowest if that is lower. The tenth
//! alone (the classic rule) assumes the loss blows up soon after its lowest point. Networks
//! with batch norm trained by AdamW often never blow up within the range (a weight behind a
//! batch norm only turns, however large its step), so the loss flattens or creeps down to the
//! last rate: a tenth of it was 0.1 on the digit mosaics, where a whole run at that rate ends
//! at test mAP 0.55 against 0.94 at the default. The steepest descent (fastai's "steep") was
//! tried too: 9.3e-4 there, test mAP 0.80. The knee was 2.9e-3 on the digits and 2.5e-3 on
//! the emoji set (BENCHMARKS.md, "A default recipe").
//!
//! The test trains a throwaway copy of the network ([`TrainingSession`] built as the real run
//! would be, same split and normalisation); nothing it does reaches the run that follows.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::options::{LIMITS, TrainingOptions};

use super::TrainingSession;

/// The range a test sweeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct LrFindOptions {
    /// The first rate.
    pub min_lr: f64,
    /// The last rate (the test stops earlier once the loss blows up).
    pub max_lr: f64,
    /// Batches, one per rate.
    pub steps: usize,
}

impl Default for LrFindOptions {
    fn default() -> Self {
        Self { min_lr: 1e-6, max_lr: 1.0, steps: 100 }
    }
}

/// One rate tried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LrPoint {
    /// The learning rate of this batch.
    pub learning_rate: f64,
    /// The batch's loss.
    pub loss: f64,
    /// The loss smoothed over the batches so far (an exponential moving average, debiased):
    /// what the curve shows and the suggestion reads.
    pub smoothed: f64,
}

/// What a range test found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LrFindReport {
    /// Every rate tried, lowest first.
    pub points: Vec<LrPoint>,
    /// The suggested learning rate: `knee_rate`, or a tenth of `min_loss_rate` where that is
    /// lower, within the accepted range.
    pub suggested: f64,
    /// The rate where the smoothed loss was lowest.
    pub min_loss_rate: f64,
    /// Where the loss's fall levelled off (four fifths of the way from its start to its
    /// lowest point), when it fell at all.
    pub knee_rate: Option<f64>,
    /// The rate at which the loss blew up (above 4× its lowest, or not finite), when it did.
    pub diverged_at: Option<f64>,
}

/// The loss is smoothed over about an eighth of the test's batches (5 to 50): enough to see
/// through one batch's noise, short enough that the curve's lowest point does not lag far
/// behind the rate that earned it (fastai's fixed 0.98 spans 50 batches of its 100).
fn smoothing(steps: usize) -> f64 {
    1.0 - 1.0 / (steps as f64 / 8.0).clamp(5.0, 50.0)
}
/// The test stops once the smoothed loss exceeds this many times its lowest.
const BLOW_UP: f64 = 4.0;

/// A learning-rate range test in progress, stepped like a [`TrainingSession`].
pub struct LrFinder {
    session: TrainingSession,
    range: LrFindOptions,
    points: Vec<LrPoint>,
    average: f64,
    lowest: f64,
    diverged_at: Option<f64>,
}

impl LrFinder {
    /// Prepares a test on `dataset` with the network, batch size, split and augmentation of
    /// `options` (its learning rate and epochs are not used).
    ///
    /// # Errors
    /// Options that would not train ([`TrainingOptions::validate`]), a range outside the
    /// accepted rates or fewer than 5 steps.
    pub fn new(
        dataset: Dataset,
        options: TrainingOptions,
        compute: ComputeDevice,
        range: LrFindOptions,
    ) -> Result<Self> {
        let bounds = LIMITS.learning_rate;
        if !(bounds.contains(range.min_lr) && bounds.contains(range.max_lr))
            || range.min_lr >= range.max_lr
        {
            return Err(Error::option(
                "lrFind",
                format!(
                    "the range {:e}..{:e} must rise within {:e}..{:e}",
                    range.min_lr, range.max_lr, bounds.min, bounds.max
                ),
            ));
        }
        if !(5..=1000).contains(&range.steps) {
            return Err(Error::option("lrFind", "use 5 to 1,000 steps"));
        }
        // No warm-up or schedule applies: each step sets its own rate.
        let session =
            TrainingSession::new(dataset, TrainingOptions { epochs: 1, ..options }, compute)?;
        Ok(Self {
            session,
            range,
            points: Vec::with_capacity(range.steps),
            average: 0.0,
            lowest: f64::INFINITY,
            diverged_at: None,
        })
    }

    /// Batches the test runs at most.
    pub fn total_steps(&self) -> usize {
        self.range.steps
    }

    /// True when every rate was tried or the loss blew up.
    pub fn is_done(&self) -> bool {
        self.diverged_at.is_some() || self.points.len() >= self.range.steps
    }

    /// The rate of step `k`: geometric from `min_lr` to `max_lr`.
    fn rate(&self, k: usize) -> f64 {
        let t = k as f64 / (self.range.steps - 1) as f64;
        self.range.min_lr * (self.range.max_lr / self.range.min_lr).powf(t)
    }

    /// Runs the next batch; `None` once the test is done.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn step(&mut self) -> Result<Option<LrPoint>> {
        if self.is_done() {
            return Ok(None);
        }
        let k = self.points.len();
        let learning_rate = self.rate(k);
        let loss = self.session.probe_step(learning_rate, k).await?;
        if !loss.is_finite() {
            self.diverged_at = Some(learning_rate);
            return Ok(None);
        }
        let beta = smoothing(self.range.steps);
        self.average = beta * self.average + (1.0 - beta) * loss;
        let smoothed = self.average / (1.0 - beta.powi(k as i32 + 1));
        let point = LrPoint { learning_rate, loss, smoothed };
        self.points.push(point);
        if smoothed > BLOW_UP * self.lowest {
            self.diverged_at = Some(learning_rate);
        }
        self.lowest = self.lowest.min(smoothed);
        Ok(Some(point))
    }

    /// What the test found so far (the whole curve once it is done).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] before the first step.
    pub fn report(&self) -> Result<LrFindReport> {
        let best = self
            .points
            .iter()
            .min_by(|a, b| a.smoothed.total_cmp(&b.smoothed))
            .ok_or_else(|| Error::misuse("the learning-rate test has not run a step yet"))?;
        let bounds = LIMITS.learning_rate;
        let knee_rate = knee_rate(&self.points);
        let tenth = best.learning_rate / 10.0;
        let suggested = knee_rate.map_or(tenth, |knee| knee.min(tenth));
        Ok(LrFindReport {
            points: self.points.clone(),
            suggested: suggested.clamp(bounds.min, bounds.max),
            min_loss_rate: best.learning_rate,
            knee_rate,
            diverged_at: self.diverged_at,
        })
    }
}

/// How far the loss must have fallen, from its start to its lowest point, at the rate
/// [`knee_rate`] picks.
const KNEE_SHARE: f64 = 0.8;

/// Where the loss's fall levels off: the first rate by which the loss has come four fifths of
/// the way from where it started to its lowest point. Each batch's loss is averaged with its
/// neighbours' on both sides first (a centred window: unlike the running average the curve
/// shows, it does not lag behind the rates). `None` when the loss never fell.
fn knee_rate(points: &[LrPoint]) -> Option<f64> {
    let n = points.len();
    let half = (n / 20).max(1);
    if n < 2 * half + 1 {
        return None;
    }
    let centred: Vec<f64> = (0..n)
        .map(|k| {
            let window = &points[k.saturating_sub(half)..(k + half + 1).min(n)];
            window.iter().map(|p| p.loss).sum::<f64>() / window.len() as f64
        })
        .collect();
    let lowest = centred.iter().copied().fold(f64::INFINITY, f64::min);
    let fall = centred[0] - lowest;
    // Every point's loss is finite (the test stops at the first that is not).
    if fall <= 0.0 {
        return None;
    }
    let target = centred[0] - KNEE_SHARE * fall;
    centred.iter().position(|&c| c <= target).map(|k| points[k].learning_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep of `n` rates from 1e-6 to 1 whose loss is `loss(log10 rate)`.
    fn sweep(n: usize, loss: impl Fn(f64) -> f64) -> Vec<LrPoint> {
        (0..n)
            .map(|k| {
                let learning_rate = 1e-6 * 1e6f64.powf(k as f64 / (n - 1) as f64);
                let loss = loss(learning_rate.log10());
                LrPoint { learning_rate, loss, smoothed: loss }
            })
            .collect()
    }

    /// A descent centred on 1e-3, then a slow creep down to the end of the range: no blow-up.
    fn no_blow_up(x: f64) -> f64 {
        0.7 - 0.4 / (1.0 + (-3.0 * (x + 3.0)).exp()) - 0.01 * (x + 6.0)
    }

    #[test]
    fn the_knee_is_found_where_the_loss_never_blows_up() {
        let points = sweep(100, no_blow_up);
        // The descent is four fifths done after its midpoint (1e-3), decades before
        // the end of the range, where the loss is lowest.
        let knee = knee_rate(&points).unwrap();
        assert!((1.5e-3..1e-2).contains(&knee), "{knee:e}");
    }

    #[test]
    fn batch_noise_does_not_move_the_knee_far() {
        // Every other batch 0.03 up: as large as the descent's steepest step.
        let noisy = |k: usize, p: LrPoint| {
            let loss = p.loss + if k.is_multiple_of(2) { 0.03 } else { 0.0 };
            LrPoint { loss, ..p }
        };
        let points: Vec<_> =
            sweep(100, no_blow_up).into_iter().enumerate().map(|(k, p)| noisy(k, p)).collect();
        let knee = knee_rate(&points).unwrap();
        assert!((1.5e-3..1e-2).contains(&knee), "{knee:e}");
    }

    #[test]
    fn a_loss_that_never_falls_has_no_knee() {
        assert_eq!(knee_rate(&sweep(100, |x| 0.5 + 0.01 * (x + 6.0))), None);
        assert_eq!(knee_rate(&sweep(2, |_| 0.5)), None);
    }
}
