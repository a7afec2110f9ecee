//! Multi-label metrics, computed on the CPU from probabilities and 0/1 targets.
//!
//! Conventions follow scikit-learn (checked against it in the tests):
//! - A label is predicted positive when its probability is `>=` its threshold (`scoring::is_positive`).
//! - Precision with no predicted positive is 0, recall with no positive example is 0, and F1
//!   is 0 when precision + recall is 0 (`zero_division=0`).
//! - Average precision is `average_precision_score`: the step-wise `Σ (Rₙ − Rₙ₋₁) Pₙ` over
//!   distinct scores (tied scores are one threshold, no interpolation). A label with no
//!   positive example has no AP (`None`; scikit-learn warns and returns a meaningless value)
//!   and is left out of mAP, the mean over labels that have positives.
//! - ROC-AUC is `roc_auc_score` (ties count one half); `None` when the label has only one class
//!   among the examples (scikit-learn raises). Macro ROC-AUC averages the defined ones.
//! - Macro-F1 is the unweighted mean of every label's F1, labels without positives included
//!   (their F1 is 0), exactly as `f1_score(average="macro", zero_division=0)`; micro-F1 pools
//!   every (image, label) decision.
//! - Hamming loss is the share of wrong (image, label) decisions; subset accuracy the share of
//!   images whose every label is right. An all-negative row counts like any other.
//! - A NaN probability (a diverged model) counts as 0.

use serde::{Deserialize, Serialize};

use crate::scoring::{ScoreTable, Sweep, f1, is_positive, ratio, sweep};

/// Metrics of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LabelMetrics {
    /// The label's name.
    pub name: String,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// Average precision; `None` when the label has no positive example.
    pub ap: Option<f64>,
    /// Area under the ROC curve; `None` when the label has only one class.
    #[serde(rename = "rocAuc")]
    pub roc_auc: Option<f64>,
    /// Number of positive examples.
    pub support: usize,
    /// Threshold the precision/recall/F1 were computed at.
    pub threshold: f32,
}

/// Metrics over all labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MultiLabelMetrics {
    /// Each label's metrics, in the model's label order.
    pub labels: Vec<LabelMetrics>,
    /// Mean average precision over labels with at least one positive.
    pub map: f64,
    /// Mean ROC-AUC over labels where it is defined.
    pub macro_roc_auc: Option<f64>,
    /// Micro-averaged F1: every (image, label) decision pooled.
    pub micro_f1: f64,
    /// Macro-averaged F1: the mean of the labels' F1 (labels without positives count, as 0).
    pub macro_f1: f64,
    /// Fraction of wrong label decisions.
    pub hamming_loss: f64,
    /// Fraction of images whose every label is right.
    pub subset_accuracy: f64,
}

/// Computes every metric. `probs` and `targets` are `n × labels`, row-major.
pub fn evaluate(
    names: &[String],
    probs: &[f32],
    targets: &[u8],
    thresholds: &[f32],
) -> MultiLabelMetrics {
    let table = ScoreTable::new(probs, targets, names.len());
    let (l, n) = (table.labels(), table.rows());
    let threshold = |j: usize| thresholds.get(j).copied().unwrap_or(0.5);
    let predicted = |i: usize, j: usize| is_positive(table.prob(i, j), threshold(j));
    let mut labels = Vec::with_capacity(l);
    let (mut tp_all, mut fp_all, mut fn_all) = (0usize, 0usize, 0usize);
    for (j, name) in names.iter().enumerate() {
        let (scores, truth) = table.column(j);
        let (mut tp, mut fp, mut fnn) = (0, 0, 0);
        for (i, &y) in truth.iter().enumerate() {
            match (predicted(i, j), y == 1) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fnn += 1,
                _ => {}
            }
        }
        tp_all += tp;
        fp_all += fp;
        fn_all += fnn;
        let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fnn));
        let sweep = sweep(&scores, &truth);
        labels.push(LabelMetrics {
            name: name.clone(),
            precision,
            recall,
            f1: f1(precision, recall),
            ap: average_precision_of(&sweep),
            roc_auc: roc_auc_of(&sweep),
            support: tp + fnn,
            threshold: threshold(j),
        });
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let aps: Vec<f64> = labels.iter().filter_map(|m| m.ap).collect();
    let aucs: Vec<f64> = labels.iter().filter_map(|m| m.roc_auc).collect();
    let f1s: Vec<f64> = labels.iter().map(|m| m.f1).collect();
    let mut wrong = 0usize;
    let mut exact = 0usize;
    for i in 0..n {
        let errors = (0..l).filter(|&j| predicted(i, j) != (table.target(i, j) == 1)).count();
        wrong += errors;
        exact += usize::from(errors == 0);
    }
    MultiLabelMetrics {
        labels,
        map: mean(&aps),
        macro_roc_auc: (!aucs.is_empty()).then(|| mean(&aucs)),
        micro_f1: f1(ratio(tp_all, tp_all + fp_all), ratio(tp_all, tp_all + fn_all)),
        macro_f1: mean(&f1s),
        hamming_loss: ratio(wrong, n * l),
        subset_accuracy: ratio(exact, n),
    }
}

/// Average precision of one label (scikit-learn's definition); `None` without positives.
pub fn average_precision(scores: &[f32], truth: &[u8]) -> Option<f64> {
    average_precision_of(&sweep(scores, truth))
}

fn average_precision_of(sweep: &Sweep) -> Option<f64> {
    if sweep.positives == 0 {
        return None;
    }
    let mut last_recall = 0.0;
    let mut ap = 0.0;
    for point in &sweep.points {
        let recall = sweep.recall(point);
        ap += (recall - last_recall) * point.precision();
        last_recall = recall;
    }
    Some(ap)
}

/// Area under the ROC curve of one label (scikit-learn's `roc_auc_score`): the probability
/// that a random positive scores above a random negative, ties counting one half. `None`
/// without both classes.
pub fn roc_auc(scores: &[f32], truth: &[u8]) -> Option<f64> {
    roc_auc_of(&sweep(scores, truth))
}

fn roc_auc_of(sweep: &Sweep) -> Option<f64> {
    if sweep.positives == 0 || sweep.negatives == 0 {
        return None;
    }
    // Each negative is outscored by the positives of the groups above its own, and ties with
    // the positives of its own group (one half each).
    let (mut above, mut last_fp) = (0usize, 0usize);
    let mut wins = 0.0;
    for point in &sweep.points {
        let tied = point.true_positives - above;
        let negatives = point.false_positives - last_fp;
        wins += negatives as f64 * (above as f64 + tied as f64 / 2.0);
        above = point.true_positives;
        last_fp = point.false_positives;
    }
    Some(wins / (sweep.positives as f64 * sweep.negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_matches_sklearn_examples() {
        // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333…
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]).unwrap();
        assert!((ap - 0.833_333_333).abs() < 1e-6, "{ap}");
        // Ties form one threshold: ([1, 0, 1], [0.5, 0.5, 0.5]) == 0.6666…
        let ap = average_precision(&[0.5, 0.5, 0.5], &[1, 0, 1]).unwrap();
        assert!((ap - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(average_precision(&[0.2, 0.3], &[0, 0]), None);
    }

    #[test]
    fn f1_hamming_and_subset_accuracy_by_hand() {
        let names = vec!["a".to_string(), "b".to_string()];
        // Rows: (a, b) probabilities and truths.
        let probs = [0.9, 0.1, 0.8, 0.7, 0.2, 0.6];
        let targets = [1, 0, 1, 0, 0, 1];
        let m = evaluate(&names, &probs, &targets, &[0.5, 0.5]);
        // a: tp 2, fp 0, fn 0 → F1 1. b: tp 1, fp 1, fn 0 → P .5, R 1, F1 2/3.
        assert!((m.labels[0].f1 - 1.0).abs() < 1e-12);
        assert!((m.labels[1].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1 - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // micro: tp 3, fp 1, fn 0 → P .75, R 1 → F1 6/7.
        assert!((m.micro_f1 - 6.0 / 7.0).abs() < 1e-12);
        assert!((m.hamming_loss - 1.0 / 6.0).abs() < 1e-12);
        assert!((m.subset_accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.labels[1].support, 1);
    }

    #[test]
    fn roc_auc_by_hand_with_ties() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12);
        // A tie between a positive and a negative counts one half: ([0, 1], [0.5, 0.5]) == 0.5
        assert_eq!(roc_auc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        assert_eq!(roc_auc(&[0.5, 0.7], &[1, 1]), None);
        assert_eq!(roc_auc(&[0.5, 0.7], &[0, 0]), None);
        // A NaN score counts as 0 (and does not stall the tie grouping).
        assert_eq!(roc_auc(&[f32::NAN, 0.9], &[0, 1]), Some(1.0));
        assert_eq!(average_precision(&[f32::NAN, 0.9], &[0, 1]), Some(1.0));
    }

    #[test]
    fn labels_without_positives_and_all_negative_rows() {
        let names = vec!["a".to_string(), "never".to_string()];
        // Row 1 is all-negative and predicted so: it counts as exactly right (rows 0 and 1 of 3).
        let probs = [0.9, 0.1, 0.2, 0.3, 0.4, 0.7];
        let targets = [1, 0, 0, 0, 1, 0];
        let m = evaluate(&names, &probs, &targets, &[0.5, 0.5]);
        assert_eq!(m.labels[1].ap, None);
        assert_eq!(m.labels[1].roc_auc, None);
        assert_eq!(m.labels[1].f1, 0.0);
        // mAP over labels with positives only: a's AP.
        assert_eq!(Some(m.map), m.labels[0].ap);
        // Macro-F1 counts the label without positives (F1 0), like scikit-learn.
        assert!((m.macro_f1 - m.labels[0].f1 / 2.0).abs() < 1e-12);
        assert!((m.subset_accuracy - 2.0 / 3.0).abs() < 1e-12);
        // NaN probabilities count as 0.
        let nan = evaluate(&names, &[f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0], &targets, &[0.5, 0.5]);
        assert_eq!(nan.labels[0].precision, 0.0);
    }
}
