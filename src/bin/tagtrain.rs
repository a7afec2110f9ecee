//! `tagtrain`: the same core as the browser app, on the command line.
//!
//! It writes the model file the browser reads, and reads the browser's. Progress goes to
//! stderr (a bar on a terminal, plain lines otherwise), results to stdout. Exit status: 0 on
//! success, 1 when the data, model or run fails (the message says where and what to do), 2 on
//! a usage mistake.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use tagtrain::Limits;
use tagtrain::checkpoint;
use tagtrain::data::{Dataset, DatasetSource, ResizePolicy};
use tagtrain::device::{BackendPreference, ComputeDevice};
use tagtrain::infer::Predictor;
use tagtrain::thresholds::ThresholdGoal;
use tagtrain::{AugmentOptions, TrainingOptions, TrainingSession};
use web_time::Instant;

const USAGE: &str = "\
usage:
  tagtrain train DATA.zip -o MODEL.safetensors [--epochs N] [--depth N] [--image-size PX]
                 [--batch-size N] [--lr X] [--weight-decay X] [--valid-fraction F] [--seed N]
                 [--patience N] [--no-augment] [--flip] [--pos-weight] [--init MODEL]
                 [--resize stretch|center-crop|letterbox] [--thresholds f1|precision=P|recall=R]
                 [--device cpu|gpu] [--report REPORT.json] [--quiet]
  tagtrain eval MODEL.safetensors DATA.zip [--json] [--device cpu|gpu]
  tagtrain predict MODEL.safetensors IMAGE... [--json] [--device cpu|gpu]
  tagtrain inspect DATA.zip|MODEL.safetensors [--json]

  train    trains a ResNetV2 on a dataset zip (index.csv + images) and writes the model file;
           --init starts from a saved model (same labels: continue; other labels: new head)
  eval     measures a model on a labelled dataset zip (mAP, F1, Hamming loss, per label)
  predict  prints each label's probability for each image (* marks labels over threshold)
  inspect  summarises a dataset zip or a model file; exits 1 when it cannot be used";

/// A mistake in the command line (exit status 2), as opposed to a failure of the work.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n\n{USAGE}", self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, which turns `tagtrain … | head` into a panic on the next print;
    // a Unix tool should just stop.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Training frees and re-allocates the same large tensor buffers every step. glibc's default
    // gives each one back to the kernel (mmap/munmap), which measured here cost a third of
    // the CPU time in page faults; keeping them in the heap made training 1.5x faster.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any allocation-heavy work.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<UsageError>() => {
            eprintln!("tagtrain: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tagtrain: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` options, `--flag`s and positional arguments.
struct Args {
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

impl Args {
    /// `flags` take no value; `valued` take one; anything else is a usage error.
    fn parse(args: &[String], flags: &[&str], valued: &[&str]) -> anyhow::Result<Self> {
        let mut positional = Vec::new();
        let mut options = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name =
                a.strip_prefix("--").or_else(|| a.strip_prefix('-').filter(|n| n.len() == 1));
            match name {
                Some(name) if flags.contains(&name) => options.push((name.to_string(), None)),
                Some(name) if valued.contains(&name) => {
                    let value =
                        it.next().ok_or_else(|| usage(format!("option {a} needs a value")))?;
                    options.push((name.to_string(), Some(value.clone())));
                }
                Some(_) => return Err(usage(format!("unknown option {a}"))),
                None => positional.push(a.clone()),
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

    fn number<T: std::str::FromStr>(&self, name: &str) -> anyhow::Result<Option<T>> {
        self.value(&[name])
            .map(|v| v.parse::<T>().map_err(|_| usage(format!("--{name} {v}: not a valid number"))))
            .transpose()
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((command, rest)) = args.split_first() else {
        return Err(usage("no command given"));
    };
    match command.as_str() {
        "train" => train(&Args::parse(
            rest,
            &["no-augment", "flip", "pos-weight", "quiet"],
            &[
                "o",
                "output",
                "epochs",
                "depth",
                "image-size",
                "batch-size",
                "lr",
                "weight-decay",
                "valid-fraction",
                "seed",
                "patience",
                "init",
                "device",
                "report",
                "resize",
                "thresholds",
            ],
        )?),
        "eval" => eval(&Args::parse(rest, &["json"], &["device"])?),
        "predict" => predict(&Args::parse(rest, &["json"], &["device"])?),
        "inspect" => inspect(&Args::parse(rest, &["json"], &[])?),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(usage(format!("unknown command '{other}'"))),
    }
}

fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {path}"))
}

fn device(args: &Args) -> anyhow::Result<ComputeDevice> {
    let preference = BackendPreference::parse(args.value(&["device"]).unwrap_or("cpu"))
        .map_err(|e| usage(e.to_string()))?;
    let compute = pollster::block_on(ComputeDevice::init(preference, true));
    if let Some(notice) = &compute.notice {
        eprintln!("note: {notice}");
    }
    Ok(compute)
}

/// Progress on stderr: a redrawn bar on a terminal, a line every few seconds otherwise.
struct Progress {
    what: &'static str,
    total: usize,
    started: Instant,
    last_line: Instant,
    terminal: bool,
    quiet: bool,
}

impl Progress {
    fn new(what: &'static str, total: usize, quiet: bool) -> Self {
        Self {
            what,
            total,
            started: Instant::now(),
            last_line: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    fn update(&mut self, done: usize, detail: &str) {
        if self.quiet {
            return;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if done > 0 {
            elapsed / done as f64 * (self.total - done.min(self.total)) as f64
        } else {
            0.0
        };
        let share = done as f64 / self.total.max(1) as f64;
        if self.terminal {
            let filled = (share * 30.0).round() as usize;
            eprint!(
                "\r{:<9} [{}{}] {done}/{} ETA {} {detail}\x1b[K",
                self.what,
                "#".repeat(filled),
                "-".repeat(30 - filled.min(30)),
                self.total,
                seconds(eta)
            );
            let _ = std::io::stderr().flush();
        } else if self.last_line.elapsed().as_secs_f64() >= 5.0 || done == self.total {
            self.last_line = Instant::now();
            eprintln!(
                "{} {done}/{} ({:.0}%) ETA {} {detail}",
                self.what,
                self.total,
                share * 100.0,
                seconds(eta)
            );
        }
    }

    /// Ends the bar's line (on a terminal) so the next message starts clean.
    fn finish(&self) {
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }
}

fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{}h{:02.0}m", (s / 3600.0).floor(), (s % 3600.0) / 60.0)
    }
}

fn decode(
    source: &mut DatasetSource,
    image_size: u32,
    resize: ResizePolicy,
    quiet: bool,
) -> anyhow::Result<Dataset> {
    let mut bar = Progress::new("decoding", source.len(), quiet);
    let dataset = source.decode(image_size, resize, |done, _| bar.update(done, ""))?;
    bar.finish();
    Ok(dataset)
}

fn inspect(args: &Args) -> anyhow::Result<()> {
    let [path] = args.positional.as_slice() else {
        return Err(usage("inspect takes one file"));
    };
    let bytes = read(path)?;
    if bytes.starts_with(b"PK") {
        let source = DatasetSource::from_zip(bytes, &Limits::default())
            .with_context(|| format!("{path} cannot be used as a dataset"))?;
        let summary = source.summary();
        if args.flag("json") {
            println!("{}", serde_json::to_string_pretty(&summary)?);
            return Ok(());
        }
        println!(
            "{path}: {} images, {} labels (image paths from column '{}')",
            summary.images,
            summary.labels.len(),
            summary.image_column
        );
        let sizes: Vec<String> = summary
            .sizes
            .iter()
            .map(|s| format!("{}×{} ({})", s.width, s.height, s.count))
            .collect();
        println!("image sizes: {}", sizes.join(", "));
        println!("{:<28} {:>9} {:>9}", "label", "positives", "negatives");
        for l in &summary.labels {
            println!("{:<28} {:>9} {:>9}", l.name, l.positives, l.negatives);
        }
        let r = &summary.recommended;
        println!("recommended: ResNetV2 {} depth {} at {} px", r.kind, r.depth, r.image_size);
        for w in &summary.warnings {
            println!("warning: {w}");
        }
    } else {
        let metadata = checkpoint::read_metadata(&bytes)
            .with_context(|| format!("{path} cannot be used as a model"))?;
        if args.flag("json") {
            println!("{}", serde_json::to_string_pretty(&metadata)?);
            return Ok(());
        }
        println!(
            "{path}: {} with {} labels, {}×{} px input, {} channel(s), resize {}",
            metadata.architecture.name(),
            metadata.labels.len(),
            metadata.input.image_size,
            metadata.input.image_size,
            metadata.input.channels,
            metadata.input.resize
        );
        for (label, t) in metadata.labels.iter().zip(&metadata.thresholds) {
            println!("  {label:<28} threshold {t:.3}");
        }
        for (i, run) in metadata.lineage.iter().chain(&metadata.training).enumerate() {
            println!(
                "run {}: {} ({} labels), {} epochs ({} steps) on {} images, {}{}",
                i + 1,
                run.init,
                run.labels.len(),
                run.epochs_completed,
                run.steps,
                run.train_images,
                run.backend,
                run.final_map.map(|m| format!(", validation mAP {m:.4}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn train(args: &Args) -> anyhow::Result<()> {
    let [data] = args.positional.as_slice() else {
        return Err(usage("train takes one dataset zip"));
    };
    let output =
        args.value(&["o", "output"]).ok_or_else(|| usage("train needs -o MODEL.safetensors"))?;
    let quiet = args.flag("quiet");
    let init = args.value(&["init"]).map(read).transpose()?;
    let mut source = DatasetSource::from_zip(read(data)?, &Limits::default())
        .with_context(|| format!("{data} cannot be used as a dataset"))?;
    let summary = source.summary();
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    // Fine-tuning keeps the parent's input size unless told otherwise.
    let parent = init.as_deref().map(checkpoint::read_metadata).transpose().context("--init")?;
    let parent_size = parent.as_ref().map(|m| m.input.image_size);
    let parent_resize = parent.as_ref().map(|m| m.input.resize);
    let defaults = TrainingOptions::default();
    let augment = if args.flag("no-augment") {
        AugmentOptions::NONE
    } else {
        AugmentOptions { flip: args.flag("flip"), ..AugmentOptions::default() }
    };
    let options = TrainingOptions {
        depth: args.number("depth")?.unwrap_or(summary.recommended.depth),
        image_size: args
            .number("image-size")?
            .or(parent_size)
            .unwrap_or(summary.recommended.image_size),
        epochs: args.number("epochs")?.unwrap_or(defaults.epochs),
        batch_size: args.number("batch-size")?.unwrap_or(defaults.batch_size),
        learning_rate: args.number("lr")?.unwrap_or(defaults.learning_rate),
        weight_decay: args.number("weight-decay")?.unwrap_or(defaults.weight_decay),
        validation_fraction: args.number("valid-fraction")?.unwrap_or(defaults.validation_fraction),
        seed: args.number("seed")?.unwrap_or(defaults.seed),
        patience: args.number("patience")?.unwrap_or(defaults.patience),
        resize: match args.value(&["resize"]) {
            Some(name) => ResizePolicy::parse(name).map_err(|e| usage(e.to_string()))?,
            None => parent_resize.unwrap_or_default(),
        },
        positive_weights: args.flag("pos-weight"),
        threshold_goal: match args.value(&["thresholds"]) {
            None => ThresholdGoal::MaxF1,
            Some(goal) => parse_goal(goal).ok_or_else(|| {
                usage(format!(
                    "--thresholds {goal}: use f1, precision=P or recall=R with P, R in (0, 1]"
                ))
            })?,
        },
        augment,
        ..defaults
    };
    options.validate().map_err(|e| usage(e.to_string()))?;
    let compute = device(args)?;
    let dataset = decode(&mut source, options.image_size, options.resize, quiet)?;
    let mut session = match &init {
        None => TrainingSession::new(dataset, options, compute)?,
        Some(bytes) => TrainingSession::from_model(dataset, options, compute, bytes)?,
    };
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
    let started = Instant::now();
    let mut bar = Progress::new("training", info.total_steps, quiet);
    loop {
        let event = pollster::block_on(session.step())?;
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
                "epoch {:>3}  train loss {:.4}  valid loss {}  mAP {:.4}  micro-F1 {:.4}  macro-F1 {:.4}{}",
                v.epoch,
                v.train_loss,
                v.valid_loss.map(|l| format!("{l:.4}")).unwrap_or_else(|| "-".into()),
                v.metrics.map,
                v.metrics.micro_f1,
                v.metrics.macro_f1,
                if v.best { "  (best)" } else { "" }
            );
        }
        if event.done {
            if event.stopped_early {
                eprintln!(
                    "stopped early: validation mAP did not improve for {} epochs",
                    session.options().patience
                );
            }
            break;
        }
    }
    let (model, metadata) = session.snapshot()?;
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata))?;
    std::fs::write(output, bytes).with_context(|| format!("cannot write {output}"))?;
    let run = metadata.training.as_ref();
    eprintln!(
        "saved {output} (weights of epoch {}, validation mAP {})",
        run.and_then(|r| r.best_epoch).map(|e| e.to_string()).unwrap_or_else(|| "last".into()),
        run.and_then(|r| r.final_map).map(|m| format!("{m:.4}")).unwrap_or_else(|| "-".into())
    );
    if let Some(path) = args.value(&["report"]) {
        let report = json!({
            "model": output,
            "architecture": metadata.architecture.name(),
            "train_images_per_sec": session.throughput().train_images_per_sec(),
            "images_per_sec_with_validation": session.throughput().images_per_sec(),
            "seconds": started.elapsed().as_secs_f64(),
            "steps": run.map(|r| r.steps),
            "epochs_run": run.map(|r| r.epochs_completed),
            "best_epoch": run.and_then(|r| r.best_epoch),
            "stopped_early": run.map(|r| r.stopped_early),
            "valid_map": run.and_then(|r| r.final_map),
            "thresholds": metadata.thresholds,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}

/// `f1`, `precision=0.9` or `recall=0.8`.
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

fn eval(args: &Args) -> anyhow::Result<()> {
    let [model_path, data] = args.positional.as_slice() else {
        return Err(usage("eval takes a model file and a dataset zip"));
    };
    let compute = device(args)?;
    let predictor = Predictor::from_bytes(&read(model_path)?, &compute.device)
        .with_context(|| format!("{model_path} cannot be used as a model"))?;
    let metadata = predictor.metadata().clone();
    let mut source = DatasetSource::from_zip(read(data)?, &Limits::default())
        .with_context(|| format!("{data} cannot be used as a dataset"))?;
    let dataset =
        decode(&mut source, metadata.input.image_size, metadata.input.resize, args.flag("json"))?;
    let evaluation = pollster::block_on(predictor.evaluate(&dataset))
        .with_context(|| format!("{data} cannot be used to evaluate {model_path}"))?;
    let (n, images_per_sec) = (evaluation.images, evaluation.images_per_sec);
    let m = evaluation.metrics;
    if args.flag("json") {
        let labels: Vec<_> = m
            .labels
            .iter()
            .map(|l| json!({
                "name": l.name, "precision": l.precision, "recall": l.recall, "f1": l.f1,
                "ap": l.ap, "roc_auc": l.roc_auc, "support": l.support, "threshold": l.threshold,
            }))
            .collect();
        let out = json!({
            "model": model_path,
            "data": data,
            "images": n,
            "map": m.map,
            "macro_roc_auc": m.macro_roc_auc,
            "micro_f1": m.micro_f1,
            "macro_f1": m.macro_f1,
            "hamming_loss": m.hamming_loss,
            "subset_accuracy": m.subset_accuracy,
            "images_per_sec": images_per_sec,
            "labels": labels,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{model_path} on {data} ({n} images, {images_per_sec:.1} images/s):");
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
    }
    Ok(())
}

fn predict(args: &Args) -> anyhow::Result<()> {
    let Some((model_path, images)) = args.positional.split_first() else {
        return Err(usage("predict takes a model file and images"));
    };
    if images.is_empty() {
        return Err(usage("predict needs at least one image"));
    }
    let compute = device(args)?;
    let predictor = Predictor::from_bytes(&read(model_path)?, &compute.device)
        .with_context(|| format!("{model_path} cannot be used as a model"))?;
    let mut all = Vec::new();
    for image in images {
        let name = Path::new(image).display().to_string();
        let predictions = pollster::block_on(predictor.predict_file(&name, &read(image)?))?;
        if !args.flag("json") {
            println!("{name}");
            for p in &predictions {
                println!(
                    "  {:<28} {:.4}{}",
                    p.label,
                    p.probability,
                    if p.positive { "  *" } else { "" }
                );
            }
        }
        all.push(json!({ "image": name, "predictions": predictions }));
    }
    if args.flag("json") {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(())
}
