//! `tagtrain predict`: each label's probability for each image.

use serde::Serialize;
use tagtrain::LabelPrediction;

use super::{DEVICE, JSON, TTA, device, open_model, print_json, read};
use crate::args::{Args, Command};

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "predict",
    operands: "MODEL.safetensors IMAGE...",
    about: "prints each label's probability for each image (* marks labels over threshold)",
    flags: &[JSON, DEVICE, TTA],
    run: predict,
};

/// One image's entry in `predict --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImagePredictions {
    /// The image file, as given.
    image: String,
    /// One entry per label, in the model's label order.
    predictions: Vec<LabelPrediction>,
}

/// Predicts every image and prints the probabilities, as a list per image or JSON.
fn predict(args: &Args) -> anyhow::Result<()> {
    let Some((model_path, images)) = args.positional().split_first() else {
        return Err(args.usage_error("predict takes a model file and images"));
    };
    if images.is_empty() {
        return Err(args.usage_error("predict needs at least one image"));
    }
    let json = args.flag("json");
    let compute = device(args)?;
    let mut predictor = open_model(model_path, &compute)?;
    predictor.set_test_time_augmentation(args.flag("tta"));
    let mut all = Vec::with_capacity(images.len());
    for image in images {
        let predictions = pollster::block_on(predictor.predict_file(image, &read(image)?))?;
        // Without --json each image prints as soon as it is done.
        if !json {
            println!("{image}");
            for p in &predictions {
                let mark = if p.positive { "  *" } else { "" };
                println!("  {:<28} {:.4}{mark}", p.label, p.probability);
            }
        }
        all.push(ImagePredictions { image: image.clone(), predictions });
    }
    if json { print_json(&all) } else { Ok(()) }
}
