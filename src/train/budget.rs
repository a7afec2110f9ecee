//! Epochs from a time budget: "train for about five minutes".
//!
//! Nobody knows how long an epoch takes on their machine before it runs, so a run with
//! `timeBudgetSeconds` times its first steps and then fixes the number of epochs that fits the
//! budget. It decides early (the learning-rate schedule stretches over the whole run, so the
//! total must be known while the warm-up is still going), and once: the run then behaves like
//! any run of that many epochs, and its options (saved with the run and the model) say how many.

use web_time::Instant;

/// Steps timed before deciding (the first step, which also compiles kernels and allocates, is
/// not timed).
pub const TIMED_STEPS: usize = 5;

/// An epoch's validation pass costs this share of a training step per batch: the forward pass
/// alone, without the backward pass and the optimiser (about a third, measured on both
/// backends; a little more for safety).
const VALIDATION_STEP_SHARE: f64 = 0.4;

/// The epochs that fill `budget` seconds when a training step takes `step_seconds`.
///
/// An epoch is `steps_per_epoch` training steps plus `valid_batches` validation batches. The
/// result is the nearest whole number of epochs ("about"), one fewer where the nearest would
/// overrun the budget by more than [`OVERRUN`] (a 3-minute budget with 2.6 epochs' room ran
/// 3 epochs, 24 % over: people mind a late end more than an early one), at least 1 and at most
/// `max_epochs`.
pub fn epochs_for_budget(
    budget: f64,
    step_seconds: f64,
    steps_per_epoch: usize,
    valid_batches: usize,
    max_epochs: usize,
) -> usize {
    let epoch =
        step_seconds * (steps_per_epoch as f64 + VALIDATION_STEP_SHARE * valid_batches as f64);
    if !(epoch > 0.0 && epoch.is_finite()) {
        return max_epochs;
    }
    let room = budget / epoch;
    let mut epochs = room.round();
    if epochs > room * (1.0 + OVERRUN) {
        epochs -= 1.0;
    }
    (epochs as usize).clamp(1, max_epochs)
}

/// How far past its budget a run may plan to end (a share of the budget).
pub const OVERRUN: f64 = 0.1;

/// A run's budget until its epochs are decided.
#[derive(Debug)]
pub(super) struct EpochBudget {
    seconds: f64,
    /// When the first (untimed) step ended.
    timing_from: Option<Instant>,
}

impl EpochBudget {
    pub(super) fn new(seconds: f64) -> Self {
        Self { seconds, timing_from: None }
    }

    /// Called after each step ends, before that step's validation (`step` counts from 1).
    /// Returns the epochs once steps 2 to `1 + TIMED_STEPS` have run. On a dataset so small
    /// that epochs ended meanwhile, their validation passes ran inside the timed window too and
    /// are counted as such.
    pub(super) fn step_ended(
        &mut self,
        step: usize,
        steps_per_epoch: usize,
        valid_batches: usize,
        max_epochs: usize,
    ) -> Option<usize> {
        if step == 1 {
            self.timing_from = Some(Instant::now());
        }
        if step < 1 + TIMED_STEPS {
            return None;
        }
        let elapsed = self.timing_from.map_or(0.0, |from| from.elapsed().as_secs_f64());
        let validations = (1..step).filter(|s| s % steps_per_epoch.max(1) == 0).count();
        let step_seconds = step_seconds(elapsed, step - 1, validations * valid_batches);
        Some(epochs_for_budget(
            self.seconds,
            step_seconds,
            steps_per_epoch,
            valid_batches,
            max_epochs,
        ))
    }
}

/// A training step's seconds, from a window of `steps` training steps and `valid_batches`
/// validation batches that took `elapsed` seconds.
fn step_seconds(elapsed: f64, steps: usize, valid_batches: usize) -> f64 {
    elapsed / (steps as f64 + VALIDATION_STEP_SHARE * valid_batches as f64).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_the_budget_to_the_nearest_epoch_without_running_far_over() {
        // 100 steps of 0.5 s plus 10 validation batches at 0.4 × 0.5 s: 52 s an epoch.
        assert_eq!(epochs_for_budget(300.0, 0.5, 100, 10, 1000), 6);
        assert_eq!(epochs_for_budget(520.0, 0.5, 100, 10, 1000), 10);
        // Room for 5.6 epochs: 6 would end 7 % late, which is "about"; room for 2.6: 3 would
        // end 15 % late, so 2.
        assert_eq!(epochs_for_budget(5.6 * 52.0, 0.5, 100, 10, 1000), 6);
        assert_eq!(epochs_for_budget(2.6 * 52.0, 0.5, 100, 10, 1000), 2);
        // Never fewer than one epoch, never more than the limit.
        assert_eq!(epochs_for_budget(1.0, 0.5, 100, 10, 1000), 1);
        assert_eq!(epochs_for_budget(1e9, 0.5, 100, 10, 1000), 1000);
        // A step that took no measurable time cannot divide the budget.
        assert_eq!(epochs_for_budget(60.0, 0.0, 100, 10, 50), 50);
    }

    #[test]
    fn decides_after_the_timed_steps() {
        let mut budget = EpochBudget::new(60.0);
        for step in 1..=TIMED_STEPS {
            assert_eq!(budget.step_ended(step, 100, 5, 1000), None);
        }
        assert!(budget.step_ended(TIMED_STEPS + 1, 100, 5, 1000).is_some());
    }

    #[test]
    fn a_window_with_validation_passes_counts_them() {
        // 5 steps and 2 validation passes of 5 batches (0.4 each): 9 step-equivalents.
        assert!((step_seconds(9.0, 5, 10) - 1.0).abs() < 1e-12);
        assert!((step_seconds(5.0, 5, 0) - 1.0).abs() < 1e-12);
    }
}
