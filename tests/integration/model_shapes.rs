//! Every supported depth builds and maps images to one logit per label.

use burn::tensor::{Device, Tensor};
use tagtrain::{ResNetKind, ResNetV2Config};

#[test]
fn every_supported_depth_gives_batch_by_labels() {
    let device = Device::flex();
    for kind in [ResNetKind::Small, ResNetKind::Large] {
        for &depth in kind.depths() {
            let config = ResNetV2Config::for_depth(depth, 5).unwrap();
            assert_eq!(config.kind, kind);
            let model = config.init(&device).unwrap();
            let images = Tensor::<4>::ones([2, 3, 32, 32], &device);
            let probs = model.probabilities(images);
            assert_eq!(probs.dims(), [2, 5], "{}", config.name());
            let values = probs.into_data().try_to_vec::<f32>().unwrap();
            assert!(values.iter().all(|p| (0.0..=1.0).contains(p)), "{}", config.name());
        }
    }
}

#[test]
fn non_square_and_odd_sizes_work() {
    let device = Device::flex();
    let model = ResNetV2Config::for_depth(11, 2).unwrap().init(&device).unwrap();
    let logits = model.forward(Tensor::<4>::zeros([1, 3, 17, 23], &device));
    assert_eq!(logits.dims(), [1, 2]);
}

#[test]
fn invalid_depths_are_errors_not_panics() {
    for depth in [0, 1, 10, 12, 27, 100] {
        assert!(ResNetV2Config::for_depth(depth, 3).is_err(), "{depth}");
    }
    assert!(ResNetV2Config::for_depth(11, 0).unwrap().init(&Device::flex()).is_err());
}
