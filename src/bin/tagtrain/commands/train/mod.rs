//! `tagtrain train`: a dataset zip in, a model file (and optionally a JSON report) out.
//!
//! `flags` declares the command's flags, `options` reads them into the library's
//! [`TrainingOptions`](tagtrain::TrainingOptions), `run` steps the run and reports on it.

mod data;
mod flags;
mod options;
mod peers;
mod run;

use anyhow::Context;
use serde::Serialize;
use tagtrain::{TrainLayers, TrainingSession, TrainingSummary, checkpoint};
use web_time::Instant;

use super::{device, peer_device, read, read_pretrained_weights};
use crate::args::{Args, Command};
use data::{DataWait, load_dataset, open_dataset_file};
use flags::FLAGS;
use options::{chosen_labels, lr_auto, training_options};
use peers::PeerPlan;
use run::{find_learning_rate, print_review, remove_run_file, run_to_end};

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "train",
    operands: "DATA.zip",
    about: "trains a ResNetV2 on a dataset zip (index.csv or label folders), writes the model file",
    flags: FLAGS,
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
    /// A data-parallel run's exchanges, as rank 0 saw them.
    #[serde(skip_serializing_if = "Option::is_none")]
    peers: Option<tagtrain::train::peers::PeerTraffic>,
    /// How the images were loaded: `memory` (decoded before the first step) or `stream`.
    data_loading: &'static str,
    /// Seconds the steps waited for streamed images (0 in memory).
    data_wait_seconds: f64,
    /// Their share of the training time, from the first step to the last (0 to 1).
    data_wait_share: f64,
}

/// Trains on the dataset zip and writes the model file, and the report when asked.
fn train(args: &Args) -> anyhow::Result<()> {
    let [data] = args.positional() else {
        return Err(args.usage_error("train takes one dataset zip"));
    };
    let output = args.required("output");
    let quiet = args.flag("quiet");
    let init = args.value("init").map(read).transpose()?;
    let pretrained = match args.flag("pretrained") {
        true => Some(read_pretrained_weights(args)?),
        false => None,
    };
    if pretrained.is_some() && init.is_some() {
        return Err(args.usage_error(
            "--pretrained starts from the ImageNet weights, and --init from a model file: use one",
        ));
    }
    let mut source = open_dataset_file(data)?;
    let summary = source.summary();
    for warning in &summary.profile.warnings {
        eprintln!("warning: {warning}");
    }
    let run_file = args.value("run-file");
    // A run saved by an earlier `--run-file` is resumed with its own options.
    let saved =
        run_file.filter(|path| std::path::Path::new(path).exists()).map(read).transpose()?;
    if saved.is_some() && init.is_some() {
        return Err(args.usage_error(
            "--init starts a new run, and --run-file names a saved run to resume: use one",
        ));
    }
    let parent = init.as_deref().map(checkpoint::read_metadata).transpose().context("--init")?;
    let mut resumed_streamed = None;
    let options = match &saved {
        Some(state) => {
            let info = tagtrain::train::saved_run_info(state)
                .with_context(|| format!("--run-file {}", run_file.unwrap_or_default()))?;
            eprintln!(
                "resuming {} after epoch {} of {} (its options; the other training flags are \
                 not used)",
                run_file.unwrap_or_default(),
                info.epochs_completed,
                info.epochs
            );
            resumed_streamed = Some(info.streamed);
            info.options
        }
        None => {
            let parent_input = parent.as_ref().map(|m| &m.input);
            let sound = source.sound_settings().cloned();
            let mut options = training_options(
                args,
                &summary.recommended,
                parent_input,
                (sound.as_ref(), source.len()),
            )?;
            options.labels = chosen_labels(args, source.labels())?;
            options
        }
    };
    let compute = device(args)?;
    let plan = PeerPlan::from_args(args)?;
    if let Some(sound) = &options.sound {
        source.set_sound_settings(sound.clone()).map_err(|e| args.in_flag_terms(e))?;
    }
    let dataset =
        load_dataset(args, source, &options, resumed_streamed, quiet).map_err(|e| {
            match e.downcast::<tagtrain::Error>() {
                Ok(error) => args.in_flag_terms(error),
                Err(e) => e,
            }
        })?;
    let mut options = options;
    if saved.is_none() && lr_auto(args) && pretrained.is_some() {
        return Err(args.usage_error(
            "--lr auto runs its range test on ResNetV2 from scratch and does not take \
             --pretrained yet: give --lr (0.002, the default, suits the head alone)",
        ));
    }
    if saved.is_none() && lr_auto(args) && !matches!(plan, PeerPlan::Alone) {
        return Err(args.usage_error(
            "--lr auto runs its range test in one process: find the rate alone first, then give \
             it to the peers with --lr",
        ));
    }
    if saved.is_none() && lr_auto(args) {
        options.learning_rate = find_learning_rate(&dataset, &options, &compute, quiet)
            .map_err(|e| args.in_flag_terms(e))?;
    }
    if let (None, Some(_)) = (&saved, &pretrained) {
        eprintln!(
            "pretrained EfficientNet-Lite0 at {} px: training {} ({} images; --train-layers \
             chooses)",
            options.image_size,
            match options.train_layers {
                TrainLayers::Head if options.augment == tagtrain::AugmentOptions::NONE => {
                    "the new head alone on the ImageNet features, computed once"
                }
                TrainLayers::Head => "the new head alone on the ImageNet features",
                TrainLayers::Top => "the new head and the backbone's last two stages",
                TrainLayers::All => "every layer, the backbone at a lower learning rate",
            },
            dataset.len()
        );
    }
    let build = |dataset: tagtrain::Dataset,
                 compute: tagtrain::ComputeDevice|
     -> anyhow::Result<TrainingSession> {
        let options = options.clone();
        Ok(match (&saved, &init) {
            (Some(state), _) => TrainingSession::resume(dataset, compute, state)
                .with_context(|| format!("--run-file {}", run_file.unwrap_or_default()))?,
            (None, None) if pretrained.is_some() => {
                let weights = pretrained.as_deref().unwrap_or_default();
                TrainingSession::pretrained(dataset, options, compute, weights)
                    .map_err(|e| args.in_flag_terms(e))?
            }
            // The flags chose the options: the library's complaints about one name its flag.
            (None, None) => TrainingSession::new(dataset, options, compute)
                .map_err(|e| args.in_flag_terms(e))?,
            (None, Some(bytes)) => TrainingSession::from_model(dataset, options, compute, bytes)
                .map_err(|e| args.in_flag_terms(e))?,
        })
    };
    if matches!(plan, PeerPlan::Threads(_)) && dataset.stream.is_some() {
        return Err(args.usage_error(
            "--devices shares one process's image loader between its peers: with a streamed \
             dataset, run the peers as processes (--peers) or give --in-memory",
        ));
    }
    // Peers in this process each build their own session (their own copy of the dataset).
    let others = match plan {
        PeerPlan::Threads(n) => (1..n)
            .map(|k| build(dataset.clone(), peer_device(args, k)?))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    let mut session = build(dataset, compute)?;
    if let Some(passes) = args.number::<usize>("accumulate")? {
        session.accumulate(passes).map_err(|e| args.usage_error_from(e))?;
    }
    let threads = match &plan {
        PeerPlan::Threads(_) => peers::start_threads(&mut session, others)?,
        PeerPlan::Network { addresses, rank } => {
            peers::join_network(&mut session, addresses, *rank)?;
            Vec::new()
        }
        PeerPlan::Alone => Vec::new(),
    };
    let started = Instant::now();
    if plan.rank() != 0 {
        // Every peer steps the same run; rank 0 writes its run file, model file and report.
        peers::step_to_end(&mut session)?;
        eprintln!("peer {} done: rank 0 writes the model file", plan.rank());
        return Ok(());
    }
    let stream_before = session.dataset().stream.as_ref().map(|s| s.stats());
    run_to_end(&mut session, quiet, run_file)?;
    let wait = DataWait::measure(session.dataset(), stream_before, started.elapsed().as_secs_f64());
    session.leave_peers()?;
    let traffic = session.peers().map(|peers| peers.traffic());
    if let Some(t) = traffic {
        eprintln!(
            "{} peers: {} exchanges, {:.1} MB out and {:.1} MB in for this peer, {:.2} s in \
             them ({:.0} % of the run)",
            t.peers,
            t.exchanges,
            t.bytes_out as f64 / 1e6,
            t.bytes_in as f64 / 1e6,
            t.seconds,
            100.0 * t.seconds / started.elapsed().as_secs_f64().max(1e-9)
        );
    }
    peers::wait_for_threads(threads)?;
    let (model, metadata) = session.snapshot()?;
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata))?;
    std::fs::write(output, bytes).with_context(|| format!("cannot write {output}"))?;
    let run = metadata.training.as_ref();
    eprintln!(
        "saved {output} (weights of epoch {}, validation mAP {})",
        run.and_then(|r| r.best_epoch).map(|e| e.to_string()).unwrap_or_else(|| "last".into()),
        run.and_then(|r| r.final_map).map(|m| format!("{m:.4}")).unwrap_or_else(|| "-".into())
    );
    if !quiet {
        print_review(&session);
    }
    if let Some(path) = run_file {
        remove_run_file(path)?;
    }
    if let Some(path) = args.value("report") {
        let report = TrainReport {
            model: output,
            architecture: metadata.architecture.name(),
            thresholds: &metadata.thresholds,
            training: run,
            train_images_per_sec: session.throughput().train_images_per_sec(),
            seconds: started.elapsed().as_secs_f64(),
            peers: traffic,
            data_loading: wait.loading,
            data_wait_seconds: wait.seconds,
            data_wait_share: wait.share,
        };
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {path}"))?;
    }
    Ok(())
}
