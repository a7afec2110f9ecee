//! Per-label decision thresholds, tuned on validation probabilities.
//!
//! A single 0.5 cut-off suits few labels: a rare label's probabilities rarely reach it, so its
//! recall collapses. Each label gets its own threshold, chosen on the validation images for a
//! goal the user picks, stored in the model file and used by prediction.
//!
//! Candidates are the distinct validation probabilities (a label is predicted positive when its
//! probability is `>=` the threshold). The chosen threshold is placed halfway between the
//! chosen probability and the next lower one, which makes the same decisions on the validation
//! images but leaves a margin on both sides for new ones.

use serde::{Deserialize, Serialize};

use crate::scoring::Sweep;
#[cfg(feature = "train")]
use crate::scoring::{ScoreTable, f1, sweep};

/// What the thresholds aim for. JSON: `{ "goal": "maxF1" }`, `{ "goal": "precision",
/// "target": 0.9 }` or `{ "goal": "recall", "target": 0.9 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "goal", rename_all = "camelCase")]
pub enum ThresholdGoal {
    /// The threshold maximising each label's F1.
    #[default]
    #[serde(rename = "maxF1")]
    MaxF1,
    /// The lowest threshold reaching this precision (the most recall under that constraint);
    /// the most precise threshold when none reaches it.
    Precision {
        /// The precision to reach, in (0, 1].
        target: f64,
    },
    /// The highest threshold keeping this recall (the most precision under that constraint).
    Recall {
        /// The recall to keep, in (0, 1].
        target: f64,
    },
}

/// Precision and recall of one label when the threshold is `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CurvePoint {
    /// Labels with probability `>=` this are predicted positive.
    pub threshold: f32,
    /// Precision at this threshold (`tp / (tp + fp)`).
    pub precision: f64,
    /// Recall at this threshold (`tp / positives`).
    pub recall: f64,
}

/// The precision–recall curve of one label: one point per distinct probability, highest
/// threshold first. Empty without examples. NaN probabilities count as 0.
#[cfg(feature = "train")]
pub fn curve(scores: &[f32], truth: &[u8]) -> Vec<CurvePoint> {
    curve_of(&sweep(scores, truth))
}

/// The precision–recall curve of a label already swept (see [`curve`]).
pub fn curve_of(sweep: &Sweep) -> Vec<CurvePoint> {
    sweep
        .points
        .iter()
        .map(|p| CurvePoint {
            threshold: p.threshold,
            precision: p.precision(),
            recall: sweep.recall(p),
        })
        .collect()
}

/// One threshold per label for `goal`, from validation probabilities and targets (`n × labels`,
/// row-major). Labels without a positive or without examples keep 0.5.
#[cfg(feature = "train")]
pub fn tune_thresholds(
    probs: &[f32],
    targets: &[u8],
    labels: usize,
    goal: ThresholdGoal,
) -> Vec<f32> {
    let table = ScoreTable::new(probs, targets, labels);
    (0..labels)
        .map(|j| {
            let (scores, truth) = table.column(j);
            tune_one(&scores, &truth, goal)
        })
        .collect()
}

/// The threshold of one label for `goal`.
#[cfg(feature = "train")]
pub fn tune_one(scores: &[f32], truth: &[u8], goal: ThresholdGoal) -> f32 {
    let points = curve(scores, truth);
    let positives = truth.iter().filter(|t| **t == 1).count();
    if points.is_empty() || positives == 0 {
        return 0.5;
    }
    let f1_of = |p: &CurvePoint| f1(p.precision, p.recall);
    let chosen = match goal {
        ThresholdGoal::MaxF1 => {
            // Best F1; among equals, the threshold nearest 0.5 (the least surprising).
            let mut best = 0;
            for (k, p) in points.iter().enumerate() {
                let (a, b) = (f1_of(p), f1_of(&points[best]));
                let nearer = (p.threshold - 0.5).abs() < (points[best].threshold - 0.5).abs();
                if a > b + 1e-12 || ((a - b).abs() <= 1e-12 && nearer) {
                    best = k;
                }
            }
            best
        }
        ThresholdGoal::Precision { target } => {
            match points.iter().rposition(|p| p.precision >= target) {
                Some(k) => k,
                // Unreachable precision: the most precise point, the lowest such threshold.
                None => {
                    let mut best = 0;
                    for (k, p) in points.iter().enumerate() {
                        if p.precision >= points[best].precision {
                            best = k;
                        }
                    }
                    best
                }
            }
        }
        ThresholdGoal::Recall { target } => {
            points.iter().position(|p| p.recall >= target).unwrap_or(points.len() - 1)
        }
    };
    let next_lower = points.get(chosen + 1).map_or(0.0, |p| p.threshold);
    (points[chosen].threshold + next_lower) / 2.0
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::*;
    use crate::rng::SeededRng;

    /// Precision and recall of one label at `threshold` (0 and 0 when nothing is predicted):
    /// the oracle the tuned thresholds are checked against.
    fn precision_recall_at(scores: &[f32], truth: &[u8], threshold: f32) -> (f64, f64) {
        let mut points = curve(scores, truth);
        points.retain(|p| p.threshold >= threshold);
        points.last().map(|p| (p.precision, p.recall)).unwrap_or((0.0, 0.0))
    }

    fn f1_at(scores: &[f32], truth: &[u8], t: f32) -> f64 {
        let (p, r) = precision_recall_at(scores, truth, t);
        f1(p, r)
    }

    #[test]
    fn curve_by_hand() {
        // Scores 0.9 (pos), 0.8 (neg), 0.8 (pos), 0.3 (pos), 0.1 (neg).
        let scores = [0.9, 0.8, 0.8, 0.3, 0.1];
        let truth = [1, 0, 1, 1, 0];
        let c = curve(&scores, &truth);
        let pr: Vec<(f32, f64, f64)> =
            c.iter().map(|p| (p.threshold, p.precision, p.recall)).collect();
        assert_eq!(
            pr,
            vec![
                (0.9, 1.0, 1.0 / 3.0),
                (0.8, 2.0 / 3.0, 2.0 / 3.0),
                (0.3, 0.75, 1.0),
                (0.1, 0.6, 1.0)
            ]
        );
        assert_eq!(precision_recall_at(&scores, &truth, 0.85), (1.0, 1.0 / 3.0));
        assert_eq!(precision_recall_at(&scores, &truth, 0.95), (0.0, 0.0));
        // Max F1 is at 0.3 (P .75, R 1); the threshold sits halfway to 0.1.
        let t = tune_one(&scores, &truth, ThresholdGoal::MaxF1);
        assert!((t - 0.2).abs() < 1e-6, "{t}");
        // Precision ≥ 0.7 with most recall: 0.3 again; recall ≥ 0.6 with most precision: 0.8.
        let t = tune_one(&scores, &truth, ThresholdGoal::Precision { target: 0.7 });
        assert!((t - 0.2).abs() < 1e-6, "{t}");
        let t = tune_one(&scores, &truth, ThresholdGoal::Recall { target: 0.6 });
        assert!((t - 0.55).abs() < 1e-6, "{t}");
        // Precision 1 is only reached at the top.
        let t = tune_one(&scores, &truth, ThresholdGoal::Precision { target: 1.0 });
        assert!((t - 0.85).abs() < 1e-6, "{t}");
    }

    #[test]
    fn labels_without_positives_keep_one_half() {
        assert_eq!(tune_one(&[0.2, 0.7], &[0, 0], ThresholdGoal::MaxF1), 0.5);
        assert_eq!(tune_thresholds(&[], &[], 3, ThresholdGoal::MaxF1), vec![0.5; 3]);
    }

    #[test]
    fn max_f1_beats_one_half_and_matches_brute_force() {
        let mut rng = SeededRng::new(17);
        for _ in 0..50 {
            let n = 60;
            let truth: Vec<u8> = (0..n).map(|_| u8::from(rng.unit() < 0.2)).collect();
            // Noisy scores, shifted low like a rare label's.
            let scores: Vec<f32> = truth
                .iter()
                .map(|&y| (0.3 * rng.unit() + if y == 1 { 0.15 } else { 0.0 }).min(1.0))
                .collect();
            let t = tune_one(&scores, &truth, ThresholdGoal::MaxF1);
            let tuned = f1_at(&scores, &truth, t);
            let brute =
                (0..=1000).map(|k| f1_at(&scores, &truth, k as f32 / 1000.0)).fold(0.0, f64::max);
            let exact = scores.iter().map(|&s| f1_at(&scores, &truth, s)).fold(0.0, f64::max);
            assert!(tuned >= f1_at(&scores, &truth, 0.5));
            assert!((tuned - exact).abs() < 1e-12, "tuned {tuned}, best {exact}");
            assert!(tuned >= brute - 1e-12);
        }
    }

    #[test]
    fn precision_and_recall_goals_are_reached() {
        let mut rng = SeededRng::new(3);
        let truth: Vec<u8> = (0..200).map(|_| u8::from(rng.unit() < 0.4)).collect();
        let scores: Vec<f32> =
            truth.iter().map(|&y| 0.6 * rng.unit() + 0.4 * f32::from(y) * rng.unit()).collect();
        for target in [0.5, 0.7, 0.9] {
            let t = tune_one(&scores, &truth, ThresholdGoal::Recall { target });
            assert!(precision_recall_at(&scores, &truth, t).1 >= target);
            let t = tune_one(&scores, &truth, ThresholdGoal::Precision { target });
            assert!(precision_recall_at(&scores, &truth, t).0 >= target);
        }
    }

    #[test]
    fn goal_json() {
        let g: ThresholdGoal =
            serde_json::from_str(r#"{"goal":"precision","target":0.9}"#).unwrap();
        assert_eq!(g, ThresholdGoal::Precision { target: 0.9 });
        let g: ThresholdGoal = serde_json::from_str(r#"{"goal":"maxF1"}"#).unwrap();
        assert_eq!(g, ThresholdGoal::MaxF1);
    }
}
