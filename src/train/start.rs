//! Where a run's weights start: fresh, or a saved model (fine-tuning).

use burn::tensor::Device;

use crate::checkpoint::{TrainingSummary, load_trainable};
use crate::data::{Dataset, Normalization};
use crate::error::{Error, Result};
use crate::model::{ResNetV2, ResNetV2Config};
use crate::options::{TrainingOptions, WeightsInit};

/// The network a run starts from, with what the model file will need to say about it.
pub(super) struct Start {
    /// Trainable weights on the autodiff device.
    pub model: ResNetV2,
    /// The architecture (the parent's when fine-tuning, with this dataset's label count).
    pub config: ResNetV2Config,
    /// Input normalisation: measured on the training images, or the parent's.
    pub norm: Normalization,
    /// How the weights started.
    pub init: WeightsInit,
    /// The runs before this one, oldest first.
    pub lineage: Vec<TrainingSummary>,
}

/// Fresh weights of the chosen depth, or a saved model's (`model_file`).
///
/// With the same labels, in the same order, training continues from every weight. With a
/// different label set the backbone is kept and the classifier head is rebuilt for the new
/// labels. Either way the architecture and the input normalisation come from the model (the
/// backbone learned on them; `options.depth` is ignored).
pub(super) fn start(
    dataset: &Dataset,
    options: &TrainingOptions,
    train: &[usize],
    model_file: Option<&[u8]>,
    device: &Device,
) -> Result<Start> {
    let labels = dataset.labels.len();
    let Some(bytes) = model_file else {
        let config =
            ResNetV2Config::for_depth(options.depth, labels)?.with_in_channels(dataset.channels);
        return Ok(Start {
            model: config.init_with(options.conv_init, device)?,
            config,
            norm: Normalization::measure(dataset, train),
            init: WeightsInit::New,
            lineage: Vec::new(),
        });
    };
    let (model, parent) = load_trainable(bytes, device)?;
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
        config.num_labels = labels;
        (model.with_new_head(labels, device), WeightsInit::NewHead)
    };
    Ok(Start { model, config, norm: parent.input.normalization, init, lineage })
}
