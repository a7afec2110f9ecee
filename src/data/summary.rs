//! What the user sees of a dataset before training: label counts, image sizes, labels per
//! image, co-occurrence, the split column, warnings, and the recommended model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::ResNetKind;
use crate::options::TrainingOptions;

use super::image::{ImageHeader, all_grayscale};
use super::index::{IndexCsv, SplitTag};

/// Labels and pixel sizes of a dataset, shown to the user before training.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DatasetSummary {
    /// Number of images (rows).
    pub images: usize,
    /// Name of the CSV column the image paths were read from.
    pub image_column: String,
    /// Per-label counts.
    pub labels: Vec<LabelCount>,
    /// Distinct image sizes with how many images have each, most common first.
    pub sizes: Vec<SizeCount>,
    /// Smallest side of any image.
    pub min_side: u32,
    /// Largest side of any image.
    pub max_side: u32,
    /// Problems that do not stop training.
    pub warnings: Vec<String>,
    /// What the brief recommends for these images.
    pub recommended: Recommendation,
    /// `labels_per_image[k]`: how many images carry exactly `k` labels.
    pub labels_per_image: Vec<usize>,
    /// `cooccurrence[a][b]`: images carrying both label `a` and label `b` (the diagonal holds
    /// each label's positives).
    pub cooccurrence: Vec<Vec<usize>>,
    /// Every image is grayscale: training uses one channel.
    pub grayscale: bool,
    /// Images per side of the `split` column, when the CSV has one.
    pub split_column: Option<SplitCounts>,
    /// The `group` column, when the CSV has one.
    pub group_column: Option<GroupCounts>,
    /// Images whose files are byte for byte the same, each set of names in index order; the
    /// split keeps a set on one side.
    pub duplicates: Vec<Vec<String>>,
}

/// What the `group` column holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct GroupCounts {
    /// The column's header.
    pub column: String,
    /// Distinct groups (each image with an empty cell is a group of its own, not counted).
    pub groups: usize,
    /// Most images in one group.
    pub largest: usize,
}

/// A label with fewer positives (or negatives) than this is flagged: a 20 % validation share
/// then holds one or two of them, too few to learn from or to measure.
pub const RARE_LABEL_EXAMPLES: usize = 10;

/// How many rows the `split` column puts on each side.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SplitCounts {
    /// Rows tagged `train`.
    pub train: usize,
    /// Rows tagged `valid`.
    pub valid: usize,
    /// Rows tagged `test`.
    pub test: usize,
}

/// Positive and negative examples of one label.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LabelCount {
    /// The label column's name.
    pub name: String,
    /// Images carrying the label.
    pub positives: usize,
    /// Images without it.
    pub negatives: usize,
    /// Set when the label has too few positive (or negative) examples to learn or validate,
    /// e.g. "3 positives: too few to learn or to validate".
    pub note: Option<String>,
}

/// How many images have one size.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SizeCount {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Images of this size.
    pub count: usize,
}

/// The model kind, depth and image size the brief recommends for a dataset.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// `"small"` for images up to 96 px, `"large"` above.
    pub kind: ResNetKind,
    /// The smallest depth of that kind ("try the smallest first").
    pub depth: usize,
    /// Training image size in pixels (square).
    pub image_size: u32,
    /// Images per step ([`Recommendation::batch_for_images`]; a browser tab's memory may
    /// lower it: [`crate::DatasetSource::summary`]).
    pub batch_size: usize,
}

impl Recommendation {
    /// The brief: 10–96 px → ResNetV2 Small; 96–320 px → Large; above 320 px → resize to 320.
    pub fn for_sides(median_side: u32) -> Self {
        let (small, large) = (ResNetKind::Small, ResNetKind::Large);
        let image_size =
            median_side.clamp(*small.recommended_sides().start(), *large.recommended_sides().end());
        let kind = if small.recommended_sides().contains(&image_size) { small } else { large };
        let batch_size = TrainingOptions::default().batch_size;
        Self { kind, depth: kind.depths()[0], image_size, batch_size }
    }

    /// Images per step for a dataset of `images`: enough steps an epoch for the optimiser to
    /// make progress (about 30 or more), in batches large enough to use the hardware and to
    /// give batch norm steady statistics. A power of two from 8 to 64: 3,000 images train in
    /// batches of 64, 1,000 in 32, 60 in 8.
    pub fn batch_for_images(images: usize) -> usize {
        const STEPS_PER_EPOCH: usize = 30;
        let mut batch = 8;
        while batch < 64 && batch * 2 * STEPS_PER_EPOCH <= images {
            batch *= 2;
        }
        batch
    }
}

impl DatasetSummary {
    /// The summary of a checked dataset: its `index.csv`, each row's image header, and the
    /// warnings found while checking.
    pub fn new(index: &IndexCsv, headers: &[ImageHeader], warnings: &[String]) -> Self {
        let n = index.len();
        let labels = index
            .labels
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let positives = index.rows().filter(|r| r.labels[j] == 1).count();
                let negatives = n - positives;
                let note = if positives < RARE_LABEL_EXAMPLES {
                    Some(format!("{positives} positives: too few to learn or to validate"))
                } else if negatives < RARE_LABEL_EXAMPLES {
                    Some(format!("{negatives} negatives: too few to learn or to validate"))
                } else {
                    None
                };
                LabelCount { name: name.clone(), positives, negatives, note }
            })
            .collect();
        let mut by_size: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for h in headers {
            *by_size.entry((h.width, h.height)).or_default() += 1;
        }
        let mut sizes: Vec<SizeCount> = by_size
            .into_iter()
            .map(|((width, height), count)| SizeCount { width, height, count })
            .collect();
        sizes.sort_by_key(|s| std::cmp::Reverse(s.count));
        let mut sides: Vec<u32> = headers.iter().map(|h| h.width.min(h.height)).collect();
        sides.sort_unstable();
        let median = sides.get(sides.len() / 2).copied().unwrap_or(32);
        let l = index.labels.len();
        let mut labels_per_image = vec![0usize; l + 1];
        let mut cooccurrence = vec![vec![0usize; l]; l];
        for row in index.rows() {
            let on: Vec<usize> = (0..l).filter(|&j| row.labels[j] == 1).collect();
            labels_per_image[on.len()] += 1;
            for &a in &on {
                for &b in &on {
                    cooccurrence[a][b] += 1;
                }
            }
        }
        let split_column = index.has_split.then(|| {
            let count = |tag| index.rows().filter(|r| r.split == Some(tag)).count();
            SplitCounts {
                train: count(SplitTag::Train),
                valid: count(SplitTag::Valid),
                test: count(SplitTag::Test),
            }
        });
        let group_column = index.group_column.as_ref().map(|column| {
            let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
            for g in index.rows().filter_map(|r| r.group) {
                *sizes.entry(g).or_default() += 1;
            }
            GroupCounts {
                column: column.clone(),
                groups: sizes.len(),
                largest: sizes.values().copied().max().unwrap_or(0),
            }
        });
        let mut warnings = warnings.to_vec();
        if sizes.len() > 1 {
            warnings.push(format!(
                "images have {} different sizes; they are resized to one square size for training",
                sizes.len()
            ));
        }
        Self {
            images: n,
            image_column: index.image_column.clone(),
            labels,
            sizes,
            min_side: headers.iter().map(|h| h.width.min(h.height)).min().unwrap_or(0),
            max_side: headers.iter().map(|h| h.width.max(h.height)).max().unwrap_or(0),
            warnings,
            recommended: Recommendation {
                batch_size: Recommendation::batch_for_images(n),
                ..Recommendation::for_sides(median)
            },
            labels_per_image,
            cooccurrence,
            grayscale: all_grayscale(headers),
            split_column,
            group_column,
            duplicates: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_leave_about_thirty_steps_an_epoch() {
        let batch = Recommendation::batch_for_images;
        assert_eq!([batch(0), batch(60), batch(479), batch(480)], [8, 8, 8, 16]);
        assert_eq!([batch(1000), batch(1920), batch(3050), batch(1_000_000)], [32, 64, 64, 64]);
    }
}
