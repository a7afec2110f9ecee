//! The model file: one `.safetensors` file.
//!
//! Tensors are named by module path (`units.0.conv1.weight`, `head.bias`, …) and stored as
//! little-endian `f32`. The safetensors header's `__metadata__` holds two keys: `format`
//! (`"tagtrain-model"`) and `tagtrain`, a JSON [`ModelMetadata`] with the labels, per-label
//! thresholds, input size and normalisation, the architecture config and a training summary.
//! Python reads it with `safetensors.safe_open(path, "np").metadata()`.
//!
//! Saving reads every parameter back from the device asynchronously, in one transaction, so it
//! works on WebGPU in the browser.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData, Transaction};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::data::{Normalization, ResizePolicy};
use crate::error::{Error, Result};
use crate::model::{ResNetV2, ResNetV2Config};
use crate::options::{TrainingOptions, WeightsInit};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "tagtrain-model";
/// Version of the metadata layout; bumped on incompatible change.
pub const VERSION: u32 = 1;

/// Everything besides the weights that prediction needs, and what the user should know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelMetadata {
    pub format: String,
    pub version: u32,
    /// Label names, in output order.
    pub labels: Vec<String>,
    /// Probability at or above which each label is predicted present.
    pub thresholds: Vec<f32>,
    /// How images are prepared.
    pub input: InputSpec,
    /// The network.
    pub architecture: ResNetV2Config,
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
            },
            architecture: ResNetV2Config::new(crate::model::ResNetKind::Small, 11, 1),
            training: None,
            lineage: Vec::new(),
        }
    }
}

/// Image preparation stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// A record of the training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingSummary {
    /// Labels this run trained on.
    #[serde(default)]
    pub labels: Vec<String>,
    /// How the weights started.
    #[serde(default)]
    pub init: WeightsInit,
    pub options: TrainingOptions,
    pub steps: usize,
    pub epochs_completed: usize,
    /// Epoch whose weights were kept (best validation mAP).
    #[serde(default)]
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended the run.
    #[serde(default)]
    pub stopped_early: bool,
    /// Training throughput (images/s, validation included).
    #[serde(default)]
    pub images_per_sec: f64,
    pub train_images: usize,
    pub valid_images: usize,
    pub backend: String,
    /// Validation mAP of the kept weights.
    pub final_map: Option<f64>,
    /// Validation loss of the kept weights.
    pub final_valid_loss: Option<f64>,
}

/// Collects every float tensor with its module path.
#[derive(Default)]
struct Collector {
    path: Vec<String>,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    transaction: Option<Transaction>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        self.shapes.push(tensor.dims().to_vec());
        self.names.push(self.path.join("."));
        let transaction = self.transaction.take().unwrap_or_default();
        self.transaction = Some(transaction.register(tensor));
    }
}

/// Serialises `model` and `metadata` to the bytes of a `.safetensors` file.
pub async fn save(model: &ResNetV2, metadata: &ModelMetadata) -> Result<Vec<u8>> {
    let mut collector = Collector::default();
    model.visit(&mut collector);
    let data = match collector.transaction.take() {
        Some(t) => t.execute_async().await.map_err(Error::backend)?,
        None => Vec::new(),
    };
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(data.len());
    for ((name, shape), data) in collector.names.into_iter().zip(collector.shapes).zip(data) {
        let values = data
            .try_to_vec::<f32>()
            .map_err(|e| Error::backend(format!("reading '{name}': {e:?}")))?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        buffers.push((name, shape, bytes));
    }
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::backend(format!("tensor '{name}': {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let json = serde_json::to_string(metadata).map_err(Error::backend)?;
    let info = [("format".to_string(), FORMAT.to_string()), ("tagtrain".to_string(), json)]
        .into_iter()
        .collect();
    safetensors::serialize(views, Some(info)).map_err(Error::backend)
}

/// Reads only the metadata of a model file.
pub fn read_metadata(bytes: &[u8]) -> Result<ModelMetadata> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::model_file(format!("not a safetensors file ({e})")))?;
    let info = header.metadata().as_ref().ok_or_else(|| {
        Error::model_file("the file has no __metadata__; it was not written by tagtrain")
    })?;
    if info.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(Error::model_file(format!(
            "__metadata__.format is not '{FORMAT}'; it was not written by tagtrain"
        )));
    }
    let json = info
        .get("tagtrain")
        .ok_or_else(|| Error::model_file("__metadata__ has no 'tagtrain' entry"))?;
    let metadata: ModelMetadata =
        serde_json::from_str(json).map_err(|e| Error::model_file(format!("metadata JSON: {e}")))?;
    if metadata.version > VERSION {
        return Err(Error::model_file(format!(
            "format version {} is newer than this tagtrain understands ({VERSION}); update tagtrain",
            metadata.version
        )));
    }
    if metadata.labels.len() != metadata.architecture.num_labels
        || metadata.thresholds.len() != metadata.labels.len()
    {
        return Err(Error::model_file("label, threshold and output counts disagree"));
    }
    Ok(metadata)
}

/// Rewrites a model file with new per-label thresholds (weights untouched): the user picked
/// operating points after training.
///
/// # Errors
/// Not a tagtrain model file, or a threshold count or value that does not fit.
pub fn with_thresholds(bytes: &[u8], thresholds: &[f32]) -> Result<Vec<u8>> {
    let mut metadata = read_metadata(bytes)?;
    check_thresholds(&metadata, thresholds)?;
    metadata.thresholds = thresholds.to_vec();
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| Error::model_file(format!("not a safetensors file ({e})")))?;
    let json = serde_json::to_string(&metadata).map_err(Error::backend)?;
    let info = [("format".to_string(), FORMAT.to_string()), ("tagtrain".to_string(), json)]
        .into_iter()
        .collect();
    safetensors::serialize(file.tensors(), Some(info)).map_err(Error::backend)
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

/// Replaces every float tensor by the stored one with the same path.
struct Loader {
    path: Vec<String>,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    device: Device,
    error: Option<Error>,
}

impl ModuleMapper for Loader {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.join(".");
        let expected = param.lazy_shape().to_vec();
        match self.tensors.remove(&name) {
            Some((shape, values)) if shape == expected => {
                let device = self.device.clone();
                // Keep the parameter trainable (on an autodiff device) as it was.
                param.map(move |old| {
                    let require_grad = old.is_require_grad();
                    Tensor::from_data(TensorData::new(values, shape), &device)
                        .set_require_grad(require_grad)
                })
            }
            Some((shape, _)) => {
                self.error.get_or_insert_with(|| {
                    Error::model_file(format!(
                        "tensor '{name}' has shape {shape:?}, the architecture needs {expected:?}"
                    ))
                });
                param
            }
            None => {
                self.error.get_or_insert_with(|| {
                    Error::model_file(format!("tensor '{name}' is missing"))
                });
                param
            }
        }
    }
}

/// Loads a model file onto `device`, in inference mode.
pub fn load(bytes: &[u8], device: &Device) -> Result<(ResNetV2, ModelMetadata)> {
    let (model, metadata) = load_trainable(bytes, device)?;
    Ok((model.valid(), metadata))
}

/// Loads a model file onto `device` with trainable parameters (an autodiff device for
/// fine-tuning).
pub fn load_trainable(bytes: &[u8], device: &Device) -> Result<(ResNetV2, ModelMetadata)> {
    let metadata = read_metadata(bytes)?;
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| Error::model_file(format!("not a safetensors file ({e})")))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::model_file(format!(
                "tensor '{name}' is {:?}, expected F32",
                view.dtype()
            )));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.insert(name, (view.shape().to_vec(), values));
    }
    let model = metadata.architecture.init(device)?;
    let mut loader = Loader { path: Vec::new(), tensors, device: device.clone(), error: None };
    let model = model.map(&mut loader);
    if let Some(e) = loader.error {
        return Err(e);
    }
    if let Some(extra) = loader.tensors.keys().next() {
        return Err(Error::model_file(format!(
            "unexpected tensor '{extra}' for this architecture"
        )));
    }
    Ok((model, metadata))
}
