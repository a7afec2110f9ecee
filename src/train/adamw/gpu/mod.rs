//! AdamW's step of one parameter as fused GPU kernels.
//!
//! Why: the composed step (`super::Stepper`) is about 25 tensor operations per parameter —
//! the clipping norm, both moments, their bias corrections, the decay and the update — and
//! on WebGPU each is a kernel launch: half the GPU's kernel time of a training step went to
//! them (issue #35). Here a step is one element-wise kernel that reads the weights, the
//! gradient and the moments and writes the new three, plus, when the gradient is clipped,
//! one reduction before it for the norm's partial sums ([`kernels`]); the norm stays on the
//! GPU (the browser cannot wait for a read).
//!
//! [`GpuAdamW`] is a burn backend extension like [`crate::model::gpu_conv`]: `Cube` runs the
//! kernels, `Fusion` records them as one opaque operation. No autodiff: the optimiser steps
//! the inner (untracked) tensors.

mod kernels;
mod launch;

use burn::backend::{Backend, Dispatch, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;

use super::{Moments, StepScalars};

/// AdamW's step of one flat parameter (see [`step_gpu`]): each method returns the new
/// weights, first moment and second moment, all of the weights' shape. `keep` is
/// `1 − lr · weight decay`; `first_correction` and `second_correction` are `1 − β₁ᵗ` and
/// `1 − β₂ᵗ`; `clip` the largest L2 norm of the gradient, if clipped.
#[backend_extension(Cube: cfg(feature = "gpu"), Fusion: cfg(feature = "gpu"))]
pub trait GpuAdamW: Backend {
    /// The first step: no moments yet (zeros).
    #[fusion(meta = |weights, _grad, _lr, _keep, _first_correction, _second_correction, _clip| {
        (weights.clone(), weights.clone(), weights.clone())
    })]
    fn gpu_adamw_first_step(
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        lr: f32,
        keep: f32,
        first_correction: f32,
        second_correction: f32,
        clip: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// A later step, from the moments of the steps before.
    #[allow(clippy::too_many_arguments)]
    #[fusion(meta = |weights, _grad, _first, _second, _lr, _keep, _first_correction,
        _second_correction, _clip| {
        (weights.clone(), weights.clone(), weights.clone())
    })]
    fn gpu_adamw_step(
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        first: FloatTensor<Self>,
        second: FloatTensor<Self>,
        lr: f32,
        keep: f32,
        first_correction: f32,
        second_correction: f32,
        clip: Option<f32>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// One AdamW step of one parameter with fused GPU kernels. Call only when
/// `crate::model::gpu_conv::on_gpu(&weights.device())`. `weights`, `grad` and the moments are
/// flat tensors of the inner (untracked) backend, all of one length; `moments` is `None` on the
/// parameter's first step. Returns the new weights and moments.
pub(super) fn step_gpu(
    weights: Tensor<1>,
    grad: Tensor<1>,
    moments: Option<Moments>,
    scalars: &StepScalars,
) -> (Tensor<1>, Moments) {
    let StepScalars { lr, decay, first_correction, second_correction, clip } = *scalars;
    let keep = 1.0 - decay;
    let (weights, first, second) = match moments {
        Some(Moments { first, second }) => Dispatch::gpu_adamw_step(
            weights.into_dispatch(),
            grad.into_dispatch(),
            first.into_dispatch(),
            second.into_dispatch(),
            lr,
            keep,
            first_correction,
            second_correction,
            clip,
        ),
        None => Dispatch::gpu_adamw_first_step(
            weights.into_dispatch(),
            grad.into_dispatch(),
            lr,
            keep,
            first_correction,
            second_correction,
            clip,
        ),
    };
    let moments =
        Moments { first: Tensor::from_dispatch(first), second: Tensor::from_dispatch(second) };
    (Tensor::from_dispatch(weights), moments)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::collections::BTreeMap;

    use burn::module::{Module, ModuleVisitor, Param, ParamId};
    use burn::optim::grad_clipping::GradientClippingConfig;
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::{Device, Distribution, TensorData};

    use super::super::{AdamW, BETA_1, BETA_2, EPSILON};
    use super::*;
    use crate::model::testing::test_gpu;
    use crate::model::{NetworkConfig, ResNetV2Config};

    /// The composed step (`super::super::step_composed`, with burn's clipping by norm) on flat
    /// tensors: the reference.
    fn composed(
        weights: Tensor<1>,
        grad: Tensor<1>,
        moments: Option<Moments>,
        scalars: &StepScalars,
    ) -> (Tensor<1>, Moments) {
        super::super::step_composed(weights, grad, moments, scalars)
    }

    /// `n` values in `[-scale, scale)` from a small deterministic generator.
    fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn tensor(values: &[f32], device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
    }

    fn read(tensor: Tensor<1>) -> Vec<f32> {
        tensor.into_data().try_to_vec::<f32>().unwrap()
    }

    /// The largest error of `actual` against `expected`: absolute for values up to 1 in
    /// magnitude, relative above.
    fn error(actual: &[f32], expected: &[f32]) -> f32 {
        assert_eq!(actual.len(), expected.len());
        actual
            .iter()
            .zip(expected)
            .map(|(a, e)| (a - e).abs() / e.abs().max(1.0))
            .fold(0.0, f32::max)
    }

    /// The fused step on the GPU against the composed one on the CPU, from the same values:
    /// sizes from one value to several cubes of the norm's reduction, first and fifth steps,
    /// no clipping, clipping that bites and clipping that does not, with and without decay.
    #[test]
    fn fused_step_matches_the_composed_one() {
        let Some(gpu) = test_gpu() else { return };
        let cpu = Device::flex();
        let (lr, worst) = (1e-2f32, &mut [0.0f32; 3]);
        for (case, n) in [1, 7, 1000, 65_537, 300_001].into_iter().enumerate() {
            let seed = case as u64 * 10;
            let weights = values(n, seed + 1, 1.5);
            let grad = values(n, seed + 2, 1e-2);
            let norm = grad.iter().map(|g| g * g).sum::<f32>().sqrt();
            // Moments of earlier steps: a mean of gradients, and a mean square at least its
            // square (as real second moments are).
            let first = values(n, seed + 3, 1e-2);
            let second: Vec<f32> =
                first.iter().zip(values(n, seed + 4, 1e-2)).map(|(m, r)| m * m + r * r).collect();
            for time in [1, 5] {
                for clip in [None, Some(norm * 0.5), Some(norm * 2.0)] {
                    for weight_decay in [0.0, 0.05] {
                        let scalars = StepScalars {
                            lr,
                            decay: lr * weight_decay,
                            first_correction: 1.0 - BETA_1.powi(time),
                            second_correction: 1.0 - BETA_2.powi(time),
                            clip,
                        };
                        let run = |device: &Device, fused: bool| {
                            let moments = (time > 1).then(|| Moments {
                                first: tensor(&first, device),
                                second: tensor(&second, device),
                            });
                            let (w, m, g) =
                                (tensor(&weights, device), moments, tensor(&grad, device));
                            let (w, m) = if fused {
                                step_gpu(w, g, m, &scalars)
                            } else {
                                composed(w, g, m, &scalars)
                            };
                            [read(w), read(m.first), read(m.second)]
                        };
                        let expected = run(&cpu, false);
                        let actual = run(&gpu, true);
                        for (k, (a, e)) in actual.iter().zip(&expected).enumerate() {
                            let err = error(a, e);
                            worst[k] = worst[k].max(err);
                            assert!(
                                err <= 1e-6,
                                "n {n}, t {time}, clip {clip:?}, decay {weight_decay}: \
                                 output {k} differs by {err}"
                            );
                        }
                        // The clipping bit, or not, as meant.
                        let moved = (actual[1][0] - grad[0] * (1.0 - BETA_1)).abs();
                        if time == 1 && clip == Some(norm * 0.5) {
                            assert!(moved > 1e-4 * grad[0].abs(), "clipping did not bite");
                        }
                    }
                }
            }
        }
        eprintln!("largest errors (weights, first, second moments): {worst:?}");
    }

    /// Copies gradients to another device, for the same parameters.
    struct CopyGrads<'a> {
        from: &'a GradientsParams,
        to: GradientsParams,
        device: Device,
    }

    impl ModuleVisitor for CopyGrads<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.from.get::<D>(param.id) {
                self.to.register::<D>(param.id, grad.to_device(&self.device));
            }
        }
    }

    /// Every parameter's values, and whether it requires a gradient.
    #[derive(Default)]
    struct Weights(BTreeMap<ParamId, (Vec<f32>, bool)>);

    impl ModuleVisitor for Weights {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let tracked = tensor.is_require_grad();
            let values = tensor.into_data().try_to_vec::<f32>().unwrap();
            self.0.insert(param.id, (values, tracked));
        }
    }

    /// `AdamW::step` on a network on the GPU (the fused kernels, through `Stepper`) leaves the
    /// weights and moments of the same steps on the CPU (the composed path), with clipping,
    /// decay and the backbone's own learning rate.
    #[test]
    fn optimiser_on_the_gpu_matches_the_cpu() {
        let Some(gpu) = test_gpu() else { return };
        let (cpu, gpu) = (Device::flex().autodiff(), gpu.autodiff());
        cpu.seed(3);
        let config: NetworkConfig = ResNetV2Config::for_depth(11, 3).unwrap().into();
        let start = config.init(&cpu).unwrap();
        assert!(crate::model::gpu_conv::on_gpu(&gpu));
        // `fork` keeps the parameters tracked (`to_device` does not).
        let (mut a, mut b, mut c) = (start.clone(), start.clone().fork(&gpu), start.fork(&gpu));
        let (mut ours_cpu, mut ours_gpu) = (AdamW::new(5e-4, 1.0), AdamW::new(5e-4, 1.0));
        // Burn's own AdamW on the GPU, as `super::super::tests::matches_burns_adamw` on the CPU.
        let mut theirs = AdamWConfig::new()
            .with_epsilon(EPSILON)
            .with_weight_decay(5e-4)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
            .init();
        for _ in 0..3 {
            let images = Tensor::<4>::random([2, 3, 16, 16], Distribution::Normal(0.0, 1.0), &cpu);
            let loss = a.forward(images).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &a);
            let copy = |module: &crate::model::Network| {
                let mut copy =
                    CopyGrads { from: &grads, to: GradientsParams::new(), device: gpu.clone() };
                module.visit(&mut copy);
                copy.to
            };
            let (grads_b, grads_c) = (copy(&b), copy(&c));
            a = ours_cpu.step((1e-2, 1.0), a, grads);
            b = ours_gpu.step((1e-2, 1.0), b, grads_b);
            c = theirs.step(1e-2, c, grads_c);
        }
        let (mut wa, mut wb, mut wc) = (Weights::default(), Weights::default(), Weights::default());
        a.visit(&mut wa);
        b.visit(&mut wb);
        c.visit(&mut wc);
        assert_eq!(wa.0.len(), wb.0.len());
        let (mut worst, mut worst_burn, mut trained) = (0.0f32, 0.0f32, 0);
        for (id, (expected, tracked)) in &wa.0 {
            let (actual, tracked_gpu) = &wb.0[id];
            assert_eq!(tracked, tracked_gpu, "require_grad kept");
            // Batch norms' running statistics moved with the CPU's forward passes only.
            if *tracked {
                worst = worst.max(error(actual, expected));
                worst_burn = worst_burn.max(error(actual, &wc.0[id].0));
                trained += 1;
            }
        }
        assert_eq!(trained, ours_gpu.moments().len(), "every trained parameter compared");
        let mut worst_moment = 0.0f32;
        assert_eq!(ours_cpu.moments().len(), ours_gpu.moments().len());
        for (path, expected) in ours_cpu.moments() {
            let actual = &ours_gpu.moments()[path];
            for (e, a) in [(&expected.first, &actual.first), (&expected.second, &actual.second)] {
                let err = error(&read(a.clone()), &read(e.clone()));
                worst_moment = worst_moment.max(err);
            }
        }
        eprintln!(
            "after 3 steps: weights differ by {worst} from the CPU's and {worst_burn} from burn's \
             AdamW on the GPU, moments by {worst_moment} from the CPU's"
        );
        assert!(worst <= 1e-6 && worst_moment <= 1e-6, "{worst}, {worst_moment}");
        assert!(worst_burn <= 1e-6, "{worst_burn}");
        assert!(!ours_gpu.moments().is_empty());
    }

    /// Not a check: the time of an optimiser step of a Small-11's trained parameters on the
    /// GPU, fused against the composed operations (clipped, from the second step). Run with
    /// `cargo test --release --lib optimiser_step_time -- --ignored --nocapture` (and a GPU).
    #[test]
    #[ignore]
    fn optimiser_step_time() {
        let Some(gpu) = test_gpu() else { return };
        let config: NetworkConfig = ResNetV2Config::for_depth(11, 3).unwrap().into();
        let mut weights = Weights::default();
        config.init(&Device::flex().autodiff()).unwrap().visit(&mut weights);
        let sizes: Vec<usize> =
            weights.0.values().filter(|(_, tracked)| *tracked).map(|(w, _)| w.len()).collect();
        let scalars = StepScalars {
            lr: 1e-3,
            decay: 5e-7,
            first_correction: 1.0 - BETA_1.powi(2),
            second_correction: 1.0 - BETA_2.powi(2),
            clip: Some(1.0),
        };
        for fused in [false, true, false, true, false, true] {
            let mut params: Vec<(Tensor<1>, Moments)> = sizes
                .iter()
                .enumerate()
                .map(|(k, &n)| {
                    let moments = Moments {
                        first: tensor(&values(n, k as u64 + 1, 1e-2), &gpu),
                        second: tensor(&values(n, k as u64 + 2, 1e-4), &gpu).abs(),
                    };
                    (tensor(&values(n, k as u64 + 3, 1.0), &gpu), moments)
                })
                .collect();
            let grads: Vec<Tensor<1>> = sizes
                .iter()
                .enumerate()
                .map(|(k, &n)| tensor(&values(n, k as u64 + 4, 1e-2), &gpu))
                .collect();
            let (warm_up, steps) = (5, 30);
            let mut start = std::time::Instant::now();
            for step in 0..warm_up + steps {
                if step == warm_up {
                    start = std::time::Instant::now();
                }
                params = params
                    .into_iter()
                    .zip(&grads)
                    .map(|((w, m), g)| {
                        if fused {
                            step_gpu(w, g.clone(), Some(m), &scalars)
                        } else {
                            composed(w, g.clone(), Some(m), &scalars)
                        }
                    })
                    .collect();
                // Wait for the GPU: one value of the last parameter.
                read(params.last().unwrap().0.clone().narrow(0, 0, 1));
            }
            let per_step = start.elapsed().as_secs_f64() / steps as f64;
            let which = if fused { "fused" } else { "composed" };
            eprintln!(
                "{which}: {:.1} ms a step of {} parameters ({} values)",
                per_step * 1e3,
                sizes.len(),
                sizes.iter().sum::<usize>()
            );
        }
    }
}
