//! `tagtrain`: the same core as the browser app, on the command line.
//!
//! ```text
//! tagtrain inspect DATA.zip|MODEL.safetensors
//! tagtrain train DATA.zip -o MODEL.safetensors [--epochs N] [--depth N] [--image-size PX]
//!                [--batch-size N] [--lr X] [--seed N] [--device cpu|gpu]
//! tagtrain predict MODEL.safetensors IMAGE... [--json] [--device cpu|gpu]
//! ```

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use tagtrain::checkpoint;
use tagtrain::data::{DatasetSource, Limits};
use tagtrain::device::{BackendPreference, ComputeDevice};
use tagtrain::infer::Predictor;
use tagtrain::train::{TrainingOptions, TrainingSession};

const USAGE: &str = "usage:
  tagtrain inspect DATA.zip|MODEL.safetensors
  tagtrain train DATA.zip -o MODEL.safetensors [--epochs N] [--depth N] [--image-size PX]
                 [--batch-size N] [--lr X] [--seed N] [--device cpu|gpu]
  tagtrain predict MODEL.safetensors IMAGE... [--json] [--device cpu|gpu]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tagtrain: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Splits `--name value` options from positional arguments.
struct Args {
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(args: &[String], flags: &[&str]) -> anyhow::Result<Self> {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--").or_else(|| a.strip_prefix('-').filter(|n| n.len() == 1)) {
                if flags.contains(&name) {
                    options.push((name.to_string(), None));
                } else {
                    let value = it.next().with_context(|| format!("option {a} needs a value"))?;
                    options.push((name.to_string(), Some(value.clone())));
                }
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Self { positional, options })
    }

    fn value(&self, names: &[&str]) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| names.contains(&n.as_str()))
            .and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    fn number<T: std::str::FromStr>(&self, names: &[&str]) -> anyhow::Result<Option<T>> {
        self.value(names)
            .map(|v| v.parse::<T>().map_err(|_| anyhow::anyhow!("--{} {v}: not a number", names[0])))
            .transpose()
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    match command.as_str() {
        "inspect" => inspect(&Args::parse(rest, &[])?),
        "train" => train(&Args::parse(rest, &[])?),
        "predict" => predict(&Args::parse(rest, &["json"])?),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command '{other}'\n{USAGE}"),
    }
}

fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {path}"))
}

fn device(args: &Args) -> anyhow::Result<ComputeDevice> {
    let preference = BackendPreference::parse(args.value(&["device"]).unwrap_or("cpu"))?;
    let compute = pollster::block_on(ComputeDevice::init(preference, true));
    if let Some(notice) = &compute.notice {
        eprintln!("note: {notice}");
    }
    Ok(compute)
}

fn inspect(args: &Args) -> anyhow::Result<()> {
    let [path] = args.positional.as_slice() else {
        bail!("inspect takes one file\n{USAGE}");
    };
    let bytes = read(path)?;
    if bytes.starts_with(b"PK") {
        let source = DatasetSource::from_zip(bytes, &Limits::default())?;
        println!("{}", serde_json::to_string_pretty(&source.summary())?);
    } else {
        let metadata = checkpoint::read_metadata(&bytes)?;
        println!("{}", serde_json::to_string_pretty(&metadata)?);
    }
    Ok(())
}

fn train(args: &Args) -> anyhow::Result<()> {
    let [data] = args.positional.as_slice() else {
        bail!("train takes one dataset zip\n{USAGE}");
    };
    let output = args.value(&["o", "output"]).context("train needs -o MODEL.safetensors")?;
    let mut source = DatasetSource::from_zip(read(data)?, &Limits::default())?;
    let summary = source.summary();
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    let defaults = TrainingOptions::default();
    let options = TrainingOptions {
        depth: args.number(&["depth"])?.unwrap_or(summary.recommended.depth),
        image_size: args.number(&["image-size"])?.unwrap_or(summary.recommended.image_size),
        epochs: args.number(&["epochs"])?.unwrap_or(defaults.epochs),
        batch_size: args.number(&["batch-size"])?.unwrap_or(defaults.batch_size),
        learning_rate: args.number(&["lr"])?.unwrap_or(defaults.learning_rate),
        seed: args.number(&["seed"])?.unwrap_or(defaults.seed),
        ..defaults
    };
    options.validate()?;
    let compute = device(args)?;
    eprintln!("decoding {} images at {} px…", source.len(), options.image_size);
    let dataset = source.decode(options.image_size, |_, _| {})?;
    let mut session = TrainingSession::new(dataset, options, compute)?;
    let info = session.info();
    eprintln!(
        "{} ({} parameters) on {}: {} train / {} validation images, {} steps",
        info.model, info.parameters, info.backend, info.train_images, info.valid_images, info.total_steps
    );
    loop {
        let event = pollster::block_on(session.step())?;
        if let Some(v) = &event.validation {
            eprintln!(
                "epoch {:>3}  train loss {:.4}  valid loss {}  mAP {:.4}  micro-F1 {:.4}  ({:.1} img/s, ETA {:.0}s)",
                v.epoch,
                v.train_loss,
                v.valid_loss.map(|l| format!("{l:.4}")).unwrap_or_else(|| "-".into()),
                v.metrics.map,
                v.metrics.micro_f1,
                event.images_per_sec,
                event.eta_seconds
            );
        }
        if event.done {
            break;
        }
    }
    let (model, metadata) = session.snapshot();
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata))?;
    std::fs::write(output, bytes).with_context(|| format!("cannot write {output}"))?;
    eprintln!("saved {output}");
    Ok(())
}

fn predict(args: &Args) -> anyhow::Result<()> {
    let Some((model_path, images)) = args.positional.split_first() else {
        bail!("predict takes a model and images\n{USAGE}");
    };
    if images.is_empty() {
        bail!("predict needs at least one image\n{USAGE}");
    }
    let compute = device(args)?;
    let predictor = Predictor::from_bytes(&read(model_path)?, &compute.device)?;
    let mut all = Vec::new();
    for image in images {
        let name = Path::new(image).display().to_string();
        let predictions = pollster::block_on(predictor.predict_file(&name, &read(image)?))?;
        if !args.flag("json") {
            println!("{name}");
            for p in &predictions {
                println!(
                    "  {:<24} {:.4}{}",
                    p.label,
                    p.probability,
                    if p.positive { "  *" } else { "" }
                );
            }
        }
        all.push(serde_json::json!({ "image": name, "predictions": predictions }));
    }
    if args.flag("json") {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(())
}
