//! K folds for cross-validation: every image in exactly one fold, each label's positives spread
//! as evenly as the folds allow, and the images that must stay together (a `group`, a set of
//! duplicates) in one fold.
//!
//! The same iterative stratification as the train/validation split ([`super::split`], Sechidis
//! et al. 2011) over `k` sides of equal share: labels rarest first, each unit carrying the
//! current label goes to the fold that still wants the most of that label. Out-of-sample
//! probabilities need it twice over: a duplicate in another fold would hand the model the very
//! label it is asked to question, and a fold without a rare label's positives would leave that
//! label's threshold unmeasured.

use crate::rng::SeededRng;

use super::dataset::Dataset;
use super::split::shuffled_units;

/// The fold (`0..k`) of each image of `dataset`. The same seed gives the same folds.
///
/// `k` is at least 1; a dataset of fewer units than `k` leaves some folds empty.
pub fn stratified_folds(dataset: &Dataset, k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let labels = dataset.labels.len();
    let mut rng = SeededRng::new(seed);
    let (units, unit_counts) = shuffled_units(dataset, &mut rng);
    let n = dataset.len() as f64;
    let mut want_total = vec![n / k as f64; k];
    let mut remaining: Vec<f64> =
        (0..labels).map(|j| unit_counts.iter().map(|c| c[j]).sum()).collect();
    // want[label][fold]: the positives each fold still wants.
    let mut want: Vec<Vec<f64>> = remaining.iter().map(|&p| vec![p / k as f64; k]).collect();
    let mut fold_of_unit: Vec<Option<usize>> = vec![None; units.len()];

    let assign = |u: usize,
                  fold: usize,
                  fold_of_unit: &mut [Option<usize>],
                  want_total: &mut [f64],
                  want: &mut [Vec<f64>],
                  remaining: &mut [f64]| {
        fold_of_unit[u] = Some(fold);
        want_total[fold] -= units[u].len() as f64;
        for (j, &count) in unit_counts[u].iter().enumerate() {
            want[j][fold] -= count;
            remaining[j] -= count;
        }
    };
    // The rarest label that still has unassigned positives, until none has.
    while let Some(label) = (0..labels)
        .filter(|&j| remaining[j] > 0.0)
        .min_by(|&a, &b| remaining[a].total_cmp(&remaining[b]))
    {
        for u in 0..units.len() {
            if fold_of_unit[u].is_some() || unit_counts[u][label] == 0.0 {
                continue;
            }
            let fold = pick_fold(&want[label], &want_total, &mut rng);
            assign(u, fold, &mut fold_of_unit, &mut want_total, &mut want, &mut remaining);
        }
    }
    // Units with no positive label: whichever fold wants more images.
    for u in 0..units.len() {
        if fold_of_unit[u].is_none() {
            let fold = pick_fold(&want_total, &want_total, &mut rng);
            assign(u, fold, &mut fold_of_unit, &mut want_total, &mut want, &mut remaining);
        }
    }
    let mut fold_of = vec![0; dataset.len()];
    for (unit, fold) in units.iter().zip(fold_of_unit) {
        for &i in unit {
            fold_of[i] = fold.unwrap_or(0);
        }
    }
    fold_of
}

/// The fold wanting the most of `want`, then of `want_total`; ties drawn at random.
fn pick_fold(want: &[f64], want_total: &[f64], rng: &mut SeededRng) -> usize {
    let best = |score: &dyn Fn(usize) -> (f64, f64)| {
        let top = (0..want.len()).map(score).fold((f64::MIN, f64::MIN), |a, b| {
            if b.0 > a.0 || (b.0 == a.0 && b.1 > a.1) { b } else { a }
        });
        (0..want.len()).filter(|&f| score(f) == top).collect::<Vec<_>>()
    };
    let tied = best(&|f| (want[f], want_total[f]));
    tied[rng.below(tied.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(targets: &[[u8; 2]], duplicates: Vec<Vec<usize>>) -> Dataset {
        let n = targets.len();
        Dataset {
            image_size: 1,
            channels: 3,
            pixels: vec![0; n * 3],
            labels: vec!["rare".into(), "common".into()],
            targets: targets.iter().flatten().copied().collect(),
            names: (0..n).map(|i| format!("{i}.png")).collect(),
            splits: None,
            groups: None,
            duplicates,
            sound: None,
            strips: None,
            label_edits: 0,
            ..Dataset::default()
        }
    }

    #[test]
    fn every_fold_gets_a_share_of_each_label_and_of_the_images() {
        // 8 positives of "rare" among 100 images, 50 of "common".
        let targets: Vec<[u8; 2]> =
            (0..100).map(|i| [u8::from(i % 12 == 0 && i < 96), u8::from(i % 2 == 0)]).collect();
        let data = dataset(&targets, vec![]);
        let folds = stratified_folds(&data, 4, 7);
        assert_eq!(folds.len(), 100);
        for fold in 0..4 {
            let members: Vec<usize> = (0..100).filter(|&i| folds[i] == fold).collect();
            assert!((24..=26).contains(&members.len()), "fold {fold}: {}", members.len());
            let rare = members.iter().filter(|&&i| targets[i][0] == 1).count();
            assert_eq!(rare, 2, "fold {fold} holds 2 of the 8 rare positives");
            let common = members.iter().filter(|&&i| targets[i][1] == 1).count();
            assert!((12..=13).contains(&common), "fold {fold}: {common} common");
        }
        assert_eq!(folds, stratified_folds(&data, 4, 7), "the same seed, the same folds");
        assert_ne!(folds, stratified_folds(&data, 4, 8), "another seed, other folds");
    }

    #[test]
    fn duplicates_share_a_fold() {
        let targets: Vec<[u8; 2]> =
            (0..40).map(|i| [u8::from(i < 10), u8::from(i % 3 == 0)]).collect();
        let sets = vec![vec![0, 17, 33], vec![5, 6]];
        let folds = stratified_folds(&dataset(&targets, sets.clone()), 5, 1);
        for set in sets {
            assert!(set.iter().all(|&i| folds[i] == folds[set[0]]), "{set:?}: {folds:?}");
        }
        assert!(folds.iter().all(|&f| f < 5));
    }
}
