//! What the user chooses before training, and the one place its ranges are written.
//!
//! [`TrainingOptions`] is read by the CLI (flags), the page (one options object) and the model
//! file (the training summary keeps it), all through serde, camelCase. Its ranges live in
//! [`OptionLimits`]: [`TrainingOptions::validate`] checks them, and [`TrainingChoices`] hands
//! them to the page, so that no front end re-derives a rule.

use serde::{Deserialize, Serialize};

use crate::data::ResizePolicy;
use crate::data::audio::SoundSettings;
use crate::error::{Error, Result};
use crate::limits::check_image_size;
use crate::model::ConvInit;
use crate::thresholds::ThresholdGoal;

mod augment;
mod choices;
mod limits;
mod transfer;

pub use augment::AugmentOptions;
use augment::RECORDED_CROP_PADDING;
pub use choices::{ModelChoice, TrainingChoices};
use limits::check;
pub use limits::{Bounds, LIMITS, OptionLimits};
pub use transfer::{PRETRAINED_BACKBONE_LR_SCALE, TrainLayers};

/// How a run's weights started. JSON: `"new"`, `"continue"`, `"new-head"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum WeightsInit {
    /// Fresh weights.
    #[default]
    New,
    /// Every weight of a saved model with the same labels: training continues.
    Continue,
    /// A saved model's backbone with a new classifier head for other labels.
    NewHead,
    /// EfficientNet-Lite0's ImageNet weights with a new classifier head.
    Pretrained,
}

impl WeightsInit {
    /// The JSON name (`new`, `continue`, `new-head`, `pretrained`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Continue => "continue",
            Self::NewHead => "new-head",
            Self::Pretrained => "pretrained",
        }
    }
}

impl std::fmt::Display for WeightsInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which epoch's weights a run keeps. JSON: `"best"`, `"last"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum KeptEpoch {
    /// The epoch with the best validation mAP.
    Best,
    /// The last epoch's when the schedule runs to its end, where the learning rate has fallen
    /// to its floor; the best epoch's when early stopping ends the run (as Keras'
    /// `restore_best_weights`). The default: the best validation epoch is picked on a few
    /// hundred images by margins that are noise there, and in issue #14's paired runs the
    /// last epoch scored as well or better on the test set (BENCHMARKS.md, "A default recipe").
    #[default]
    Last,
}

impl KeptEpoch {
    /// The JSON name (`best`, `last`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Best => "best",
            Self::Last => "last",
        }
    }
}

/// What the user chooses before training. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct TrainingOptions {
    /// ResNetV2 depth: 11, 20, 29, 56 (Small) or 26, 50, 101 (Large).
    pub depth: usize,
    /// Square training image size in pixels.
    pub image_size: u32,
    /// Passes over the training images.
    pub epochs: usize,
    /// Train for about this many seconds instead: the run times its first steps and then sets
    /// `epochs` to what fits (saved runs and model files record both). `None`: `epochs` holds.
    pub time_budget_seconds: Option<f64>,
    /// Images per step.
    pub batch_size: usize,
    /// Peak learning rate of AdamW.
    pub learning_rate: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Share of images held out for validation; `None` (the default) lets the dataset decide
    /// ([`crate::data::validation_share`]: 10 % of a large dataset, up to 20 % of a small one,
    /// more where a label is rare). A run records the share it used.
    pub validation_fraction: Option<f64>,
    /// Seed for the split, the batch order, the augmentation and the initial weights. Runs
    /// with the same seed on the CPU backend repeat exactly.
    pub seed: u64,
    /// Training-time augmentation (random crop on; jitter and flip off).
    pub augment: AugmentOptions,
    /// Weight each label's positive examples by `min(negatives / positives, 10)` (at least 1)
    /// in the loss, which helps rare labels' recall.
    pub positive_weights: bool,
    /// Label smoothing ε: the loss aims each target at `ε / 2` and `1 − ε / 2` instead of 0
    /// and 1, which keeps the logits from growing without end on labels learned early. 0, the
    /// default, turns it off: 0.1 raised test mAP in issue #14's ablations (BENCHMARKS.md),
    /// but it also squeezes every predicted probability into about 0.05–0.95, and the
    /// probabilities are what people read and threshold.
    pub label_smoothing: f32,
    /// Decay of an exponential moving average of the weights, which is then what validation
    /// measures and the model file keeps (0, the default, turns it off; 0.99 averages over
    /// about the last hundred steps).
    pub ema_decay: f32,
    /// Each parameter's gradient is scaled down to this L2 norm when above it; 0 turns
    /// clipping off.
    pub gradient_clip: f32,
    /// How a new network's convolutions start (burn's by default; He's suited the emoji set at
    /// Small-20 and cost the digit mosaics: [`ConvInit`]). Weights from a model file replace it.
    pub conv_init: ConvInit,
    /// Stop after this many epochs without a better validation mAP, keeping the best weights;
    /// 0 trains every epoch (and [`Self::keep`] says which weights are kept).
    pub patience: usize,
    /// Which epoch's weights the model file keeps (and thresholds are tuned for).
    pub keep: KeptEpoch,
    /// How each label's threshold is tuned on the validation images when the model is saved.
    pub threshold_goal: ThresholdGoal,
    /// How images become square at `image_size` (used when decoding; stored in the model).
    pub resize: ResizePolicy,
    /// The label columns to train on, by name and in this order; `None` trains every label
    /// column. The model file lists exactly these labels.
    pub labels: Option<Vec<String>>,
    /// How sound clips become spectrograms (issue #33); `None` for images, and for sound
    /// clips chosen from the data (the run records what it used). For sound clips the crop
    /// moves in time only.
    pub sound: Option<SoundSettings>,
    /// The run starts from EfficientNet-Lite0's ImageNet weights (issue #37) instead of a
    /// ResNetV2 of `depth`: set by [`crate::TrainingSession::pretrained`], which is given the
    /// weights.
    pub pretrained: bool,
    /// Which layers train when the run starts from a trained network ([`TrainLayers`]).
    pub train_layers: TrainLayers,
    /// The learning rate of the layers below the head, as a share of `learning_rate` (1: the
    /// same; a pretrained start uses [`PRETRAINED_BACKBONE_LR_SCALE`]).
    pub backbone_lr_scale: f64,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            depth: 11,
            image_size: 32,
            epochs: 10,
            time_budget_seconds: None,
            batch_size: 32,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            validation_fraction: None,
            seed: 42,
            augment: AugmentOptions::default(),
            positive_weights: false,
            label_smoothing: 0.0,
            ema_decay: 0.0,
            gradient_clip: 1.0,
            conv_init: ConvInit::Burn,
            patience: 5,
            keep: KeptEpoch::Last,
            threshold_goal: ThresholdGoal::MaxF1,
            resize: ResizePolicy::Stretch,
            labels: None,
            sound: None,
            pretrained: false,
            train_layers: TrainLayers::All,
            backbone_lr_scale: 1.0,
        }
    }
}

/// Reads the options a run recorded (a model file's training summary, a saved run). Records
/// written before `keep` existed kept the best epoch, which is no longer the default, so a
/// missing `keep` reads as `best` there; likewise a recorded augmentation without
/// `cropPadding` padded by 1/8 of the side ([`RECORDED_CROP_PADDING`]), which
/// test-time augmentation and a resumed run must repeat. An options object from the page or an
/// embedder without them still gets today's defaults.
pub(crate) fn recorded_options<'de, D>(
    deserializer: D,
) -> std::result::Result<TrainingOptions, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let mut value = serde_json::Value::deserialize(deserializer)?;
    if let Some(fields) = value.as_object_mut() {
        fields.entry("keep").or_insert_with(|| KeptEpoch::Best.as_str().into());
        if let Some(augment) = fields.get_mut("augment").and_then(|a| a.as_object_mut()) {
            augment.entry("cropPadding").or_insert_with(|| RECORDED_CROP_PADDING.into());
        }
    }
    TrainingOptions::deserialize(value).map_err(serde::de::Error::custom)
}

impl TrainingOptions {
    /// Checks every option, naming the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        check("epochs", self.epochs as f64, LIMITS.epochs, "")?;
        check("batchSize", self.batch_size as f64, LIMITS.batch_size, "")?;
        check("learningRate", self.learning_rate, LIMITS.learning_rate, "")?;
        check("weightDecay", self.weight_decay, LIMITS.weight_decay, "")?;
        if !(self.backbone_lr_scale > 0.0 && self.backbone_lr_scale <= 1.0) {
            return Err(Error::option(
                "backboneLrScale",
                format!("{} is not above 0 and at most 1", self.backbone_lr_scale),
            ));
        }
        if let Some(seconds) = self.time_budget_seconds {
            check("timeBudgetSeconds", seconds, LIMITS.time_budget_seconds, " seconds")?;
        }
        if let Some(share) = self.validation_fraction {
            check("validationFraction", share, LIMITS.validation_fraction, "")?;
        }
        check_image_size(self.image_size)?;
        if !(0.0..1.0).contains(&self.ema_decay) {
            return Err(Error::option(
                "emaDecay",
                format!("{} is not between 0 (off) and 1 (exclusive)", self.ema_decay),
            ));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(Error::option(
                "labelSmoothing",
                format!("{} is not between 0 and 0.5 (0 = off)", self.label_smoothing),
            ));
        }
        if !(self.augment.crop_padding > 0.0 && self.augment.crop_padding <= 0.5) {
            return Err(Error::option(
                "augment.cropPadding",
                format!("{} is not a share of the side in (0, 0.5]", self.augment.crop_padding),
            ));
        }
        if !(self.gradient_clip >= 0.0 && self.gradient_clip.is_finite()) {
            return Err(Error::option("gradientClip", "must be 0 (off) or a positive number"));
        }
        if let Some(sound) = &self.sound {
            sound.check()?;
            if self.augment.flip {
                return Err(Error::option(
                    "augment.flip",
                    "sound clips are not mirrored (time would run backwards): turn the flip off",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_every_range_is_enforced() {
        TrainingOptions::default().validate().unwrap();
        let bad = [
            TrainingOptions { epochs: 0, ..Default::default() },
            TrainingOptions { batch_size: 5000, ..Default::default() },
            TrainingOptions { learning_rate: f64::NAN, ..Default::default() },
            TrainingOptions { learning_rate: 0.0, ..Default::default() },
            TrainingOptions { validation_fraction: Some(0.6), ..Default::default() },
            TrainingOptions { image_size: 4, ..Default::default() },
            TrainingOptions { gradient_clip: -1.0, ..Default::default() },
            TrainingOptions { label_smoothing: 0.5, ..Default::default() },
            TrainingOptions { ema_decay: 1.0, ..Default::default() },
            TrainingOptions { time_budget_seconds: Some(5.0), ..Default::default() },
            TrainingOptions {
                augment: AugmentOptions { crop_padding: 0.0, ..Default::default() },
                ..Default::default()
            },
        ];
        for options in bad {
            assert!(options.validate().is_err(), "{options:?}");
        }
    }

    #[test]
    fn a_record_without_keep_kept_the_best_epoch_and_new_options_keep_the_last() {
        #[derive(Debug, Deserialize)]
        struct Record {
            #[serde(deserialize_with = "recorded_options")]
            options: TrainingOptions,
        }
        let old: Record = serde_json::from_str(r#"{"options": {"epochs": 3}}"#).unwrap();
        assert_eq!((old.options.keep, old.options.epochs), (KeptEpoch::Best, 3));
        let new: Record = serde_json::from_str(r#"{"options": {"keep": "last"}}"#).unwrap();
        assert_eq!(new.options.keep, KeptEpoch::Last);
        let page: TrainingOptions = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(page.keep, KeptEpoch::Last);
        let wrong = serde_json::from_str::<Record>(r#"{"options": {"keep": "newest"}}"#);
        assert!(wrong.unwrap_err().to_string().contains("newest"));
    }

    #[test]
    fn a_recorded_augmentation_without_its_padding_padded_by_an_eighth() {
        #[derive(Debug, Deserialize)]
        struct Record {
            #[serde(deserialize_with = "recorded_options")]
            options: TrainingOptions,
        }
        let old = r#"{"options": {"augment": {"crop": true, "flip": false, "jitter": true}}}"#;
        let old: Record = serde_json::from_str(old).unwrap();
        assert_eq!(old.options.augment.crop_padding, 0.125);
        assert!(old.options.augment.jitter);
        let new = r#"{"options": {"augment": {"crop": true, "cropPadding": 0.25}}}"#;
        let new: Record = serde_json::from_str(new).unwrap();
        assert_eq!(new.options.augment.crop_padding, 0.25);
        // The page sends no padding: it gets today's default.
        let page: TrainingOptions =
            serde_json::from_str(r#"{"augment": {"crop": true, "flip": true}}"#).unwrap();
        assert_eq!(page.augment.crop_padding, 0.0625);
        assert_eq!(TrainingOptions::default().augment.crop_padding, 0.0625);
    }

    #[test]
    fn choices_carry_the_depths_and_json_names() {
        let json = serde_json::to_value(TrainingChoices::new()).unwrap();
        assert_eq!(json["models"][0]["kind"], "small");
        assert_eq!(json["models"][1]["depths"], serde_json::json!([26, 50, 101]));
        assert_eq!(json["limits"]["imageSize"]["max"], 512.0);
        assert_eq!(
            json["resizePolicies"],
            serde_json::json!(["stretch", "center-crop", "letterbox"])
        );
        assert_eq!(json["defaults"]["depth"], 11);
        assert_eq!(serde_json::to_value(WeightsInit::NewHead).unwrap(), "new-head");
    }

    #[test]
    fn bounds_exclude_only_the_ends_they_say() {
        let below = Bounds::below(0.0, 0.5);
        assert!(below.contains(0.0) && below.contains(0.49) && !below.contains(0.5));
        let above = Bounds::above(0.0, 1.0);
        assert!(!above.contains(0.0) && above.contains(0.01) && above.contains(1.0));
        assert!(!above.contains(f64::NAN) && !Bounds::new(0.0, 1.0).contains(f64::NAN));
        let json = serde_json::to_value(LIMITS.ema_decay).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"min": 0.0, "max": 1.0, "minExcluded": false, "maxExcluded": true})
        );
    }

    /// The page checks its inputs with these ranges: they must accept exactly what `validate`
    /// accepts.
    #[test]
    fn the_ranges_sent_to_the_page_agree_with_validate() {
        // The options are f32; the page's numbers, f64.
        for value in [-0.01f32, 0.0, 0.25, 0.49, 0.5, 0.9] {
            let options = TrainingOptions { label_smoothing: value, ..Default::default() };
            let page = LIMITS.label_smoothing.contains(f64::from(value));
            assert_eq!(page, options.validate().is_ok(), "{value}");
        }
        for value in [-0.1f32, 0.0, 0.9, 0.9999, 1.0, 2.0] {
            let options = TrainingOptions { ema_decay: value, ..Default::default() };
            let page = LIMITS.ema_decay.contains(f64::from(value));
            assert_eq!(page, options.validate().is_ok(), "{value}");
        }
        for value in [-1.0f32, 0.0, 1.0, f32::MAX, f32::INFINITY, f32::NAN] {
            let options = TrainingOptions { gradient_clip: value, ..Default::default() };
            let page = LIMITS.gradient_clip.contains(f64::from(value));
            assert_eq!(page, options.validate().is_ok(), "{value}");
        }
        let defaults = TrainingOptions::default();
        assert!(LIMITS.patience.contains(defaults.patience as f64));
        assert!(LIMITS.seed.contains(defaults.seed as f64));
        assert!(LIMITS.seed.max == (1u64 << 53) as f64 - 1.0, "JS's Number.MAX_SAFE_INTEGER");
        assert!(!LIMITS.threshold_target.contains(0.0) && LIMITS.threshold_target.contains(1.0));
    }

    #[test]
    fn choices_offer_every_variant_with_the_default_first() {
        let choices = TrainingChoices::new();
        let defaults = TrainingOptions::default();
        for init in [ConvInit::Burn, ConvInit::He] {
            // A new variant fails to compile here until it is offered.
            match init {
                ConvInit::Burn | ConvInit::He => assert!(choices.conv_inits.contains(&init)),
            }
        }
        assert_eq!(choices.conv_inits[0], defaults.conv_init);
        for keep in [KeptEpoch::Best, KeptEpoch::Last] {
            match keep {
                KeptEpoch::Best | KeptEpoch::Last => assert!(choices.kept_epochs.contains(&keep)),
            }
        }
        assert_eq!(choices.kept_epochs[0], defaults.keep);
        let goals = [
            ThresholdGoal::MaxF1,
            ThresholdGoal::Precision { target: 0.9 },
            ThresholdGoal::Recall { target: 0.9 },
        ];
        let names: Vec<String> = goals
            .iter()
            .map(|goal| match serde_json::to_value(goal).unwrap()["goal"].as_str() {
                Some(name) => name.to_string(),
                None => panic!("{goal:?} has no goal name"),
            })
            .collect();
        assert_eq!(choices.threshold_goals, names);
        assert_eq!(serde_json::to_value(defaults.threshold_goal).unwrap()["goal"], names[0]);
    }
}
