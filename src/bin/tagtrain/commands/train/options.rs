//! `tagtrain train`'s flags read into the library's [`TrainingOptions`].

use tagtrain::Recommendation;
use tagtrain::data::audio::SoundSettings;
use tagtrain::{
    AugmentOptions, ConvInit, InputSpec, KeptEpoch, PRETRAINED_BACKBONE_LR_SCALE, ResizePolicy,
    ThresholdGoal, TrainLayers, TrainingOptions,
};

use crate::args::Args;

/// The training options the flags ask for. Unset depth and image size follow the dataset's
/// `recommended` model, except that fine-tuning keeps the `parent` model's input (size, resize
/// policy, spectrogram settings) unless told otherwise; the spectrogram settings of a dataset
/// of sound clips otherwise start from `sound` (chosen from the data); with `--pretrained` the
/// image size is the weights' 224 px, the layers that train are chosen from the dataset's
/// `images`, and the head alone trains without augmentation (on features computed once);
/// every other unset option is the library's default.
pub(super) fn training_options(
    args: &Args,
    recommended: &Recommendation,
    parent: Option<&InputSpec>,
    (sound, images): (Option<&SoundSettings>, usize),
) -> anyhow::Result<TrainingOptions> {
    let pretrained = args.flag("pretrained");
    let train_layers = match &*args.value_or_default("train-layers") {
        "auto" if pretrained => TrainLayers::for_training_images(images),
        "auto" => TrainLayers::All,
        _ => choice(args, "train-layers", "auto, head, top or all")?,
    };
    // The head alone on the ImageNet features: without augmentation the features are computed
    // once for the run, unless an augmentation is asked for.
    let asked = ["flip", "jitter"].iter().any(|f| args.flag(f)) || args.value("crop-pad").is_some();
    let features_once = pretrained && train_layers == TrainLayers::Head && !asked;
    let default_side = match pretrained {
        true => tagtrain::efficientnet::INPUT_SIDE as u32,
        false => recommended.image_size,
    };
    let augment = if args.flag("no-augment") || features_once {
        AugmentOptions::NONE
    } else {
        AugmentOptions {
            flip: args.flag("flip"),
            jitter: args.flag("jitter"),
            masks: args.flag("masks"),
            crop_padding: args.number_or_default("crop-pad")?,
            ..AugmentOptions::default()
        }
    };
    let resize = match (args.value("resize"), parent) {
        (None, Some(input)) => input.resize,
        _ => ResizePolicy::parse(&args.value_or_default("resize"))
            .map_err(|e| args.usage_error_from(e))?,
    };
    let keep: KeptEpoch = choice(args, "keep", "best or last")?;
    let conv_init: ConvInit = choice(args, "conv-init", "burn or he")?;
    let goal = args.value_or_default("thresholds");
    let threshold_goal = parse_goal(&goal).ok_or_else(|| {
        args.usage_error(format!(
            "--thresholds {goal}: use f1, precision=P or recall=R with P, R in (0, 1]"
        ))
    })?;
    let options = TrainingOptions {
        depth: args.number("depth")?.unwrap_or(recommended.depth),
        image_size: args
            .number("image-size")?
            .or(parent.map(|input| input.image_size))
            .unwrap_or(default_side),
        epochs: args.number_or_default("epochs")?,
        time_budget_seconds: args
            .value("time-budget")
            .map(|text| {
                parse_duration(text).ok_or_else(|| {
                    args.usage_error(format!(
                        "--time-budget {text}: use minutes (5m or 5), seconds (90s) or hours (1h)"
                    ))
                })
            })
            .transpose()?,
        batch_size: args.number("batch-size")?.unwrap_or(recommended.batch_size),
        learning_rate: if lr_auto(args) {
            TrainingOptions::default().learning_rate
        } else {
            args.number_or_default("lr")?
        },
        weight_decay: args.number_or_default("weight-decay")?,
        validation_fraction: match &*args.value_or_default("valid-fraction") {
            "auto" => None,
            _ => Some(args.number_or_default("valid-fraction")?),
        },
        seed: args.number_or_default("seed")?,
        patience: args.number_or_default("patience")?,
        keep,
        resize,
        positive_weights: args.flag("pos-weight"),
        gradient_clip: args.number_or_default("grad-clip")?,
        conv_init,
        label_smoothing: args.number_or_default("label-smoothing")?,
        ema_decay: args.number_or_default("ema")?,
        threshold_goal,
        augment,
        sound: sound_settings(args, sound, parent)?,
        pretrained,
        train_layers,
        backbone_lr_scale: args.number("backbone-lr")?.unwrap_or(match pretrained {
            true => PRETRAINED_BACKBONE_LR_SCALE,
            false => 1.0,
        }),
        ..TrainingOptions::default()
    };
    options.validate().map_err(|e| args.usage_error_from(e))?;
    Ok(options)
}

/// The valued flags that set spectrogram settings.
const SOUND_FLAGS: [&str; 7] =
    ["clip-seconds", "sample-rate", "window", "hop", "mel-bands", "min-hz", "max-hz"];

/// The spectrogram settings: the flags over the `parent` model's, over `data`'s (those chosen
/// from the clips). `None` for a dataset of images, where a sound flag is a usage error.
fn sound_settings(
    args: &Args,
    data: Option<&SoundSettings>,
    parent: Option<&InputSpec>,
) -> anyhow::Result<Option<SoundSettings>> {
    let Some(data) = data else {
        let given = SOUND_FLAGS.iter().copied().find(|f| args.value(f).is_some());
        if let Some(flag) = given.or(args.flag("masks").then_some("masks")) {
            return Err(args.usage_error(format!(
                "--{flag} applies to sound clips, and this dataset holds images"
            )));
        }
        return Ok(None);
    };
    let mut settings = parent.and_then(|p| p.sound.clone()).unwrap_or_else(|| data.clone());
    if let Some(v) = args.number("clip-seconds")? {
        settings.clip_seconds = v;
    }
    if let Some(v) = args.number("sample-rate")? {
        settings.sample_rate = v;
        // The bands' top follows a new rate unless told.
        settings.max_hz = settings.max_hz.min(v as f32 / 2.0);
    }
    if let Some(v) = args.number("window")? {
        settings.window = v;
    }
    if let Some(v) = args.number("hop")? {
        settings.hop = v;
    }
    if let Some(v) = args.number("mel-bands")? {
        settings.mel_bands = v;
    }
    if let Some(v) = args.number("min-hz")? {
        settings.min_hz = v;
    }
    if let Some(v) = args.number("max-hz")? {
        settings.max_hz = v;
    }
    Ok(Some(settings))
}

/// A flag whose values are an option enum's JSON names (`--keep last`), read through serde so
/// that the names are written once, on the enum.
fn choice<T: serde::de::DeserializeOwned>(
    args: &Args,
    flag: &str,
    names: &str,
) -> anyhow::Result<T> {
    let value = args.value_or_default(flag);
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| args.usage_error(format!("--{flag} {value}: use {names}")))
}

/// Seconds of a duration written `5m`, `90s`, `1.5h` or `5` (minutes).
fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, 's') => (&text[..i], 1.0),
        (i, 'm') => (&text[..i], 60.0),
        (i, 'h') => (&text[..i], 3600.0),
        _ => (text, 60.0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then_some(value * unit)
}

/// `--lr auto`: a learning-rate range test picks the rate.
pub(super) fn lr_auto(args: &Args) -> bool {
    args.value("lr").is_some_and(|v| v.eq_ignore_ascii_case("auto"))
}

/// The label columns `--labels` or `--exclude-labels` choose among the dataset's `labels`
/// (`None`: every one).
pub(super) fn chosen_labels(args: &Args, labels: &[String]) -> anyhow::Result<Option<Vec<String>>> {
    let list = |flag: &str| {
        args.value(flag).map(|text| {
            text.split(',')
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
    };
    let unknown = |flag: &str, names: &[String]| {
        names.iter().find(|n| !labels.contains(n)).map(|n| {
            args.usage_error(format!(
                "--{flag}: {}",
                tagtrain::no_such_label_text("dataset", n, labels)
            ))
        })
    };
    match (list("labels"), list("exclude-labels")) {
        (Some(_), Some(_)) => Err(args.usage_error("use --labels or --exclude-labels, not both")),
        (Some(chosen), None) => match unknown("labels", &chosen) {
            Some(e) => Err(e),
            None if chosen.is_empty() => Err(args.usage_error("--labels names no label")),
            None => Ok(Some(chosen)),
        },
        (None, Some(excluded)) => {
            if let Some(e) = unknown("exclude-labels", &excluded) {
                return Err(e);
            }
            let kept: Vec<String> =
                labels.iter().filter(|l| !excluded.contains(l)).cloned().collect();
            if kept.is_empty() {
                return Err(args.usage_error("--exclude-labels leaves no label to train"));
            }
            Ok(Some(kept))
        }
        (None, None) => Ok(None),
    }
}

/// `f1`, `precision=0.9` or `recall=0.8`; `None` for anything else, or a target outside (0, 1].
fn parse_goal(text: &str) -> Option<ThresholdGoal> {
    if text.eq_ignore_ascii_case("f1") {
        return Some(ThresholdGoal::MaxF1);
    }
    let (name, value) = text.split_once('=')?;
    let target: f64 = value.parse().ok().filter(|t| *t > 0.0 && *t <= 1.0)?;
    match name {
        "precision" => Some(ThresholdGoal::Precision { target }),
        "recall" => Some(ThresholdGoal::Recall { target }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tagtrain::ModelMetadata;

    use super::*;

    /// `training_options` for `tagtrain train data.zip -o model.safetensors` plus `flags`
    /// (separated by spaces).
    fn options(flags: &str, parent: Option<&InputSpec>) -> anyhow::Result<TrainingOptions> {
        let words: Vec<String> = format!("data.zip -o model.safetensors {flags}")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let command = crate::commands::find("train").unwrap();
        training_options(
            &Args::parse(command, &words)?,
            &Recommendation::for_sides(64),
            parent,
            (None, 100),
        )
    }

    #[test]
    fn unset_flags_take_the_recommendation_and_the_library_defaults() {
        let recommended = Recommendation::for_sides(64);
        let expected = TrainingOptions {
            depth: recommended.depth,
            image_size: recommended.image_size,
            batch_size: recommended.batch_size,
            ..TrainingOptions::default()
        };
        assert_eq!(options("", None).unwrap(), expected);
    }

    #[test]
    fn every_flag_reaches_its_option() {
        let flags = "--epochs 3 --depth 20 --image-size 48 --batch-size 4 --lr 0.01 \
                     --weight-decay 0 --valid-fraction 0.3 --seed 9 --patience 0 --flip \
                     --pos-weight --resize letterbox --thresholds recall=0.9 --jitter \
                     --crop-pad 0.1 --grad-clip 0 --label-smoothing 0.1 --time-budget 90s --ema 0.99 \
                     --conv-init he";
        let expected = TrainingOptions {
            depth: 20,
            image_size: 48,
            epochs: 3,
            batch_size: 4,
            learning_rate: 0.01,
            weight_decay: 0.0,
            validation_fraction: Some(0.3),
            seed: 9,
            patience: 0,
            augment: AugmentOptions {
                flip: true,
                jitter: true,
                crop_padding: 0.1,
                ..AugmentOptions::default()
            },
            positive_weights: true,
            gradient_clip: 0.0,
            conv_init: ConvInit::He,
            label_smoothing: 0.1,
            ema_decay: 0.99,
            time_budget_seconds: Some(90.0),
            resize: ResizePolicy::Letterbox,
            threshold_goal: ThresholdGoal::Recall { target: 0.9 },
            ..TrainingOptions::default()
        };
        assert_eq!(options(flags, None).unwrap(), expected);
        assert_eq!(options("--no-augment", None).unwrap().augment, AugmentOptions::NONE);
        assert_eq!(options("--valid-fraction auto", None).unwrap().validation_fraction, None);
        assert_eq!(options("--keep best", None).unwrap().keep, KeptEpoch::Best);
        assert_eq!(options("--keep last", None).unwrap().keep, KeptEpoch::Last);
        let wrong = options("--keep newest", None).unwrap_err().to_string();
        assert!(wrong.contains("--keep newest: use best or last"), "{wrong}");
        let wrong = options("--conv-init xavier", None).unwrap_err().to_string();
        assert!(wrong.contains("--conv-init xavier: use burn or he"), "{wrong}");
        for (text, seconds) in [("5m", 300.0), ("5", 300.0), ("1.5h", 5400.0), ("45s", 45.0)] {
            let budget = options(&format!("--time-budget {text}"), None).unwrap();
            assert_eq!(budget.time_budget_seconds, Some(seconds), "{text}");
        }
    }

    #[test]
    fn fine_tuning_keeps_the_parents_input_unless_told_otherwise() {
        let mut input = ModelMetadata::default().input;
        input.image_size = 40;
        input.resize = ResizePolicy::CenterCrop;
        let inherited = options("", Some(&input)).unwrap();
        assert_eq!((inherited.image_size, inherited.resize), (40, ResizePolicy::CenterCrop));
        let told = options("--image-size 56 --resize stretch", Some(&input)).unwrap();
        assert_eq!((told.image_size, told.resize), (56, ResizePolicy::Stretch));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for flags in [
            "--epochs many",
            "--time-budget soon",
            "--time-budget 0m",
            "--time-budget 2s",
            "--label-smoothing 0.7",
            "--ema 1",
            "--crop-pad 0",
            "--thresholds precision=2",
            "--thresholds accuracy=0.5",
            "--resize squash",
            "--epochs 0",
        ] {
            let error = options(flags, None).unwrap_err();
            assert!(error.is::<crate::args::UsageError>(), "{flags:?}: {error}");
        }
    }

    #[test]
    fn the_librarys_complaints_name_the_flag_typed() {
        for (flags, flag) in [
            ("--ema 1", "--ema: "),
            ("--label-smoothing 0.7", "--label-smoothing: "),
            ("--crop-pad 0", "--crop-pad: "),
            ("--epochs 0", "--epochs: "),
            ("--time-budget 2s", "--time-budget: "),
            ("--image-size 4", "--image-size: "),
            ("--batch-size 5000", "--batch-size: "),
            ("--lr 0", "--lr: "),
            ("--weight-decay 1", "--weight-decay: "),
            ("--valid-fraction 0.9", "--valid-fraction: "),
            ("--grad-clip -1", "--grad-clip: "),
            ("--resize squash", "--resize: "),
        ] {
            let error = options(flags, None).unwrap_err().to_string();
            assert!(error.starts_with(flag) && !error.contains("option '"), "{flags}: {error}");
        }
    }

    #[test]
    fn goals_parse() {
        assert_eq!(parse_goal("F1"), Some(ThresholdGoal::MaxF1));
        assert_eq!(parse_goal("precision=0.9"), Some(ThresholdGoal::Precision { target: 0.9 }));
        assert_eq!(parse_goal("recall=1"), Some(ThresholdGoal::Recall { target: 1.0 }));
        assert_eq!(parse_goal("recall=0"), None);
        assert_eq!(parse_goal("recall"), None);
    }
}
