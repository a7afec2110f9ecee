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
/// overrun the budget by more than [`OVERRUN`] (a 3-minute budget whose room was rounded up
/// to 3 epochs ran 24 % over: people mind a late end more than an early one), at least 1 and
/// at most `max_epochs`.
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
    /// The first step this budget saw (1, or the first step after a resume) and when it ended:
    /// that step is not timed (it compiles kernels and allocates); the next ones are.
    timing_from: Option<(usize, Instant)>,
}

impl EpochBudget {
    pub(super) fn new(seconds: f64) -> Self {
        Self { seconds, timing_from: None }
    }

    /// The step after which the epochs will be chosen, the run being at `step` now: a run's
    /// provisional length must reach it.
    pub(super) fn deciding_step(&self, step: usize) -> usize {
        self.timing_from.map_or(step + 1, |(first, _)| first) + TIMED_STEPS
    }

    /// Called after each step ends, before that step's validation (`step` counts from 1).
    /// Returns the epochs once the [`TIMED_STEPS`] steps after the first one seen have run
    /// (steps 2 to `1 + TIMED_STEPS` in a fresh run; a run resumed before deciding starts
    /// timing again). On a dataset so small that epochs ended meanwhile, their validation
    /// passes ran inside the timed window too and are counted as such. The epochs are for the
    /// whole run, steps already taken included, at the speed measured now.
    pub(super) fn step_ended(
        &mut self,
        step: usize,
        steps_per_epoch: usize,
        valid_batches: usize,
        max_epochs: usize,
    ) -> Option<usize> {
        let (first, from) = *self.timing_from.get_or_insert_with(|| (step, Instant::now()));
        if step < first + TIMED_STEPS {
            return None;
        }
        let elapsed = from.elapsed().as_secs_f64();
        let validations = (first..step).filter(|s| s % steps_per_epoch.max(1) == 0).count();
        let step_seconds = step_seconds(elapsed, step - first, validations * valid_batches);
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
    fn a_resumed_budget_times_the_steps_after_its_first() {
        let mut budget = EpochBudget::new(60.0);
        assert_eq!(budget.deciding_step(3), 4 + TIMED_STEPS);
        for step in 4..4 + TIMED_STEPS {
            assert_eq!(budget.step_ended(step, 2, 5, 1000), None);
            assert_eq!(budget.deciding_step(step), 4 + TIMED_STEPS);
        }
        assert!(budget.step_ended(4 + TIMED_STEPS, 2, 5, 1000).is_some());
    }

    #[test]
    fn a_window_with_validation_passes_counts_them() {
        // 5 steps and 2 validation passes of 5 batches (0.4 each): 9 step-equivalents.
        assert!((step_seconds(9.0, 5, 10) - 1.0).abs() < 1e-12);
        assert!((step_seconds(5.0, 5, 0) - 1.0).abs() < 1e-12);
    }
}
