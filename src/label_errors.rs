//! Suspected label errors from out-of-sample probabilities: confident learning (Northcutt,
//! Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021),
//! one label at a time, as cleanlab's multi-label issue finder does (one-vs-rest).
//!
//! For label `j`, with `p` each image's probability of it from a model that did not train on
//! that image (k-fold cross-validation: `train::CrossValidation`):
//! - the per-label thresholds are the model's average confidence in each given value:
//!   `t₁` = the mean of `p` over the images given the label, `t₀` = the mean of `1 − p` over
//!   the images not given it. A model that is unsure of a whole label has low thresholds, one
//!   that is sure has high ones, so each label is judged by its own standard;
//! - an image is *confidently present* when `p ≥ t₁`, *confidently absent* when
//!   `1 − p ≥ t₀` (the more confident of the two when both hold);
//! - it is a **suspect** when it is confidently the other value than the one it was given
//!   (the off-diagonal of the confident joint: cleanlab's `filter_by="confident_learning"`)
//!   and the model's likelier value (`p ≥ 0.5`: present) is not the given one either, as
//!   cleanlab drops the issues its prediction agrees with. Without that, a rare label (whose
//!   `t₁` is low) would make a suspect of every absent image the model gives a little more
//!   than `t₁`, though it still thinks the label absent.
//!
//! Suspects are ranked by self-confidence, `1 − P(given value)` (cleanlab's
//! `"self_confidence"` ranking): the score is near 1 when the model is sure the label is wrong.
//! `benches/label_errors.py` runs cleanlab itself on the same probabilities for comparison.

use serde::Serialize;

use crate::scoring::ScoreTable;

/// One (image, label) pair whose given value the model finds implausible.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuspectedError {
    /// The image's row in the dataset.
    pub index: usize,
    /// The image's path, as `index.csv` names it.
    pub image: String,
    /// The label.
    pub label: String,
    /// The value given in the data: 1 (present) or 0 (absent).
    pub given: u8,
    /// The out-of-sample probability of the label.
    pub probability: f32,
    /// How sure the model is that `given` is wrong: `1 − P(given)`, in [0, 1].
    pub score: f32,
    /// The value suggested instead: `1 − given`.
    pub suggested: u8,
    /// Why it is suspected, in words: the models contradict it, or a duplicate of the image
    /// has the other value.
    pub why: String,
}

/// Why confident learning suspects a pair.
pub const CONTRADICTED: &str = "the models that did not train on it contradict it";

/// Each label's confident-learning thresholds: `(t₀, t₁)`, the mean confidence of the model in
/// "absent" over the images given 0, and in "present" over those given 1 (`None` where no
/// image was given that value: nothing is then confidently that value).
pub fn per_label_thresholds(table: &ScoreTable) -> Vec<(Option<f32>, Option<f32>)> {
    (0..table.labels())
        .map(|j| {
            let (mut sums, mut counts) = ([0.0f64; 2], [0usize; 2]);
            for i in 0..table.rows() {
                let p = f64::from(table.prob(i, j));
                let given = usize::from(table.target(i, j) == 1);
                sums[given] += if given == 1 { p } else { 1.0 - p };
                counts[given] += 1;
            }
            let mean = |v: usize| (counts[v] > 0).then(|| (sums[v] / counts[v] as f64) as f32);
            (mean(0), mean(1))
        })
        .collect()
}

/// The suspected label errors of `table` (out-of-sample probabilities and the given labels),
/// most suspicious first (ties: image order, then label order). `names` and `labels` name the
/// rows and columns.
pub fn suspected_errors(
    table: &ScoreTable,
    names: &[String],
    labels: &[String],
) -> Vec<SuspectedError> {
    let thresholds = per_label_thresholds(table);
    let mut suspects = Vec::new();
    for (j, &(t0, t1)) in thresholds.iter().enumerate() {
        for i in 0..table.rows() {
            let p = table.prob(i, j);
            let present = t1.is_some_and(|t| p >= t);
            let absent = t0.is_some_and(|t| 1.0 - p >= t);
            let confident = match (absent, present) {
                (true, true) => Some(u8::from(p >= 1.0 - p)),
                (false, true) => Some(1),
                (true, false) => Some(0),
                (false, false) => None,
            };
            let given = table.target(i, j);
            let likelier = u8::from(p >= 0.5);
            if confident.is_some_and(|value| value != given) && likelier != given {
                let score = if given == 1 { 1.0 - p } else { p };
                suspects.push(SuspectedError {
                    index: i,
                    image: names.get(i).cloned().unwrap_or_default(),
                    label: labels.get(j).cloned().unwrap_or_default(),
                    given,
                    probability: p,
                    score,
                    suggested: 1 - given,
                    why: CONTRADICTED.into(),
                });
            }
        }
    }
    suspects.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)).then(a.label.cmp(&b.label))
    });
    suspects
}

/// Duplicates whose labels disagree: in each set of `duplicates` (images with the same bytes,
/// or the same pixels at the training size), for each label on which its members differ, the
/// members holding the value fewer of them hold (on a tie, the value the members' mean
/// out-of-sample probability favours less), scored as [`suspected_errors`] scores, with `why`
/// naming a duplicate that has the other value. Merged into `suspects` (a pair already there
/// gains the reason), most suspicious first.
pub fn with_disagreeing_duplicates(
    mut suspects: Vec<SuspectedError>,
    table: &ScoreTable,
    duplicates: &[Vec<usize>],
    names: &[String],
    labels: &[String],
) -> Vec<SuspectedError> {
    for set in duplicates.iter().filter(|set| set.len() > 1) {
        for (j, label) in labels.iter().enumerate().take(table.labels()) {
            let ones = set.iter().filter(|&&i| table.target(i, j) == 1).count();
            let zeros = set.len() - ones;
            if ones == 0 || zeros == 0 {
                continue;
            }
            let mean = set.iter().map(|&i| table.prob(i, j)).sum::<f32>() / set.len() as f32;
            let minority = match ones.cmp(&zeros) {
                std::cmp::Ordering::Less => 1,
                std::cmp::Ordering::Greater => 0,
                std::cmp::Ordering::Equal => u8::from(mean < 0.5),
            };
            let name = |i: usize| names.get(i).cloned().unwrap_or_default();
            let other = set.iter().find(|&&i| table.target(i, j) != minority).map(|&i| name(i));
            let why = format!(
                "a duplicate, {}, has {label} {}",
                other.unwrap_or_default(),
                if minority == 1 { "absent" } else { "present" }
            );
            for &i in set.iter().filter(|&&i| table.target(i, j) == minority) {
                let known = suspects.iter_mut().find(|s| s.index == i && s.label == *label);
                match known {
                    Some(s) => s.why = format!("{}; {why}", s.why),
                    None => {
                        let p = table.prob(i, j);
                        suspects.push(SuspectedError {
                            index: i,
                            image: name(i),
                            label: label.clone(),
                            given: minority,
                            probability: p,
                            score: if minority == 1 { 1.0 - p } else { p },
                            suggested: 1 - minority,
                            why: why.clone(),
                        });
                    }
                }
            }
        }
    }
    suspects.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)).then(a.label.cmp(&b.label))
    });
    suspects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i}.png")).collect()
    }

    #[test]
    fn thresholds_are_the_mean_confidence_in_each_given_value() {
        let probs = [0.9, 0.7, 0.2, 0.4];
        let targets = [1, 1, 0, 0];
        let table = ScoreTable::new(&probs, &targets, 1);
        let [(t0, t1)] = per_label_thresholds(&table)[..] else { panic!() };
        assert!((t1.unwrap() - 0.8).abs() < 1e-6);
        assert!((t0.unwrap() - 0.7).abs() < 1e-6);
        let all_given = ScoreTable::new(&probs, &[1, 1, 1, 1], 1);
        assert_eq!(per_label_thresholds(&all_given)[0].0, None);
    }

    #[test]
    fn a_missing_label_the_model_is_sure_of_and_an_implausible_one_are_suspects() {
        // Label "cat": rows 0–3 given 1, 4–7 given 0. Row 3 is given 1 at p 0.05 (implausible);
        // row 7 is given 0 at p 0.97 (missing). Row 2 (given 1, p 0.6) is unsure, not a suspect.
        let probs = [0.95, 0.9, 0.6, 0.05, 0.1, 0.2, 0.05, 0.97];
        let targets = [1, 1, 1, 1, 0, 0, 0, 0];
        let table = ScoreTable::new(&probs, &targets, 1);
        let found = suspected_errors(&table, &names(8), &["cat".into()]);
        let pairs: Vec<(usize, u8)> = found.iter().map(|s| (s.index, s.given)).collect();
        // Most suspicious first: row 7 (the model is 97 % sure of the label), then row 3 (95 %
        // sure it is absent).
        assert_eq!(pairs, vec![(7, 0), (3, 1)], "{found:?}");
        assert_eq!(found[0].image, "7.png");
        assert_eq!((found[0].suggested, found[1].suggested), (1, 0));
        assert!((found[0].score - 0.97).abs() < 1e-6 && (found[1].score - 0.95).abs() < 1e-6);
    }

    #[test]
    fn a_rare_label_the_model_still_thinks_absent_is_no_suspect() {
        // "rare": its two positives get p 0.3 and 0.4 (t₁ = 0.35). Row 2 (given 0, p 0.38) is
        // confidently present by t₁, but the model still finds the label likelier absent.
        // Row 3 (given 0, p 0.7) is a suspect.
        let probs = [0.3, 0.4, 0.38, 0.7, 0.05, 0.02, 0.04, 0.01];
        let targets = [1, 1, 0, 0, 0, 0, 0, 0];
        let table = ScoreTable::new(&probs, &targets, 1);
        let found = suspected_errors(&table, &names(8), &["rare".into()]);
        let rows: Vec<usize> = found.iter().map(|s| s.index).collect();
        assert_eq!(rows, vec![3], "{found:?}");
    }

    #[test]
    fn suspects_are_ranked_across_labels_by_how_sure_the_model_is() {
        // Two labels; the second's wrong row is more certain than the first's.
        let probs = [0.9, 0.1, 0.8, 0.2, 0.3, 0.99, 0.1, 0.1, 0.2, 0.9, 0.85, 0.8];
        let targets = [1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1];
        let table = ScoreTable::new(&probs, &targets, 2);
        let found = suspected_errors(&table, &names(6), &["a".into(), "b".into()]);
        let pairs: Vec<(usize, &str)> = found.iter().map(|s| (s.index, s.label.as_str())).collect();
        assert_eq!(pairs, vec![(2, "b"), (5, "a"), (2, "a")], "{found:?}");
        assert!(found.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn duplicates_that_disagree_suspect_the_minority() {
        // Rows 0, 1, 2 are one image: 0 and 1 say "cat", 2 does not. Rows 3 and 4 are another,
        // split 1–1, and the models lean to absent (mean 0.2): row 3's "present" is suspect.
        let probs = [0.9, 0.8, 0.7, 0.3, 0.1, 0.5];
        let targets = [1, 1, 0, 1, 0, 0];
        let table = ScoreTable::new(&probs, &targets, 1);
        let sets = vec![vec![0, 1, 2], vec![3, 4]];
        let found = with_disagreeing_duplicates(vec![], &table, &sets, &names(6), &["cat".into()]);
        let pairs: Vec<(usize, u8, u8)> =
            found.iter().map(|s| (s.index, s.given, s.suggested)).collect();
        assert_eq!(pairs, vec![(2, 0, 1), (3, 1, 0)], "{found:?}");
        assert_eq!(found[0].why, "a duplicate, 0.png, has cat present");
        assert!((found[0].score - 0.7).abs() < 1e-6);
        // A pair confident learning found already gains the reason.
        let known = SuspectedError {
            index: 2,
            image: "2.png".into(),
            label: "cat".into(),
            given: 0,
            probability: 0.7,
            score: 0.7,
            suggested: 1,
            why: CONTRADICTED.into(),
        };
        let found =
            with_disagreeing_duplicates(vec![known], &table, &sets, &names(6), &["cat".into()]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].why, format!("{CONTRADICTED}; a duplicate, 0.png, has cat present"));
    }

    #[test]
    fn a_perfect_model_suspects_nothing_and_nan_counts_as_zero() {
        let probs = [1.0, 0.0, 1.0, f32::NAN];
        let table = ScoreTable::new(&probs, &[1, 0, 1, 0], 1);
        assert!(suspected_errors(&table, &names(4), &["x".into()]).is_empty());
    }
}
