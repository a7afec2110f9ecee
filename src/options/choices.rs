//! Everything a front end needs to offer the options without knowing the rules: the network
//! families with their depths, the ranges, the enum choices and the defaults.

use serde::Serialize;

use super::{Bounds, KeptEpoch, LIMITS, OptionLimits, TrainingOptions};
use crate::data::ResizePolicy;
use crate::data::audio;
use crate::model::{ConvInit, ResNetKind};

/// One family of networks as the page offers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ModelChoice {
    /// `small` or `large`.
    pub kind: ResNetKind,
    /// The depths offered, smallest first.
    pub depths: &'static [usize],
    /// The image sides this family suits (the brief's recommendation).
    pub min_image_size: u32,
    /// See `min_image_size`.
    pub max_image_size: u32,
}

/// The ranges of the spectrogram settings (`SoundSettings`), for datasets of sound clips; the
/// cross-setting rules (a hop within the window, bands within half the window, `maxHz` within
/// half the rate, `minHz` below `maxHz`) are `SoundSettings::check`'s, whose errors name the
/// setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SoundChoices {
    /// Hz.
    pub sample_rate: Bounds,
    /// Seconds.
    pub clip_seconds: Bounds,
    /// STFT window lengths offered, samples: the powers of two in range.
    pub windows: Vec<u32>,
    /// Mel bands.
    pub mel_bands: Bounds,
    /// The longest clip read, seconds ([`crate::Limits::max_clip_seconds`]).
    pub max_clip_seconds: u32,
    /// The highest sample rate read, Hz ([`crate::Limits::max_sample_rate`]).
    pub max_sample_rate: u32,
    /// The most channels a clip may have ([`crate::Limits::max_audio_channels`]).
    pub max_channels: u32,
}

impl SoundChoices {
    fn new() -> Self {
        let limits = crate::Limits::default();
        let bounds =
            |r: &std::ops::RangeInclusive<u32>| Bounds::new(*r.start() as f64, *r.end() as f64);
        Self {
            sample_rate: bounds(&audio::RATES),
            clip_seconds: Bounds::new(
                *audio::CLIP_SECONDS.start() as f64,
                *audio::CLIP_SECONDS.end() as f64,
            ),
            windows: audio::WINDOWS.filter(|w| w.is_power_of_two()).collect(),
            mel_bands: bounds(&audio::MEL_BANDS),
            max_clip_seconds: limits.max_clip_seconds,
            max_sample_rate: limits.max_sample_rate,
            max_channels: limits.max_audio_channels,
        }
    }
}

/// Everything a front end needs to offer the options without knowing the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TrainingChoices {
    /// The network families and their depths.
    pub models: Vec<ModelChoice>,
    /// The ranges of the numeric options.
    pub limits: OptionLimits,
    /// The resize policies by JSON name.
    pub resize_policies: Vec<&'static str>,
    /// How a new network's convolutions may start, the default first.
    pub conv_inits: Vec<ConvInit>,
    /// Which epoch's weights a run may keep, the default first.
    pub kept_epochs: Vec<KeptEpoch>,
    /// The threshold goals by JSON name (`goal`), the default first.
    pub threshold_goals: Vec<&'static str>,
    /// The default options.
    pub defaults: TrainingOptions,
    /// The spectrogram settings' ranges (their defaults come with a dataset's profile).
    pub sound: SoundChoices,
    /// A pretrained start's defaults: the image side its weights learned at, and its
    /// backbone's learning rate as a share of the head's.
    pub pretrained: PretrainedChoices,
}

/// What a pretrained start (EfficientNet-Lite0's ImageNet weights) defaults to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PretrainedChoices {
    /// The image side (px) the weights were trained at.
    pub image_size: u32,
    /// The backbone's learning rate as a share of the head's (`backboneLrScale`).
    pub backbone_lr_scale: f64,
}

impl TrainingChoices {
    /// The choices of this build.
    pub fn new() -> Self {
        let model = |kind: ResNetKind| {
            let sides = kind.recommended_sides();
            ModelChoice {
                kind,
                depths: kind.depths(),
                min_image_size: *sides.start(),
                max_image_size: *sides.end(),
            }
        };
        Self {
            models: vec![model(ResNetKind::Small), model(ResNetKind::Large)],
            limits: LIMITS,
            resize_policies: ResizePolicy::ALL.iter().map(|p| p.as_str()).collect(),
            conv_inits: vec![ConvInit::Burn, ConvInit::He],
            kept_epochs: vec![KeptEpoch::Last, KeptEpoch::Best],
            threshold_goals: vec!["maxF1", "precision", "recall"],
            defaults: TrainingOptions::default(),
            sound: SoundChoices::new(),
            pretrained: PretrainedChoices {
                image_size: crate::model::efficientnet::INPUT_SIDE as u32,
                backbone_lr_scale: super::PRETRAINED_BACKBONE_LR_SCALE,
            },
        }
    }
}

impl Default for TrainingChoices {
    fn default() -> Self {
        Self::new()
    }
}
