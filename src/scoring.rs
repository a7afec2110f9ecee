//! The one score sweep behind every per-label number: metrics (average precision, ROC-AUC,
//! F1), tuned thresholds and the precision–recall curves the page draws.
//!
//! Probabilities and targets travel as `n × labels` row-major tables ([`ScoreTable`]); one
//! label's column is swept from the highest score down ([`sweep`]), tied scores forming one
//! threshold, so that every consumer agrees on ties, on NaN (a diverged model's NaN counts as
//! 0, here and only here) and on what a label **positive** means: its score reaches its
//! threshold ([`is_positive`]). "Positive" is the one word for that across the CLI's JSON, the
//! page, the predict package and the docs.

/// A NaN score counts as 0.
pub fn clean(score: f32) -> f32 {
    if score.is_nan() { 0.0 } else { score }
}

/// Whether a label with `score` is predicted positive at `threshold`: `score >= threshold`,
/// NaN counting as 0. Every decision of the product (metrics, reviews, predictions) asks this.
pub fn is_positive(score: f32, threshold: f32) -> bool {
    clean(score) >= threshold
}

/// `k / n`, 0 when `n` is 0 (scikit-learn's `zero_division=0`).
pub fn ratio(k: usize, n: usize) -> f64 {
    if n == 0 { 0.0 } else { k as f64 / n as f64 }
}

/// F1 from precision and recall; 0 when both are 0.
pub fn f1(precision: f64, recall: f64) -> f64 {
    let sum = precision + recall;
    if sum == 0.0 { 0.0 } else { 2.0 * precision * recall / sum }
}

/// Per-label probabilities with their 0/1 targets, `rows × labels`, row-major.
#[derive(Debug, Clone, Copy)]
pub struct ScoreTable<'a> {
    probs: &'a [f32],
    targets: &'a [u8],
    labels: usize,
    rows: usize,
}

impl<'a> ScoreTable<'a> {
    /// Pairs `probs` and `targets` (both `rows × labels`); rows missing from either are left
    /// out.
    pub fn new(probs: &'a [f32], targets: &'a [u8], labels: usize) -> Self {
        let rows = probs.len().checked_div(labels).unwrap_or(0).min(targets.len() / labels.max(1));
        Self { probs, targets, labels, rows }
    }

    /// Number of rows (images).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of labels.
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// The probability of label `j` for row `i`, NaN as 0.
    pub fn prob(&self, i: usize, j: usize) -> f32 {
        clean(self.probs[i * self.labels + j])
    }

    /// The target of label `j` for row `i`.
    pub fn target(&self, i: usize, j: usize) -> u8 {
        self.targets[i * self.labels + j]
    }

    /// Label `j`'s scores (NaN as 0) and targets, one per row.
    pub fn column(&self, j: usize) -> (Vec<f32>, Vec<u8>) {
        (0..self.rows).map(|i| (self.prob(i, j), self.target(i, j))).unzip()
    }
}

/// The cumulative counts when every example scoring at least `threshold` is predicted positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// A distinct score.
    pub threshold: f32,
    /// Positives scoring `>= threshold`.
    pub true_positives: usize,
    /// Negatives scoring `>= threshold`.
    pub false_positives: usize,
}

impl SweepPoint {
    /// `tp / (tp + fp)`.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }
}

/// One label swept from the highest score to the lowest.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// One point per distinct score, highest first.
    pub points: Vec<SweepPoint>,
    /// Positive examples.
    pub positives: usize,
    /// Negative examples.
    pub negatives: usize,
}

impl Sweep {
    /// Recall at a point: `tp / positives` (0 without positives).
    pub fn recall(&self, point: &SweepPoint) -> f64 {
        ratio(point.true_positives, self.positives)
    }
}

/// Sweeps one label: `scores` (NaN as 0) against 0/1 `truth`, pairs beyond the shorter slice
/// ignored.
pub fn sweep(scores: &[f32], truth: &[u8]) -> Sweep {
    let n = scores.len().min(truth.len());
    let mut order: Vec<(f32, bool)> = (0..n).map(|i| (clean(scores[i]), truth[i] == 1)).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = order.iter().filter(|(_, y)| *y).count();
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    let mut k = 0;
    while k < order.len() {
        // Every example sharing a score is one threshold.
        let threshold = order[k].0;
        while k < order.len() && order[k].0 == threshold {
            if order[k].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            k += 1;
        }
        points.push(SweepPoint { threshold, true_positives: tp, false_positives: fp });
    }
    Sweep { points, positives, negatives: n - positives }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_means_reaching_the_threshold_with_nan_as_zero() {
        assert!(is_positive(0.5, 0.5));
        assert!(!is_positive(0.4999, 0.5));
        assert!(is_positive(f32::NAN, 0.0));
        assert!(!is_positive(f32::NAN, 0.1));
    }

    #[test]
    fn ties_form_one_point_and_nan_counts_as_zero() {
        let s = sweep(&[0.9, 0.8, 0.8, f32::NAN, 0.0], &[1, 0, 1, 1, 0]);
        let counts: Vec<(f32, usize, usize)> =
            s.points.iter().map(|p| (p.threshold, p.true_positives, p.false_positives)).collect();
        assert_eq!(counts, vec![(0.9, 1, 0), (0.8, 2, 1), (0.0, 3, 2)]);
        assert_eq!((s.positives, s.negatives), (3, 2));
        assert_eq!(s.recall(&s.points[1]), 2.0 / 3.0);
    }

    #[test]
    fn table_columns_and_ratios() {
        let table = ScoreTable::new(&[0.1, 0.2, f32::NAN, 0.4, 0.5], &[1, 0, 0, 1], 2);
        assert_eq!(table.rows(), 2);
        assert_eq!(table.column(0), (vec![0.1, 0.0], vec![1, 0]));
        assert_eq!(table.column(1), (vec![0.2, 0.4], vec![0, 1]));
        assert_eq!(ratio(1, 0), 0.0);
        assert_eq!(f1(0.0, 0.0), 0.0);
        assert!((f1(0.5, 1.0) - 2.0 / 3.0).abs() < 1e-12);
    }
}
