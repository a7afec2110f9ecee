//! What a dataset holds, shown to the user before training: label counts, image sizes, labels
//! per image, co-occurrence, the split and group columns, warnings and copies. The training
//! set-up recommended for it needs the model: `crate::summary` adds it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::audio::{ClipHeader, SoundSettings};
use super::image::{ImageHeader, all_grayscale};
use super::index::{IndexCsv, SplitTag};

/// What a dataset's files are: one kind per dataset.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum MediaKind {
    /// JPEG and PNG images.
    #[default]
    Images,
    /// Sound clips (WAV, FLAC, Ogg Vorbis, MP3), trained on as log-mel spectrograms.
    Sounds,
}

/// Where a dataset's labels come from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum LabelSource {
    /// The 0/1 columns of `index.csv`.
    #[default]
    #[serde(rename = "index.csv")]
    IndexCsv,
    /// The names of the folders holding the files (one folder per label, no `index.csv`).
    #[serde(rename = "folders")]
    Folders,
    /// Labels made in the page: the images came without any (no `index.csv`, no label folder).
    #[serde(rename = "page")]
    Page,
}

/// What a dataset of sound clips holds (issue #33).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SoundProfile {
    /// Clips.
    pub clips: usize,
    /// Their length together, seconds.
    pub total_seconds: f64,
    /// The shortest clip, seconds.
    pub shortest_seconds: f64,
    /// The median clip, seconds: the default window follows it.
    pub median_seconds: f64,
    /// The longest clip, seconds.
    pub longest_seconds: f64,
    /// Clips per sample rate (Hz), most common first.
    pub sample_rates: Vec<ValueCount>,
    /// Clips per channel count, most common first.
    pub channels: Vec<ValueCount>,
    /// Clips per format (`WAV`, `FLAC`, `Ogg Vorbis`, `MP3`), most common first.
    pub formats: Vec<NameCount>,
    /// The spectrogram settings chosen for this data (changeable before training).
    pub settings: SoundSettings,
}

/// How many clips share one value.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ValueCount {
    /// The value.
    pub value: u32,
    /// Clips with it.
    pub count: usize,
}

/// How many clips share one name.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NameCount {
    /// The name.
    pub name: String,
    /// Clips with it.
    pub count: usize,
}

impl SoundProfile {
    /// The profile of clips whose headers (each with its length) are `clips`.
    pub fn new(clips: &[ClipHeader]) -> Self {
        let mut seconds: Vec<f64> = clips.iter().map(|c| c.seconds.unwrap_or(0.0)).collect();
        seconds.sort_by(f64::total_cmp);
        let median = seconds.get(seconds.len() / 2).copied().unwrap_or(0.0);
        let counted = |values: Vec<u32>| {
            let mut by: BTreeMap<u32, usize> = BTreeMap::new();
            values.into_iter().for_each(|v| *by.entry(v).or_default() += 1);
            let mut out: Vec<ValueCount> =
                by.into_iter().map(|(value, count)| ValueCount { value, count }).collect();
            out.sort_by_key(|v| std::cmp::Reverse(v.count));
            out
        };
        let mut by_format: BTreeMap<&str, usize> = BTreeMap::new();
        clips.iter().for_each(|c| *by_format.entry(c.format.name()).or_default() += 1);
        let mut formats: Vec<NameCount> = by_format
            .into_iter()
            .map(|(name, count)| NameCount { name: name.to_string(), count })
            .collect();
        formats.sort_by_key(|f| std::cmp::Reverse(f.count));
        Self {
            clips: clips.len(),
            total_seconds: seconds.iter().sum(),
            shortest_seconds: seconds.first().copied().unwrap_or(0.0),
            median_seconds: median,
            longest_seconds: seconds.last().copied().unwrap_or(0.0),
            sample_rates: counted(clips.iter().map(|c| c.sample_rate).collect()),
            channels: counted(clips.iter().map(|c| u32::from(c.channels)).collect()),
            formats,
            settings: SoundSettings::for_median_seconds(median),
        }
    }
}

/// Labels and pixel sizes of a dataset, shown to the user before training.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DatasetProfile {
    /// Number of images or sound clips (rows).
    pub images: usize,
    /// What the files are.
    pub kind: MediaKind,
    /// Durations, rates and formats, when the files are sound clips.
    pub sound: Option<SoundProfile>,
    /// Where the labels come from: `index.csv`, or the folder names when it has none.
    pub labels_from: LabelSource,
    /// Name of the CSV column the image paths were read from (`image` when the labels come
    /// from folders).
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

impl DatasetProfile {
    /// The profile of a checked dataset: its `index.csv`, each row's image header, and the
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
            kind: MediaKind::Images,
            sound: None,
            labels_from: LabelSource::IndexCsv,
            image_column: index.image_column.clone(),
            labels,
            sizes,
            min_side: headers.iter().map(|h| h.width.min(h.height)).min().unwrap_or(0),
            max_side: headers.iter().map(|h| h.width.max(h.height)).max().unwrap_or(0),
            warnings,
            labels_per_image,
            cooccurrence,
            grayscale: all_grayscale(headers),
            split_column,
            group_column,
            duplicates: Vec::new(),
        }
    }

    /// The median of the images' shorter sides (32 when there is no image): what the
    /// recommended image size follows.
    pub fn median_side(&self) -> u32 {
        let mut sides: Vec<(u32, usize)> =
            self.sizes.iter().map(|s| (s.width.min(s.height), s.count)).collect();
        sides.sort_unstable();
        let middle = sides.iter().map(|&(_, count)| count).sum::<usize>() / 2;
        let mut before = 0;
        for (side, count) in sides {
            before += count;
            if before > middle {
                return side;
            }
        }
        32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(sizes: &[(u32, u32, usize)]) -> DatasetProfile {
        let sizes = sizes.iter().map(|&(width, height, count)| SizeCount { width, height, count });
        DatasetProfile {
            images: 0,
            kind: MediaKind::Images,
            sound: None,
            labels_from: LabelSource::IndexCsv,
            image_column: "image".into(),
            labels: Vec::new(),
            sizes: sizes.collect(),
            min_side: 0,
            max_side: 0,
            warnings: Vec::new(),
            labels_per_image: Vec::new(),
            cooccurrence: Vec::new(),
            grayscale: false,
            split_column: None,
            group_column: None,
            duplicates: Vec::new(),
        }
    }

    /// As sorting every image's shorter side and taking the one at half the count.
    #[test]
    fn the_median_side_counts_every_image() {
        assert_eq!(profile(&[]).median_side(), 32);
        assert_eq!(profile(&[(64, 48, 1)]).median_side(), 48);
        // Sides 20, 20, 30, 100: the one at index 2.
        assert_eq!(profile(&[(100, 120, 1), (20, 50, 2), (40, 30, 1)]).median_side(), 30);
        // Sides 20 ×3, 90 ×2: index 2.
        assert_eq!(profile(&[(90, 90, 2), (20, 20, 3)]).median_side(), 20);
        assert_eq!(profile(&[(90, 90, 3), (20, 20, 2)]).median_side(), 90);
    }
}
