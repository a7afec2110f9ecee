//! Binary cross-entropy on logits, in the numerically stable form.
//!
//! Burn's `BinaryCrossEntropyLoss` takes integer targets and has no positive weights, so the
//! loss is written here: for logit `x`, target `y` and positive weight `p`,
//! `ℓ = (1 − y)·x + (1 + (p − 1)·y)·(log(1 + e^{−|x|}) + max(−x, 0))`,
//! which never exponentiates a large positive number.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use crate::data::Dataset;

/// Mean binary cross-entropy over every (image, label) pair.
///
/// # Shapes
/// - `logits`, `targets`: `[batch, labels]`
/// - `pos_weight`: `[labels]`, multiplies the loss of positive targets (for rare labels)
/// - output: `[1]`
pub fn bce_with_logits(
    logits: Tensor<2>,
    targets: Tensor<2>,
    pos_weight: Option<Tensor<1>>,
) -> Tensor<1> {
    let softplus_neg = logits.clone().abs().neg().exp().log1p() + relu(logits.clone().neg());
    let negative_part = targets.clone().neg().add_scalar(1.0) * logits;
    let weighted = match pos_weight {
        None => softplus_neg,
        Some(w) => {
            let [_, labels] = targets.dims();
            let factor = (targets * w.reshape([1, labels]).sub_scalar(1.0)).add_scalar(1.0);
            factor * softplus_neg
        }
    };
    (negative_part + weighted).mean()
}

/// Per-label weights of positive examples for [`bce_with_logits`]: `min(negatives / positives,
/// 10)`, at least 1, counted over the images `indices`.
pub fn positive_weights(dataset: &Dataset, indices: &[usize]) -> Vec<f32> {
    let labels = dataset.labels.len();
    let mut positives = vec![0usize; labels];
    for &i in indices {
        for (count, &t) in positives.iter_mut().zip(dataset.target(i)) {
            *count += usize::from(t);
        }
    }
    positives
        .iter()
        .map(|&p| {
            let negatives = indices.len().saturating_sub(p);
            (negatives as f32 / p.max(1) as f32).clamp(1.0, 10.0)
        })
        .collect()
}

/// A logit's probability on the CPU (validation reads logits back once for the loss and the
/// probabilities).
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The same loss on the CPU, for validation from read-back logits (f64 accumulation).
pub fn bce_with_logits_cpu(logits: &[f32], targets: &[u8]) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| {
            let x = f64::from(x);
            let y = f64::from(y);
            (1.0 - y) * x + (-x.abs()).exp().ln_1p() + (-x).max(0.0)
        })
        .sum();
    total / logits.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn matches_the_textbook_formula_and_stays_finite() {
        let device = Device::flex();
        let x = [0.5f32, -2.0, 30.0, -30.0];
        let y = [1u8, 0, 0, 1];
        let logits = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [2, 2]), &device);
        let targets = Tensor::<2>::from_data(
            TensorData::new(y.iter().map(|v| f32::from(*v)).collect::<Vec<_>>(), [2, 2]),
            &device,
        );
        let loss: f32 = bce_with_logits(logits, targets, None).into_scalar();
        let expected: f64 = x
            .iter()
            .zip(y)
            .map(|(&x, y)| {
                let p = 1.0 / (1.0 + (-f64::from(x)).exp());
                // log(1 − p) underflows for x = 30; use its exact limit −x there.
                let log_not_p = if x > 20.0 { -f64::from(x) } else { (1.0 - p).ln() };
                let log_p = if x < -20.0 { f64::from(x) } else { p.ln() };
                -(f64::from(y) * log_p + (1.0 - f64::from(y)) * log_not_p)
            })
            .sum::<f64>()
            / 4.0;
        assert!((f64::from(loss) - expected).abs() < 1e-4, "{loss} vs {expected}");
        assert!((bce_with_logits_cpu(&x, &y) - expected).abs() < 1e-9);
    }

    #[test]
    fn positive_weight_scales_positive_terms_only() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0], [1, 2]), &device);
        let targets = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &device);
        let w = Tensor::<1>::from_data(TensorData::new(vec![3.0f32, 3.0], [2]), &device);
        let loss: f32 = bce_with_logits(logits, targets, Some(w)).into_scalar();
        // (3·ln2 + ln2) / 2
        assert!((loss - 2.0 * std::f32::consts::LN_2).abs() < 1e-5);
    }
}
