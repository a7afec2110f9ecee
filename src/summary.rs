//! What the user sees of a dataset before training: what it holds (its
//! [`DatasetProfile`]) and the training set-up the brief recommends for it, which needs the
//! model's kinds and a browser tab's memory, so is added here, above the data.

use serde::Serialize;

use crate::data::{DatasetProfile, DatasetSource};
use crate::memory::TAB_COMFORT_BYTES;
use crate::model::ResNetKind;
use crate::options::TrainingOptions;

/// A dataset's profile and the recommended set-up, shown to the user before training; one
/// object with the profile's fields and `recommended`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DatasetSummary {
    /// Labels, sizes, columns, warnings and copies.
    #[serde(flatten)]
    pub profile: DatasetProfile,
    /// What the brief recommends for these images.
    pub recommended: Recommendation,
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
    /// lower it: [`DatasetSource::summary`]).
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

    /// The brief's recommendation for a profiled dataset: by its median side (for sound clips,
    /// the spectrogram's mel bands: one row per band), in batches by its number of images.
    pub fn for_profile(profile: &DatasetProfile) -> Self {
        let side = match &profile.sound {
            Some(sound) => sound.settings.mel_bands,
            None => profile.median_side(),
        };
        Self { batch_size: Self::batch_for_images(profile.images), ..Self::for_sides(side) }
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

impl DatasetSource {
    /// What the user sees before training: the profile, and the recommended set-up with a
    /// batch a browser tab has room for.
    pub fn summary(&self) -> DatasetSummary {
        let profile = self.profile();
        let mut recommended = Recommendation::for_profile(&profile);
        // A batch's activations should leave a browser tab room for everything else: halve
        // the recommended batch while they alone would take half of what a tab can hold.
        while recommended.batch_size > 8 {
            let options = TrainingOptions {
                depth: recommended.depth,
                image_size: recommended.image_size,
                batch_size: recommended.batch_size,
                ..Default::default()
            };
            match self.memory_plan(&options) {
                Ok(plan) if plan.network_bytes > TAB_COMFORT_BYTES / 2 => {
                    recommended.batch_size /= 2;
                }
                _ => break,
            }
        }
        DatasetSummary { profile, recommended }
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

    /// The page and `tagtrain inspect --json` read one object: the profile's fields beside
    /// `recommended`, in camelCase.
    #[test]
    fn serialises_as_one_object_of_the_profile_and_the_recommendation() {
        let profile = DatasetProfile {
            images: 60,
            kind: crate::data::MediaKind::Images,
            sound: None,
            labels_from: crate::data::LabelSource::IndexCsv,
            image_column: "image".into(),
            labels: Vec::new(),
            sizes: vec![crate::data::SizeCount { width: 40, height: 30, count: 60 }],
            min_side: 30,
            max_side: 40,
            warnings: vec!["a warning".into()],
            labels_per_image: vec![60],
            cooccurrence: Vec::new(),
            grayscale: true,
            split_column: None,
            group_column: None,
            duplicates: Vec::new(),
        };
        let recommended = Recommendation::for_profile(&profile);
        assert_eq!((recommended.kind, recommended.depth), (ResNetKind::Small, 11));
        assert_eq!((recommended.image_size, recommended.batch_size), (30, 8));
        let json = serde_json::to_value(DatasetSummary { profile, recommended }).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "cooccurrence",
                "duplicates",
                "grayscale",
                "groupColumn",
                "imageColumn",
                "images",
                "kind",
                "labels",
                "labelsFrom",
                "labelsPerImage",
                "maxSide",
                "minSide",
                "recommended",
                "sizes",
                "sound",
                "splitColumn",
                "warnings",
            ]
        );
        assert_eq!(json["images"], 60);
        assert_eq!(json["splitColumn"], serde_json::Value::Null);
        assert_eq!(json["labelsFrom"], "index.csv");
        assert_eq!(
            json["recommended"],
            serde_json::json!({ "kind": "small", "depth": 11, "imageSize": 30, "batchSize": 8 })
        );
    }
}
