//! Train/validation split that keeps every label represented on both sides.
//!
//! Random splits of multi-label data easily leave a rare label with no validation example (or
//! no training one). This is iterative stratification (Sechidis, Tsoumakas & Vlahavas, 2011):
//! labels are handled rarest first, and each example carrying the current label goes to the
//! side that still wants the most examples of it.
//!
//! An example here is a *unit* of images that must stay together: the images of one value of
//! the `group` column (one person, one scene), or a set of duplicate images. A random
//! image-level split puts a subject on both sides and validation then measures memory, not
//! generalisation; units prevent that, and stratification still balances each label's share as
//! far as the units' sizes allow.

use crate::rng::SeededRng;

use super::dataset::Dataset;
use super::duplicates::merge_sets;
use super::index::{NO_GROUP, SplitTag};
use super::summary::RARE_LABEL_EXAMPLES;

/// The validation share a dataset needs, for runs that leave it to the data.
///
/// A large dataset keeps 10 % for validation: 200 or more images measure mAP well, and every
/// image more in training helps. A small one keeps more, up to 20 % at 500 images and fewer
/// (linear in between), because a handful of validation images makes a noisy mAP and noisy
/// thresholds. Then each label that can be validated at all (at least
/// [`RARE_LABEL_EXAMPLES`] positives) should expect [`VALIDATION_POSITIVES`] positives in
/// validation: the share rises to that, up to 30 %. Negatives count alike (a label on nearly
/// every image needs validation images without it).
pub fn validation_share(dataset: &Dataset) -> f64 {
    const LARGE: f64 = 2000.0;
    const SMALL: f64 = 500.0;
    let n = dataset.len() as f64;
    let by_size = 0.1 + 0.1 * ((LARGE - n) / (LARGE - SMALL)).clamp(0.0, 1.0);
    let rarest = (0..dataset.labels.len())
        .map(|j| {
            let positives = (0..dataset.len()).filter(|&i| dataset.target(i)[j] == 1).count();
            positives.min(dataset.len() - positives)
        })
        .filter(|&count| count >= RARE_LABEL_EXAMPLES)
        .min();
    let by_label = rarest.map_or(0.0, |count| VALIDATION_POSITIVES as f64 / count as f64);
    by_size.max(by_label.min(0.3))
}

/// Positives (and negatives) of each label that [`validation_share`] wants in validation.
pub const VALIDATION_POSITIVES: usize = 4;

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
    // The units that go to one side whole: a group, a set of duplicates, or one image.
    let (units, unit_counts) = shuffled_units(dataset, &mut rng);

    // Desired number of examples per side, overall and per label.
    let mut want_total: [f64; 2] = [ratios[0] * n as f64, ratios[1] * n as f64];
    let positives: Vec<usize> =
        (0..labels).map(|j| (0..n).filter(|&i| dataset.target(i)[j] == 1).count()).collect();
    let mut want: Vec<[f64; 2]> = positives
        .iter()
        .map(|&count| [ratios[0] * count as f64, ratios[1] * count as f64])
        .collect();
    let mut side: Vec<Option<usize>> = vec![None; units.len()];
    let mut remaining = positives;
    let assign = |u: usize,
                  s: usize,
                  side: &mut [Option<usize>],
                  remaining: &mut [usize],
                  want_total: &mut [f64; 2],
                  want: &mut [[f64; 2]]| {
        side[u] = Some(s);
        want_total[s] -= units[u].len() as f64;
        for (j, &count) in unit_counts[u].iter().enumerate() {
            want[j][s] -= count;
            remaining[j] -= count as usize;
        }
    };

    // The rarest label that still has unassigned examples, until none has.
    while let Some(label) = (0..labels).filter(|&j| remaining[j] > 0).min_by_key(|&j| remaining[j])
    {
        for u in 0..units.len() {
            if side[u].is_some() || unit_counts[u][label] == 0.0 {
                continue;
            }
            let s = pick_side(want[label], want_total, &mut rng);
            assign(u, s, &mut side, &mut remaining, &mut want_total, &mut want);
        }
    }
    // Units with no positive label: fill whichever side wants more.
    for u in 0..units.len() {
        if side[u].is_none() {
            let s = pick_side(want_total, want_total, &mut rng);
            assign(u, s, &mut side, &mut remaining, &mut want_total, &mut want);
        }
    }
    let mut split = Split { train: Vec::new(), valid: Vec::new() };
    for (unit, s) in units.iter().zip(&side) {
        match s {
            Some(1) => split.valid.extend(unit),
            _ => split.train.extend(unit),
        }
    }
    split
}

/// [`units`] in a seeded random order, with each unit's positives per label.
pub(super) fn shuffled_units(
    dataset: &Dataset,
    rng: &mut SeededRng,
) -> (Vec<Vec<usize>>, Vec<Vec<f64>>) {
    let mut units = units(dataset);
    rng.shuffle(&mut units);
    let counts = units
        .iter()
        .map(|unit| {
            (0..dataset.labels.len())
                .map(|j| unit.iter().filter(|&&i| dataset.target(i)[j] == 1).count() as f64)
                .collect()
        })
        .collect();
    (units, counts)
}

/// The images that must share a side, each unit in index order, units in order of their first
/// image: the images of one `group` value, sets of duplicates (merged with the groups they
/// touch), and every other image alone.
fn units(dataset: &Dataset) -> Vec<Vec<usize>> {
    let n = dataset.len();
    let mut sets = dataset.duplicates.clone();
    if let Some(groups) = &dataset.groups {
        let mut members: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (i, &g) in groups.iter().enumerate().filter(|(_, g)| **g != NO_GROUP) {
            members.entry(g).or_default().push(i);
        }
        sets.extend(members.into_values().filter(|m| m.len() > 1));
    }
    let merged = merge_sets(n, sets);
    let mut unit_of: Vec<Option<usize>> = vec![None; n];
    for (k, set) in merged.iter().enumerate() {
        for &i in set {
            unit_of[i] = Some(k);
        }
    }
    let mut units = Vec::new();
    for (i, unit) in unit_of.iter().enumerate() {
        match *unit {
            None => units.push(vec![i]),
            // A set joins the list at its first image.
            Some(k) if merged[k][0] == i => units.push(merged[k].clone()),
            Some(_) => {}
        }
    }
    units
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
            ..Default::default()
        }
    }

    /// `n` images, label 0 on every `every`-th image.
    fn sized(n: usize, every: usize) -> Dataset {
        dataset((0..n).map(|i| vec![u8::from(i % every == 0)]).collect())
    }

    #[test]
    fn validation_share_follows_size_and_rare_labels() {
        // Large datasets keep 10 %, small ones 20 %, linear in between.
        assert!((validation_share(&sized(5000, 2)) - 0.1).abs() < 1e-12);
        assert!((validation_share(&sized(400, 2)) - 0.2).abs() < 1e-12);
        assert!((validation_share(&sized(1250, 2)) - 0.15).abs() < 1e-12);
        // 5000 images with 20 positives: 4 of them in validation needs 20 %.
        assert!((validation_share(&sized(5000, 250)) - 0.2).abs() < 1e-12);
        // 10 positives would need 40 %: capped at 30 %.
        assert!((validation_share(&sized(5000, 500)) - 0.3).abs() < 1e-12);
        // A label too rare to validate (5 positives) does not move it.
        assert!((validation_share(&sized(5000, 1000)) - 0.1).abs() < 1e-12);
        // Rare negatives count like rare positives.
        let mostly = dataset((0..5000).map(|i| vec![u8::from(i % 250 != 0)]).collect());
        assert!((validation_share(&mostly) - 0.2).abs() < 1e-12);
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
