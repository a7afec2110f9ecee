//! Streaming a dataset from its zip's file (issue #36): a streamed run is the in-memory run of
//! the same seed, the loader hands over what was asked for in order (a peer's shard too), the
//! cache keeps to its budget, a file damaged mid-run stops the run naming it, and the CLI's
//! `--stream` works end to end.

use crate::cli::{stderr, tagtrain, temp_dir};
use crate::common;

use std::path::{Path, PathBuf};

use image::RgbImage;
use tagtrain::data::stream::StreamSettings;
use tagtrain::{
    ComputeDevice, DatasetSource, Limits, ResizePolicy, TrainingOptions, TrainingSession,
    checkpoint,
};

/// Writes a zip of `n` PNGs of `side` px (the synthetic task of `common`: a coloured square a
/// label) with `index.csv`, to `dir/name`; stored entries when `stored`, else deflated.
fn dataset_zip(dir: &Path, name: &str, n: usize, side: usize, stored: bool) -> PathBuf {
    let dataset = common::synthetic_dataset(n, side, 9);
    write_zip(dir, name, &dataset, stored)
}

fn write_zip(dir: &Path, name: &str, dataset: &tagtrain::Dataset, stored: bool) -> PathBuf {
    let (n, side) = (dataset.len(), dataset.image_size);
    let mut csv = String::from("image,red,green,blue\n");
    let mut files = Vec::new();
    for i in 0..n {
        let t = dataset.target(i);
        csv.push_str(&format!("img/{i:03}.png,{},{},{}\n", t[0], t[1], t[2]));
        let image = RgbImage::from_raw(side as u32, side as u32, dataset.image(i).to_vec());
        files.push((format!("img/{i:03}.png"), common::png(image.unwrap())));
    }
    let mut entries: Vec<(&str, Vec<u8>)> = vec![("index.csv", csv.into_bytes())];
    entries.extend(files.iter().map(|(path, bytes)| (path.as_str(), bytes.clone())));
    let zip = if stored { common::stored_zip_of(&entries) } else { common::zip_of(&entries) };
    let path = dir.join(name);
    std::fs::write(&path, zip).unwrap();
    path
}

fn open(path: &Path) -> DatasetSource {
    DatasetSource::from_file(path, &Limits::for_zip_file()).unwrap()
}

fn settings(cache_bytes: u64) -> StreamSettings {
    StreamSettings { workers: 2, ahead: 8, cache_bytes }
}

fn options() -> TrainingOptions {
    TrainingOptions {
        depth: 11,
        image_size: 16,
        epochs: 2,
        batch_size: 16,
        learning_rate: 3e-3,
        validation_fraction: Some(0.25),
        seed: 5,
        ..TrainingOptions::default()
    }
}

/// What a run did: every step's loss, every epoch's validation mAP, and the saved weights'
/// tensors by name.
struct Run {
    losses: Vec<f64>,
    maps: Vec<f64>,
    weights: Vec<(String, Vec<u8>)>,
}

fn run(dataset: tagtrain::Dataset) -> Run {
    let mut session = TrainingSession::new(dataset, options(), ComputeDevice::cpu(None)).unwrap();
    let (mut losses, mut maps) = (Vec::new(), Vec::new());
    loop {
        let event = pollster::block_on(session.step()).unwrap();
        losses.push(event.loss);
        maps.extend(event.validation.map(|v| v.metrics.map));
        if event.done {
            break;
        }
    }
    let (model, metadata) = session.snapshot().unwrap();
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<u8>)> =
        file.tensors().into_iter().map(|(name, view)| (name, view.data().to_vec())).collect();
    tensors.sort();
    Run { losses, maps, weights: tensors }
}

#[test]
fn a_streamed_run_is_the_in_memory_run_of_the_same_seed() {
    let dir = temp_dir("stream-same-run");
    let path = dataset_zip(&dir, "data.zip", 96, 16, false);
    let held = open(&path).decode(16, ResizePolicy::Stretch, |_, _| {}).unwrap();
    let streamed = open(&path).stream(16, ResizePolicy::Stretch, settings(0)).unwrap();
    assert!(streamed.pixels.is_empty() && streamed.is_streamed(), "no pixels held");
    let (held, streamed) = (run(held), run(streamed));
    assert_eq!(streamed.losses.len(), held.losses.len());
    for (a, b) in streamed.losses.iter().zip(&held.losses) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "step losses {a} and {b}");
    }
    assert_eq!(streamed.maps, held.maps, "the same validation mAP every epoch");
    assert!(streamed.weights == held.weights, "the same weights, bit for bit");
}

#[test]
fn the_loader_hands_over_what_was_asked_in_order_and_a_peer_its_shard() {
    let dir = temp_dir("stream-order");
    let path = dataset_zip(&dir, "data.zip", 40, 16, true);
    let held = open(&path).decode(16, ResizePolicy::Stretch, |_, _| {}).unwrap();
    let streamed = open(&path).stream(16, ResizePolicy::Stretch, settings(0)).unwrap();
    let pixels = |indices: &[usize]| -> Vec<Vec<u8>> {
        streamed.images_of(indices).unwrap().into_iter().map(|c| c.into_owned()).collect()
    };
    let expected = |indices: &[usize]| -> Vec<Vec<u8>> {
        indices.iter().map(|&i| held.image(i).to_vec()).collect()
    };
    // An epoch's order asked for ahead, then taken batch by batch.
    let order = [7, 3, 31, 0, 12, 39, 25, 8, 19];
    streamed.prefetch(&order);
    assert_eq!(pixels(&order[..4]), expected(&order[..4]));
    assert_eq!(pixels(&order[4..]), expected(&order[4..]));
    // Images not asked for next: the queue is dropped and these come, in their order.
    streamed.prefetch(&[1, 2, 3]);
    assert_eq!(pixels(&[30, 10]), expected(&[30, 10]));
    assert_eq!(pixels(&[2, 2]), expected(&[2, 2]), "the same image twice");
    // Two data-parallel peers, each with its own loader, each asking for its half of every
    // batch: together they hold each batch in order.
    let peers = [
        open(&path).stream(16, ResizePolicy::Stretch, settings(0)).unwrap(),
        open(&path).stream(16, ResizePolicy::Stretch, settings(0)).unwrap(),
    ];
    let batches: Vec<&[usize]> = order.chunks(4).collect();
    for (k, peer) in peers.iter().enumerate() {
        let shard: Vec<usize> = batches
            .iter()
            .flat_map(|b| b[k * b.len() / 2..(k + 1) * b.len() / 2].to_vec())
            .collect();
        peer.prefetch(&shard);
    }
    for batch in batches {
        let half = batch.len() / 2;
        let mut together = peers[0].images_of(&batch[..half]).unwrap();
        together.extend(peers[1].images_of(&batch[half..]).unwrap());
        let together: Vec<Vec<u8>> = together.into_iter().map(|c| c.into_owned()).collect();
        assert_eq!(together, expected(batch));
    }
    let past = streamed.images_of(&[40]).unwrap_err();
    assert!(past.to_string().contains("past the dataset's 40 images"), "{past}");
}

#[test]
fn the_cache_keeps_to_its_budget_and_serves_later_epochs() {
    let dir = temp_dir("stream-cache");
    let path = dataset_zip(&dir, "data.zip", 30, 16, false);
    // Room for five 16×16 RGB images and their bookkeeping, not six.
    let budget = 5 * (16 * 16 * 3 + 64) + 100;
    let streamed = open(&path).stream(16, ResizePolicy::Stretch, settings(budget)).unwrap();
    let all: Vec<usize> = (0..30).collect();
    for _ in 0..2 {
        streamed.prefetch(&all);
        for batch in all.chunks(7) {
            streamed.images_of(batch).unwrap();
        }
    }
    let stats = streamed.stream.as_ref().unwrap().stats();
    assert!(stats.cache_bytes <= budget, "{} bytes held of {budget}", stats.cache_bytes);
    assert_eq!(stats.cached_images, 5, "filled until full");
    assert!(stats.cache_hits >= 5, "the second pass reads them from the cache: {stats:?}");
    assert_eq!(stats.images, 60);
}

#[test]
fn a_file_damaged_mid_run_stops_it_naming_the_entry_and_the_run_file_resumes() {
    let dir = temp_dir("stream-damaged");
    let path = dataset_zip(&dir, "data.zip", 64, 16, true);
    let pristine = std::fs::read(&path).unwrap();
    let copy = dir.join("copy.zip");
    std::fs::write(&copy, &pristine).unwrap();
    let dataset = open(&path).stream(16, ResizePolicy::Stretch, settings(0)).unwrap();
    let options = TrainingOptions { epochs: 3, ..options() };
    let mut session = TrainingSession::new(dataset, options, ComputeDevice::cpu(None)).unwrap();
    let steps = session.info().steps_per_epoch;
    for _ in 0..steps {
        pollster::block_on(session.step()).unwrap();
    }
    let run_file = pollster::block_on(session.save_state()).unwrap();
    // A training image's bytes overwritten in place, in the file the workers read.
    let victim = session.split().train[0];
    let name = format!("img/{victim:03}.png");
    let png = {
        let dataset = common::synthetic_dataset(64, 16, 9);
        let image = RgbImage::from_raw(16, 16, dataset.image(victim).to_vec()).unwrap();
        common::png(image)
    };
    let at = pristine.windows(png.len()).position(|w| w == png.as_slice()).expect("stored");
    let mut damaged = pristine.clone();
    damaged[at + png.len() / 2..at + png.len() / 2 + 8].copy_from_slice(b"DAMAGED!");
    std::fs::write(&path, damaged).unwrap();
    let error = loop {
        match pollster::block_on(session.step()) {
            Ok(event) => assert!(!event.done, "the damaged image was never read"),
            Err(error) => break error,
        }
    };
    assert!(error.to_string().contains(&name), "the error names the entry: {error}");
    // The run saved after the first epoch resumes on the intact zip.
    let dataset = open(&copy).stream(16, ResizePolicy::Stretch, settings(0)).unwrap();
    let mut resumed =
        TrainingSession::resume(dataset, ComputeDevice::cpu(None), &run_file).unwrap();
    assert!(pollster::block_on(resumed.step()).is_ok());
    // …and is refused, in words, on a dataset whose files differ (one pixel of one image).
    let mut changed = common::synthetic_dataset(64, 16, 9);
    changed.pixels[victim * 16 * 16 * 3] ^= 0xff;
    let other = write_zip(&dir, "other.zip", &changed, true);
    let dataset = open(&other).stream(16, ResizePolicy::Stretch, settings(0)).unwrap();
    let refused = TrainingSession::resume(dataset, ComputeDevice::cpu(None), &run_file);
    let refused = refused.err().expect("another dataset").to_string();
    assert!(refused.contains("the image files (a zip entry's CRC-32 or size) differ"), "{refused}");
}

#[test]
fn cli_stream_trains_end_to_end_and_reports_the_wait() {
    let dir = temp_dir("stream-cli");
    let path = dataset_zip(&dir, "data.zip", 64, 16, false);
    let data = path.to_str().unwrap();
    let train = |how: &str| {
        let model = dir.join(format!("model{how}.safetensors"));
        let report = dir.join(format!("report{how}.json"));
        let mut args = vec!["train", data, "-o", model.to_str().unwrap(), "--epochs", "2"];
        args.extend(["--image-size", "16", "--depth", "11", "--batch-size", "16", "--quiet"]);
        args.extend(["--report", report.to_str().unwrap()]);
        if !how.is_empty() {
            args.push(how);
        }
        let out = tagtrain(&args);
        assert!(out.status.success(), "train {how} failed: {}", stderr(&out));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
        (stderr(&out), report)
    };
    let (text, streamed) = train("--stream");
    assert!(text.contains("data: streamed from the zip (--stream)"), "{text}");
    assert!(text.contains("the steps waited"), "{text}");
    assert_eq!(streamed["dataLoading"], "stream");
    let share = streamed["dataWaitShare"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share), "{share}");
    let (text, held) = train("");
    assert!(text.contains("data: decoded into memory (the decoded pixels, 0 MiB, fit"), "{text}");
    assert_eq!(held["dataLoading"], "memory");
    assert_eq!(held["finalMap"], streamed["finalMap"], "the same run either way");

    let both = tagtrain(&["train", data, "-o", "x.safetensors", "--stream", "--in-memory"]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    assert!(stderr(&both).contains("--stream and --in-memory: give one"), "{}", stderr(&both));
    let cache =
        tagtrain(&["train", data, "-o", "x.safetensors", "--stream", "--cache-memory", "4X"]);
    assert!(stderr(&cache).contains("--cache-memory: '4X' is not a size"), "{}", stderr(&cache));

    let wav = std::fs::read("tests/fixtures/sounds/tone_wav16_16k_stereo.wav").unwrap();
    let sounds = dir.join("sounds.zip");
    let csv = b"audio,tone\na.wav,1\nb.wav,0\n".to_vec();
    std::fs::write(
        &sounds,
        common::stored_zip_of(&[("index.csv", csv), ("a.wav", wav.clone()), ("b.wav", wav)]),
    )
    .unwrap();
    let out = tagtrain(&["train", sounds.to_str().unwrap(), "-o", "x.safetensors", "--stream"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("sound clips are decoded into memory only"), "{}", stderr(&out));
}
