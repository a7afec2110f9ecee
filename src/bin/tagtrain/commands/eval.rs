//! `tagtrain eval`: a model measured on a labelled dataset zip.

use anyhow::Context;
use serde::Serialize;
use tagtrain::infer::Evaluation;
use tagtrain::report::{ReportTitle, Thumbnail, html_report};

use super::{
    DEVICE, JSON, TTA, decode_with_progress, device, open_dataset, open_model, print_json,
};
use crate::args::{Args, Command};
use crate::flag::Flag;

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "eval",
    operands: "MODEL.safetensors DATA.zip",
    about: "measures a model on a labelled dataset zip (mAP, F1, Hamming loss, per label)",
    flags: &[
        JSON,
        DEVICE,
        TTA,
        Flag::valued(
            "report",
            "REPORT.html",
            "also write a self-contained HTML report: table, curves, error galleries",
        ),
    ],
    run: eval,
};

/// What `eval --json` prints: which model on which data, then the library's [`Evaluation`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvalOutput<'a> {
    /// The model file, as given.
    model: &'a str,
    /// The dataset zip, as given.
    data: &'a str,
    /// `images`, `imagesPerSec` and every metric, overall and per label.
    #[serde(flatten)]
    evaluation: &'a Evaluation,
}

/// Evaluates the model on the dataset and prints the metrics, as a table or JSON.
fn eval(args: &Args) -> anyhow::Result<()> {
    let [model_path, data] = args.positional() else {
        return Err(args.usage_error("eval takes a model file and a dataset zip"));
    };
    let json = args.flag("json");
    let compute = device(args)?;
    let mut predictor = open_model(model_path, &compute)?;
    predictor.set_test_time_augmentation(args.flag("tta"));
    let mut source = open_dataset(data)?;
    predictor
        .fit_source(&mut source)
        .with_context(|| format!("{data} cannot be used to evaluate {model_path}"))?;
    // The images must look like the model's training images: same size, same way of becoming
    // square, same channels (a grayscale dataset for an RGB model is repeated over RGB), and
    // sound clips the same spectrograms.
    let input = &predictor.metadata().input;
    let dataset = decode_with_progress(source.len(), json, |progress| {
        source.decode_with_channels(input.image_size, input.resize, input.channels, progress)
    })?;
    let evaluation = pollster::block_on(predictor.evaluate(&dataset))
        .with_context(|| format!("{data} cannot be used to evaluate {model_path}"))?;
    if let Some(report) = args.value("report") {
        let review = evaluation.review(&dataset, predictor.metadata())?;
        let file_name = |path: &str| {
            std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned())
        };
        let title = ReportTitle {
            model: file_name(model_path).unwrap_or_else(|| model_path.clone()),
            dataset: file_name(data).unwrap_or_else(|| data.clone()),
        };
        let side = dataset.image_size;
        let mut thumbnail =
            |i: usize| Some(Thumbnail::from_pixels(dataset.image(i), side, dataset.channels));
        let html = html_report(&review, &title, &mut thumbnail)?;
        std::fs::write(report, html).with_context(|| format!("cannot write {report}"))?;
        if !json {
            eprintln!("wrote {report}");
        }
    }
    if json {
        return print_json(&EvalOutput { model: model_path, data, evaluation: &evaluation });
    }
    let m = &evaluation.metrics;
    let items = if dataset.sound.is_some() { "clips" } else { "images" };
    println!(
        "{model_path} on {data} ({} {items}, {:.1} {items}/s):",
        evaluation.images, evaluation.images_per_sec
    );
    println!(
        "mAP {:.4}  micro-F1 {:.4}  macro-F1 {:.4}  Hamming loss {:.4}  subset accuracy {:.4}",
        m.map, m.micro_f1, m.macro_f1, m.hamming_loss, m.subset_accuracy
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "label", "precision", "recall", "F1", "AP", "support", "threshold"
    );
    for l in &m.labels {
        println!(
            "{:<28} {:>9.4} {:>9.4} {:>9.4} {:>9} {:>8} {:>9.3}",
            l.name,
            l.precision,
            l.recall,
            l.f1,
            l.ap.map(|a| format!("{a:.4}")).unwrap_or_else(|| "-".into()),
            l.support,
            l.threshold
        );
    }
    Ok(())
}
