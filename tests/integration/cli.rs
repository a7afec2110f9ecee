//! The real `tagtrain` binary: train → eval → predict → inspect on a fixture zip, exit codes,
//! and errors that say where the problem is.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SAMPLE: &str = "tests/fixtures/smoke_mnist32.zip";
const DIGIT: &str = "tests/fixtures/digit.png";

pub(crate) fn tagtrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tagtrain"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tagtrain-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "failed: {}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn train_eval_predict_inspect_round_trip() {
    let dir = temp_dir("round-trip");
    let model = dir.join("model.safetensors");
    let report = dir.join("report.json");
    let model_s = model.to_str().unwrap();
    let out = tagtrain(&[
        "train",
        SAMPLE,
        "-o",
        model_s,
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--seed",
        "3",
        "--report",
        report.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    assert!(stderr(&out).contains("epoch   3"), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["epochsCompleted"], 3);
    assert!(report["trainImagesPerSec"].as_f64().unwrap() > 0.0);

    let eval = json(&tagtrain(&["eval", model_s, SAMPLE, "--json"]));
    for key in ["map", "microF1", "macroF1", "hammingLoss", "subsetAccuracy", "imagesPerSec"] {
        let v = eval[key].as_f64().unwrap_or_else(|| panic!("{key} missing: {eval}"));
        assert!(v.is_finite() && v >= 0.0, "{key} = {v}");
    }
    assert_eq!(eval["images"], 60);
    let labels = eval["labels"].as_array().unwrap();
    let names: Vec<&str> = labels.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["digit_0", "digit_1", "digit_2", "digit_3"]);
    assert!(eval["map"].as_f64().unwrap() > 0.5, "a trained model beats chance: {eval}");

    // The HTML report shows the numbers `eval --json` prints, and needs nothing from a network.
    let html_path = dir.join("report.html");
    let out = tagtrain(&["eval", model_s, SAMPLE, "--report", html_path.to_str().unwrap()]);
    assert!(out.status.success(), "eval --report failed: {}", stderr(&out));
    let html = std::fs::read_to_string(&html_path).unwrap();
    for key in ["map", "microF1", "macroF1", "hammingLoss", "subsetAccuracy"] {
        let cell = format!("<td data-metric=\"{key}\">{:.4}</td>", eval[key].as_f64().unwrap());
        assert!(html.contains(&cell), "{cell} not in the report");
    }
    let start = html.find("id=\"tagtrain-review\">").unwrap() + "id=\"tagtrain-review\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let embedded: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    for (from_report, from_eval) in embedded["labels"].as_array().unwrap().iter().zip(labels) {
        for key in ["name", "precision", "recall", "f1", "ap", "support", "threshold"] {
            assert_eq!(from_report[key], from_eval[key], "{key}");
        }
    }
    assert!(html.contains("<svg") && html.contains("data:image/png;base64,"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));

    let predicted = json(&tagtrain(&["predict", model_s, DIGIT, DIGIT, "--json"]));
    let runs = predicted.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let first = runs[0]["predictions"].as_array().unwrap();
    assert_eq!(first.len(), 4);
    for p in first {
        let prob = p["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&prob));
        assert_eq!(p["positive"].as_bool().unwrap(), prob >= p["threshold"].as_f64().unwrap());
    }
    assert_eq!(runs[0]["predictions"], runs[1]["predictions"], "prediction is deterministic");

    // The same probabilities as the library gives for the same file.
    let predictor = tagtrain::infer::Predictor::from_bytes(
        &std::fs::read(&model).unwrap(),
        &burn::tensor::Device::flex(),
    )
    .unwrap();
    let library = pollster::block_on(predictor.predict_file(
        "digit.png",
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(DIGIT)).unwrap(),
    ))
    .unwrap();
    for (cli, lib) in first.iter().zip(&library) {
        assert_eq!(cli["label"].as_str().unwrap(), lib.label);
        assert!((cli["probability"].as_f64().unwrap() - f64::from(lib.probability)).abs() < 1e-6);
    }

    // A recall goal of 1 puts each threshold at or below its label's lowest validation positive.
    let strict = dir.join("recall.safetensors");
    let out = tagtrain(&[
        "train",
        SAMPLE,
        "-o",
        strict.to_str().unwrap(),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--thresholds",
        "recall=1",
        "--resize",
        "letterbox",
        "--labels",
        "digit_2,digit_0",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = json(&tagtrain(&["inspect", strict.to_str().unwrap(), "--json"]));
    assert_eq!(meta["input"]["resize"], "letterbox");
    // Only the chosen label columns, in the order chosen.
    assert_eq!(meta["labels"], serde_json::json!(["digit_2", "digit_0"]));
    assert!(meta["thresholds"].as_array().unwrap().iter().all(|t| t.as_f64().unwrap() < 1.0));

    let inspect = tagtrain(&["inspect", model_s]);
    assert!(inspect.status.success());
    assert!(stdout(&inspect).contains("ResNetV2-Small-11 with 4 labels"), "{}", stdout(&inspect));
    let meta = json(&tagtrain(&["inspect", model_s, "--json"]));
    assert_eq!(meta["format"], "tagtrain-model");
    let inspect = tagtrain(&["inspect", SAMPLE]);
    assert!(inspect.status.success());
    assert!(stdout(&inspect).contains("60 images, 4 labels"), "{}", stdout(&inspect));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn exit_codes_and_located_errors() {
    let dir = temp_dir("errors");
    // Usage mistakes exit 2 and print the usage.
    let out = tagtrain(&["train", SAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-o MODEL.safetensors"));
    assert_eq!(tagtrain(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(tagtrain(&["train", SAMPLE, "-o", "x", "--epochs", "many"]).status.code(), Some(2));
    assert_eq!(tagtrain(&["train", SAMPLE, "-o", "x", "--bogus"]).status.code(), Some(2));
    assert_eq!(
        tagtrain(&["train", SAMPLE, "-o", "x", "--thresholds", "precision=2"]).status.code(),
        Some(2)
    );
    assert_eq!(
        tagtrain(&["train", SAMPLE, "-o", "x", "--resize", "squash"]).status.code(),
        Some(2)
    );
    // An option out of range is said to be the flag's, as typed, not the library's field.
    for (flag, value) in [
        ("--ema", "1"),
        ("--label-smoothing", "0.7"),
        ("--valid-fraction", "0.9"),
        ("--device", "tpu"),
    ] {
        let out = tagtrain(&["train", SAMPLE, "-o", "x", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let said = stderr(&out);
        assert!(said.starts_with(&format!("tagtrain: {flag}: ")), "{flag} {value}: {said}");
        assert!(!said.contains("option '"), "{said}");
    }
    // So is one the library only refuses when the run (or its learning-rate test) starts.
    for lr in ["0.002", "auto"] {
        let out = tagtrain(&["train", SAMPLE, "-o", "x", "--depth", "12", "--lr", lr, "--quiet"]);
        assert_eq!(out.status.code(), Some(1), "--lr {lr}");
        let said = stderr(&out);
        assert!(said.contains("tagtrain: --depth: 12 is not a ResNetV2 depth"), "{said}");
    }

    // A label the dataset does not have is named, with the labels it has.
    let out = tagtrain(&["train", SAMPLE, "-o", "x", "--labels", "digit_0,digit_9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no label 'digit_9'; its labels are digit_0"),
        "{}",
        stderr(&out)
    );
    let out = tagtrain(&[
        "train",
        SAMPLE,
        "-o",
        "x",
        "--exclude-labels",
        "digit_0,digit_1,digit_2,digit_3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("leaves no label"), "{}", stderr(&out));

    // A dataset that cannot be used exits 1 and says where.
    let bad = dir.join("bad.zip");
    std::fs::write(&bad, b"PK\x03\x04 not really a zip").unwrap();
    let out = tagtrain(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad.zip cannot be used as a dataset"), "{}", stderr(&out));

    let neither = tagtrain(&["inspect", "Cargo.toml"]);
    assert_eq!(neither.status.code(), Some(1));
    assert!(
        stderr(&neither).contains("Cargo.toml is neither a dataset zip nor a tagtrain model file"),
        "{}",
        stderr(&neither)
    );

    // A file named .zip that is not one is a dataset gone wrong, never a model; what it is
    // instead is named.
    let rar = dir.join("photos.zip");
    std::fs::write(&rar, b"Rar!\x1a\x07\x01\x00 a RAR archive").unwrap();
    let out = tagtrain(&["inspect", rar.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(said.contains("photos.zip cannot be used as a dataset"), "{said}");
    assert!(said.contains("it is a RAR archive; re-create it as a .zip"), "{said}");
    assert!(!said.contains("model"), "{said}");
    let fake_model = dir.join("model.safetensors");
    std::fs::write(&fake_model, b"not a model at all").unwrap();
    let out = tagtrain(&["inspect", fake_model.to_str().unwrap()]);
    assert!(stderr(&out).contains("not a usable tagtrain model file"), "{}", stderr(&out));

    let missing = tagtrain(&["predict", "no-such-model.safetensors", DIGIT]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cannot read no-such-model.safetensors"));
    std::fs::remove_dir_all(dir).ok();
}

/// `train --run-file FILE` resumes a run saved after epoch 2 of 3 (as a crash would leave it):
/// only epoch 3 is trained, the model records 3 epochs, and the finished run's file is removed.
/// The file belongs to its dataset: another zip is refused in words. The flag's former name,
/// `--checkpoint`, still works, with a note.
#[test]
fn train_run_file_resumes_a_saved_run() {
    use tagtrain::{
        ComputeDevice, DatasetSource, Limits, ResizePolicy, TrainingOptions, TrainingSession,
    };

    let dir = temp_dir("run-file");
    let run = dir.join("run.tagtrain-run");
    let run_s = run.to_str().unwrap();
    let mut source =
        DatasetSource::from_zip(std::fs::read(SAMPLE).unwrap(), &Limits::default()).unwrap();
    let dataset = source.decode(32, ResizePolicy::default(), |_, _| {}).unwrap();
    let options = TrainingOptions {
        depth: 11,
        image_size: 32,
        epochs: 3,
        batch_size: 8,
        seed: 3,
        ..Default::default()
    };
    let mut session = TrainingSession::new(dataset, options, ComputeDevice::cpu(None)).unwrap();
    for _ in 0..2 * session.info().steps_per_epoch {
        pollster::block_on(session.step()).unwrap();
    }
    std::fs::write(&run, pollster::block_on(session.save_state()).unwrap()).unwrap();

    let other = dir.join("other.zip");
    std::fs::write(&other, other_dataset()).unwrap();
    let model = dir.join("model.safetensors");
    let model_s = model.to_str().unwrap();
    let refused = tagtrain(&[
        "train",
        other.to_str().unwrap(),
        "-o",
        model_s,
        "--checkpoint",
        run_s,
        "--quiet",
    ]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("another dataset"), "{}", stderr(&refused));
    assert!(
        stderr(&refused).starts_with("note: --checkpoint is now --run-file;"),
        "{}",
        stderr(&refused)
    );
    assert!(run.exists(), "a refused resume keeps the saved run");

    let out = tagtrain(&["train", SAMPLE, "-o", model_s, "--run-file", run_s, "--quiet"]);
    let err = stderr(&out);
    assert!(out.status.success(), "train failed: {err}");
    assert!(err.contains("after epoch 2 of 3"), "{err}");
    assert!(!err.contains("--checkpoint"), "the new name needs no note: {err}");
    assert!(err.contains("epoch   3") && !err.contains("epoch   1 "), "only epoch 3 runs: {err}");
    assert!(!run.exists(), "the finished run's file is removed");
    let inspect = json(&tagtrain(&["inspect", model_s, "--json"]));
    assert_eq!(inspect["training"]["epochsCompleted"], 3, "{inspect}");
}

/// A small dataset zip of solid colours: another dataset than the sample.
fn other_dataset() -> Vec<u8> {
    let mut csv = String::from("image,red,blue\n");
    let mut files = Vec::new();
    for i in 0..8u8 {
        let red = i % 2 == 0;
        csv.push_str(&format!("{i}.png,{},{}\n", u8::from(red), u8::from(!red)));
        let rgb = if red { [200, 20, 20] } else { [20, 20, 200] };
        files.push((format!("{i}.png"), common::solid_png(16, 16, rgb)));
    }
    let mut entries: Vec<(&str, Vec<u8>)> = vec![("index.csv", csv.into_bytes())];
    entries.extend(files.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())));
    common::zip_of(&entries)
}

#[test]
fn train_lr_auto_runs_the_range_test_and_trains_at_its_suggestion() {
    let dir = temp_dir("lr-auto");
    let model = dir.join("model.safetensors");
    let out = tagtrain(&[
        "train",
        SAMPLE,
        "-o",
        model.to_str().unwrap(),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--lr",
        "auto",
        "--quiet",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("learning-rate range test"), "{err}");
    // The rate it prints is the rate the model file says it trained with.
    let printed: f64 = err
        .split("whichever is lower: --lr ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no suggestion printed: {err}"));
    let meta = json(&tagtrain(&["inspect", model.to_str().unwrap(), "--json"]));
    let used = meta["training"]["options"]["learningRate"].as_f64().unwrap();
    assert!((used - printed).abs() <= 0.01 * printed, "trained at {used}, printed {printed}");
    assert!(used > 1e-6 && used < 1.0, "{used}");
    std::fs::remove_dir_all(dir).ok();
}

/// Issue #33: the synthesised sound dataset (`scripts/make-sounds.mjs`: sox and espeak-ng;
/// six labels that co-occur, seven encodings, five rates, mono and stereo): `inspect`
/// summarises it, training hears every label, `eval`, `predict` and `predict --windows` score
/// clips, and a model of one kind refuses files of the other.
#[test]
fn sounds_inspect_train_eval_predict() {
    let dir = temp_dir("sounds");
    let made = Command::new("node")
        .args(["scripts/make-sounds.mjs", dir.to_str().unwrap(), "--train", "160", "--test", "60"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("node runs");
    assert!(
        made.success(),
        "make-sounds.mjs failed (it needs sox, libsox-fmt-mp3, espeak-ng and zip)"
    );
    let train = dir.join("sounds_train.zip");
    let test = dir.join("sounds_test.zip");
    let (train, test) = (train.to_str().unwrap(), test.to_str().unwrap());

    let text = tagtrain(&["inspect", train]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(text.contains("160 sound clips, 6 labels (file paths from column 'audio')"), "{text}");
    for part in [
        "clip lengths:",
        "sample rates:",
        "44100 Hz",
        "formats:",
        "MP3",
        "Ogg Vorbis",
        "spectrograms:",
    ] {
        assert!(text.contains(part), "no '{part}' in:\n{text}");
    }
    let summary = json(&tagtrain(&["inspect", train, "--json"]));
    let profile = &summary; // the profile's fields, beside `recommended`
    assert_eq!(profile["kind"], "sounds");
    assert_eq!(profile["sound"]["clips"], 160);
    let median = profile["sound"]["medianSeconds"].as_f64().unwrap();
    assert!((0.8..=2.0).contains(&median), "median {median}");
    assert_eq!(summary["recommended"]["imageSize"], 64);

    let model = dir.join("sounds.safetensors");
    let model = model.to_str().unwrap();
    let trained = tagtrain(&["train", train, "-o", model, "--epochs", "12", "--masks", "--quiet"]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let about = stdout(&tagtrain(&["inspect", model]));
    assert!(
        about.contains("1 channel(s)") && about.contains("sound clips as spectrograms"),
        "{about}"
    );

    let evaluation = json(&tagtrain(&["eval", model, test, "--json"]));
    let map = evaluation["map"].as_f64().unwrap();
    assert!(map > 0.8, "test mAP {map}: the model does not hear the labels");
    let said = stdout(&tagtrain(&["eval", model, test]));
    assert!(said.contains("(60 clips, ") && said.contains(" clips/s):"), "{said}");

    let clip = std::fs::read_dir(dir.join("test"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mp3"))
        .expect("an MP3 among the test clips");
    let clip = clip.to_str().unwrap();
    let predicted = json(&tagtrain(&["predict", model, clip, "--json"]));
    assert_eq!(predicted[0]["predictions"].as_array().unwrap().len(), 6);
    let windows = json(&tagtrain(&["predict", model, clip, "--windows", "0.25", "--json"]));
    let windows = windows[0]["windows"].as_array().unwrap();
    assert!(windows.len() >= 2, "{windows:?}");
    assert_eq!(windows[1]["startSeconds"], 0.25);
    assert_eq!(windows[0]["labels"].as_array().unwrap().len(), 6);

    // A model of images refuses a sound clip, and this one an image, in words.
    let image_model = dir.join("digits.safetensors");
    let image_model = image_model.to_str().unwrap();
    let trained = tagtrain(&["train", SAMPLE, "-o", image_model, "--epochs", "1", "--quiet"]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let refused = tagtrain(&["predict", image_model, clip]);
    assert!(stderr(&refused).contains("trained on images"), "{}", stderr(&refused));
    let refused = tagtrain(&["predict", model, DIGIT]);
    assert!(stderr(&refused).contains("trained on sound clips"), "{}", stderr(&refused));
    let refused = tagtrain(&["eval", image_model, test]);
    assert!(stderr(&refused).contains("holds sound clips"), "{}", stderr(&refused));
    let refused = tagtrain(&["train", SAMPLE, "-o", image_model, "--clip-seconds", "1"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--clip-seconds applies to sound clips"),
        "{}",
        stderr(&refused)
    );
    std::fs::remove_dir_all(&dir).ok();
}
