//! Training on the CPU backend learns, and a saved model predicts exactly what it did before.

use crate::common;

use common::synthetic_dataset;
use tagtrain::ComputeDevice;
use tagtrain::checkpoint;
use tagtrain::infer::Predictor;
use tagtrain::{TrainingOptions, TrainingSession, WeightsInit};

fn options() -> TrainingOptions {
    TrainingOptions {
        depth: 11,
        image_size: 16,
        epochs: 6,
        batch_size: 32,
        learning_rate: 3e-3,
        validation_fraction: Some(0.25),
        seed: 7,
        ..TrainingOptions::default()
    }
}

#[test]
fn learns_a_synthetic_multi_label_task_and_round_trips() {
    let dataset = synthetic_dataset(480, 16, 1);
    let mut session =
        TrainingSession::new(dataset.clone(), options(), ComputeDevice::cpu(None)).unwrap();
    let info = session.info();
    assert_eq!(info.train_images + info.valid_images, 480);
    assert_eq!(info.model, "ResNetV2-Small-11");

    let mut losses = Vec::new();
    let mut last = None;
    loop {
        let event = pollster::block_on(session.step()).unwrap();
        losses.push(event.loss);
        assert!(event.loss.is_finite());
        if let Some(v) = event.validation {
            last = Some(v);
        }
        if event.done {
            break;
        }
    }
    assert_eq!(losses.len(), info.total_steps);
    let report = last.expect("validation ran");
    assert_eq!(report.epoch, 6);
    let first: f64 = losses[..3].iter().sum::<f64>() / 3.0;
    let final_: f64 = losses[losses.len() - 3..].iter().sum::<f64>() / 3.0;
    assert!(final_ < first * 0.5, "loss {first} → {final_}");
    for label in &report.metrics.labels {
        assert!(label.f1 >= 0.9, "{}: F1 {:.3} ({:?})", label.name, label.f1, report.metrics);
    }
    assert!(report.metrics.map >= 0.95, "mAP {}", report.metrics.map);

    // Save → load gives the same probabilities, bit for bit, on the same backend.
    let (model, metadata) = session.snapshot().unwrap();
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let device = burn::tensor::Device::flex();
    let predictor = Predictor::from_bytes(&bytes, &device).unwrap();
    assert_eq!(predictor.metadata(), &metadata);
    let images: Vec<&[u8]> = (0..8).map(|i| dataset.image(i)).collect();
    let loaded = pollster::block_on(predictor.probabilities(&images)).unwrap();
    let direct = {
        let input = tagtrain::unstable::images_tensor(
            images.iter().copied(),
            16,
            &metadata.input.normalization,
            &device,
        );
        model.probabilities(input).into_data().try_to_vec::<f32>().unwrap()
    };
    assert_eq!(loaded.len(), 8 * 3);
    assert_eq!(loaded, direct);

    // The metadata is readable alone, as `tagtrain inspect` and Python do.
    let read = checkpoint::read_metadata(&bytes).unwrap();
    assert_eq!(read.labels, vec!["red", "green", "blue"]);
    assert_eq!(read.input.image_size, 16);
}

#[test]
fn a_damaged_model_file_is_an_error() {
    let device = burn::tensor::Device::flex();
    for bytes in [b"garbage".to_vec(), vec![0u8; 64], Vec::new()] {
        let err = Predictor::from_bytes(&bytes, &device).err().expect("must fail");
        assert!(err.to_string().contains("model file"), "{err}");
    }
}

/// Every step's loss of a short run.
fn losses(dataset: tagtrain::data::Dataset, options: TrainingOptions) -> Vec<f64> {
    let mut session = TrainingSession::new(dataset, options, ComputeDevice::cpu(None)).unwrap();
    let mut out = Vec::new();
    loop {
        let event = pollster::block_on(session.step()).unwrap();
        out.push(event.loss);
        if event.done {
            return out;
        }
    }
}

#[test]
fn same_seed_same_losses_on_the_cpu() {
    let options = TrainingOptions { epochs: 2, seed: 11, ..options() };
    let dataset = synthetic_dataset(96, 16, 4);
    let a = losses(dataset.clone(), options.clone());
    let b = losses(dataset.clone(), options.clone());
    assert_eq!(a, b, "same seed, same losses, bit for bit");
    let c = losses(dataset, TrainingOptions { seed: 12, ..options });
    assert_ne!(a, c, "another seed gives another run");
}

/// Tensors of a model file by name.
fn tensors(bytes: &[u8]) -> std::collections::BTreeMap<String, (Vec<usize>, Vec<u8>)> {
    let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| (name, (view.shape().to_vec(), view.data().to_vec())))
        .collect()
}

#[test]
fn fine_tuning_on_new_labels_keeps_the_backbone_and_records_lineage() {
    let mut parent_data = synthetic_dataset(64, 16, 5);
    parent_data.labels = vec!["a".into(), "b".into(), "c".into()];
    let short = TrainingOptions { epochs: 1, ..options() };
    let mut parent =
        TrainingSession::new(parent_data.clone(), short.clone(), ComputeDevice::cpu(None)).unwrap();
    while !pollster::block_on(parent.step()).unwrap().done {}
    let (model, metadata) = parent.snapshot().unwrap();
    let parent_bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();

    // Same labels: training continues from every weight.
    let same = TrainingSession::from_model(
        parent_data.clone(),
        short.clone(),
        ComputeDevice::cpu(None),
        &parent_bytes,
    )
    .unwrap();
    assert_eq!(same.info().init, WeightsInit::Continue);
    let (m, md) = same.snapshot().unwrap();
    assert_eq!(
        tensors(&pollster::block_on(checkpoint::save(&m, &md)).unwrap()),
        tensors(&parent_bytes)
    );

    // Labels {a, b, d}: backbone carried, head rebuilt.
    let mut child_data = parent_data;
    child_data.labels = vec!["a".into(), "b".into(), "d".into()];
    let mut child =
        TrainingSession::from_model(child_data, short, ComputeDevice::cpu(None), &parent_bytes)
            .unwrap();
    assert_eq!(child.info().init, WeightsInit::NewHead);
    let (m, md) = child.snapshot().unwrap();
    let before = tensors(&pollster::block_on(checkpoint::save(&m, &md)).unwrap());
    let original = tensors(&parent_bytes);
    assert_eq!(before.keys().collect::<Vec<_>>(), original.keys().collect::<Vec<_>>());
    for (name, tensor) in &before {
        if name.starts_with("head.") {
            assert_ne!(tensor, &original[name], "{name} is re-initialised");
        } else {
            assert_eq!(tensor, &original[name], "{name} is carried over");
        }
    }
    while !pollster::block_on(child.step()).unwrap().done {}
    let (_, md) = child.snapshot().unwrap();
    assert_eq!(md.labels, ["a", "b", "d"]);
    assert_eq!(md.lineage.len(), 1, "the parent run is recorded");
    assert_eq!(md.lineage[0].labels, ["a", "b", "c"]);
    assert_eq!(md.lineage[0].init, WeightsInit::New);
    let run = md.training.as_ref().unwrap();
    assert_eq!(run.init, WeightsInit::NewHead);
    assert_eq!(run.labels, ["a", "b", "d"]);
}

#[test]
fn positive_weights_train_with_finite_losses() {
    let options = TrainingOptions { epochs: 1, positive_weights: true, ..options() };
    let run = losses(synthetic_dataset(64, 16, 8), options);
    assert!(!run.is_empty() && run.iter().all(|l| l.is_finite() && *l > 0.0), "{run:?}");
}

/// With label smoothing the reported training loss is still the cross-entropy against the 0/1
/// targets: it falls below the smoothed objective's floor (ε = 0.4 aims at 0.2 and 0.8, whose
/// cross-entropy is at least the binary entropy of 0.2, 0.500), which it never could if the
/// smoothed objective were what the run reports.
#[test]
fn label_smoothing_reports_the_plain_loss() {
    let options = TrainingOptions { label_smoothing: 0.4, ..options() };
    let run = losses(synthetic_dataset(480, 16, 1), options);
    let last: f64 = run[run.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(last < 0.45, "last losses {:?}", &run[run.len() - 5..]);
}

/// An absurd learning rate (with weight decay that flips and grows every weight) makes the
/// loss overflow: the run stops with the step and the rate in words, later steps are refused,
/// and the model to save is the best epoch's, never the overflowed weights.
#[test]
fn divergence_stops_the_run_and_keeps_the_best_epoch() {
    let dataset = synthetic_dataset(64, 16, 3);
    let absurd = TrainingOptions {
        epochs: 200,
        batch_size: 16,
        learning_rate: 10.0,
        weight_decay: 0.9,
        gradient_clip: 0.0,
        patience: 0,
        ..options()
    };
    let mut session =
        TrainingSession::new(dataset.clone(), absurd, ComputeDevice::cpu(None)).unwrap();
    let steps_per_epoch = session.info().steps_per_epoch;
    let error = loop {
        match pollster::block_on(session.step()) {
            Ok(event) => assert!(!event.done, "the run ended without diverging"),
            Err(e) => break e,
        }
    };
    let tagtrain::ErrorKind::Diverged { step, learning_rate, .. } = error.kind() else {
        panic!("expected divergence, got {error}");
    };
    assert!(*step > steps_per_epoch, "diverged at step {step}, before an epoch was kept");
    assert!(*learning_rate > 0.0);
    let message = error.to_string();
    assert!(message.contains(&format!("step {step}")), "{message}");
    assert!(message.contains("lower the learning rate"), "{message}");
    assert!(session.is_done());
    let again = pollster::block_on(session.step()).unwrap_err();
    assert!(matches!(again.kind(), tagtrain::ErrorKind::Misuse { .. }), "{again}");

    let (model, metadata) = session.snapshot().unwrap();
    let kept = metadata.training.as_ref().unwrap().best_epoch.unwrap();
    assert!(kept * steps_per_epoch < *step, "epoch {kept} ends after the diverged step {step}");
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let predictor = Predictor::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();
    let probs = pollster::block_on(predictor.probabilities(&[dataset.image(0)])).unwrap();
    assert!(probs.iter().all(|p| p.is_finite()), "{probs:?}");

    // Diverging before any epoch is kept leaves nothing to save, and says why.
    let long_epoch = TrainingOptions { batch_size: 2, ..session.options().clone() };
    let mut early =
        TrainingSession::new(synthetic_dataset(400, 16, 4), long_epoch, ComputeDevice::cpu(None))
            .unwrap();
    let error = loop {
        if let Err(e) = pollster::block_on(early.step()) {
            break e;
        }
    };
    assert!(early.last_report().is_none(), "an epoch ended before the divergence: {error}");
    let err = early.snapshot().unwrap_err();
    assert_eq!(err.to_string(), error.to_string());
}

/// Steps `session` until it is done; returns every step's loss.
fn run_to_end(session: &mut TrainingSession) -> Vec<f64> {
    let mut losses = Vec::new();
    while !session.is_done() {
        losses.push(pollster::block_on(session.step()).unwrap().loss);
    }
    losses
}

/// A run saved after epoch 2 of 4 and resumed in a new session (as after a reload) ends where
/// the uninterrupted run ends: same losses, same history, same weights, same thresholds.
#[test]
fn a_resumed_run_ends_as_the_uninterrupted_one() {
    resumed_run_ends_as_the_uninterrupted_one(0.0);
}

/// The same with a moving average of the weights, which the run file keeps too.
#[test]
fn a_resumed_run_with_a_weight_average_ends_as_the_uninterrupted_one() {
    resumed_run_ends_as_the_uninterrupted_one(0.9);
}

fn resumed_run_ends_as_the_uninterrupted_one(ema_decay: f32) {
    let dataset = synthetic_dataset(160, 16, 3);
    let options = TrainingOptions {
        epochs: 4,
        batch_size: 16,
        gradient_clip: 1.0,
        positive_weights: true,
        ema_decay,
        ..options()
    };
    let mut first =
        TrainingSession::new(dataset.clone(), options, ComputeDevice::cpu(None)).unwrap();
    // Both runs start from the same weights: the device's random generator is shared with the
    // tests running in parallel, so a second `new` with the same seed may draw other weights.
    let start = pollster::block_on(first.save_state()).unwrap();
    let mut whole =
        TrainingSession::resume(dataset.clone(), ComputeDevice::cpu(None), &start).unwrap();
    let whole_losses = run_to_end(&mut whole);

    let per_epoch = first.info().steps_per_epoch;
    let mut losses = Vec::new();
    for _ in 0..2 * per_epoch {
        losses.push(pollster::block_on(first.step()).unwrap().loss);
    }
    let saved = pollster::block_on(first.save_state()).unwrap();
    drop(first);
    let info = tagtrain::train::saved_run_info(&saved).unwrap();
    assert_eq!((info.epochs_completed, info.epochs), (2, 4));
    // The page reads only the header (8-byte length + JSON) to describe a saved run.
    let header_end = 8 + u64::from_le_bytes(saved[..8].try_into().unwrap()) as usize;
    let from_header = tagtrain::train::saved_run_info(&saved[..header_end]).unwrap();
    assert_eq!((from_header.epochs_completed, from_header.epochs), (2, 4));

    let mut resumed =
        TrainingSession::resume(dataset.clone(), ComputeDevice::cpu(None), &saved).unwrap();
    assert_eq!(resumed.history().epochs.len(), 2);
    assert_eq!(resumed.history().step_losses.len(), 2 * per_epoch);
    losses.extend(run_to_end(&mut resumed));
    assert_eq!(losses.len(), whole_losses.len());
    for (step, (a, b)) in losses.iter().zip(&whole_losses).enumerate() {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "step {step}: {a} vs {b}");
    }
    let maps =
        |s: &TrainingSession| s.history().epochs.iter().map(|r| r.metrics.map).collect::<Vec<_>>();
    let (a, b) = (maps(&resumed), maps(&whole));
    assert_eq!(a.len(), 4);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-6, "mAP {a:?} vs {b:?}");
    }
    let (model_a, meta_a) = resumed.snapshot().unwrap();
    let (model_b, meta_b) = whole.snapshot().unwrap();
    assert_eq!(meta_a.thresholds, meta_b.thresholds);
    assert_eq!(
        meta_a.training.as_ref().unwrap().best_epoch,
        meta_b.training.as_ref().unwrap().best_epoch
    );
    let file_a = pollster::block_on(checkpoint::save(&model_a, &meta_a)).unwrap();
    let file_b = pollster::block_on(checkpoint::save(&model_b, &meta_b)).unwrap();
    let device = burn::tensor::Device::flex();
    let images: Vec<&[u8]> = (0..8).map(|i| dataset.image(i)).collect();
    let pa =
        pollster::block_on(Predictor::from_bytes(&file_a, &device).unwrap().probabilities(&images))
            .unwrap();
    let pb =
        pollster::block_on(Predictor::from_bytes(&file_b, &device).unwrap().probabilities(&images))
            .unwrap();
    for (x, y) in pa.iter().zip(&pb) {
        assert!((x - y).abs() < 1e-5, "{pa:?} vs {pb:?}");
    }
}

/// An epoch trains on every training image once: the last batch is partial. A run saved when
/// epochs took full batches only (as tagtrain did before) resumes with its own epochs.
#[test]
fn an_epoch_trains_every_image_and_older_runs_keep_their_epochs() {
    let dataset = synthetic_dataset(100, 16, 3);
    let options = TrainingOptions { epochs: 2, batch_size: 16, ..options() };
    let mut session =
        TrainingSession::new(dataset.clone(), options, ComputeDevice::cpu(None)).unwrap();
    let info = session.info();
    let (images, full) = (info.train_images, info.train_images / 16);
    assert!(images % 16 >= 2, "the test needs a partial batch: {images} images");
    assert_eq!(info.steps_per_epoch, full + 1);
    let start = pollster::block_on(session.save_state()).unwrap();
    let losses = run_to_end(&mut session);
    assert_eq!(losses.len(), 2 * (full + 1));
    // The epoch's loss is the mean over its images: the partial batch weighs its share.
    let partial = (images - 16 * full) as f64;
    let weighted = losses[..full].iter().sum::<f64>() * 16.0 + losses[full] * partial;
    let reported = session.history().epochs[0].train_loss;
    assert!((reported - weighted / images as f64).abs() < 1e-6, "{reported} vs {losses:?}");

    // The same start as an older version saved it: its header says `full` steps an epoch.
    let old = older_steps_per_epoch(&start, full + 1, full);
    let mut resumed = TrainingSession::resume(dataset.clone(), ComputeDevice::cpu(None), &old)
        .expect("an older run resumes");
    assert_eq!(resumed.info().steps_per_epoch, full);
    assert_eq!(run_to_end(&mut resumed).len(), 2 * full);
    assert_eq!(resumed.history().epochs.len(), 2);

    // Any other count is another split of the dataset.
    let other = older_steps_per_epoch(&start, full + 1, full + 2);
    let e = TrainingSession::resume(dataset, ComputeDevice::cpu(None), &other).err().unwrap();
    assert!(e.to_string().contains("split of the dataset"), "{e}");
}

/// `run` with its header's steps per epoch changed from `from` to `to` (one digit each, so that
/// the header keeps its length).
fn older_steps_per_epoch(run: &[u8], from: usize, to: usize) -> Vec<u8> {
    let (from, to) =
        (format!("\\\"stepsPerEpoch\\\":{from},"), format!("\\\"stepsPerEpoch\\\":{to},"));
    assert_eq!(from.len(), to.len());
    let header_end = 8 + u64::from_le_bytes(run[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&run[8..header_end]).unwrap();
    assert_eq!(header.matches(&from).count(), 1, "{header}");
    let mut out = run[..8].to_vec();
    out.extend_from_slice(header.replace(&from, &to).as_bytes());
    out.extend_from_slice(&run[header_end..]);
    out
}

/// A saved run is refused, in words, on another dataset, mid-epoch, and from a newer version.
#[test]
fn a_saved_run_is_refused_on_another_dataset() {
    let dataset = synthetic_dataset(64, 16, 3);
    let options = TrainingOptions { epochs: 2, batch_size: 16, ..options() };
    let mut session = TrainingSession::new(dataset, options, ComputeDevice::cpu(None)).unwrap();
    pollster::block_on(session.step()).unwrap();
    let mid = pollster::block_on(session.save_state()).unwrap_err();
    assert!(mid.to_string().contains("end of an epoch"), "{mid}");
    while session.info().steps_per_epoch > session_step(&session) {
        pollster::block_on(session.step()).unwrap();
    }
    let saved = pollster::block_on(session.save_state()).unwrap();

    let other = synthetic_dataset(64, 16, 4);
    let e = TrainingSession::resume(other, ComputeDevice::cpu(None), &saved).err().unwrap();
    assert!(matches!(e.kind(), tagtrain::ErrorKind::RunState { .. }), "{e}");
    assert!(e.to_string().contains("another dataset"), "{e}");

    let model_file = {
        let (model, metadata) = session.snapshot().unwrap();
        pollster::block_on(checkpoint::save(&model, &metadata)).unwrap()
    };
    let e = tagtrain::train::saved_run_info(&model_file).unwrap_err();
    assert!(e.to_string().contains("not a tagtrain run file"), "{e}");
}

fn session_step(session: &TrainingSession) -> usize {
    session.history().epochs.len() * session.info().steps_per_epoch
}

#[test]
fn a_time_budget_chooses_the_epochs_and_the_data_chooses_the_validation_share() {
    let dataset = synthetic_dataset(120, 16, 1);
    let options = TrainingOptions {
        epochs: 1,
        batch_size: 8,
        patience: 0,
        time_budget_seconds: Some(10.0),
        validation_fraction: None,
        ..options()
    };
    let mut session =
        TrainingSession::new(dataset.clone(), options, ComputeDevice::cpu(None)).unwrap();
    // The share the dataset asks for is the one the run uses and records.
    let share = tagtrain::data::validation_share(&dataset);
    assert_eq!(session.options().validation_fraction, Some(share));
    let info = session.info();
    let expected_valid = (share * 120.0).round() as usize;
    assert!(info.valid_images.abs_diff(expected_valid) <= 2, "{info:?} for a share of {share}");
    assert!(session.choosing_epochs());

    let mut chosen = Vec::new();
    let mut steps = 0;
    loop {
        let event = pollster::block_on(session.step()).unwrap();
        steps += 1;
        if let Some(epochs) = event.epochs_chosen {
            chosen.push((event.step, epochs));
            assert_eq!(event.total_steps, epochs * info.steps_per_epoch);
        }
        if event.done {
            break;
        }
    }
    // Decided once, after the timed steps, and the run then took exactly that many epochs.
    let [(at, epochs)] = chosen[..] else { panic!("chosen {chosen:?}") };
    assert_eq!(at, 1 + tagtrain::train::TIMED_STEPS);
    assert!(!session.choosing_epochs());
    assert_eq!(session.options().epochs, epochs);
    assert_eq!(steps, epochs * info.steps_per_epoch);
    // 10 s for steps of a few milliseconds: more than the one epoch the options asked for.
    assert!(epochs > 1, "{epochs} epochs");
    let (_, metadata) = session.snapshot().unwrap();
    let recorded = metadata.training.unwrap().options;
    assert_eq!((recorded.epochs, recorded.time_budget_seconds), (epochs, Some(10.0)));
}

/// A run saved before its time budget chose the epochs (its epochs are shorter than the timed
/// steps) times the steps after the resume and chooses then, instead of keeping the field's
/// provisional epochs.
#[test]
fn a_run_resumed_before_its_time_budget_chose_still_chooses() {
    let dataset = synthetic_dataset(40, 16, 2);
    let options = TrainingOptions {
        epochs: 1,
        batch_size: 16,
        patience: 0,
        time_budget_seconds: Some(10.0),
        validation_fraction: Some(0.2),
        ..options()
    };
    let mut first =
        TrainingSession::new(dataset.clone(), options, ComputeDevice::cpu(None)).unwrap();
    let per_epoch = first.info().steps_per_epoch;
    assert_eq!(per_epoch, 2);
    for _ in 0..per_epoch {
        let event = pollster::block_on(first.step()).unwrap();
        assert_eq!(event.epochs_chosen, None);
        assert!(!event.done, "a provisional run leaves room for the timed steps");
    }
    let saved = pollster::block_on(first.save_state()).unwrap();

    let mut resumed = TrainingSession::resume(dataset, ComputeDevice::cpu(None), &saved).unwrap();
    assert!(resumed.choosing_epochs());
    let mut chosen = Vec::new();
    let last_step = loop {
        let event = pollster::block_on(resumed.step()).unwrap();
        if let Some(epochs) = event.epochs_chosen {
            chosen.push((event.step, epochs));
        }
        if event.done {
            break event.step;
        }
    };
    // Timed from the first step after the resume (step 3, untimed) over the next ones.
    let [(at, epochs)] = chosen[..] else { panic!("chosen {chosen:?}") };
    assert_eq!(at, per_epoch + 1 + tagtrain::train::TIMED_STEPS);
    assert_eq!(resumed.options().epochs, epochs);
    assert_eq!(last_step, epochs * per_epoch);
    assert!(epochs > 1, "{epochs} epochs");
}

#[test]
fn a_model_of_the_old_layout_loads_and_fine_tunes_with_its_own_layout() {
    use burn::tensor::{Device, Distribution, Tensor};
    use tagtrain::StrideOn;

    let data = synthetic_dataset(64, 16, 9);
    let short = TrainingOptions { epochs: 1, ..options() };
    let mut run =
        TrainingSession::new(data.clone(), short.clone(), ComputeDevice::cpu(None)).unwrap();
    while !pollster::block_on(run.step()).unwrap().done {}
    let (_, mut metadata) = run.snapshot().unwrap();
    let layout = |m: &tagtrain::ModelMetadata| m.architecture.resnet().unwrap().layout();
    assert_eq!(layout(&metadata), StrideOn::OneByOne, "new models stride on the 1×1");

    // A model file of the layout every model had before the field existed (stride on the 3×3).
    let device = Device::flex();
    metadata.architecture.resnet_mut().unwrap().stride_on = None;
    let old = metadata.architecture.init(&device).unwrap();
    let bytes = pollster::block_on(checkpoint::save(&old, &metadata)).unwrap();
    let images = Tensor::<4>::random([2, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let expected = old.probabilities(images.clone()).into_data().try_to_vec::<f32>().unwrap();

    let (loaded, loaded_metadata) = checkpoint::load(&bytes, &device).unwrap();
    assert_eq!(layout(&loaded_metadata), StrideOn::ThreeByThree);
    let got = loaded.probabilities(images.clone()).into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(got, expected, "the file's weights run in the file's layout");
    // The same weights in the new layout compute something else: the layout is not cosmetic.
    let mut relaid = metadata.clone();
    relaid.architecture.resnet_mut().unwrap().stride_on = Some(StrideOn::OneByOne);
    let other = pollster::block_on(checkpoint::save(&old, &relaid)).unwrap();
    let (other, _) = checkpoint::load(&other, &device).unwrap();
    let differs = other.probabilities(images).into_data().try_to_vec::<f32>().unwrap();
    assert_ne!(differs, expected);

    // Fine-tuning keeps the parent's layout, and records it in the child.
    let mut child =
        TrainingSession::from_model(data, short, ComputeDevice::cpu(None), &bytes).unwrap();
    while !pollster::block_on(child.step()).unwrap().done {}
    let (_, child_metadata) = child.snapshot().unwrap();
    assert_eq!(layout(&child_metadata), StrideOn::ThreeByThree);
}

/// A device whose largest buffer holds `images` images' largest tensor at 16 px (a GPU's
/// `maxStorageBufferBindingSize`), on the CPU backend so that the run is real and quick.
fn device_with_buffers_for(images: u64) -> ComputeDevice {
    let network = tagtrain::ResNetV2Config::for_depth(11, 3).unwrap();
    let per_image = network.footprint(16).unwrap().largest_tensor_per_image * 4;
    ComputeDevice { max_buffer_bytes: Some(per_image * images + 3), ..ComputeDevice::cpu(None) }
}

/// On a GPU whose buffers cannot hold a batch's tensors, the batch shrinks to what fits and the
/// run says so; it trains at that batch. A run saved with a larger batch is refused there in
/// words (its epochs are counted in its batches), and resumes where the buffers are larger.
#[test]
fn the_batch_fits_the_gpus_largest_buffer() {
    let dataset = synthetic_dataset(96, 16, 3);
    let options = TrainingOptions { epochs: 2, batch_size: 32, ..options() };
    let mut small =
        TrainingSession::new(dataset.clone(), options.clone(), device_with_buffers_for(6)).unwrap();
    let info = small.info();
    assert_eq!(info.batch_size, 6);
    assert_eq!(info.steps_per_epoch, tagtrain::train::steps_per_epoch(info.train_images, 6));
    let notice = info.batch_notice.expect("a notice says the batch changed");
    assert!(notice.starts_with("Batches of 6 images instead of 32"), "{notice}");
    assert_eq!(
        small.options().batch_size,
        6,
        "the run (and its model file) records the batch used"
    );
    let losses = run_to_end(&mut small);
    assert_eq!(losses.len(), 2 * info.steps_per_epoch);
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");

    let mut large =
        TrainingSession::new(dataset.clone(), options.clone(), device_with_buffers_for(32))
            .unwrap();
    assert_eq!((large.info().batch_size, large.info().batch_notice), (32, None));
    while session_step(&large) < large.info().steps_per_epoch {
        pollster::block_on(large.step()).unwrap();
    }
    let saved = pollster::block_on(large.save_state()).unwrap();
    let e = TrainingSession::resume(dataset.clone(), device_with_buffers_for(6), &saved)
        .err()
        .expect("a batch of 32 does not fit buffers of 6 images");
    assert!(matches!(e.kind(), tagtrain::ErrorKind::RunState { .. }), "{e}");
    assert!(e.to_string().contains("?backend=cpu"), "{e}");
    let resumed = TrainingSession::resume(dataset, ComputeDevice::cpu(None), &saved).unwrap();
    assert_eq!(resumed.info().batch_size, 32);
}
