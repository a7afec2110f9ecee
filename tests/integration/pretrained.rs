//! A pretrained start (issue #37): EfficientNet-Lite0's ImageNet weights with a new head,
//! trained on the head alone, on the top of the backbone, or on everything; the model file
//! says where it started and predicts as the session did. Needs the converted weights
//! (`scripts/fetch-pretrained.sh`, which `scripts/test.sh` runs first).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use tagtrain::{
    AugmentOptions, ComputeDevice, Network, Predictor, TrainLayers, TrainingOptions,
    TrainingSession, WeightsInit, checkpoint,
};

use crate::common::synthetic_dataset;

fn weights() -> Vec<u8> {
    let path = tagtrain::efficientnet::cached_weights_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; run scripts/fetch-pretrained.sh (scripts/test.sh does)", path.display())
    })
}

fn options(train_layers: TrainLayers) -> TrainingOptions {
    TrainingOptions {
        image_size: 32,
        epochs: 3,
        batch_size: 16,
        learning_rate: 1e-2,
        validation_fraction: Some(0.25),
        train_layers,
        backbone_lr_scale: 0.1,
        seed: 3,
        ..TrainingOptions::default()
    }
}

/// Every float tensor of the model, by module path (the family's own, without the variant).
#[derive(Default)]
struct Floats {
    path: Vec<String>,
    tensors: Vec<(String, Vec<f32>)>,
}

impl ModuleVisitor for Floats {
    fn enter_module(&mut self, name: &str, container: &str) {
        if !container.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, container: &str) {
        if !container.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let values = param.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        self.tensors.push((self.path.join("."), values));
    }
}

fn floats(model: &Network) -> Vec<(String, Vec<f32>)> {
    let mut visitor = Floats::default();
    model.visit(&mut visitor);
    visitor.tensors
}

/// Whether the tensor named so in `after` differs from ImageNet's.
fn changed_from_imagenet(after: &[(String, Vec<f32>)]) -> impl Fn(&str) -> bool + '_ {
    let start =
        tagtrain::efficientnet::load_imagenet(&weights(), &burn::tensor::Device::flex()).unwrap();
    let imagenet = floats(&start.into());
    move |name: &str| {
        let before = imagenet.iter().find(|(n, _)| n == name).unwrap();
        let now = after.iter().find(|(n, _)| n == name).unwrap();
        before.1 != now.1
    }
}

/// Trains a run to its end; the model and its metadata.
/// (The head alone trains on images without augmentation: the backbone's features are
/// computed once, and every step after an image's first trains the head alone.)
fn trained(layers: TrainLayers) -> (Network, tagtrain::ModelMetadata, TrainingSession) {
    let data = synthetic_dataset(96, 32, 5);
    let mut options = options(layers);
    if layers == TrainLayers::Head {
        options.augment = AugmentOptions::NONE;
    }
    let mut session =
        TrainingSession::pretrained(data, options, ComputeDevice::cpu(None), &weights()).unwrap();
    assert_eq!(session.info().model, "EfficientNet-Lite0");
    while !pollster::block_on(session.step()).unwrap().done {}
    let (model, metadata) = session.snapshot().unwrap();
    (model, metadata, session)
}

#[test]
fn the_head_alone_trains_and_the_backbone_keeps_imagenets_weights() {
    let (model, metadata, session) = trained(TrainLayers::Head);
    let after = floats(&model);
    let changed = changed_from_imagenet(&after);
    for name in ["stem.conv.weight", "blocks.15.project.conv.weight", "head.conv.weight"] {
        assert!(!changed(name), "{name} is frozen");
    }
    // The batch norms of a frozen backbone keep ImageNet's statistics.
    assert!(!changed("blocks.3.depthwise.norm.running_mean"));
    let head = after.iter().find(|(n, _)| n == "classifier.weight").unwrap();
    assert_eq!(head.1.len(), 1280 * 3, "a new head for the three labels");

    // The model file says where it started, and predicts what the session's model does.
    let run = metadata.training.as_ref().unwrap();
    assert_eq!(run.init, WeightsInit::Pretrained);
    assert_eq!(run.options.train_layers, TrainLayers::Head);
    assert_eq!(metadata.architecture.name(), "EfficientNet-Lite0");
    assert_eq!(metadata.input.normalization.mean, vec![127.0 / 255.0; 3]);
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    checkpoint::check(&bytes).unwrap();
    let predictor = Predictor::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();
    let first = session.split().valid[0];
    let side = 32 * 32 * 3;
    let image = &session.dataset().pixels[first * side..(first + 1) * side];
    let probs = pollster::block_on(predictor.probabilities(&[image])).unwrap();
    let review = session.review().unwrap();
    for (a, b) in probs.iter().zip(&review.probabilities()[..3]) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    // The features are ImageNet's, and a head on them learns the coloured squares.
    assert!(run.final_map.unwrap() > 0.6, "validation mAP {:?}", run.final_map);
}

#[test]
fn the_top_trains_at_the_backbone_rate_and_the_bottom_stays() {
    let (model, _, _) = trained(TrainLayers::Top);
    let after = floats(&model);
    let changed = changed_from_imagenet(&after);
    assert!(!changed("stem.conv.weight"));
    assert!(!changed("blocks.10.project.conv.weight"), "below the last two stages");
    assert!(changed("blocks.11.project.conv.weight"), "the last two stages train");
    assert!(changed("head.conv.weight"));
}

#[test]
fn grayscale_images_train_as_grey_rgb_and_a_layer_choice_needs_a_start() {
    let mut gray = synthetic_dataset(16, 16, 1);
    gray.channels = 1;
    gray.pixels = gray.pixels.chunks(3).map(|p| p[0]).collect();
    let one_epoch = TrainingOptions { epochs: 1, ..options(TrainLayers::Head) };
    let mut session =
        TrainingSession::pretrained(gray, one_epoch, ComputeDevice::cpu(None), &weights()).unwrap();
    while !pollster::block_on(session.step()).unwrap().done {}
    let (model, metadata) = session.snapshot().unwrap();
    assert_eq!((metadata.architecture.in_channels(), metadata.input.channels), (1, 1));
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let predictor = Predictor::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();
    let probs = pollster::block_on(predictor.probabilities(&[&[128u8; 16 * 16][..]])).unwrap();
    assert_eq!(probs.len(), 3);
    let data = synthetic_dataset(8, 16, 1);
    let error = TrainingSession::new(data, options(TrainLayers::Head), ComputeDevice::cpu(None))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("trainLayers") && error.contains("from scratch"), "{error}");
}

#[test]
fn a_pretrained_run_resumes_from_its_run_file_and_its_model_explains_itself() {
    let data = synthetic_dataset(64, 32, 9);
    let options = TrainingOptions { epochs: 2, ..options(TrainLayers::Top) };
    let mut first =
        TrainingSession::pretrained(data.clone(), options, ComputeDevice::cpu(None), &weights())
            .unwrap();
    let per_epoch = first.info().steps_per_epoch;
    for _ in 0..per_epoch {
        pollster::block_on(first.step()).unwrap();
    }
    let saved = pollster::block_on(first.save_state()).unwrap();
    let info = tagtrain::train::saved_run_info(&saved).unwrap();
    assert_eq!(info.model, "EfficientNet-Lite0");
    assert!(info.options.pretrained && info.options.train_layers == TrainLayers::Top);
    let mut resumed =
        TrainingSession::resume(data.clone(), ComputeDevice::cpu(None), &saved).unwrap();
    let mut losses = Vec::new();
    while !resumed.is_done() {
        losses.push(pollster::block_on(resumed.step()).unwrap().loss);
    }
    let mut whole = first;
    let mut whole_losses = Vec::new();
    while !whole.is_done() {
        whole_losses.push(pollster::block_on(whole.step()).unwrap().loss);
    }
    assert_eq!(losses.len(), per_epoch);
    for (a, b) in losses.iter().zip(&whole_losses) {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
            "{a} vs {b}: the frozen layers stay frozen"
        );
    }

    // Grad-CAM on the pretrained network: a map of the input's size, with heat.
    let (model, metadata) = resumed.snapshot().unwrap();
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let saliency = tagtrain::Saliency::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();
    let map = pollster::block_on(saliency.heat_map(&data.pixels[..32 * 32 * 3], 0)).unwrap();
    assert_eq!((map.side, map.heat.len()), (32, 32 * 32));
    assert!(map.heat.iter().all(|h| (0.0..=1.0).contains(h)));
}
