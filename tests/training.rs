//! Training on the CPU backend learns, and a saved model predicts exactly what it did before.

mod common;

use common::synthetic_dataset;
use tagtrain::checkpoint;
use tagtrain::device::ComputeDevice;
use tagtrain::infer::Predictor;
use tagtrain::train::{TrainingOptions, TrainingSession};

fn options() -> TrainingOptions {
    TrainingOptions {
        depth: 11,
        image_size: 16,
        epochs: 6,
        batch_size: 32,
        learning_rate: 3e-3,
        validation_fraction: 0.25,
        seed: 7,
        ..TrainingOptions::default()
    }
}

#[test]
fn learns_a_synthetic_multi_label_task_and_round_trips() {
    let dataset = synthetic_dataset(480, 16, 1);
    let mut session = TrainingSession::new(dataset.clone(), options(), ComputeDevice::cpu(None)).unwrap();
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
    let (model, metadata) = session.snapshot();
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let device = burn::tensor::Device::flex();
    let predictor = Predictor::from_bytes(&bytes, &device).unwrap();
    assert_eq!(predictor.metadata(), &metadata);
    let images: Vec<Vec<u8>> = (0..8).map(|i| dataset.image(i).to_vec()).collect();
    let loaded = pollster::block_on(predictor.probabilities(&images)).unwrap();
    let direct = {
        let input = tagtrain::data::batcher::images_tensor(
            images.iter().map(Vec::as_slice),
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
