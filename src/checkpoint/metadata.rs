//! The model file's metadata: what prediction needs besides the weights (labels, thresholds,
//! input preparation, architecture) and what the user should know (the training runs).

use serde::{Deserialize, Serialize};

use crate::data::audio::SoundSettings;
use crate::data::{Normalization, ResizePolicy};
use crate::error::{Error, Result};
use crate::model::{NetworkConfig, ResNetKind, ResNetV2Config};
use crate::options::{TrainingOptions, WeightsInit};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "tagtrain-model";
/// Version of the metadata layout; bumped on incompatible change.
pub const VERSION: u32 = 1;

/// Everything besides the weights that prediction needs, and what the user should know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ModelMetadata {
    /// Always [`FORMAT`].
    pub format: String,
    /// The layout's [`VERSION`] when written.
    pub version: u32,
    /// Label names, in output order.
    pub labels: Vec<String>,
    /// Probability at or above which each label is predicted positive.
    pub thresholds: Vec<f32>,
    /// How images are prepared.
    pub input: InputSpec,
    /// The network (`{ kind, depth, numLabels, inChannels, baseWidth, strideOn }`).
    #[serde(with = "architecture_json")]
    #[cfg_attr(test, ts(as = "architecture_json::Architecture"))]
    pub architecture: NetworkConfig,
    /// How the model was trained.
    pub training: Option<TrainingSummary>,
    /// Earlier runs this model was fine-tuned from, oldest first.
    #[serde(default)]
    pub lineage: Vec<TrainingSummary>,
}

impl Default for ModelMetadata {
    fn default() -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            labels: Vec::new(),
            thresholds: Vec::new(),
            input: InputSpec {
                image_size: 32,
                channels: 3,
                resize: ResizePolicy::Stretch,
                normalization: Normalization { mean: vec![0.5; 3], std: vec![0.25; 3] },
                sound: None,
            },
            architecture: ResNetV2Config::new(ResNetKind::Small, 11, 1).into(),
            training: None,
            lineage: Vec::new(),
        }
    }
}

impl ModelMetadata {
    /// The metadata of a freshly trained model: its labels with their thresholds, how images
    /// are prepared, the network, and this run after the runs it was fine-tuned from.
    pub fn trained(
        labels: Vec<String>,
        thresholds: Vec<f32>,
        input: InputSpec,
        architecture: NetworkConfig,
        training: TrainingSummary,
        lineage: Vec<TrainingSummary>,
    ) -> Self {
        Self {
            labels,
            thresholds,
            input,
            architecture,
            training: Some(training),
            lineage,
            ..Self::default()
        }
    }

    /// The safetensors `__metadata__` entries holding this metadata.
    pub(crate) fn header(&self) -> Result<[(String, String); 2]> {
        let json = serde_json::to_string(self).map_err(Error::backend)?;
        Ok([("format".to_string(), FORMAT.to_string()), ("tagtrain".to_string(), json)])
    }
}

/// The architecture as the model file writes it: camelCase like the rest of the metadata (burn's
/// `Config` derive, which `ResNetV2Config` uses, writes its own field names, snake_case). Files
/// written before this release, with the snake_case names, read the same.
mod architecture_json {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::model::efficientnet::EfficientNetLite0Config;
    use crate::model::{NetworkConfig, ResNetKind, ResNetV2Config, StrideOn};

    /// The family, and for ResNetV2 its kind: `small`, `large` or `efficientnet-lite0`.
    #[derive(Clone, Copy, Serialize, Deserialize)]
    #[cfg_attr(test, derive(ts_rs::TS))]
    pub(super) enum ArchitectureKind {
        /// ResNetV2 Small.
        #[serde(rename = "small")]
        Small,
        /// ResNetV2 Large.
        #[serde(rename = "large")]
        Large,
        /// EfficientNet-Lite0 (started from ImageNet weights).
        #[serde(rename = "efficientnet-lite0")]
        EfficientNetLite0,
    }

    /// The network's JSON form in the model file.
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(test, derive(ts_rs::TS))]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Architecture {
        kind: ArchitectureKind,
        /// ResNetV2's depth (absent for EfficientNet-Lite0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        depth: Option<usize>,
        #[serde(alias = "num_labels")]
        num_labels: usize,
        #[serde(alias = "in_channels")]
        in_channels: usize,
        #[serde(alias = "base_width", default)]
        base_width: Option<usize>,
        #[serde(alias = "stride_on", default)]
        stride_on: Option<StrideOn>,
    }

    pub fn serialize<S: Serializer>(a: &NetworkConfig, serializer: S) -> Result<S::Ok, S::Error> {
        match a {
            NetworkConfig::ResNetV2(a) => Architecture {
                kind: match a.kind {
                    ResNetKind::Small => ArchitectureKind::Small,
                    ResNetKind::Large => ArchitectureKind::Large,
                },
                depth: Some(a.depth),
                num_labels: a.num_labels,
                in_channels: a.in_channels,
                base_width: a.base_width,
                stride_on: a.stride_on,
            },
            NetworkConfig::EfficientNetLite0(a) => Architecture {
                kind: ArchitectureKind::EfficientNetLite0,
                depth: None,
                num_labels: a.num_classes,
                in_channels: a.in_channels,
                base_width: None,
                stride_on: None,
            },
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NetworkConfig, D::Error> {
        let a = Architecture::deserialize(deserializer)?;
        let kind = match a.kind {
            ArchitectureKind::Small => ResNetKind::Small,
            ArchitectureKind::Large => ResNetKind::Large,
            ArchitectureKind::EfficientNetLite0 => {
                let config = EfficientNetLite0Config::new(a.num_labels);
                return Ok(config.with_in_channels(a.in_channels).into());
            }
        };
        let depth = a.depth.ok_or_else(|| D::Error::missing_field("depth"))?;
        Ok(ResNetV2Config::new(kind, depth, a.num_labels)
            .with_in_channels(a.in_channels)
            .with_base_width(a.base_width)
            .with_stride_on(a.stride_on)
            .into())
    }
}

/// Image preparation stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct InputSpec {
    /// Square side in pixels.
    pub image_size: u32,
    /// Colour channels (3: RGB).
    pub channels: usize,
    /// How images are brought to the square size (`stretch`, `center-crop`, `letterbox`).
    #[serde(default)]
    pub resize: ResizePolicy,
    /// Per-channel mean and std in `[0, 1]` units.
    pub normalization: Normalization,
    /// How a sound clip becomes the input image, for a model trained on sound clips (absent:
    /// the model takes images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<SoundSettings>,
}

/// A record of the training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TrainingSummary {
    /// Labels this run trained on.
    #[serde(default)]
    pub labels: Vec<String>,
    /// How the weights started.
    #[serde(default)]
    pub init: WeightsInit,
    /// The options the run used.
    #[serde(deserialize_with = "crate::options::recorded_options")]
    pub options: TrainingOptions,
    /// Optimisation steps run.
    pub steps: usize,
    /// Whole epochs run.
    pub epochs_completed: usize,
    /// Epoch whose weights were kept: the best validation mAP's, or the last one's with
    /// `options.keep` = `last` when the schedule ran to its end (the JSON name predates that).
    #[serde(default)]
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended the run.
    #[serde(default)]
    pub stopped_early: bool,
    /// Training throughput (images/s, validation included).
    #[serde(default)]
    pub images_per_sec: f64,
    /// Images trained on.
    pub train_images: usize,
    /// Images validated on.
    pub valid_images: usize,
    /// `webgpu` or `cpu`.
    pub backend: String,
    /// Validation mAP of the kept weights.
    pub final_map: Option<f64>,
    /// Validation loss of the kept weights.
    pub final_valid_loss: Option<f64>,
    /// The data it trained on: which labels each image had, and how many label edits they
    /// carried (absent in files written before the data loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<TrainedData>,
}

/// The labels a run trained on, so that a model's lineage shows when the data changed between
/// its runs (labels fixed, images added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TrainedData {
    /// Images in the dataset (training and validation).
    pub images: usize,
    /// FNV-1a 64 of every image's name and 0/1 labels, 16 hex digits: equal digests, the same
    /// labelled images.
    pub labels_digest: String,
    /// The label edits the data carried: its zip's `changes.csv`, and those made in the page
    /// (or by `tagtrain apply-changes`) before the run.
    pub label_edits: usize,
}

/// One threshold per label, each in `[0, 1]`.
pub fn check_thresholds(metadata: &ModelMetadata, thresholds: &[f32]) -> Result<()> {
    if thresholds.len() != metadata.labels.len() {
        return Err(Error::option(
            "thresholds",
            format!("{} given, the model has {} labels", thresholds.len(), metadata.labels.len()),
        ));
    }
    if let Some((label, t)) =
        metadata.labels.iter().zip(thresholds).find(|(_, t)| !(0.0..=1.0).contains(*t))
    {
        return Err(Error::option("thresholds", format!("'{label}': {t} is not in [0, 1]")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StrideOn;

    #[test]
    fn the_architecture_is_written_in_camel_case_and_read_in_either_case() {
        let metadata = ModelMetadata {
            architecture: ResNetV2Config::new(ResNetKind::Small, 20, 1)
                .with_base_width(Some(8))
                .into(),
            ..ModelMetadata::default()
        };
        let json = serde_json::to_value(&metadata).unwrap();
        let architecture = &json["architecture"];
        assert_eq!(architecture["numLabels"], 1);
        assert_eq!(architecture["inChannels"], 3);
        assert_eq!(architecture["baseWidth"], 8);
        assert_eq!(architecture["strideOn"], "1x1");
        assert!(architecture.get("num_labels").is_none(), "{architecture}");
        let back: ModelMetadata = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, metadata);

        // A file written before: snake_case names, and no layout (the 3×3 one).
        let mut old = json;
        old["architecture"] = serde_json::json!({
            "kind": "small", "depth": 20, "num_labels": 1, "in_channels": 3, "base_width": 8
        });
        let old: ModelMetadata = serde_json::from_value(old).unwrap();
        let (old, new) = (old.architecture.resnet().unwrap(), metadata.architecture.resnet());
        assert_eq!(old, &new.unwrap().clone().with_stride_on(None));
        assert_eq!(old.layout(), StrideOn::ThreeByThree);
    }
}
