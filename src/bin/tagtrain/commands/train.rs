//! `tagtrain train`: a dataset zip in, a model file (and optionally a JSON report) out.

use anyhow::Context;
use serde::Serialize;
use tagtrain::Recommendation;
use tagtrain::train::{LrFindOptions, LrFinder};
use tagtrain::{
    AugmentOptions, ConvInit, InputSpec, KeptEpoch, ResizePolicy, ThresholdGoal, TrainingOptions,
    TrainingSession, TrainingSummary, checkpoint,
};
use web_time::Instant;

use super::{DEVICE, decode_with_progress, device, open_dataset, read};
use crate::args::{Args, Command, Flag};
use crate::progress::Progress;

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "train",
    operands: "DATA.zip",
    about: "trains a ResNetV2 on a dataset zip (index.csv + images) and writes the model file",
    flags: &[
        Flag::valued("output", "MODEL.safetensors", "the model file to write")
            .short('o')
            .required(),
        Flag::valued("epochs", "N", "passes over the training images")
            .with_default(|| TrainingOptions::default().epochs.to_string()),
        Flag::valued(
            "time-budget",
            "5m|90s|1h",
            "train for about this long instead: the first steps are timed and --epochs set to \
             what fits (a bare number is minutes)",
        ),
        Flag::valued("depth", "N", "ResNetV2 depth (default: the one recommended for the data)"),
        Flag::valued(
            "image-size",
            "PX",
            "input side in pixels (default: the --init model's, else recommended)",
        ),
        Flag::valued(
            "batch-size",
            "N",
            "images per step (default: from the dataset's size, 8 to 64, about 30 steps an epoch)",
        ),
        Flag::valued("lr", "X|auto", "peak learning rate of AdamW; auto: a range test picks it")
            .with_default(|| TrainingOptions::default().learning_rate.to_string()),
        Flag::valued("weight-decay", "X", "AdamW decoupled weight decay")
            .with_default(|| TrainingOptions::default().weight_decay.to_string()),
        Flag::valued(
            "valid-fraction",
            "F|auto",
            "share of images held out for validation; auto: 10 % of a large dataset, up to 20 % \
             of a small one, more where a label is rare",
        )
        .with_default(|| "auto".into()),
        Flag::valued("seed", "N", "seed of the split, batch order, augmentation and weights")
            .with_default(|| TrainingOptions::default().seed.to_string()),
        Flag::valued("patience", "N", "stop after N epochs without a better mAP; 0: never")
            .with_default(|| TrainingOptions::default().patience.to_string()),
        Flag::valued(
            "keep",
            "best|last",
            "the weights to save: the best validation mAP's epoch, or the last epoch's when \
             the schedule runs to its end (the best one's when early stopping ends it)",
        )
        .with_default(|| TrainingOptions::default().keep.as_str().into()),
        Flag::valued("labels", "A,B,…", "train only these label columns (default: all)"),
        Flag::valued("exclude-labels", "A,B,…", "train every label column but these"),
        Flag::switch("no-augment", "no augmentation at all (no random crop)"),
        Flag::switch("jitter", "also jitter brightness and contrast when augmenting"),
        Flag::valued("crop-pad", "F", "the random crop's padding as a share of the image side")
            .with_default(|| AugmentOptions::default().crop_padding.to_string()),
        Flag::switch("flip", "also flip images left-right when augmenting"),
        Flag::switch("pos-weight", "weight rare labels' positives up in the loss"),
        Flag::valued("label-smoothing", "E", "aim targets at E/2 and 1 − E/2; 0: off")
            .with_default(|| TrainingOptions::default().label_smoothing.to_string()),
        Flag::valued(
            "ema",
            "D",
            "validate and keep a moving average of the weights, decay D; 0: off",
        )
        .with_default(|| TrainingOptions::default().ema_decay.to_string()),
        Flag::valued("grad-clip", "X", "clip each parameter's gradient to this L2 norm; 0: off")
            .with_default(|| TrainingOptions::default().gradient_clip.to_string()),
        Flag::valued(
            "conv-init",
            "burn|he",
            "how a new network's convolutions start: burn's uniform init (learns fast), or \
             He's normal init (calmer; generalised better at depth 20 on photo-like data)",
        )
        .with_default(|| TrainingOptions::default().conv_init.as_str().into()),
        Flag::valued(
            "init",
            "MODEL",
            "start from a model file (same labels: continue; others: new head)",
        ),
        Flag::valued(
            "resize",
            "stretch|center-crop|letterbox",
            "how images become square; --init keeps the model's",
        )
        .with_default(|| ResizePolicy::default().to_string()),
        Flag::valued("thresholds", "f1|precision=P|recall=R", "what label thresholds aim for")
            .with_default(|| "f1".into()),
        Flag::valued(
            "checkpoint",
            "RUN",
            "save the run to RUN after every epoch; if RUN exists, resume it (its own options, \
             the same dataset) — run the same command again after a crash",
        ),
        DEVICE,
        Flag::valued("report", "REPORT.json", "also write the run's results as JSON"),
        Flag::switch("quiet", "no progress bars"),
    ],
    run: train,
};

/// What `train --report` writes: the run as the model file records it (camelCase, like the
/// model's metadata), plus what only this process measured.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrainReport<'a> {
    /// The model file written.
    model: &'a str,
    /// The network's name (`ResNetV2-Small-11`); `inspect --json` shows its configuration.
    architecture: String,
    /// Each label's tuned threshold, in the model's label order.
    thresholds: &'a [f32],
    /// The run: `steps`, `epochsCompleted`, `bestEpoch`, `stoppedEarly`, `finalMap`,
    /// `imagesPerSec` (validation included) and the options used.
    #[serde(flatten)]
    training: Option<&'a TrainingSummary>,
    /// Training throughput in optimisation steps alone (validation excluded).
    train_images_per_sec: f64,
    /// Wall-clock seconds from the first step until the model file was written.
    seconds: f64,
}

/// Trains on the dataset zip and writes the model file, and the report when asked.
fn train(args: &Args) -> anyhow::Result<()> {
    let [data] = args.positional() else {
        return Err(args.usage_error("train takes one dataset zip"));
    };
    let output = args.required("output");
    let quiet = args.flag("quiet");
    let init = args.value("init").map(read).transpose()?;
    let mut source = open_dataset(data)?;
    let summary = source.summary();
    for warning in &summary.profile.warnings {
        eprintln!("warning: {warning}");
    }
    let run_file = args.value("checkpoint");
    // A run saved by an earlier `--checkpoint` is resumed with its own options.
    let saved =
        run_file.filter(|path| std::path::Path::new(path).exists()).map(read).transpose()?;
    if saved.is_some() && init.is_some() {
        return Err(args.usage_error(
            "--init starts a new run, and --checkpoint names a saved run to resume: use one",
        ));
    }
    let parent = init.as_deref().map(checkpoint::read_metadata).transpose().context("--init")?;
    let options = match &saved {
        Some(state) => {
            let info = tagtrain::train::saved_run_info(state)
                .with_context(|| format!("--checkpoint {}", run_file.unwrap_or_default()))?;
            eprintln!(
                "resuming {} after epoch {} of {} (its options; the other training flags are \
                 not used)",
                run_file.unwrap_or_default(),
                info.epochs_completed,
                info.epochs
            );
            info.options
        }
        None => {
            let mut options =
                training_options(args, &summary.recommended, parent.as_ref().map(|m| &m.input))?;
            options.labels = chosen_labels(args, source.labels())?;
            options
        }
    };
    let compute = device(args)?;
    let dataset = decode_with_progress(source.len(), quiet, |progress| {
        source.decode(options.image_size, options.resize, progress)
    })?;
    let mut options = options;
    if saved.is_none() && lr_auto(args) {
        options.learning_rate = find_learning_rate(&dataset, &options, &compute, quiet)?;
    }
    let mut session = match (&saved, &init) {
        (Some(state), _) => TrainingSession::resume(dataset, compute, state)
            .with_context(|| format!("--checkpoint {}", run_file.unwrap_or_default()))?,
        (None, None) => TrainingSession::new(dataset, options, compute)?,
        (None, Some(bytes)) => TrainingSession::from_model(dataset, options, compute, bytes)?,
    };
    let started = Instant::now();
    run_to_end(&mut session, quiet, run_file)?;
    let (model, metadata) = session.snapshot()?;
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata))?;
    std::fs::write(output, bytes).with_context(|| format!("cannot write {output}"))?;
    let run = metadata.training.as_ref();
    eprintln!(
        "saved {output} (weights of epoch {}, validation mAP {})",
        run.and_then(|r| r.best_epoch).map(|e| e.to_string()).unwrap_or_else(|| "last".into()),
        run.and_then(|r| r.final_map).map(|m| format!("{m:.4}")).unwrap_or_else(|| "-".into())
    );
    if let Some(review) = session.review().filter(|_| !quiet) {
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
    if let Some(path) = run_file {
        // The run is complete: the same command again starts a new one.
        std::fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })?;
    }
    if let Some(path) = args.value("report") {
        let report = TrainReport {
            model: output,
            architecture: metadata.architecture.name(),
            thresholds: &metadata.thresholds,
            training: run,
            train_images_per_sec: session.throughput().train_images_per_sec(),
            seconds: started.elapsed().as_secs_f64(),
        };
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}

/// The training options the flags ask for. Unset depth and image size follow the dataset's
/// `recommended` model, except that fine-tuning keeps the `parent` model's input (size and
/// resize policy) unless told otherwise; every other unset option is the library's default.
/// A flag whose values are an option enum's JSON names (`--keep last`), read through serde so
/// that the names are written once, on the enum.
fn choice<T: serde::de::DeserializeOwned>(
    args: &Args,
    flag: &str,
    names: &str,
) -> anyhow::Result<T> {
    let value = args.value_or_default(flag);
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| args.usage_error(format!("--{flag} {value}: use {names}")))
}

fn training_options(
    args: &Args,
    recommended: &Recommendation,
    parent: Option<&InputSpec>,
) -> anyhow::Result<TrainingOptions> {
    let augment = if args.flag("no-augment") {
        AugmentOptions::NONE
    } else {
        AugmentOptions {
            flip: args.flag("flip"),
            jitter: args.flag("jitter"),
            crop_padding: args.number_or_default("crop-pad")?,
            ..AugmentOptions::default()
        }
    };
    let resize = match (args.value("resize"), parent) {
        (None, Some(input)) => input.resize,
        _ => ResizePolicy::parse(&args.value_or_default("resize"))
            .map_err(|e| args.usage_error(e.to_string()))?,
    };
    let keep: KeptEpoch = choice(args, "keep", "best or last")?;
    let conv_init: ConvInit = choice(args, "conv-init", "burn or he")?;
    let goal = args.value_or_default("thresholds");
    let threshold_goal = parse_goal(&goal).ok_or_else(|| {
        args.usage_error(format!(
            "--thresholds {goal}: use f1, precision=P or recall=R with P, R in (0, 1]"
        ))
    })?;
    let options = TrainingOptions {
        depth: args.number("depth")?.unwrap_or(recommended.depth),
        image_size: args
            .number("image-size")?
            .or(parent.map(|input| input.image_size))
            .unwrap_or(recommended.image_size),
        epochs: args.number_or_default("epochs")?,
        time_budget_seconds: args
            .value("time-budget")
            .map(|text| {
                parse_duration(text).ok_or_else(|| {
                    args.usage_error(format!(
                        "--time-budget {text}: use minutes (5m or 5), seconds (90s) or hours (1h)"
                    ))
                })
            })
            .transpose()?,
        batch_size: args.number("batch-size")?.unwrap_or(recommended.batch_size),
        learning_rate: if lr_auto(args) {
            TrainingOptions::default().learning_rate
        } else {
            args.number_or_default("lr")?
        },
        weight_decay: args.number_or_default("weight-decay")?,
        validation_fraction: match &*args.value_or_default("valid-fraction") {
            "auto" => None,
            _ => Some(args.number_or_default("valid-fraction")?),
        },
        seed: args.number_or_default("seed")?,
        patience: args.number_or_default("patience")?,
        keep,
        resize,
        positive_weights: args.flag("pos-weight"),
        gradient_clip: args.number_or_default("grad-clip")?,
        conv_init,
        label_smoothing: args.number_or_default("label-smoothing")?,
        ema_decay: args.number_or_default("ema")?,
        threshold_goal,
        augment,
        ..TrainingOptions::default()
    };
    options.validate().map_err(|e| args.usage_error(e.to_string()))?;
    Ok(options)
}

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

/// Seconds of a duration written `5m`, `90s`, `1.5h` or `5` (minutes).
fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, 's') => (&text[..i], 1.0),
        (i, 'm') => (&text[..i], 60.0),
        (i, 'h') => (&text[..i], 3600.0),
        _ => (text, 60.0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then_some(value * unit)
}

/// `--lr auto`: a learning-rate range test picks the rate.
fn lr_auto(args: &Args) -> bool {
    args.value("lr").is_some_and(|v| v.eq_ignore_ascii_case("auto"))
}

/// Runs the learning-rate range test on the decoded dataset with the run's options, prints its
/// curve (every few rates, smoothed loss) and returns the suggested rate.
fn find_learning_rate(
    dataset: &tagtrain::Dataset,
    options: &TrainingOptions,
    compute: &tagtrain::ComputeDevice,
    quiet: bool,
) -> anyhow::Result<f64> {
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

/// The label columns `--labels` or `--exclude-labels` choose among the dataset's `labels`
/// (`None`: every one).
fn chosen_labels(args: &Args, labels: &[String]) -> anyhow::Result<Option<Vec<String>>> {
    let list = |flag: &str| {
        args.value(flag).map(|text| {
            text.split(',')
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
    };
    let unknown = |flag: &str, names: &[String]| {
        names.iter().find(|n| !labels.contains(n)).map(|n| {
            args.usage_error(format!(
                "--{flag}: the dataset has no label '{n}'; its labels are {}",
                labels.join(", ")
            ))
        })
    };
    match (list("labels"), list("exclude-labels")) {
        (Some(_), Some(_)) => Err(args.usage_error("use --labels or --exclude-labels, not both")),
        (Some(chosen), None) => match unknown("labels", &chosen) {
            Some(e) => Err(e),
            None if chosen.is_empty() => Err(args.usage_error("--labels names no label")),
            None => Ok(Some(chosen)),
        },
        (None, Some(excluded)) => {
            if let Some(e) = unknown("exclude-labels", &excluded) {
                return Err(e);
            }
            let kept: Vec<String> =
                labels.iter().filter(|l| !excluded.contains(l)).cloned().collect();
            if kept.is_empty() {
                return Err(args.usage_error("--exclude-labels leaves no label to train"));
            }
            Ok(Some(kept))
        }
        (None, None) => Ok(None),
    }
}

/// `f1`, `precision=0.9` or `recall=0.8`; `None` for anything else, or a target outside (0, 1].
fn parse_goal(text: &str) -> Option<ThresholdGoal> {
    if text.eq_ignore_ascii_case("f1") {
        return Some(ThresholdGoal::MaxF1);
    }
    let (name, value) = text.split_once('=')?;
    let target: f64 = value.parse().ok().filter(|t| *t > 0.0 && *t <= 1.0)?;
    match name {
        "precision" => Some(ThresholdGoal::Precision { target }),
        "recall" => Some(ThresholdGoal::Recall { target }),
        _ => None,
    }
}

/// Steps `session` until it is done, with a bar and one line per epoch on stderr; with
/// `run_file`, saves the run there after every epoch but the last.
fn run_to_end(
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
            let state = pollster::block_on(session.save_state())?;
            // Written aside and renamed, so a crash mid-write keeps the previous epoch's file.
            let partial = format!("{path}.partial");
            std::fs::write(&partial, state).with_context(|| format!("cannot write {partial}"))?;
            std::fs::rename(&partial, path).with_context(|| format!("cannot write {path}"))?;
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

#[cfg(test)]
mod tests {
    use tagtrain::ModelMetadata;

    use super::*;

    /// `training_options` for `tagtrain train data.zip -o model.safetensors` plus `flags`
    /// (separated by spaces).
    fn options(flags: &str, parent: Option<&InputSpec>) -> anyhow::Result<TrainingOptions> {
        let words: Vec<String> = format!("data.zip -o model.safetensors {flags}")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let command = super::super::find("train").unwrap();
        training_options(&Args::parse(command, &words)?, &Recommendation::for_sides(64), parent)
    }

    #[test]
    fn unset_flags_take_the_recommendation_and_the_library_defaults() {
        let recommended = Recommendation::for_sides(64);
        let expected = TrainingOptions {
            depth: recommended.depth,
            image_size: recommended.image_size,
            batch_size: recommended.batch_size,
            ..TrainingOptions::default()
        };
        assert_eq!(options("", None).unwrap(), expected);
    }

    #[test]
    fn every_flag_reaches_its_option() {
        let flags = "--epochs 3 --depth 20 --image-size 48 --batch-size 4 --lr 0.01 \
                     --weight-decay 0 --valid-fraction 0.3 --seed 9 --patience 0 --flip \
                     --pos-weight --resize letterbox --thresholds recall=0.9 --jitter \
                     --crop-pad 0.1 --grad-clip 0 --label-smoothing 0.1 --time-budget 90s --ema 0.99 \
                     --conv-init he";
        let expected = TrainingOptions {
            depth: 20,
            image_size: 48,
            epochs: 3,
            batch_size: 4,
            learning_rate: 0.01,
            weight_decay: 0.0,
            validation_fraction: Some(0.3),
            seed: 9,
            patience: 0,
            augment: AugmentOptions {
                flip: true,
                jitter: true,
                crop_padding: 0.1,
                ..AugmentOptions::default()
            },
            positive_weights: true,
            gradient_clip: 0.0,
            conv_init: ConvInit::He,
            label_smoothing: 0.1,
            ema_decay: 0.99,
            time_budget_seconds: Some(90.0),
            resize: ResizePolicy::Letterbox,
            threshold_goal: ThresholdGoal::Recall { target: 0.9 },
            ..TrainingOptions::default()
        };
        assert_eq!(options(flags, None).unwrap(), expected);
        assert_eq!(options("--no-augment", None).unwrap().augment, AugmentOptions::NONE);
        assert_eq!(options("--valid-fraction auto", None).unwrap().validation_fraction, None);
        assert_eq!(options("--keep best", None).unwrap().keep, KeptEpoch::Best);
        assert_eq!(options("--keep last", None).unwrap().keep, KeptEpoch::Last);
        let wrong = options("--keep newest", None).unwrap_err().to_string();
        assert!(wrong.contains("--keep newest: use best or last"), "{wrong}");
        let wrong = options("--conv-init xavier", None).unwrap_err().to_string();
        assert!(wrong.contains("--conv-init xavier: use burn or he"), "{wrong}");
        for (text, seconds) in [("5m", 300.0), ("5", 300.0), ("1.5h", 5400.0), ("45s", 45.0)] {
            let budget = options(&format!("--time-budget {text}"), None).unwrap();
            assert_eq!(budget.time_budget_seconds, Some(seconds), "{text}");
        }
    }

    #[test]
    fn fine_tuning_keeps_the_parents_input_unless_told_otherwise() {
        let mut input = ModelMetadata::default().input;
        input.image_size = 40;
        input.resize = ResizePolicy::CenterCrop;
        let inherited = options("", Some(&input)).unwrap();
        assert_eq!((inherited.image_size, inherited.resize), (40, ResizePolicy::CenterCrop));
        let told = options("--image-size 56 --resize stretch", Some(&input)).unwrap();
        assert_eq!((told.image_size, told.resize), (56, ResizePolicy::Stretch));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for flags in [
            "--epochs many",
            "--time-budget soon",
            "--time-budget 0m",
            "--time-budget 2s",
            "--label-smoothing 0.7",
            "--ema 1",
            "--crop-pad 0",
            "--thresholds precision=2",
            "--thresholds accuracy=0.5",
            "--resize squash",
            "--epochs 0",
        ] {
            let error = options(flags, None).unwrap_err();
            assert!(error.is::<crate::usage::UsageError>(), "{flags:?}: {error}");
        }
    }

    #[test]
    fn goals_parse() {
        assert_eq!(parse_goal("F1"), Some(ThresholdGoal::MaxF1));
        assert_eq!(parse_goal("precision=0.9"), Some(ThresholdGoal::Precision { target: 0.9 }));
        assert_eq!(parse_goal("recall=1"), Some(ThresholdGoal::Recall { target: 1.0 }));
        assert_eq!(parse_goal("recall=0"), None);
        assert_eq!(parse_goal("recall"), None);
    }
}
