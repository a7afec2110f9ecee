//! `tagtrain label-errors`: the labels of a dataset zip that look wrong, most suspicious
//! first, from k-fold cross-validation (out-of-sample probabilities) and confident learning.

use anyhow::Context;
use serde::Serialize;
use tagtrain::train::{CrossValidation, FOLD_RANGE};
use tagtrain::{AugmentOptions, ResizePolicy, SuspectedError, TrainLayers, TrainingOptions};

use super::{
    DEVICE, JSON, PRETRAINED_WEIGHTS, decode_with_progress, device, open_dataset, print_json,
    read_pretrained_weights,
};
use crate::args::{Args, Command};
use crate::flag::Flag;
use crate::progress::Progress;

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "label-errors",
    operands: "DATA.zip",
    about: "lists the labels that look wrong (k-fold cross-validation, then confident \
            learning), most suspicious first",
    flags: &[
        JSON,
        DEVICE,
        Flag::valued("folds", "K", "runs, each holding out one fold of the images")
            .with_default(|| "4".into()),
        Flag::valued("epochs", "N", "passes over the training images in each run")
            .with_default(|| "8".into()),
        Flag::valued("image-size", "PX", "input side in pixels").with_default(|| "32".into()),
        Flag::valued("depth", "N", "ResNetV2 depth").with_default(|| "11".into()),
        Flag::valued("batch-size", "N", "images per step").with_default(|| "32".into()),
        Flag::valued("lr", "X", "peak learning rate of AdamW")
            .with_default(|| TrainingOptions::default().learning_rate.to_string()),
        Flag::valued("seed", "N", "seed of the folds, batch order, augmentation and weights")
            .with_default(|| TrainingOptions::default().seed.to_string()),
        Flag::switch(
            "pretrained",
            "each run trains a head on EfficientNet-Lite0's ImageNet features (computed once a \
             run, no augmentation; --depth is not used)",
        ),
        PRETRAINED_WEIGHTS,
        Flag::valued("limit", "N", "list at most N suspects (default: all)"),
        Flag::valued(
            "probabilities",
            "FILE.csv",
            "also write every image's out-of-sample probabilities (image, then one column a \
             label), e.g. to compare with another method",
        ),
        Flag::switch("quiet", "no progress bars"),
    ],
    run: label_errors,
};

/// What `label-errors --json` prints: one object a suspected (image, label) pair.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Suspect<'a> {
    /// The image's path as `index.csv` names it.
    image: &'a str,
    label: &'a str,
    /// The value given in the data, 0 or 1.
    given: u8,
    /// How sure the models are that `given` is wrong: 1 − P(given), in [0, 1].
    score: f32,
    /// The out-of-sample probability of the label.
    probability: f32,
    /// The value suggested instead.
    suggested: u8,
    /// Why it is suspected, in words.
    why: &'a str,
}

impl<'a> From<&'a SuspectedError> for Suspect<'a> {
    fn from(s: &'a SuspectedError) -> Self {
        Suspect {
            image: &s.image,
            label: &s.label,
            given: s.given,
            score: s.score,
            probability: s.probability,
            suggested: s.suggested,
            why: &s.why,
        }
    }
}

/// Cross-validates on the dataset and lists the suspected label errors.
fn label_errors(args: &Args) -> anyhow::Result<()> {
    let [data] = args.positional() else {
        return Err(args.usage_error("label-errors takes one dataset zip"));
    };
    let json = args.flag("json");
    let quiet = json || args.flag("quiet");
    let folds: usize = args.number_or_default("folds")?;
    if !FOLD_RANGE.contains(&folds) {
        return Err(args.usage_error(format!(
            "--folds {folds}: use {} to {}",
            FOLD_RANGE.start(),
            FOLD_RANGE.end()
        )));
    }
    let pretrained = args.flag("pretrained");
    let options = TrainingOptions {
        train_layers: if pretrained { TrainLayers::Head } else { TrainLayers::All },
        augment: if pretrained { AugmentOptions::NONE } else { AugmentOptions::default() },
        epochs: args.number_or_default("epochs")?,
        image_size: args.number_or_default("image-size")?,
        depth: args.number_or_default("depth")?,
        batch_size: args.number_or_default("batch-size")?,
        learning_rate: args.number_or_default("lr")?,
        seed: args.number_or_default("seed")?,
        ..TrainingOptions::default()
    };
    let mut source = open_dataset(data)?;
    for warning in &source.summary().profile.warnings {
        if !json {
            eprintln!("warning: {warning}");
        }
    }
    let compute = device(args)?;
    let dataset = decode_with_progress(source.len(), quiet, |progress| {
        source.decode(options.image_size, ResizePolicy::Stretch, progress)
    })?;
    let images = dataset.len();
    let mut runs = CrossValidation::new(dataset, options, folds, compute)
        .with_context(|| format!("{data} cannot be cross-validated"))?;
    if pretrained {
        runs = runs.with_pretrained(read_pretrained_weights(args)?);
    }
    if !quiet {
        eprintln!("{folds} runs, each training on the other folds and predicting its own");
    }
    let mut bar = Progress::new("runs", runs.total_steps(), quiet);
    let mut done = 0;
    while let Some(event) = pollster::block_on(runs.step())? {
        done += 1;
        bar.update(
            done,
            &format!(
                "fold {}/{} epoch {} loss {:.4}",
                event.fold + 1,
                event.folds,
                event.step.epoch,
                event.step.loss
            ),
        );
    }
    bar.finish();
    if let Some(path) = args.value("probabilities") {
        std::fs::write(path, probabilities_csv(&runs))
            .with_context(|| format!("cannot write {path}"))?;
    }
    let mut suspects = runs.suspected_errors()?;
    if let Some(limit) = args.number::<usize>("limit")? {
        suspects.truncate(limit);
    }
    if json {
        return print_json(&suspects.iter().map(Suspect::from).collect::<Vec<_>>());
    }
    println!(
        "{} suspected label errors among {images} images × {} labels (most suspicious first):",
        suspects.len(),
        runs.labels().len()
    );
    println!("{:>6}  {:<10} {:<24} image (why)", "score", "given", "label");
    for s in &suspects {
        let given = if s.given == 1 { "present" } else { "absent" };
        println!("{:>6.3}  {:<10} {:<24} {} ({})", s.score, given, s.label, s.image, s.why);
    }
    Ok(())
}

/// `image,label…` then one row an image, its out-of-sample probabilities.
fn probabilities_csv(runs: &CrossValidation) -> String {
    let labels = runs.labels();
    let mut csv = String::from("image");
    for label in labels {
        csv.push(',');
        csv.push_str(&csv_field(label));
    }
    csv.push('\n');
    for (i, name) in runs.names().iter().enumerate() {
        csv.push_str(&csv_field(name));
        for p in &runs.probabilities()[i * labels.len()..(i + 1) * labels.len()] {
            csv.push_str(&format!(",{p}"));
        }
        csv.push('\n');
    }
    csv
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
