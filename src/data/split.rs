//! Train/validation split that keeps every label represented on both sides.
//!
//! Random splits of multi-label data easily leave a rare label with no validation example (or
//! no training one). This is iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011):
//! labels are handled rarest first, and each example carrying the current label goes to the
//! side that still wants the most examples of it.

use crate::rng::SeededRng;

use super::dataset::Dataset;
use super::index::SplitTag;

/// Indices of the training and validation images.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Indices of the training images.
    pub train: Vec<usize>,
    /// Indices of the validation images.
    pub valid: Vec<usize>,
}

/// Splits `dataset` so that about `valid_fraction` of the images, and of each label's positives,
/// land in validation. The same seed gives the same split.
///
/// When `index.csv` had a `split` column, it decides instead: `train` rows train, `valid` and
/// `test` rows validate (tagtrain never trains on them), and `valid_fraction` is not used.
pub fn stratified_split(dataset: &Dataset, valid_fraction: f64, seed: u64) -> Split {
    if let Some(tags) = &dataset.splits {
        let mut split = Split { train: Vec::new(), valid: Vec::new() };
        for (i, tag) in tags.iter().enumerate() {
            match tag {
                SplitTag::Train => split.train.push(i),
                SplitTag::Valid | SplitTag::Test => split.valid.push(i),
            }
        }
        return split;
    }
    let n = dataset.len();
    let labels = dataset.labels.len();
    let ratios = [1.0 - valid_fraction, valid_fraction];
    let mut rng = SeededRng::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);

    // Desired number of examples per side, overall and per label.
    let mut want_total: [f64; 2] = [ratios[0] * n as f64, ratios[1] * n as f64];
    let mut want: Vec<[f64; 2]> = (0..labels)
        .map(|j| {
            let count = (0..n).filter(|&i| dataset.target(i)[j] == 1).count() as f64;
            [ratios[0] * count, ratios[1] * count]
        })
        .collect();
    let mut side: Vec<Option<usize>> = vec![None; n];
    let mut remaining: Vec<usize> =
        (0..labels).map(|j| (0..n).filter(|&i| dataset.target(i)[j] == 1).count()).collect();

    // The rarest label that still has unassigned examples, until none has.
    while let Some(label) = (0..labels).filter(|&j| remaining[j] > 0).min_by_key(|&j| remaining[j])
    {
        for &i in &order {
            if side[i].is_some() || dataset.target(i)[label] == 0 {
                continue;
            }
            let s = pick_side(want[label], want_total, &mut rng);
            side[i] = Some(s);
            want_total[s] -= 1.0;
            for (j, &t) in dataset.target(i).iter().enumerate() {
                if t == 1 {
                    want[j][s] -= 1.0;
                    remaining[j] -= 1;
                }
            }
        }
    }
    // Examples with no positive label: fill whichever side wants more.
    for &i in &order {
        if side[i].is_none() {
            let s = pick_side(want_total, want_total, &mut rng);
            side[i] = Some(s);
            want_total[s] -= 1.0;
        }
    }
    let mut split = Split { train: Vec::new(), valid: Vec::new() };
    for &i in &order {
        match side[i] {
            Some(1) => split.valid.push(i),
            _ => split.train.push(i),
        }
    }
    split
}

fn pick_side(want: [f64; 2], want_total: [f64; 2], rng: &mut SeededRng) -> usize {
    if want[0] > want[1] {
        0
    } else if want[1] > want[0] {
        1
    } else if want_total[0] > want_total[1] {
        0
    } else if want_total[1] > want_total[0] {
        1
    } else {
        rng.below(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(targets: Vec<Vec<u8>>) -> Dataset {
        let n = targets.len();
        Dataset {
            image_size: 1,
            channels: 3,
            pixels: vec![0; n * 3],
            labels: (0..targets[0].len()).map(|j| format!("l{j}")).collect(),
            targets: targets.into_iter().flatten().collect(),
            names: (0..n).map(|i| i.to_string()).collect(),
            splits: None,
        }
    }

    #[test]
    fn a_split_column_decides() {
        let mut ds = dataset((0..6).map(|i| vec![(i % 2) as u8]).collect());
        ds.splits = Some(vec![
            SplitTag::Train,
            SplitTag::Valid,
            SplitTag::Test,
            SplitTag::Train,
            SplitTag::Train,
            SplitTag::Valid,
        ]);
        let split = stratified_split(&ds, 0.5, 1);
        assert_eq!(split.train, vec![0, 3, 4]);
        assert_eq!(split.valid, vec![1, 2, 5]);
    }

    #[test]
    fn every_label_lands_on_both_sides_and_seed_repeats() {
        // 100 images; label 0 common, label 1 rare (5 positives), label 2 on every third.
        let targets = (0..100)
            .map(|i| vec![(i % 2) as u8, u8::from(i % 20 == 0), u8::from(i % 3 == 0)])
            .collect();
        let ds = dataset(targets);
        let split = stratified_split(&ds, 0.2, 3);
        assert_eq!(split.train.len() + split.valid.len(), 100);
        assert!((18..=22).contains(&split.valid.len()));
        for j in 0..3 {
            assert!(split.valid.iter().any(|&i| ds.target(i)[j] == 1), "label {j}");
            assert!(split.train.iter().any(|&i| ds.target(i)[j] == 1), "label {j}");
        }
        assert_eq!(split, stratified_split(&ds, 0.2, 3));
    }
}
