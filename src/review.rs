//! A model looked at image by image: its curves, its mistakes and its worst images.
//!
//! A [`Review`] holds a model's probabilities for a set of labelled images (a run's validation
//! images, or every image of a dataset it was evaluated on) and the thresholds in force. Every
//! view of the page and the HTML report asks it, so that a table, a curve and a gallery never
//! disagree: a false positive listed in a gallery is exactly one the precision in the table
//! counts, at the same threshold.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::{MultiLabelMetrics, evaluate};
use crate::scoring::{ScoreTable, is_positive, ratio, sweep};
use crate::thresholds::{CurvePoint, curve_of};

/// Which images a review measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ReviewSource {
    /// The validation images of the run that trained the model.
    Validation,
    /// Every image of a labelled dataset (`tagtrain eval`, the page's *Evaluate*).
    Evaluation,
}

/// A model's probabilities for labelled images, at the thresholds in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    source: ReviewSource,
    labels: Vec<String>,
    thresholds: Vec<f32>,
    /// Each reviewed image's index in its dataset.
    images: Vec<usize>,
    /// Each reviewed image's name.
    names: Vec<String>,
    /// `images × labels` probabilities, row-major.
    probs: Vec<f32>,
    /// `images × labels` 0/1 truth, row-major.
    targets: Vec<u8>,
}

/// One point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RocPoint {
    /// Images with a probability `>=` this are predicted positive (`f32::MAX` for the curve's
    /// start, where nothing is).
    pub threshold: f32,
    /// False-positive rate: `fp / negatives`.
    pub fpr: f64,
    /// True-positive rate (recall): `tp / positives`.
    pub tpr: f64,
}

/// Where a label stands at its threshold in force: the point the page draws on its curves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OperatingPoint {
    /// The threshold in force.
    pub threshold: f32,
    /// Precision there.
    pub precision: f64,
    /// Recall (true-positive rate) there.
    pub recall: f64,
    /// False-positive rate there.
    pub fpr: f64,
}

/// A label's curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LabelCurves {
    /// The label's name.
    pub label: String,
    /// Average precision (`None` without positives).
    pub ap: Option<f64>,
    /// ROC AUC (`None` with one class only).
    pub roc_auc: Option<f64>,
    /// Precision–recall curve, highest threshold first.
    pub pr: Vec<CurvePoint>,
    /// ROC curve from (0, 0) to (1, 1), highest threshold first.
    pub roc: Vec<RocPoint>,
    /// The label at its threshold in force.
    pub current: OperatingPoint,
}

/// What the page shows of a review, and the report prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReviewSummary {
    /// Which images were measured.
    pub source: ReviewSource,
    /// How many.
    pub images: usize,
    /// The model's labels.
    pub labels: Vec<String>,
    /// The thresholds in force, one per label.
    pub thresholds: Vec<f32>,
    /// Every metric at those thresholds.
    pub metrics: MultiLabelMetrics,
    /// Every label's curves.
    pub curves: Vec<LabelCurves>,
}

/// One reviewed image in a gallery.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReviewedImage {
    /// Its index in the dataset.
    pub index: usize,
    /// Its name (path in the zip).
    pub name: String,
    /// The probability of the label asked about (`None` in [`Review::most_wrong`]).
    pub probability: Option<f32>,
    /// Its mean binary cross-entropy over the labels.
    pub loss: f64,
}

/// One label's mistakes at its threshold in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LabelErrors {
    /// The label.
    pub label: String,
    /// Its threshold in force.
    pub threshold: f32,
    /// Every false positive (the list stops at the limit asked).
    pub false_positive_count: usize,
    /// Every false negative.
    pub false_negative_count: usize,
    /// Predicted but absent, highest probability first.
    pub false_positives: Vec<ReviewedImage>,
    /// Present but missed, lowest probability first.
    pub false_negatives: Vec<ReviewedImage>,
}

/// One label of one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LabelVerdict {
    /// The label.
    pub label: String,
    /// The model's probability.
    pub probability: f32,
    /// The threshold in force.
    pub threshold: f32,
    /// The image carries the label.
    pub truth: bool,
    /// The model says it does (`probability >= threshold`).
    pub positive: bool,
}

/// Every label of one reviewed image against its truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImageVerdicts {
    /// Its index in the dataset.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// In the model's label order.
    pub labels: Vec<LabelVerdict>,
}

/// Probabilities are clamped this far from 0 and 1 in losses, as the training loss's logits
/// are finite.
const LOSS_EPSILON: f64 = 1e-7;

impl Review {
    /// A review of `images` (dataset indices, with their `names`), given their probabilities
    /// and truth (`images × labels`, row-major) and the thresholds in force.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] when the sizes disagree.
    pub fn new(
        source: ReviewSource,
        labels: Vec<String>,
        thresholds: Vec<f32>,
        images: Vec<usize>,
        names: Vec<String>,
        probs: Vec<f32>,
        targets: Vec<u8>,
    ) -> Result<Self> {
        let (n, l) = (images.len(), labels.len());
        if names.len() != n
            || probs.len() != n * l
            || targets.len() != n * l
            || thresholds.len() != l
        {
            return Err(Error::misuse(format!(
                "a review of {n} images and {l} labels needs {n} names, {0} probabilities and \
                 targets and {l} thresholds",
                n * l
            )));
        }
        Ok(Self { source, labels, thresholds, images, names, probs, targets })
    }

    /// The labels, in the model's order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }

    /// Number of reviewed images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// True when no image is reviewed.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Dataset indices of the reviewed images.
    pub fn images(&self) -> &[usize] {
        &self.images
    }

    /// The probabilities, `images × labels` row-major (in [`Review::images`]' order).
    pub fn probabilities(&self) -> &[f32] {
        &self.probs
    }

    /// Uses new thresholds (one per label) from now on.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] for another count.
    pub fn set_thresholds(&mut self, thresholds: &[f32]) -> Result<()> {
        if thresholds.len() != self.labels.len() {
            return Err(Error::misuse(format!(
                "{} thresholds for {} labels",
                thresholds.len(),
                self.labels.len()
            )));
        }
        self.thresholds = thresholds.to_vec();
        Ok(())
    }

    fn table(&self) -> ScoreTable<'_> {
        ScoreTable::new(&self.probs, &self.targets, self.labels.len())
    }

    /// Every metric at the thresholds in force.
    pub fn metrics(&self) -> MultiLabelMetrics {
        evaluate(&self.labels, &self.probs, &self.targets, &self.thresholds)
    }

    /// Metrics and every label's curves.
    pub fn summary(&self) -> ReviewSummary {
        let metrics = self.metrics();
        let table = self.table();
        let curves = (0..self.labels.len())
            .map(|j| {
                let (scores, truth) = table.column(j);
                let sweep = sweep(&scores, &truth);
                let (positives, negatives) = (sweep.positives, sweep.negatives);
                let pr = curve_of(&sweep);
                let start = RocPoint { threshold: f32::MAX, fpr: 0.0, tpr: 0.0 };
                let roc = std::iter::once(start)
                    .chain(sweep.points.iter().map(|p| RocPoint {
                        threshold: p.threshold,
                        fpr: ratio(p.false_positives, negatives),
                        tpr: ratio(p.true_positives, positives),
                    }))
                    .collect();
                let threshold = self.thresholds[j];
                let at = sweep.points.iter().rev().find(|p| p.threshold >= threshold);
                let m = &metrics.labels[j];
                let current = OperatingPoint {
                    threshold,
                    precision: m.precision,
                    recall: m.recall,
                    fpr: at.map(|p| ratio(p.false_positives, negatives)).unwrap_or(0.0),
                };
                LabelCurves {
                    label: self.labels[j].clone(),
                    ap: m.ap,
                    roc_auc: m.roc_auc,
                    pr,
                    roc,
                    current,
                }
            })
            .collect();
        ReviewSummary {
            source: self.source,
            images: self.len(),
            labels: self.labels.clone(),
            thresholds: self.thresholds.clone(),
            metrics,
            curves,
        }
    }

    /// Mean binary cross-entropy of reviewed image `r` over the labels.
    fn loss(&self, r: usize) -> f64 {
        let table = self.table();
        let l = self.labels.len();
        let total: f64 = (0..l)
            .map(|j| {
                let p = f64::from(table.prob(r, j)).clamp(LOSS_EPSILON, 1.0 - LOSS_EPSILON);
                if table.target(r, j) == 1 { -p.ln() } else { -(1.0 - p).ln() }
            })
            .sum();
        total / l.max(1) as f64
    }

    fn reviewed(&self, r: usize, probability: Option<f32>) -> ReviewedImage {
        ReviewedImage {
            index: self.images[r],
            name: self.names[r].clone(),
            probability,
            loss: self.loss(r),
        }
    }

    /// The label's position among the model's labels.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] naming the labels there are.
    pub fn label_index(&self, label: &str) -> Result<usize> {
        (self.labels.iter().position(|l| l == label))
            .ok_or_else(|| Error::no_such_label("model", label, &self.labels))
    }

    /// The false positives and false negatives of label `j` at its threshold in force, the
    /// most confident mistakes first, at most `limit` of each (the counts are of all).
    pub fn errors(&self, j: usize, limit: usize) -> LabelErrors {
        let table = self.table();
        let threshold = self.thresholds[j];
        let mut fps = Vec::new();
        let mut fns = Vec::new();
        for r in 0..self.len() {
            let p = table.prob(r, j);
            match (is_positive(p, threshold), table.target(r, j) == 1) {
                (true, false) => fps.push((p, r)),
                (false, true) => fns.push((p, r)),
                _ => {}
            }
        }
        fps.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        fns.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let list = |v: &[(f32, usize)]| {
            v.iter().take(limit).map(|&(p, r)| self.reviewed(r, Some(p))).collect()
        };
        LabelErrors {
            label: self.labels[j].clone(),
            threshold,
            false_positive_count: fps.len(),
            false_negative_count: fns.len(),
            false_positives: list(&fps),
            false_negatives: list(&fns),
        }
    }

    /// The `limit` reviewed images with the highest loss, highest first.
    pub fn most_wrong(&self, limit: usize) -> Vec<ReviewedImage> {
        let mut losses: Vec<(f64, usize)> = (0..self.len()).map(|r| (self.loss(r), r)).collect();
        losses.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        losses.iter().take(limit).map(|&(_, r)| self.reviewed(r, None)).collect()
    }

    /// Every label of the reviewed image with dataset index `index`; `None` when it is not
    /// reviewed.
    pub fn verdicts(&self, index: usize) -> Option<ImageVerdicts> {
        let r = self.images.iter().position(|&i| i == index)?;
        let table = self.table();
        let labels = (0..self.labels.len())
            .map(|j| {
                let probability = table.prob(r, j);
                LabelVerdict {
                    label: self.labels[j].clone(),
                    probability,
                    threshold: self.thresholds[j],
                    truth: table.target(r, j) == 1,
                    positive: is_positive(probability, self.thresholds[j]),
                }
            })
            .collect();
        Some(ImageVerdicts { index, name: self.names[r].clone(), labels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 6 images, 2 labels.
    fn review() -> Review {
        let probs = vec![0.9, 0.1, 0.8, 0.7, 0.3, 0.6, 0.6, 0.2, 0.1, 0.95, 0.45, 0.5];
        let targets = vec![1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0];
        Review::new(
            ReviewSource::Validation,
            vec!["a".into(), "b".into()],
            vec![0.5, 0.5],
            vec![10, 11, 12, 13, 14, 15],
            (0..6).map(|i| format!("img{i}.png")).collect(),
            probs,
            targets,
        )
        .unwrap()
    }

    fn indices(images: &[ReviewedImage]) -> Vec<usize> {
        images.iter().map(|i| i.index).collect()
    }

    #[test]
    fn errors_are_what_the_metrics_count_and_follow_the_threshold() {
        let mut review = review();
        // Label a: probs 0.9 0.8 0.3 0.6 0.1 0.45, truth 1 0 1 0 0 1.
        let errors = review.errors(0, 10);
        assert_eq!(indices(&errors.false_positives), vec![11, 13]); // 0.8 then 0.6
        assert_eq!(indices(&errors.false_negatives), vec![12, 15]); // 0.3 then 0.45
        let m = &review.metrics().labels[0];
        let tp = m.support - errors.false_negative_count;
        assert!(
            (m.precision - tp as f64 / (tp + errors.false_positive_count) as f64).abs() < 1e-12
        );
        assert!((m.recall - tp as f64 / m.support as f64).abs() < 1e-12);

        review.set_thresholds(&[0.25, 0.5]).unwrap();
        let errors = review.errors(0, 1);
        assert_eq!(indices(&errors.false_positives), vec![11]);
        assert_eq!((errors.false_positive_count, errors.false_negative_count), (2, 0));
        let summary = review.summary();
        assert_eq!(summary.curves[0].current.threshold, 0.25);
        assert_eq!(summary.curves[0].current.recall, 1.0);
        assert_eq!(summary.curves[0].current.precision, 0.6);
        assert!((summary.curves[0].current.fpr - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn curves_span_the_sweep_and_most_wrong_ranks_by_loss() {
        let summary = review().summary();
        let roc = &summary.curves[1].roc;
        assert_eq!((roc[0].fpr, roc[0].tpr), (0.0, 0.0));
        let last = roc.last().unwrap();
        assert_eq!((last.fpr, last.tpr), (1.0, 1.0));
        assert_eq!(summary.curves[1].pr.len(), 6);
        // The ranking is by mean binary cross-entropy; image 12 (a: 0.3, truth 1; b: 0.6,
        // truth 1) checked against a direct computation.
        let worst = review().most_wrong(6);
        let bce = |p: f64, y: bool| if y { -p.ln() } else { -(1.0 - p).ln() };
        let loss12 = (bce(0.3, true) + bce(0.6, true)) / 2.0;
        let w12 = worst.iter().find(|w| w.index == 12).unwrap();
        assert!((w12.loss - loss12).abs() < 1e-6); // f32 probabilities
        assert!(worst.windows(2).all(|w| w[0].loss >= w[1].loss));
    }

    #[test]
    fn verdicts_of_one_image() {
        let v = review().verdicts(13).unwrap();
        assert_eq!(v.name, "img3.png");
        assert!(v.labels[0].positive && !v.labels[0].truth);
        assert!(!v.labels[1].positive && !v.labels[1].truth);
        assert!(review().verdicts(99).is_none());
    }
}
