//! What the evaluation views stand on, with generated data whose truth is known: the `group`
//! column and duplicates keep subjects on one side of the split, a chosen label set trains a
//! model of those labels, a review's error lists are the mistakes its metrics count, and
//! Grad-CAM points at the evidence.

use crate::common;

use common::{png, zip_of};
use image::RgbImage;
use tagtrain::ComputeDevice;
use tagtrain::Saliency;
use tagtrain::data::{Dataset, DatasetSource, NO_GROUP, stratified_split};
use tagtrain::infer::Predictor;
use tagtrain::unstable::SeededRng;
use tagtrain::{Limits, ResizePolicy, TrainingOptions, TrainingSession, checkpoint};

/// A noisy `size`-px PNG, different for every `seed`.
fn noise_png(size: u32, seed: u64) -> Vec<u8> {
    let mut rng = SeededRng::new(seed);
    png(RgbImage::from_fn(size, size, |_, _| {
        image::Rgb([rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8])
    }))
}

#[test]
fn a_group_column_and_duplicates_keep_subjects_on_one_side() {
    // 240 images of 60 subjects (1 to 7 images each), 3 labels that follow the subject (as a
    // person's attributes do), plus 10 byte-identical copies and 5 pixel-identical re-encodings.
    let mut rng = SeededRng::new(5);
    let mut csv = String::from("image,group,a,b,c\n");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut subject_labels = Vec::new();
    let mut n = 0;
    for subject in 0..60 {
        let labels = [rng.below(2), usize::from(rng.below(4) == 0), rng.below(2)];
        subject_labels.push(labels);
        for _ in 0..1 + rng.below(7) {
            let name = format!("s{subject}_{n}.png");
            csv.push_str(&format!(
                "{name},person {subject},{},{},{}\n",
                labels[0], labels[1], labels[2]
            ));
            files.push((name, noise_png(8, n as u64)));
            n += 1;
        }
    }
    // Copies: the same bytes under another name, listed without a group (a careless export).
    let copies: Vec<(String, Vec<u8>)> =
        (0..10).map(|k| (format!("copy{k}.png"), files[k * 7].1.clone())).collect();
    for (k, (name, _)) in copies.iter().enumerate() {
        let original = &files[k * 7].0;
        let line = csv.lines().find(|l| l.starts_with(&format!("{original},"))).unwrap();
        let labels: Vec<&str> = line.split(',').skip(2).collect();
        csv.push_str(&format!("{name},,{}\n", labels.join(",")));
    }
    files.extend(copies);
    let mut entries: Vec<(&str, Vec<u8>)> = vec![("index.csv", csv.clone().into_bytes())];
    entries.extend(files.iter().map(|(n, b)| (n.as_str(), b.clone())));
    let mut source = DatasetSource::from_zip(zip_of(&entries), &Limits::default()).unwrap();
    let summary = source.summary();
    let groups = summary.profile.group_column.as_ref().expect("the group column is found");
    assert_eq!((groups.column.as_str(), groups.groups), ("group", 60));
    assert_eq!(
        summary.profile.labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(summary.profile.duplicates.len(), 10, "{:?}", summary.profile.duplicates);
    assert!(
        summary.profile.duplicates.iter().all(|set| set.len() == 2 && set[1].starts_with("copy"))
    );
    let dataset = source.decode(8, ResizePolicy::Stretch, |_, _| {}).unwrap();
    assert_eq!(dataset.len(), n + 10);
    assert_eq!(dataset.duplicates.len(), 10);

    for seed in 0..4 {
        let split = stratified_split(&dataset, 0.2, seed);
        assert_eq!(split.train.len() + split.valid.len(), dataset.len());
        let mut side = vec![None; dataset.len()];
        for &i in &split.train {
            side[i] = Some(0);
        }
        for &i in &split.valid {
            side[i] = Some(1);
        }
        // No group on both sides.
        let groups = dataset.groups.as_ref().unwrap();
        for g in 0..60u32 {
            let sides: std::collections::BTreeSet<_> =
                (0..dataset.len()).filter(|&i| groups[i] == g).map(|i| side[i]).collect();
            assert_eq!(sides.len(), 1, "seed {seed}: group {g} is on both sides");
        }
        // No duplicate set on both sides.
        for set in &dataset.duplicates {
            assert!(set.iter().all(|&i| side[i] == side[set[0]]), "seed {seed}: {set:?}");
        }
        // Every label's validation share stays within 10 points of 20 %.
        for j in 0..3 {
            let positives = (0..dataset.len()).filter(|&i| dataset.target(i)[j] == 1).count();
            let valid = split.valid.iter().filter(|&&i| dataset.target(i)[j] == 1).count();
            let share = valid as f64 / positives as f64;
            assert!((share - 0.2).abs() <= 0.10, "seed {seed}, label {j}: {valid} of {positives}");
        }
        let share = split.valid.len() as f64 / dataset.len() as f64;
        assert!((share - 0.2).abs() <= 0.05, "seed {seed}: {share}");
    }
}

#[test]
fn without_groups_or_duplicates_the_split_is_the_image_level_one() {
    // Images alone are units of one: the split does not change for datasets without groups.
    let dataset = common::synthetic_dataset(100, 8, 3);
    let mut grouped = dataset.clone();
    grouped.groups = Some(vec![NO_GROUP; 100]);
    assert_eq!(stratified_split(&dataset, 0.2, 9), stratified_split(&grouped, 0.2, 9));
}

#[test]
fn choosing_two_of_four_labels_trains_a_two_label_model() {
    let base = common::synthetic_dataset(96, 16, 4);
    // A fourth label: the opposite of the first.
    let mut dataset = Dataset {
        labels: vec!["red".into(), "green".into(), "blue".into(), "no_red".into()],
        targets: (0..base.len())
            .flat_map(|i| {
                let t = base.target(i);
                [t[0], t[1], t[2], 1 - t[0]]
            })
            .collect(),
        ..base
    };
    let options = TrainingOptions {
        depth: 11,
        image_size: 16,
        epochs: 1,
        batch_size: 16,
        labels: Some(vec!["blue".into(), "red".into()]),
        ..TrainingOptions::default()
    };
    let mut session =
        TrainingSession::new(dataset.clone(), options, ComputeDevice::cpu(None)).unwrap();
    assert_eq!(session.info().labels, ["blue", "red"]);
    while !pollster::block_on(session.step()).unwrap().done {}
    let (model, metadata) = session.snapshot().unwrap();
    assert_eq!(metadata.labels, ["blue", "red"]);
    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    assert_eq!(checkpoint::read_metadata(&bytes).unwrap().labels, ["blue", "red"]);
    // The blue column really is the first target now.
    assert_eq!(session.dataset().target(5), [dataset.target(5)[2], dataset.target(5)[0]]);

    // Unknown, repeated and empty choices are refused by name.
    let mut refused = |labels: Vec<&str>| {
        dataset
            .select_labels(&labels.iter().map(|l| l.to_string()).collect::<Vec<_>>())
            .unwrap_err()
            .to_string()
    };
    assert!(refused(vec!["purple"]).contains("no label 'purple'"));
    assert!(refused(vec!["red", "red"]).contains("'red' is chosen twice"));
    assert!(refused(vec![]).contains("at least one label"));
}

/// 32-px images on noise: label `square` is a bright 8-px square somewhere in the top-left
/// quadrant; label `bar` a dark horizontal bar somewhere in the bottom half. Independent, each
/// on half of the images.
fn square_and_bar(n: usize, seed: u64) -> (Dataset, Vec<bool>) {
    const SIZE: usize = 32;
    let mut rng = SeededRng::new(seed);
    let mut pixels = Vec::with_capacity(n * SIZE * SIZE * 3);
    let mut targets = Vec::with_capacity(n * 2);
    let mut has_square = Vec::with_capacity(n);
    for _ in 0..n {
        let mut img: Vec<u8> = (0..SIZE * SIZE * 3).map(|_| 70 + rng.below(60) as u8).collect();
        let (square, bar) = (rng.below(2) == 1, rng.below(2) == 1);
        let mut fill = |x0: usize, y0: usize, w: usize, h: usize, value: u8| {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    let p = (y * SIZE + x) * 3;
                    img[p..p + 3].fill(value);
                }
            }
        };
        if square {
            fill(rng.below(SIZE / 2 - 8 + 1), rng.below(SIZE / 2 - 8 + 1), 8, 8, 250);
        }
        if bar {
            fill(rng.below(SIZE - 20), SIZE / 2 + rng.below(SIZE / 2 - 4), 20, 4, 5);
        }
        pixels.extend_from_slice(&img);
        targets.extend([u8::from(square), u8::from(bar)]);
        has_square.push(square);
    }
    let dataset = Dataset {
        image_size: SIZE,
        channels: 3,
        pixels,
        targets,
        labels: vec!["square".into(), "bar".into()],
        names: (0..n).map(|i| format!("img{i}.png")).collect(),
        ..Default::default()
    };
    (dataset, has_square)
}

#[test]
fn grad_cam_puts_a_label_s_heat_on_its_evidence() {
    let (train, _) = square_and_bar(320, 11);
    let options = TrainingOptions {
        depth: 11,
        image_size: 32,
        epochs: 4,
        batch_size: 32,
        learning_rate: 3e-3,
        validation_fraction: Some(0.2),
        seed: 2,
        ..TrainingOptions::default()
    };
    let mut session = TrainingSession::new(train, options, ComputeDevice::cpu(None)).unwrap();
    let mut last = None;
    loop {
        let event = pollster::block_on(session.step()).unwrap();
        last = event.validation.or(last);
        if event.done {
            break;
        }
    }
    let report = last.unwrap();
    assert!(report.metrics.labels[0].ap.unwrap() > 0.9, "square not learned: {:?}", report.metrics);
    let (model, metadata) = session.snapshot().unwrap();

    // The review the page shows after training: the validation images at the tuned thresholds;
    // its error lists are exactly the mistakes its metrics count.
    let review = session.review().unwrap();
    assert_eq!(review.thresholds(), metadata.thresholds.as_slice());
    assert_eq!(review.images(), session.split().valid.as_slice());
    let metrics = review.metrics();
    for (j, m) in metrics.labels.iter().enumerate() {
        let errors = review.errors(j, usize::MAX);
        let tp = m.support - errors.false_negative_count;
        let predicted = tp + errors.false_positive_count;
        assert!(
            (m.precision - if predicted == 0 { 0.0 } else { tp as f64 / predicted as f64 }).abs()
                < 1e-12
        );
        assert!((m.recall - tp as f64 / m.support as f64).abs() < 1e-12);
        for fp in &errors.false_positives {
            let v = review.verdicts(fp.index).unwrap();
            assert!(v.labels[j].positive && !v.labels[j].truth);
        }
        for fneg in &errors.false_negatives {
            let v = review.verdicts(fneg.index).unwrap();
            assert!(!v.labels[j].positive && v.labels[j].truth);
        }
    }

    let bytes = pollster::block_on(checkpoint::save(&model, &metadata)).unwrap();
    let saliency = Saliency::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();
    let predictor = Predictor::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap();

    // Held-out images carrying the square.
    let (held_out, has_square) = square_and_bar(40, 99);
    let mut masses = Vec::new();
    for i in (0..held_out.len()).filter(|&i| has_square[i]) {
        let map = pollster::block_on(saliency.heat_map(held_out.image(i), 0)).unwrap();
        assert_eq!((map.side, map.heat.len()), (32, 32 * 32));
        assert!(map.heat.iter().all(|h| (0.0..=1.0).contains(h)));
        // The map explains the prediction itself: the same probability (batch norm as in
        // prediction, not one image's statistics).
        let predicted = pollster::block_on(predictor.probabilities(&[held_out.image(i)])).unwrap();
        assert!(
            (map.probability - predicted[0]).abs() < 1e-5,
            "{} vs {}",
            map.probability,
            predicted[0]
        );
        masses.push(map.mass_in(0..16, 0..16));
    }
    assert!(masses.len() >= 10);
    let mean = masses.iter().sum::<f64>() / masses.len() as f64;
    eprintln!("saliency mass in the quadrant: mean {mean:.3} over {} images", masses.len());
    let above_half = masses.iter().filter(|&&m| m > 0.5).count();
    assert!(mean > 0.5, "mean saliency mass in the square's quadrant {mean:.3}: {masses:?}");
    assert!(
        above_half * 2 > masses.len(),
        "{above_half} of {} above half: {masses:?}",
        masses.len()
    );
}
