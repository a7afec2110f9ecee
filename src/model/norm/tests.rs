// The fused batch norm + ReLU (`super::super::bn_relu`) against the composed batch norm.
use burn::tensor::Distribution;

use burn::tensor::{Device, Tensor};

use super::batch_norm_train_composed;
use crate::model::bn_relu::{batch_norm_relu_train, supports};

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn assert_close(what: &str, a: &[f32], b: &[f32], tolerance: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(0.0, f32::max);
    assert!(worst < tolerance, "{what}: differs by {worst}");
}

/// The fused batch norm + ReLU against the composed batch norm followed by burn's ReLU: the
/// output, the statistics, and the gradients of the input, γ and β under a random weighting of
/// the output, on shapes whose pixel counts the kernels' eight lanes (CPU) or four-value tiles
/// and 64-unit cubes (GPU) do not divide.
#[test]
fn matches_the_composed_batch_norm_and_relu() {
    assert!(supports(&Device::flex().autodiff()) && supports(&Device::flex()));
    matches_the_composed_on(Device::flex().autodiff());
}

/// [`matches_the_composed_batch_norm_and_relu`] with the GPU kernels (`bn_relu/cube.rs`).
#[cfg(feature = "gpu")]
#[test]
fn matches_the_composed_batch_norm_and_relu_on_the_gpu() {
    let Some(gpu) = crate::model::testing::test_gpu() else { return };
    assert!(supports(&gpu.clone().autodiff()));
    matches_the_composed_on(gpu.autodiff());
}

fn matches_the_composed_on(device: Device) {
    device.seed(11);
    for [batch, channels, height, width] in
        [[2, 3, 5, 7], [1, 16, 8, 8], [4, 8, 1, 1], [3, 5, 17, 3], [8, 32, 16, 16], [70, 2, 1, 3]]
    {
        let shape = [batch, channels, height, width];
        // A mean far from zero and γ of both signs: the gate and the statistics both matter.
        let input = Tensor::<4>::random(shape, Distribution::Normal(0.5, 2.0), &device);
        let gamma = Tensor::<1>::random([channels], Distribution::Normal(0.0, 1.0), &device);
        let beta = Tensor::<1>::random([channels], Distribution::Normal(0.0, 1.0), &device);
        let weighting = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let run = |fused: bool| {
            let (x, g, b) = (
                input.clone().detach().require_grad(),
                gamma.clone().detach().require_grad(),
                beta.clone().detach().require_grad(),
            );
            let (y, mean, variance) = if fused {
                batch_norm_relu_train(x.clone(), g.clone(), b.clone(), 1e-5)
            } else {
                let (y, mean, variance) =
                    batch_norm_train_composed(x.clone(), g.clone(), b.clone(), 1e-5);
                (burn::tensor::activation::relu(y), mean, variance)
            };
            let grads = (y.clone() * weighting.clone()).sum().backward();
            let grad = |t: &Tensor<1>| values(t.grad(&grads).unwrap());
            (
                values(y),
                values(mean.detach()),
                values(variance.detach()),
                values(x.grad(&grads).unwrap()),
                grad(&g),
                grad(&b),
            )
        };
        let (fused, composed) = (run(true), run(false));
        let what = |part: &str| format!("{part} of {shape:?}");
        assert_close(&what("output"), &fused.0, &composed.0, 1e-4);
        assert!(fused.0.iter().all(|v| *v >= 0.0));
        assert_close(&what("mean"), &fused.1, &composed.1, 1e-5);
        assert_close(&what("variance"), &fused.2, &composed.2, 1e-4);
        assert_close(&what("input gradient"), &fused.3, &composed.3, 1e-4);
        assert_close(&what("γ gradient"), &fused.4, &composed.4, 1e-4);
        assert_close(&what("β gradient"), &fused.5, &composed.5, 1e-4);
    }
}

/// Without autodiff (inference tensors), the fused forward gives the same values.
#[test]
fn runs_untracked_on_the_inner_backend() {
    let device = Device::flex();
    let input = Tensor::<4>::random([2, 4, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let (gamma, beta) = (Tensor::<1>::ones([4], &device), Tensor::<1>::zeros([4], &device));
    let (y, mean, variance) =
        batch_norm_relu_train(input.clone(), gamma.clone(), beta.clone(), 1e-5);
    let (expected, m, v) = batch_norm_train_composed(input, gamma, beta, 1e-5);
    assert_close("output", &values(y), &values(burn::tensor::activation::relu(expected)), 1e-5);
    assert_close("mean", &values(mean), &values(m), 1e-6);
    assert_close("variance", &values(variance), &values(v), 1e-5);
}
