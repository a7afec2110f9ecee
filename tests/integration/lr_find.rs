//! The learning-rate range test on generated data whose good and bad rates are known: far too
//! low a rate leaves the loss where it started, far too high a rate blows it up, and the
//! suggestion lies between, where a short run learns.

use crate::common;

use common::synthetic_dataset;
use tagtrain::ComputeDevice;
use tagtrain::train::{LrFindOptions, LrFinder};
use tagtrain::{TrainingOptions, TrainingSession};

fn options() -> TrainingOptions {
    TrainingOptions {
        depth: 11,
        image_size: 16,
        batch_size: 16,
        validation_fraction: Some(0.2),
        seed: 3,
        ..TrainingOptions::default()
    }
}

/// Mean training loss of the last epoch of a 3-epoch run at `lr`.
fn trained_loss(lr: f64) -> f64 {
    let dataset = synthetic_dataset(240, 16, 8);
    let options = TrainingOptions { learning_rate: lr, epochs: 3, ..options() };
    let mut session = TrainingSession::new(dataset, options, ComputeDevice::cpu(None)).unwrap();
    let mut last = f64::NAN;
    loop {
        let event = pollster::block_on(session.step()).unwrap();
        if let Some(report) = event.validation {
            last = report.train_loss;
        }
        if event.done {
            return last;
        }
    }
}

#[test]
fn the_range_test_finds_a_rate_between_too_low_and_too_high() {
    const TOO_LOW: f64 = 1e-6;
    const TOO_HIGH: f64 = 10.0;
    let range = LrFindOptions { min_lr: TOO_LOW, max_lr: TOO_HIGH, steps: 60 };
    let dataset = synthetic_dataset(240, 16, 8);
    let mut finder = LrFinder::new(dataset, options(), ComputeDevice::cpu(None), range).unwrap();
    while pollster::block_on(finder.step()).unwrap().is_some() {}
    assert!(finder.is_done());
    let report = finder.report().unwrap();
    eprintln!(
        "suggested {:e}, lowest loss at {:e}, blew up at {:?}, {} points",
        report.suggested,
        report.min_loss_rate,
        report.diverged_at,
        report.points.len()
    );
    // Rates rise geometrically from the first.
    assert_eq!(report.points[0].learning_rate, TOO_LOW);
    assert!(report.points.windows(2).all(|w| w[1].learning_rate > w[0].learning_rate));
    // Far too low: the first batches' loss stays where it started.
    let start = report.points[0].smoothed;
    assert!((report.points[5].smoothed - start).abs() < 0.05 * start, "{:?}", &report.points[..6]);
    // Far too high: the loss blew up before the end of the range.
    let blew_up = report.diverged_at.expect("a rate of 10 blows the loss up");
    assert!(blew_up < TOO_HIGH);
    // The suggestion is well inside: a decade or more from either end.
    assert!(report.suggested > 10.0 * TOO_LOW && report.suggested < blew_up / 10.0, "{report:?}");
    // And it learns: a short run at the suggested rate ends far lower than one at the lowest.
    let (suggested, low) = (trained_loss(report.suggested), trained_loss(TOO_LOW));
    assert!(suggested < 0.7 * low, "{suggested} at the suggestion vs {low} at {TOO_LOW}");
}

#[test]
fn a_range_that_does_not_rise_is_refused() {
    let dataset = synthetic_dataset(16, 8, 1);
    let range = LrFindOptions { min_lr: 1e-2, max_lr: 1e-3, steps: 20 };
    let error = LrFinder::new(dataset, options(), ComputeDevice::cpu(None), range).err().unwrap();
    assert!(error.to_string().contains("must rise"), "{error}");
}
