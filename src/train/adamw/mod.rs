//! AdamW whose state can be saved and restored on every backend.
//!
//! Burn's `ModuleOptimizer` keeps its moments out of reach and serialises them with synchronous
//! reads, which panic on WebGPU in the browser; an autosave at the end of each epoch needs to
//! read them asynchronously, in one transaction with the weights. This is the same algorithm as
//! burn's `AdamW` (decoupled weight decay, bias-corrected moments, epsilon added to the square
//! root, per-tensor gradient clipping by norm), step for step, with the moments kept here, per
//! parameter path and flattened to one dimension.

use std::collections::BTreeMap;

use burn::module::{ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::optim::grad_clipping::GradientClipping;
use burn::tensor::Tensor;

use crate::model::Network;

mod cpu;
#[cfg(feature = "gpu")]
mod gpu;

/// Exponential decay of the first moment (burn's default).
const BETA_1: f32 = 0.9;
/// Exponential decay of the second moment (burn's default).
const BETA_2: f32 = 0.999;
/// Added to the second moment's square root: PyTorch's default. (Burn's, 1e-5, can be larger
/// than the root of a second moment: gradients shrink as the weights behind a batch norm grow,
/// and the steps of those weights are then damped. With He's initialisation, whose weights
/// are larger, it cost 0.01 to 0.04 test mAP: BENCHMARKS.md, "A default recipe".)
const EPSILON: f32 = 1e-8;

/// The scalars of one AdamW step of one parameter.
#[derive(Debug, Clone, Copy)]
pub(super) struct StepScalars {
    /// The learning rate of this parameter.
    lr: f32,
    /// The weight decay times the learning rate: the weights shrink by `1 − decay`.
    decay: f32,
    /// `1 − β₁ᵗ`: the first moment's bias correction.
    first_correction: f32,
    /// `1 − β₂ᵗ`: the second moment's bias correction.
    second_correction: f32,
    /// The L2 norm the gradient is clipped to, if any.
    clip: Option<f32>,
}

/// One parameter's running moments, flattened.
#[derive(Clone)]
pub struct Moments {
    /// Mean of the gradients.
    pub first: Tensor<1>,
    /// Mean of the squared gradients.
    pub second: Tensor<1>,
}

/// The optimiser of a training run.
pub struct AdamW {
    weight_decay: f32,
    /// The L2 norm each parameter's gradient is clipped to, if any.
    clip: Option<f32>,
    /// Steps taken: the bias correction's exponent.
    time: i32,
    /// Moments per parameter, keyed by module path (`units.0.conv1.weight`).
    moments: BTreeMap<String, Moments>,
}

impl AdamW {
    /// A fresh optimiser; `gradient_clip > 0` clips each parameter's gradient to that L2 norm.
    pub fn new(weight_decay: f64, gradient_clip: f32) -> Self {
        Self {
            weight_decay: weight_decay as f32,
            clip: (gradient_clip > 0.0).then_some(gradient_clip),
            time: 0,
            moments: BTreeMap::new(),
        }
    }

    /// Updates every parameter of `model` that has a gradient in `grads`, with learning rate
    /// `lr` for the head and `lr × backbone_scale` for the layers below it.
    pub fn step(
        &mut self,
        (lr, backbone_scale): (f64, f64),
        model: Network,
        grads: GradientsParams,
    ) -> Network {
        self.time += 1;
        let head = model.head_prefix();
        let mut stepper =
            Stepper { optim: self, grads, lr, backbone_scale, head, path: Vec::new() };
        model.map_inner(&mut stepper)
    }

    /// Steps taken so far.
    pub fn time(&self) -> i32 {
        self.time
    }

    /// The moments, by parameter path.
    pub fn moments(&self) -> &BTreeMap<String, Moments> {
        &self.moments
    }

    /// Puts back the state saved from [`Self::time`] and [`Self::moments`] (resuming a run).
    pub fn restore(&mut self, time: i32, moments: BTreeMap<String, Moments>) {
        self.time = time;
        self.moments = moments;
    }
}

/// Walks the model, updating each parameter from its gradient.
struct Stepper<'a> {
    optim: &'a mut AdamW,
    grads: GradientsParams,
    lr: f64,
    backbone_scale: f64,
    /// The head's path prefix: its tensors step at `lr`, the others at `lr × backbone_scale`.
    head: &'static str,
    path: Vec<String>,
}

impl ModuleMapper for Stepper<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            // Not trained (batch-norm running statistics) or frozen.
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let optim = &mut *self.optim;
        let dims = tensor.dims();
        let count = dims.iter().product::<usize>();
        let path = self.path.join(".");
        let lr = if path.starts_with(self.head) { self.lr } else { self.lr * self.backbone_scale };
        let scalars = StepScalars {
            lr: lr as f32,
            decay: (lr * f64::from(optim.weight_decay)) as f32,
            first_correction: 1.0 - BETA_1.powi(optim.time),
            second_correction: 1.0 - BETA_2.powi(optim.time),
            clip: optim.clip,
        };
        let require_grad = tensor.is_require_grad();
        let weights: Tensor<1> = tensor.inner().reshape([count]);
        let grad: Tensor<1> = grad.reshape([count]);
        let moments = optim.moments.remove(&path);
        let (weights, moments) = step_one(weights, grad, moments, &scalars);
        optim.moments.insert(path, moments);
        let mut updated = Tensor::from_inner(weights.reshape(dims));
        if require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

/// One AdamW step of one parameter (flattened): with the fused kernels of its backend (the
/// CPU's, [`cpu`], or the GPU's, `gpu`), else composed of tensor operations.
fn step_one(
    weights: Tensor<1>,
    grad: Tensor<1>,
    moments: Option<Moments>,
    scalars: &StepScalars,
) -> (Tensor<1>, Moments) {
    let device = weights.device();
    if crate::model::flex_tensors::on_flex(&device) {
        return cpu::step_cpu(weights, grad, moments, scalars);
    }
    #[cfg(feature = "gpu")]
    if crate::model::gpu_conv::on_gpu(&device) {
        return gpu::step_gpu(weights, grad, moments, scalars);
    }
    step_composed(weights, grad, moments, scalars)
}

/// One AdamW step of one parameter (flattened) composed of tensor operations: the reference
/// the fused kernels are checked against, and the path of backends without them.
fn step_composed(
    weights: Tensor<1>,
    grad: Tensor<1>,
    moments: Option<Moments>,
    scalars: &StepScalars,
) -> (Tensor<1>, Moments) {
    let grad = match scalars.clip {
        Some(clip) => GradientClipping::Norm(clip).clip_gradient(grad),
        None => grad,
    };
    let moments = match moments {
        Some(Moments { first, second }) => Moments {
            first: first.mul_scalar(BETA_1).add(grad.clone().mul_scalar(1.0 - BETA_1)),
            second: second.mul_scalar(BETA_2).add(grad.square().mul_scalar(1.0 - BETA_2)),
        },
        None => Moments {
            first: grad.clone().mul_scalar(1.0 - BETA_1),
            second: grad.square().mul_scalar(1.0 - BETA_2),
        },
    };
    let first = moments.first.clone().div_scalar(scalars.first_correction);
    let second = moments.second.clone().div_scalar(scalars.second_correction);
    let delta = first.div(second.sqrt().add_scalar(EPSILON));
    let weights =
        if scalars.decay == 0.0 { weights } else { weights.mul_scalar(1.0 - scalars.decay) };
    (weights - delta.mul_scalar(scalars.lr), moments)
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::optim::AdamWConfig;
    use burn::optim::grad_clipping::GradientClippingConfig;
    use burn::tensor::Device;

    use super::*;
    use crate::model::{NetworkConfig, ResNetV2Config};

    /// A few steps of this AdamW leave the same weights as burn's, with clipping and decay.
    #[test]
    fn matches_burns_adamw() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let config: NetworkConfig = ResNetV2Config::for_depth(11, 3).unwrap().into();
        let start = config.init(&device).unwrap();
        let mut ours = AdamW::new(5e-4, 1.0);
        let mut theirs = AdamWConfig::new()
            .with_epsilon(EPSILON)
            .with_weight_decay(5e-4)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
            .init();
        let (mut a, mut b) = (start.clone(), start);
        for step in 0..3 {
            let images = Tensor::<4>::random(
                [2, 3, 16, 16],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let loss_a = a.forward(images.clone()).powi_scalar(2).mean();
            let grads_a = GradientsParams::from_grads(loss_a.backward(), &a);
            a = ours.step((1e-2, 1.0), a, grads_a);
            let loss_b = b.forward(images).powi_scalar(2).mean();
            let grads_b = GradientsParams::from_grads(loss_b.backward(), &b);
            b = theirs.step(1e-2, b, grads_b);
            assert_eq!(ours.time(), step + 1);
        }
        // Same weights give the same outputs (inference mode: running statistics included).
        let probe = Tensor::<4>::random(
            [2, 3, 16, 16],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let ya = a.valid().forward(probe.clone().inner()).into_data().try_to_vec::<f32>().unwrap();
        let yb = b.valid().forward(probe.inner()).into_data().try_to_vec::<f32>().unwrap();
        let max = ya.iter().zip(&yb).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(max < 1e-5, "outputs differ by {max}");
        assert!(!ours.moments().is_empty());
    }
}
