//! How a run starts: from fresh weights, from a saved model (fine-tuning) or from the
//! pretrained ImageNet weights (transfer learning). Each way, and a
//! run resumed from its run file too (the `run_file` module), ends in the same parts
//! ([`SessionParts`]), which one constructor assembles into a [`TrainingSession`].

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

use crate::checkpoint::load_trainable;
use crate::data::{Dataset, Normalization, Split, stratified_split, validation_share};
use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::model::batch_for_buffer;
use crate::model::efficientnet::{EfficientNetLite0Config, INPUT_MEAN, INPUT_STD, load_imagenet};
use crate::model::{NetworkConfig, ResNetV2Config};
use crate::options::{TrainLayers, TrainingOptions, WeightsInit};

use super::budget::EpochBudget;
use super::parts::{Progress, SessionParts, Start};
use super::schedule::steps_per_epoch;
use super::session::TrainingSession;

/// What a run starts from.
#[derive(Clone, Copy)]
pub(super) enum StartFrom<'a> {
    /// Fresh weights of the chosen depth.
    Scratch,
    /// A saved model's weights (the bytes of its model file).
    Model(&'a [u8]),
    /// EfficientNet-Lite0's ImageNet weights (the bytes of the converted `.safetensors`).
    Pretrained(&'a [u8]),
}

/// Fresh weights of the chosen depth, a saved model's, or the pretrained ImageNet weights.
///
/// With the same labels, in the same order, training continues from every weight. With a
/// different label set the backbone is kept and the classifier head is rebuilt for the new
/// labels. Either way the architecture and the input normalisation come from the model (the
/// backbone learned on them; `options.depth` is ignored).
pub(super) fn start(
    dataset: &Dataset,
    options: &TrainingOptions,
    train: &[usize],
    from: StartFrom<'_>,
    device: &Device,
) -> Result<Start> {
    let labels = dataset.labels.len();
    if matches!(from, StartFrom::Scratch) && options.train_layers != TrainLayers::All {
        return Err(Error::option(
            "trainLayers",
            format!(
                "'{}' keeps the backbone's weights, and a network trained from scratch has none \
                 to keep; start from a model file or the pretrained weights",
                options.train_layers.as_str()
            ),
        ));
    }
    let bytes = match from {
        StartFrom::Scratch => None,
        StartFrom::Model(bytes) => Some(bytes),
        StartFrom::Pretrained(bytes) => return pretrained(dataset, bytes, device),
    };
    let Some(bytes) = bytes else {
        let config =
            ResNetV2Config::for_depth(options.depth, labels)?.with_in_channels(dataset.channels);
        return Ok(Start {
            model: config.init_with(options.conv_init, device)?.into(),
            config: config.into(),
            norm: Normalization::measure(dataset, train)?,
            init: WeightsInit::New,
            lineage: Vec::new(),
        });
    };
    let (model, parent) = load_trainable(bytes, device)?;
    if parent.input.sound.is_some() != dataset.sound.is_some() {
        let (model_holds, data_holds) = if dataset.sound.is_some() {
            ("images", "sound clips")
        } else {
            ("sound clips", "images")
        };
        return Err(Error::option(
            "init",
            format!("the model was trained on {model_holds} and this dataset holds {data_holds}"),
        ));
    }
    if parent.input.channels != dataset.channels {
        return Err(Error::option(
            "init",
            format!(
                "the model takes {}-channel images and this dataset has {} channels; fine-tune \
                 on images of the same kind",
                parent.input.channels, dataset.channels
            ),
        ));
    }
    let mut lineage = parent.lineage;
    lineage.extend(parent.training);
    let mut config = parent.architecture;
    let (model, init) = if parent.labels == dataset.labels {
        (model, WeightsInit::Continue)
    } else {
        config = config.with_num_labels(labels);
        (model.with_new_head(labels, device), WeightsInit::NewHead)
    };
    Ok(Start { model, config, norm: parent.input.normalization, init, lineage })
}

/// EfficientNet-Lite0 with its ImageNet weights and a new head for the dataset's labels, and
/// its input normalisation (TensorFlow's `(pixel − 127) / 128`, which the weights learned on).
/// Grayscale images (and spectrograms) are repeated into the three channels.
fn pretrained(dataset: &Dataset, weights: &[u8], device: &Device) -> Result<Start> {
    let (labels, channels) = (dataset.labels.len(), dataset.channels);
    if channels != 1 && channels != 3 {
        return Err(Error::option(
            "pretrained",
            format!("the pretrained network takes 1 or 3 channels, and the images have {channels}"),
        ));
    }
    let model = load_imagenet(weights, device)?.with_new_classifier(labels, device);
    let norm = Normalization {
        mean: vec![INPUT_MEAN / 255.0; channels],
        std: vec![INPUT_STD / 255.0; channels],
    };
    let config = EfficientNetLite0Config::new(labels).with_in_channels(channels);
    Ok(Start {
        model: model.into(),
        config: config.into(),
        norm,
        init: WeightsInit::Pretrained,
        lineage: Vec::new(),
    })
}

/// Held while a run seeds the backend's generator and draws its initial weights.
static INITIAL_WEIGHTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Draws every parameter that is still lazy (burn initialises a parameter at its first use).
struct DrawWeights;

impl ModuleVisitor for DrawWeights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

impl TrainingSession {
    /// Prepares a run from fresh weights: splits the data, measures the normalisation and
    /// builds the network.
    pub fn new(dataset: Dataset, options: TrainingOptions, compute: ComputeDevice) -> Result<Self> {
        Self::build(dataset, options, compute, StartFrom::Scratch)
    }

    /// Prepares a run that starts from a saved model (fine-tuning).
    ///
    /// With the same labels, in the same order, training continues from every weight
    /// ([`WeightsInit::Continue`]). With a different label set the backbone is kept and the
    /// classifier head is rebuilt for the new labels ([`WeightsInit::NewHead`]). Either way the
    /// architecture and the input normalisation come from the model (the backbone learned on
    /// them; `depth` in `options` is ignored), and the saved model records the earlier runs in
    /// its lineage.
    pub fn from_model(
        dataset: Dataset,
        options: TrainingOptions,
        compute: ComputeDevice,
        model_file: &[u8],
    ) -> Result<Self> {
        Self::build(dataset, options, compute, StartFrom::Model(model_file))
    }

    /// Prepares a run that starts from EfficientNet-Lite0's ImageNet weights (`weights`: the
    /// `.safetensors` file `scripts/fetch-pretrained.sh` writes) with a new head for the
    /// dataset's labels ([`WeightsInit::Pretrained`]). `options.train_layers` says which layers
    /// train ([`TrainLayers::for_training_images`] chooses from the data), and
    /// `options.backbone_lr_scale` how fast the backbone's do; `depth` is ignored. The images
    /// must be colour.
    pub fn pretrained(
        dataset: Dataset,
        options: TrainingOptions,
        compute: ComputeDevice,
        weights: &[u8],
    ) -> Result<Self> {
        Self::build(dataset, options, compute, StartFrom::Pretrained(weights))
    }

    fn build(
        dataset: Dataset,
        options: TrainingOptions,
        compute: ComputeDevice,
        from: StartFrom<'_>,
    ) -> Result<Self> {
        let mut options = options;
        let refused = match (options.pretrained, from) {
            (true, StartFrom::Scratch) => Some("the pretrained weights were not given"),
            (true, StartFrom::Model(_)) => {
                Some("a run starts from the pretrained weights or from a model file, not both")
            }
            _ => None,
        };
        if let Some(why) = refused {
            return Err(Error::option("pretrained", why));
        }
        options.pretrained = matches!(from, StartFrom::Pretrained(_));
        // A dataset of sound clips knows how its spectrograms were made; the run (and the
        // model file) records it, and options that say otherwise are a mistake.
        match (&options.sound, &dataset.sound) {
            (None, Some(sound)) => options.sound = Some(sound.clone()),
            (Some(_), None) => {
                return Err(Error::option(
                    "sound",
                    "spectrogram settings are set, and the dataset holds images",
                ));
            }
            (Some(asked), Some(made)) if asked != made => {
                return Err(Error::option(
                    "sound",
                    "the dataset's clips were made into spectrograms with other settings; decode them with these",
                ));
            }
            _ => {}
        }
        options.validate()?;
        let dataset = chosen_labels(dataset, &options)?;
        if dataset.len() < 2 {
            return Err(Error::empty_dataset("at least 2 images are needed to train"));
        }
        // The run records the share it used (a resumed run, and the model file, then say it).
        options.validation_fraction.get_or_insert_with(|| validation_share(&dataset));
        let split = run_split(&dataset, &options);
        let budget = options.time_budget_seconds.map(EpochBudget::new);
        let train_device = compute.device.clone().autodiff();
        let start = {
            // The CPU backend draws initial weights from one process-wide generator, and
            // lazily, at a parameter's first use: two runs starting at once (tests in
            // parallel, or an embedder's two sessions) would take turns on it and not repeat.
            // Seeding and every draw happen under one lock instead.
            let _draws = INITIAL_WEIGHTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            train_device.seed(options.seed);
            let start = start(&dataset, &options, &split.train, from, &train_device)?;
            start.model.visit(&mut DrawWeights);
            start
        };
        let batch_notice =
            fit_batch_to_buffers(&mut options, &start.config, &dataset, &split, &compute)?;
        let progress = Progress::fresh(&options, &start.model);
        Ok(Self::assemble(SessionParts {
            steps_per_epoch: steps_per_epoch(split.train.len(), options.batch_size),
            dataset,
            fingerprint: None,
            options,
            split,
            compute,
            train_device,
            start,
            progress,
            budget,
            batch_notice,
        }))
    }
}

/// The dataset with only the label columns `options.labels` chose (all when `None`).
pub(super) fn chosen_labels(mut dataset: Dataset, options: &TrainingOptions) -> Result<Dataset> {
    if let Some(labels) = &options.labels {
        dataset.select_labels(labels)?;
    }
    Ok(dataset)
}

/// The run's train/validation split: stratified by the seed (all images train when the
/// validation share leaves none to train on). A run without a share (a saved run from before
/// the share was chosen from the data never lacks one) uses the dataset's.
pub(super) fn run_split(dataset: &Dataset, options: &TrainingOptions) -> Split {
    let share = options.validation_fraction.unwrap_or_else(|| validation_share(dataset));
    let mut split = stratified_split(dataset, share, options.seed);
    if split.train.is_empty() {
        split.train = std::mem::take(&mut split.valid);
    }
    split
}

/// Lowers `options.batch_size` to what the device's largest buffer holds (a GPU's; the CPU
/// has no such limit) and returns the notice saying so. A batch is never larger than the
/// training images, so only that many need to fit.
pub(super) fn fit_batch_to_buffers(
    options: &mut TrainingOptions,
    config: &NetworkConfig,
    dataset: &Dataset,
    split: &Split,
    compute: &ComputeDevice,
) -> Result<Option<String>> {
    let Some(limit) = compute.max_buffer_bytes else {
        return Ok(None);
    };
    let batch = options.batch_size.min(split.train.len().max(1));
    let (fitting, notice) =
        batch_for_buffer(&config.footprint(dataset.image_size)?, dataset.image_size, batch, limit)?;
    if notice.is_some() {
        options.batch_size = fitting;
    }
    Ok(notice)
}
