//! One AdamW step of one parameter as a single pass on the CPU backend.
//!
//! Why: composed of tensor operations a step is ~25 passes per parameter (the clip's norm and
//! scale, both moments, the bias corrections, the square root, the decay, the update), each
//! allocating its output; for ResNetV2-Small's ~40 small parameters that is a thousand
//! operations a step, all on one thread. Here it is a read of the gradient for its norm (when
//! clipping) and one pass that updates the weights and both moments in place when nothing else
//! holds them.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::Tensor;
use burn_flex::{Flex, FlexTensor};

use super::{BETA_1, BETA_2, EPSILON, Moments, StepScalars};

/// The fused step as a burn backend extension (the CPU backend only).
#[backend_extension(Flex)]
pub trait AdamWStepCpu: Backend {
    /// The weights and moments after one step from `grad` (all of one shape, flattened);
    /// `clip ≤ 0` for no clipping.
    #[allow(clippy::too_many_arguments)]
    fn adamw_step_cpu(
        weights: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        first: FloatTensor<Self>,
        second: FloatTensor<Self>,
        lr: f32,
        decay: f32,
        corrections: [f32; 2],
        clip: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// `tensor` as a contiguous tensor whose storage is exactly its values, to write in place
/// (`storage_mut` copies the buffer first if something else shares it).
fn writable(tensor: FlexTensor) -> FlexTensor {
    let exact = tensor.is_contiguous()
        && tensor.layout().contiguous_offsets() == Some((0, tensor.bytes().len() / 4));
    if exact { tensor } else { tensor.to_contiguous() }
}

impl AdamWStepCpu for Flex {
    fn adamw_step_cpu(
        weights: FlexTensor,
        grad: FlexTensor,
        first: FlexTensor,
        second: FlexTensor,
        lr: f32,
        decay: f32,
        [first_correction, second_correction]: [f32; 2],
        clip: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let grad = writable(grad);
        let grad: &[f32] = grad.storage();
        // burn's clip by norm: scale by clip / (‖g‖ + the smallest positive float), at most 1.
        let coefficient = if clip > 0.0 {
            let norm = grad.iter().map(|g| f64::from(*g) * f64::from(*g)).sum::<f64>().sqrt();
            (clip / (norm as f32 + f32::MIN_POSITIVE)).min(1.0)
        } else {
            1.0
        };
        let (mut weights, mut first, mut second) =
            (writable(weights), writable(first), writable(second));
        let shrink = 1.0 - decay;
        let w: &mut [f32] = weights.storage_mut();
        let m: &mut [f32] = first.storage_mut();
        let v: &mut [f32] = second.storage_mut();
        for (((w, m), v), g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(grad) {
            let g = if clip > 0.0 { g * coefficient } else { *g };
            *m = *m * BETA_1 + g * (1.0 - BETA_1);
            *v = *v * BETA_2 + g * g * (1.0 - BETA_2);
            let delta = (*m / first_correction) / ((*v / second_correction).sqrt() + EPSILON);
            *w = *w * shrink - delta * lr;
        }
        (weights, first, second)
    }
}

/// One AdamW step of one parameter with the fused CPU pass: the weights and the moments after
/// it. Call it only on the CPU backend ([`crate::model::flex_tensors::on_flex`]).
///
/// # Shapes
/// - `weights`, `grad`, the moments: `[count]`
pub(super) fn step_cpu(
    weights: Tensor<1>,
    grad: Tensor<1>,
    moments: Option<Moments>,
    scalars: &StepScalars,
) -> (Tensor<1>, Moments) {
    let Moments { first, second } = moments.unwrap_or_else(|| {
        let zeros = Tensor::zeros(weights.dims(), &weights.device());
        Moments { first: zeros.clone(), second: zeros }
    });
    let (weights, first, second) = Dispatch::adamw_step_cpu(
        weights.into_dispatch(),
        grad.into_dispatch(),
        first.into_dispatch(),
        second.into_dispatch(),
        scalars.lr,
        scalars.decay,
        [scalars.first_correction, scalars.second_correction],
        scalars.clip.unwrap_or(0.0),
    );
    let first = Tensor::from_dispatch(first);
    let second = Tensor::from_dispatch(second);
    debug_assert_eq!(first.dims(), second.dims());
    (Tensor::from_dispatch(weights), Moments { first, second })
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution};

    use super::super::step_composed;
    use super::*;

    fn values(tensor: Tensor<1>) -> Vec<f32> {
        tensor.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// The fused step equals the composed one to 1e-6 (relative to values above 1): first and
    /// later steps, with and without decay, clipping that bites and clipping that does not.
    #[test]
    fn matches_the_composed_step() {
        let device = Device::flex();
        device.seed(5);
        for count in [1, 7, 1000, 65_537] {
            for (time, decay, clip, scale) in [
                (1, 0.0, None, 1.0),
                (1, 5e-6, Some(1.0), 1.0),
                (5, 5e-6, Some(1.0), 0.001),
                (5, 0.0, Some(1e3), 1.0),
            ] {
                let random = |std: f32| {
                    Tensor::<1>::random([count], Distribution::Normal(0.0, std.into()), &device)
                };
                let weights = random(1.0);
                let grad = random(scale);
                let moments =
                    (time > 1).then(|| Moments { first: random(0.1), second: random(0.01).abs() });
                let scalars = StepScalars {
                    lr: 1e-3,
                    decay,
                    first_correction: 1.0 - BETA_1.powi(time),
                    second_correction: 1.0 - BETA_2.powi(time),
                    clip,
                };
                let (w_a, m_a) = step_cpu(weights.clone(), grad.clone(), moments.clone(), &scalars);
                let (w_b, m_b) = step_composed(weights, grad, moments, &scalars);
                for (what, a, b) in [
                    ("weights", w_a, w_b),
                    ("first moment", m_a.first, m_b.first),
                    ("second moment", m_a.second, m_b.second),
                ] {
                    let (a, b) = (values(a), values(b));
                    let worst = a
                        .iter()
                        .zip(&b)
                        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
                        .fold(0.0, f32::max);
                    assert!(
                        worst < 1e-6,
                        "{what}, {count} values, step {time}: differs by {worst}"
                    );
                }
            }
        }
    }

    /// Moments shared with a reader (an autosave's copy) are not overwritten by the next step.
    #[test]
    fn leaves_shared_moments_alone() {
        let device = Device::flex();
        let weights = Tensor::<1>::ones([4], &device);
        let grad = Tensor::<1>::ones([4], &device);
        let moments =
            Moments { first: Tensor::zeros([4], &device), second: Tensor::zeros([4], &device) };
        let kept = moments.clone();
        let scalars = StepScalars {
            lr: 0.1,
            decay: 0.0,
            first_correction: 0.1,
            second_correction: 0.001,
            clip: None,
        };
        let (weights, after) = step_cpu(weights, grad, Some(moments), &scalars);
        assert_eq!(values(kept.first), vec![0.0; 4]);
        assert!(values(after.first).iter().all(|m| (m - 0.1).abs() < 1e-7));
        assert!(values(weights).iter().all(|w| (w - 0.9).abs() < 1e-5));
    }
}
