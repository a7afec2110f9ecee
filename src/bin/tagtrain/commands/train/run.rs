//! `tagtrain train`'s run: the learning-rate range test, the step loop with its progress and
//! run file, and what it prints at the end.

use anyhow::Context;
use tagtrain::train::{LrFindOptions, LrFinder};
use tagtrain::{TrainingOptions, TrainingSession};

use crate::progress::Progress;

/// `90 s`, `5 min`, `1.5 h`.
fn duration_text(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds} s")
    } else if seconds < 7200.0 {
        format!("{} min", seconds / 60.0)
    } else {
        format!("{} h", seconds / 3600.0)
    }
}

/// Runs the learning-rate range test on the decoded dataset with the run's options, prints its
/// curve (every few rates, smoothed loss) and returns the suggested rate.
pub(super) fn find_learning_rate(
    dataset: &tagtrain::Dataset,
    options: &TrainingOptions,
    compute: &tagtrain::ComputeDevice,
    quiet: bool,
) -> tagtrain::Result<f64> {
    let range = LrFindOptions::default();
    let mut finder = LrFinder::new(dataset.clone(), options.clone(), compute.clone(), range)?;
    let mut bar = Progress::new("lr test", finder.total_steps(), quiet);
    let mut k = 0;
    while let Some(point) = pollster::block_on(finder.step())? {
        k += 1;
        bar.update(k, &format!("lr {:.1e}  loss {:.4}", point.learning_rate, point.smoothed));
    }
    bar.finish();
    let report = finder.report()?;
    eprintln!("learning-rate range test ({} batches, smoothed loss):", report.points.len());
    let every = report.points.len().div_ceil(12).max(1);
    for p in report.points.iter().step_by(every) {
        eprintln!("  lr {:>9.2e}  loss {:.4}", p.learning_rate, p.smoothed);
    }
    match report.diverged_at {
        Some(lr) => eprintln!("  the loss blew up at lr {lr:.2e}"),
        None => eprintln!("  the loss did not blow up below lr {:.2e}", range.max_lr),
    }
    let knee = match report.knee_rate {
        Some(lr) => format!("the fall levelled off at lr {lr:.2e}"),
        None => "the loss never fell".to_owned(),
    };
    eprintln!(
        "{knee}, lowest loss at lr {:.2e}; training at the first or a tenth of the second, \
         whichever is lower: --lr {:.2e}",
        report.min_loss_rate, report.suggested
    );
    Ok(report.suggested)
}

/// Steps `session` until it is done, with a bar and one line per epoch on stderr; with
/// `run_file`, saves the run there after every epoch but the last.
pub(super) fn run_to_end(
    session: &mut TrainingSession,
    quiet: bool,
    run_file: Option<&str>,
) -> anyhow::Result<()> {
    let info = session.info();
    eprintln!(
        "{} ({} parameters, {}) on {}: {} train / {} validation images, up to {} steps",
        info.model,
        info.parameters,
        info.init,
        info.backend,
        info.train_images,
        info.valid_images,
        info.total_steps
    );
    if let Some(notice) = &info.batch_notice {
        eprintln!("note: {notice}");
    }
    if let Some(seconds) =
        session.options().time_budget_seconds.filter(|_| session.choosing_epochs())
    {
        eprintln!(
            "time budget {}: the epochs are chosen after timing the first {} steps",
            duration_text(seconds),
            1 + tagtrain::train::TIMED_STEPS
        );
    }
    let mut bar = Progress::new("training", info.total_steps, quiet);
    loop {
        let event = pollster::block_on(session.step())?;
        if let Some(epochs) = event.epochs_chosen {
            bar.finish();
            eprintln!(
                "{epochs} epoch(s) ({} steps) fit the time budget of {}",
                event.total_steps,
                duration_text(session.options().time_budget_seconds.unwrap_or_default())
            );
            bar = Progress::new("training", event.total_steps, quiet);
        }
        bar.update(
            event.step,
            &format!(
                "epoch {} loss {:.4} {:.1} img/s",
                event.epoch, event.loss, event.images_per_sec
            ),
        );
        if let Some(v) = &event.validation {
            bar.finish();
            eprintln!(
                "epoch {:>3}  train loss {:.4}  valid loss {}  mAP {:.4}  micro-F1@0.5 {:.4}  macro-F1@0.5 {:.4}{}",
                v.epoch,
                v.train_loss,
                v.valid_loss.map(|l| format!("{l:.4}")).unwrap_or_else(|| "-".into()),
                v.metrics.map,
                v.metrics.micro_f1,
                v.metrics.macro_f1,
                if v.best { "  (kept)" } else { "" }
            );
        }
        if let (Some(path), Some(_), false) = (run_file, &event.validation, event.done) {
            save_run_file(session, path)?;
        }
        if event.done {
            if event.stopped_early {
                eprintln!(
                    "stopped early: validation mAP did not improve for {} epochs",
                    session.options().patience
                );
            }
            return Ok(());
        }
    }
}

/// Saves the run in `session` to the run file at `path`, which resuming reads.
fn save_run_file(session: &TrainingSession, path: &str) -> anyhow::Result<()> {
    let state = pollster::block_on(session.save_state())?;
    // Written aside and renamed, so a crash mid-write keeps the previous epoch's file.
    let partial = format!("{path}.partial");
    std::fs::write(&partial, state).with_context(|| format!("cannot write {partial}"))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {path}"))?;
    Ok(())
}

/// The validation metrics at the tuned thresholds, overall and per label, when the run
/// reviewed its validation images.
pub(super) fn print_review(session: &TrainingSession) {
    let Some(review) = session.review() else { return };
    // The epochs' F1 above are at 0.5; the model predicts at its tuned thresholds.
    let m = review.metrics();
    eprintln!(
        "validation at the tuned thresholds: micro-F1 {:.4}  macro-F1 {:.4}",
        m.micro_f1, m.macro_f1
    );
    eprintln!(
        "  {:<26} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "label", "threshold", "precision", "recall", "F1", "support"
    );
    for l in &m.labels {
        eprintln!(
            "  {:<26} {:>9.3} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            l.name, l.threshold, l.precision, l.recall, l.f1, l.support
        );
    }
}

/// Removes the run file at `path` once its run is complete, so that the same command again
/// starts a new run; a file already gone is fine.
pub(super) fn remove_run_file(path: &str) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {path}"))
        }
        _ => Ok(()),
    }
}
