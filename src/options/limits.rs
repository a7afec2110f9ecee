//! The ranges of the numeric options, written once: [`TrainingOptions::validate`] checks
//! them and [`super::TrainingChoices`] hands them to the page.
//!
//! [`TrainingOptions::validate`]: super::TrainingOptions::validate

use serde::Serialize;

use crate::error::{Error, Result};
use crate::limits::{MAX_IMAGE_SIZE, MIN_IMAGE_SIZE};

/// The range of a numeric option: inclusive unless an end says it is excluded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Bounds {
    /// Smallest accepted value (or, with `min_excluded`, the value everything must exceed).
    pub min: f64,
    /// Largest accepted value (or, with `max_excluded`, the value everything must stay below).
    pub max: f64,
    /// True when `min` itself is refused.
    pub min_excluded: bool,
    /// True when `max` itself is refused.
    pub max_excluded: bool,
}

impl Bounds {
    /// `[min, max]`.
    pub(crate) const fn new(min: f64, max: f64) -> Self {
        Self { min, max, min_excluded: false, max_excluded: false }
    }

    /// `[min, max)`.
    pub(crate) const fn below(min: f64, max: f64) -> Self {
        Self { max_excluded: true, ..Self::new(min, max) }
    }

    /// `(min, max]`.
    pub(crate) const fn above(min: f64, max: f64) -> Self {
        Self { min_excluded: true, ..Self::new(min, max) }
    }

    /// True when `value` is in the range (NaN never is).
    pub fn contains(self, value: f64) -> bool {
        let above_min = if self.min_excluded { value > self.min } else { value >= self.min };
        let below_max = if self.max_excluded { value < self.max } else { value <= self.max };
        above_min && below_max
    }
}

/// The ranges of the numeric options (see [`TrainingOptions`] for what each one means).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OptionLimits {
    /// Passes over the data.
    pub epochs: Bounds,
    /// Seconds a time budget may give (10 s to a week).
    pub time_budget_seconds: Bounds,
    /// Images per step.
    pub batch_size: Bounds,
    /// Training image side in pixels.
    pub image_size: Bounds,
    /// Peak learning rate.
    pub learning_rate: Bounds,
    /// AdamW weight decay.
    pub weight_decay: Bounds,
    /// Share of images held out.
    pub validation_fraction: Bounds,
    /// Label smoothing (0: off), below 0.5.
    pub label_smoothing: Bounds,
    /// Decay of the weights' moving average (0: off), below 1.
    pub ema_decay: Bounds,
    /// Gradient norm clip (0: off); any finite positive number.
    pub gradient_clip: Bounds,
    /// Epochs without a better validation mAP before stopping (0: never stops early).
    pub patience: Bounds,
    /// The seed: any integer a JS number holds exactly.
    pub seed: Bounds,
    /// The precision or recall a threshold goal aims at.
    pub threshold_target: Bounds,
}

/// The ranges every front end offers and [`TrainingOptions::validate`] enforces.
pub const LIMITS: OptionLimits = OptionLimits {
    epochs: Bounds::new(1.0, 10_000.0),
    time_budget_seconds: Bounds::new(10.0, 604_800.0),
    batch_size: Bounds::new(1.0, 4096.0),
    image_size: Bounds::new(MIN_IMAGE_SIZE as f64, MAX_IMAGE_SIZE as f64),
    learning_rate: Bounds::new(1e-9, 10.0),
    weight_decay: Bounds::new(0.0, 0.99),
    validation_fraction: Bounds::new(0.0, 0.5),
    label_smoothing: Bounds::below(0.0, 0.5),
    ema_decay: Bounds::below(0.0, 1.0),
    gradient_clip: Bounds::new(0.0, f64::MAX),
    patience: Bounds::new(0.0, u32::MAX as f64),
    seed: Bounds::new(0.0, 9_007_199_254_740_991.0),
    threshold_target: Bounds::above(0.0, 1.0),
};

/// `value` of option `name` within `bounds`, or an error naming the option and the range.
pub(super) fn check(name: &'static str, value: f64, bounds: Bounds, unit: &str) -> Result<()> {
    if bounds.contains(value) {
        Ok(())
    } else {
        Err(Error::option(
            name,
            format!("{value} is not between {} and {}{unit}", bounds.min, bounds.max),
        ))
    }
}
