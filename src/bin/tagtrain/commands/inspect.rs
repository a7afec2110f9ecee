//! `tagtrain inspect`: what a dataset zip or a model file holds, or why it cannot be used.

use anyhow::Context;
use tagtrain::data::audio::SoundSettings;
use tagtrain::data::{LabelSource, SoundProfile};
use tagtrain::{DatasetSummary, ModelMetadata, TrainingSummary, checkpoint};

use super::{JSON, dataset_from_bytes, print_json, read};
use crate::args::{Args, Command};

/// The command's declaration: operands, description and flags.
pub(super) const COMMAND: Command = Command {
    name: "inspect",
    operands: "DATA.zip|MODEL.safetensors",
    about: "summarises a dataset zip or a model file; exits 1 when it cannot be used",
    flags: &[JSON],
    run: inspect,
};

/// Summarises the file: a zip as a dataset, anything else as a model file.
fn inspect(args: &Args) -> anyhow::Result<()> {
    let [path] = args.positional() else {
        return Err(args.usage_error("inspect takes one file"));
    };
    let json = args.flag("json");
    // Zip files start with a local file header, "PK"; model files never do. A file named .zip
    // that is not one is a dataset gone wrong, not a model.
    let bytes = read(path)?;
    let named = |extension: &str| {
        std::path::Path::new(path).extension().is_some_and(|e| e.eq_ignore_ascii_case(extension))
    };
    let looks_like_model =
        tagtrain::data::what_else(&bytes).is_some_and(|kind| kind.starts_with("a model file"));
    if !bytes.starts_with(b"PK") && !named("zip") && !named("safetensors") && !looks_like_model {
        anyhow::bail!(
            "{path} is neither a dataset zip nor a tagtrain model file ({}); inspect takes \
             DATA.zip or MODEL.safetensors",
            tagtrain::data::what_else(&bytes).unwrap_or("it starts like neither")
        );
    }
    if bytes.starts_with(b"PK") || (!looks_like_model && !named("safetensors")) {
        let summary = dataset_from_bytes(path, bytes)?.summary();
        if json { print_json(&summary) } else { print_dataset(path, &summary) }
    } else {
        let metadata = checkpoint::check(&bytes)
            .with_context(|| format!("{path} cannot be used as a model"))?;
        if json { print_json(&metadata) } else { print_model(path, &metadata) }
    }
}

/// The dataset summary as text: size, labels, recommendation, warnings.
fn print_dataset(path: &str, summary: &DatasetSummary) -> anyhow::Result<()> {
    let source = match summary.profile.labels_from {
        LabelSource::IndexCsv => {
            format!("file paths from column '{}'", summary.profile.image_column)
        }
        LabelSource::Folders => "labels from folder names, no index.csv".to_string(),
        LabelSource::Page => "labels made in the page".to_string(),
    };
    println!(
        "{path}: {} {}, {} labels ({source})",
        summary.profile.images,
        if summary.profile.sound.is_some() { "sound clips" } else { "images" },
        summary.profile.labels.len(),
    );
    match &summary.profile.sound {
        Some(sound) => print_sound(sound),
        None => {
            let sizes: Vec<String> = summary
                .profile
                .sizes
                .iter()
                .map(|s| format!("{}×{} ({})", s.width, s.height, s.count))
                .collect();
            println!("image sizes: {}", sizes.join(", "));
        }
    }
    println!("{:<28} {:>9} {:>9}", "label", "positives", "negatives");
    for l in &summary.profile.labels {
        println!("{:<28} {:>9} {:>9}", l.name, l.positives, l.negatives);
    }
    let r = &summary.recommended;
    println!(
        "recommended: ResNetV2 {} depth {} at {} px, batches of {}",
        r.kind, r.depth, r.image_size, r.batch_size
    );
    for warning in &summary.profile.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

/// What the sound clips are, and the spectrogram settings chosen for them.
fn print_sound(sound: &SoundProfile) {
    let counts = |items: Vec<(String, usize)>| {
        items.into_iter().map(|(v, n)| format!("{v} ({n})")).collect::<Vec<_>>().join(", ")
    };
    println!(
        "clip lengths: {:.2} s shortest, {:.2} s median, {:.2} s longest, {:.1} s in all",
        sound.shortest_seconds, sound.median_seconds, sound.longest_seconds, sound.total_seconds
    );
    println!(
        "sample rates: {}",
        counts(sound.sample_rates.iter().map(|r| (format!("{} Hz", r.value), r.count)).collect())
    );
    println!(
        "channels: {}",
        counts(sound.channels.iter().map(|c| (c.value.to_string(), c.count)).collect())
    );
    println!(
        "formats: {}",
        counts(sound.formats.iter().map(|f| (f.name.clone(), f.count)).collect())
    );
    println!("spectrograms: {}", sound_settings_text(&sound.settings));
}

/// Spectrogram settings in a line.
fn sound_settings_text(s: &SoundSettings) -> String {
    format!(
        "{} s windows at {} Hz, STFT window {} and hop {} samples, {} mel bands from {} to {} Hz",
        s.clip_seconds, s.sample_rate, s.window, s.hop, s.mel_bands, s.min_hz, s.max_hz
    )
}

/// The model's metadata as text: architecture, input, thresholds and every training run.
fn print_model(path: &str, metadata: &ModelMetadata) -> anyhow::Result<()> {
    println!(
        "{path}: {} with {} labels, {}×{} px input, {} channel(s), resize {}",
        metadata.architecture.name(),
        metadata.labels.len(),
        metadata.input.image_size,
        metadata.input.image_size,
        metadata.input.channels,
        metadata.input.resize
    );
    if let Some(sound) = &metadata.input.sound {
        println!("sound clips as spectrograms: {}", sound_settings_text(sound));
    }
    for (label, t) in metadata.labels.iter().zip(&metadata.thresholds) {
        println!("  {label:<28} threshold {t:.3}");
    }
    let runs: Vec<&TrainingSummary> = metadata.lineage.iter().chain(&metadata.training).collect();
    for (i, run) in runs.iter().enumerate() {
        println!(
            "run {}: {} ({} labels), {} epochs ({} steps) on {} images, {}{}{}",
            i + 1,
            run.init,
            run.labels.len(),
            run.epochs_completed,
            run.steps,
            run.train_images,
            run.backend,
            run.final_map.map(|m| format!(", validation mAP {m:.4}")).unwrap_or_default(),
            data_text(i.checked_sub(1).map(|k| runs[k]), run)
        );
    }
    Ok(())
}

/// What a run's data says in its line: its label edits, and whether its labelled images
/// differ from the previous run's.
fn data_text(previous: Option<&TrainingSummary>, run: &TrainingSummary) -> String {
    let Some(data) = &run.data else { return String::new() };
    let edits = match data.label_edits {
        0 => String::new(),
        n => format!("; data with {n} label edit(s)"),
    };
    let changed = match previous.and_then(|p| p.data.as_ref()) {
        Some(before) if before.labels_digest != data.labels_digest => {
            "; the data changed since the previous run"
        }
        Some(_) => "; the same data as the previous run",
        None => "",
    };
    format!("{edits}{changed}")
}
