//! `tagtrain predict`: each label's probability for each image or sound clip, or for a long
//! recording window by window.

use serde::Serialize;
use tagtrain::infer::WindowPrediction;
use tagtrain::{LabelPrediction, Predictor};

use super::{DEVICE, JSON, TTA, device, open_model, print_json, read};
use crate::args::{Args, Command};
use crate::flag::Flag;

/// `--windows`: score sound clips window by window.
const WINDOWS: Flag = Flag::valued(
    "windows",
    "SECONDS",
    "sound models: score each file window by window, a window (the model's clip length) \
     every SECONDS",
);

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "predict",
    operands: "MODEL.safetensors FILE...",
    about: "prints each label's probability for each image or sound clip (* marks labels over \
            threshold)",
    flags: &[JSON, DEVICE, TTA, WINDOWS],
    run: predict,
};

/// One file's entry in `predict --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImagePredictions {
    /// The file, as given.
    image: String,
    /// One entry per label, highest probability first.
    predictions: Vec<LabelPrediction>,
}

/// One file's entry in `predict --windows S --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileWindows {
    /// The file, as given.
    file: String,
    /// Each window's predictions, in time order.
    windows: Vec<WindowPrediction>,
}

/// Predicts every file and prints the probabilities, as a list per file or JSON.
fn predict(args: &Args) -> anyhow::Result<()> {
    let Some((model_path, files)) = args.positional().split_first() else {
        return Err(args.usage_error("predict takes a model file and images or sound clips"));
    };
    if files.is_empty() {
        return Err(args.usage_error("predict needs at least one image or sound clip"));
    }
    let compute = device(args)?;
    let mut predictor = open_model(model_path, &compute)?;
    predictor.set_test_time_augmentation(args.flag("tta"));
    match args.number::<f64>("windows")? {
        Some(step) => windows(args, &predictor, files, step),
        None => whole_files(args, &predictor, files),
    }
}

fn whole_files(args: &Args, predictor: &Predictor, files: &[String]) -> anyhow::Result<()> {
    let json = args.flag("json");
    let mut all = Vec::with_capacity(files.len());
    for file in files {
        let predictions = pollster::block_on(predictor.predict_file(file, &read(file)?))?;
        // Without --json each file prints as soon as it is done.
        if !json {
            println!("{file}");
            for p in &predictions {
                let mark = if p.positive { "  *" } else { "" };
                println!("  {:<28} {:.4}{mark}", p.label, p.probability);
            }
        }
        all.push(ImagePredictions { image: file.clone(), predictions });
    }
    if json { print_json(&all) } else { Ok(()) }
}

fn windows(args: &Args, predictor: &Predictor, files: &[String], step: f64) -> anyhow::Result<()> {
    let json = args.flag("json");
    let mut all = Vec::with_capacity(files.len());
    for file in files {
        let windows =
            pollster::block_on(predictor.predict_windows(file, &read(file)?, Some(step)))?;
        if !json {
            println!("{file}");
            for w in &windows {
                let heard: Vec<String> = w
                    .labels
                    .iter()
                    .filter(|p| p.positive)
                    .map(|p| format!("{} {:.2}", p.label, p.probability))
                    .collect();
                let heard = if heard.is_empty() { "-".to_string() } else { heard.join(", ") };
                println!("  {:>8.2}–{:<8.2} s  {heard}", w.start_seconds, w.end_seconds);
            }
        }
        all.push(FileWindows { file: file.clone(), windows });
    }
    if json { print_json(&all) } else { Ok(()) }
}
