//! `tagtrain train`'s flags: one declaration each, in the order the usage text lists them.
//!
//! A flag that sets one of the library's [`TrainingOptions`] says which (`.sets("emaDecay")`,
//! the option's JSON name). The parser reads this table, and the same declaration turns the
//! library's errors about an option into errors about the flag the user typed (`--ema`); the
//! tests below fail when an option has no flag or a flag names no option.

use tagtrain::data::audio::SoundSettings;
use tagtrain::{AugmentOptions, ResizePolicy, TrainingOptions};

use crate::commands::{DEVICE, PRETRAINED_WEIGHTS};
use crate::flag::Flag;

/// Every flag of `tagtrain train`.
pub(super) const FLAGS: &[Flag] = &[
    Flag::valued("output", "MODEL.safetensors", "the model file to write").short('o').required(),
    Flag::valued("epochs", "N", "passes over the training images")
        .with_default(|| TrainingOptions::default().epochs.to_string())
        .sets("epochs"),
    Flag::valued(
        "time-budget",
        "5m|90s|1h",
        "train for about this long instead: the first steps are timed and --epochs set to \
         what fits (a bare number is minutes)",
    )
    .sets("timeBudgetSeconds"),
    Flag::valued("depth", "N", "ResNetV2 depth (default: the one recommended for the data)")
        .sets("depth"),
    Flag::valued(
        "image-size",
        "PX",
        "input side in pixels (default: the --init model's, else recommended)",
    )
    .sets("imageSize"),
    Flag::valued(
        "batch-size",
        "N",
        "images per step (default: from the dataset's size, 8 to 64, about 30 steps an epoch)",
    )
    .sets("batchSize"),
    Flag::valued("lr", "X|auto", "peak learning rate of AdamW; auto: a range test picks it")
        .with_default(|| TrainingOptions::default().learning_rate.to_string())
        .sets("learningRate"),
    Flag::valued("weight-decay", "X", "AdamW decoupled weight decay")
        .with_default(|| TrainingOptions::default().weight_decay.to_string())
        .sets("weightDecay"),
    Flag::valued(
        "valid-fraction",
        "F|auto",
        "share of images held out for validation; auto: 10 % of a large dataset, up to 20 % \
         of a small one, more where a label is rare",
    )
    .with_default(|| "auto".into())
    .sets("validationFraction"),
    Flag::valued("seed", "N", "seed of the split, batch order, augmentation and weights")
        .with_default(|| TrainingOptions::default().seed.to_string())
        .sets("seed"),
    Flag::valued("patience", "N", "stop after N epochs without a better mAP; 0: never")
        .with_default(|| TrainingOptions::default().patience.to_string())
        .sets("patience"),
    Flag::valued(
        "keep",
        "best|last",
        "the weights to save: the best validation mAP's epoch, or the last epoch's when \
         the schedule runs to its end (the best one's when early stopping ends it)",
    )
    .with_default(|| TrainingOptions::default().keep.as_str().into())
    .sets("keep"),
    Flag::valued("labels", "A,B,…", "train only these label columns (default: all)").sets("labels"),
    Flag::valued("exclude-labels", "A,B,…", "train every label column but these").sets("labels"),
    Flag::switch("no-augment", "no augmentation at all (no random crop)").sets("augment.crop"),
    Flag::switch("jitter", "also jitter brightness and contrast when augmenting")
        .sets("augment.jitter"),
    Flag::valued("crop-pad", "F", "the random crop's padding as a share of the image side")
        .with_default(|| AugmentOptions::default().crop_padding.to_string())
        .sets("augment.cropPadding"),
    Flag::switch("flip", "also flip images left-right when augmenting").sets("augment.flip"),
    Flag::switch(
        "masks",
        "also mask a band of frequencies and a span of time when augmenting (sound clips)",
    )
    .sets("augment.masks"),
    Flag::valued(
        "clip-seconds",
        "S",
        "sound clips: the window the network hears, seconds (default: the median clip's \
         length; longer clips are cropped, shorter ones padded with silence)",
    )
    .sets("sound.clipSeconds"),
    Flag::valued("sample-rate", "HZ", "sound clips: the rate they are resampled to")
        .with_default(|| SoundSettings::default().sample_rate.to_string())
        .sets("sound.sampleRate"),
    Flag::valued("window", "N", "sound clips: STFT window in samples (a power of two)")
        .with_default(|| SoundSettings::default().window.to_string())
        .sets("sound.window"),
    Flag::valued("hop", "N", "sound clips: samples between two STFT frames")
        .with_default(|| SoundSettings::default().hop.to_string())
        .sets("sound.hop"),
    Flag::valued("mel-bands", "N", "sound clips: mel bands of the spectrogram")
        .with_default(|| SoundSettings::default().mel_bands.to_string())
        .sets("sound.melBands"),
    Flag::valued("min-hz", "F", "sound clips: the lowest frequency the bands cover")
        .with_default(|| SoundSettings::default().min_hz.to_string())
        .sets("sound.minHz"),
    Flag::valued(
        "max-hz",
        "F",
        "sound clips: the highest frequency the bands cover (at most half the sample rate)",
    )
    .with_default(|| SoundSettings::default().max_hz.to_string())
    .sets("sound.maxHz"),
    Flag::switch("pos-weight", "weight rare labels' positives up in the loss")
        .sets("positiveWeights"),
    Flag::valued("label-smoothing", "E", "aim targets at E/2 and 1 − E/2; 0: off")
        .with_default(|| TrainingOptions::default().label_smoothing.to_string())
        .sets("labelSmoothing"),
    Flag::valued("ema", "D", "validate and keep a moving average of the weights, decay D; 0: off")
        .with_default(|| TrainingOptions::default().ema_decay.to_string())
        .sets("emaDecay"),
    Flag::valued("grad-clip", "X", "clip each parameter's gradient to this L2 norm; 0: off")
        .with_default(|| TrainingOptions::default().gradient_clip.to_string())
        .sets("gradientClip"),
    Flag::valued(
        "conv-init",
        "burn|he",
        "how a new network's convolutions start: burn's uniform init (learns fast), or \
         He's normal init (calmer; generalised better at depth 20 on photo-like data)",
    )
    .with_default(|| TrainingOptions::default().conv_init.as_str().into())
    .sets("convInit"),
    Flag::valued(
        "init",
        "MODEL",
        "start from a model file (same labels: continue; others: new head)",
    )
    .sets("init"),
    Flag::switch(
        "pretrained",
        "start from EfficientNet-Lite0's ImageNet weights with a new head (colour images; \
         224 px unless --image-size; --depth is not used)",
    )
    .sets("pretrained"),
    PRETRAINED_WEIGHTS,
    Flag::valued(
        "train-layers",
        "auto|head|top|all",
        "with --pretrained or --init, which layers train: the head alone, the top of the \
         backbone too, or all; auto: head below 500 images, top below 2,000, else all \
         (all with --init)",
    )
    .with_default(|| "auto".into())
    .sets("trainLayers"),
    Flag::valued(
        "backbone-lr",
        "F",
        "learning rate of the layers below the head, as a share of --lr (default: 0.1 with \
         --pretrained, else 1)",
    )
    .sets("backboneLrScale"),
    Flag::valued(
        "resize",
        "stretch|center-crop|letterbox",
        "how images become square; --init keeps the model's",
    )
    .with_default(|| ResizePolicy::default().to_string())
    .sets("resize"),
    Flag::valued("thresholds", "f1|precision=P|recall=R", "what label thresholds aim for")
        .with_default(|| "f1".into())
        .sets("thresholdGoal"),
    Flag::valued(
        "run-file",
        "FILE",
        "write the run file FILE after every epoch; if FILE exists, resume its run (its own \
         options, the same dataset) — run the same command again after a crash",
    )
    .formerly("checkpoint"),
    Flag::switch(
        "stream",
        "decode the images per batch from the zip's file (threads ahead of the step) instead \
         of all into memory first; default: when their pixels would take over half the \
         available memory (not for sound clips)",
    ),
    Flag::switch("in-memory", "decode every image into memory before the first step"),
    Flag::valued(
        "cache-memory",
        "SIZE",
        "when streaming, keep decoded images up to SIZE (512M, 4G; 0: none) for later epochs \
         (default: a quarter of the available memory, at most 512M)",
    ),
    DEVICE,
    Flag::valued(
        "devices",
        "N",
        "data-parallel over N peers in this process, each a shard of every batch (threads \
         sharing --device)",
    ),
    Flag::valued(
        "peers",
        "HOST:PORT,…",
        "data-parallel across processes or machines: every peer's address, rank 0 first, the \
         same list for each (README, \"Bigger than one machine\")",
    ),
    Flag::valued("rank", "K", "this process's place in --peers; rank 0 writes the outputs"),
    Flag::valued(
        "accumulate",
        "N",
        "take each batch in N passes, combined as N peers combine theirs (the memory of a \
         batch N times smaller)",
    ),
    Flag::valued("report", "REPORT.json", "also write the run's results as JSON"),
    Flag::switch("quiet", "no progress bars"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The options a flag may set: [`TrainingOptions`]' JSON names, with the augmentations'
    /// and the sound settings' named `augment.crop`, `sound.hop` as the library's errors name
    /// them; `init`, the library's name for a model to start from that does not fit the data,
    /// and `device`, for the backend.
    fn options() -> Vec<String> {
        let sound = Some(SoundSettings::default());
        let json =
            serde_json::to_value(TrainingOptions { sound, ..TrainingOptions::default() }).unwrap();
        let mut names = vec!["init".to_string(), "device".to_string()];
        for (name, value) in json.as_object().unwrap() {
            match value.as_object().filter(|_| name == "augment" || name == "sound") {
                Some(group) => names.extend(group.keys().map(|field| format!("{name}.{field}"))),
                None => names.push(name.clone()),
            }
        }
        names
    }

    #[test]
    fn every_training_option_has_a_flag_and_every_flag_a_real_option() {
        let options = options();
        for option in &options {
            assert!(
                FLAGS.iter().any(|f| f.option == Some(option.as_str())),
                "no flag of `tagtrain train` sets {option}"
            );
        }
        for flag in FLAGS {
            if let Some(option) = flag.option {
                assert!(
                    options.iter().any(|o| o == option),
                    "--{} sets no option {option}",
                    flag.name
                );
            }
        }
    }
}
