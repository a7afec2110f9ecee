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

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, Transaction};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Error, Result};
use crate::model::Network;
pub(crate) use crate::model::params::StoredTensors;
use crate::model::params::not_safetensors;
pub(crate) use crate::model::params::read_f32_tensors;

mod check;
mod metadata;

pub use check::{
    MAX_BASE_WIDTH, MAX_DEPTH, MAX_LABEL_BYTES, check_metadata, check_tensors, read_metadata,
};
pub use metadata::{
    FORMAT, InputSpec, ModelMetadata, TrainedData, TrainingSummary, VERSION, check_thresholds,
};

/// Collects every float tensor with its module path (after a prefix).
#[derive(Default)]
struct Collector {
    path: Vec<String>,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    tensors: Vec<Tensor<1>>,
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
        let dims = tensor.dims().to_vec();
        self.tensors.push(tensor.reshape([dims.iter().product::<usize>()]));
        self.shapes.push(dims);
        self.names.push(self.path.join("."));
    }
}

/// A tensor read back from the device.
pub(crate) struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Tensors to read back: every float tensor of some networks (each named `prefix` + module
/// path) and loose ones.
#[derive(Default)]
pub(crate) struct Readback {
    collector: Collector,
}

impl Readback {
    /// Adds every float tensor of `model`, named `{prefix}{module path}`.
    pub fn module(mut self, prefix: &str, model: &Network) -> Self {
        let start = self.collector.names.len();
        model.visit_inner(&mut self.collector);
        for name in &mut self.collector.names[start..] {
            name.insert_str(0, prefix);
        }
        self
    }

    /// Adds one flat tensor.
    #[cfg(feature = "train")]
    pub fn tensor(mut self, name: String, tensor: Tensor<1>) -> Self {
        self.collector.names.push(name);
        self.collector.shapes.push(tensor.dims().to_vec());
        self.collector.tensors.push(tensor);
        self
    }

    /// Reads everything back asynchronously, in one transaction (works on WebGPU in the
    /// browser).
    pub async fn read(self) -> Result<Vec<NamedTensor>> {
        let Collector { names, shapes, tensors, .. } = self.collector;
        let data = if tensors.is_empty() {
            Vec::new()
        } else {
            tensors
                .into_iter()
                .fold(Transaction::default(), Transaction::register)
                .execute_async()
                .await
                .map_err(Error::backend)?
        };
        names
            .into_iter()
            .zip(shapes)
            .zip(data)
            .map(|((name, shape), data)| {
                let values = data
                    .try_to_vec::<f32>()
                    .map_err(|e| Error::backend(format!("reading '{name}': {e:?}")))?;
                Ok(NamedTensor { name, shape, values })
            })
            .collect()
    }
}

/// A `.safetensors` file of `tensors` with `metadata` in its header.
pub(crate) fn serialize(
    tensors: &[NamedTensor],
    metadata: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<u8>> {
    let buffers: Vec<Vec<u8>> =
        tensors.iter().map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views = tensors
        .iter()
        .zip(&buffers)
        .map(|(t, bytes)| {
            TensorView::new(Dtype::F32, t.shape.clone(), bytes)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| Error::backend(format!("tensor '{}': {e}", t.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(metadata.into_iter().collect())).map_err(Error::backend)
}

/// Serialises `model` and `metadata` to the bytes of a `.safetensors` file.
pub async fn save(model: &Network, metadata: &ModelMetadata) -> Result<Vec<u8>> {
    let tensors = Readback::default().module("", model).read().await?;
    serialize(&tensors, metadata.header()?)
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
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    safetensors::serialize(file.tensors(), Some(metadata.header()?.into_iter().collect()))
        .map_err(Error::backend)
}

/// Reads and checks a whole model file without loading it: its metadata field by field and
/// its tensors against the architecture ([`check_tensors`]). What `inspect` reports.
pub fn check(bytes: &[u8]) -> Result<ModelMetadata> {
    let metadata = read_metadata(bytes)?;
    check_tensors(bytes, &metadata.architecture)?;
    Ok(metadata)
}

/// Loads a model file onto `device`, in inference mode.
pub fn load(bytes: &[u8], device: &Device) -> Result<(Network, ModelMetadata)> {
    let (model, metadata) = load_trainable(bytes, device)?;
    Ok((model.valid(), metadata))
}

/// Loads a model file onto `device` with trainable parameters (an autodiff device for
/// fine-tuning).
pub fn load_trainable(bytes: &[u8], device: &Device) -> Result<(Network, ModelMetadata)> {
    // The metadata's checks bound the network before it is built; the tensors are then held to
    // it as they load (dtype, names, shapes, none left over), so `check_tensors`, which builds
    // the network once more to compare the header against, would only repeat that.
    let metadata = read_metadata(bytes)?;
    let mut tensors = read_f32_tensors(bytes)?;
    let model = load_into(metadata.architecture.init(device)?, &mut tensors, "", device)?;
    if let Some(extra) = tensors.keys().next() {
        return Err(Error::model_file(format!(
            "unexpected tensor '{extra}' for this architecture"
        )));
    }
    Ok((model, metadata))
}

/// Replaces every float tensor of `model` by the one named `{prefix}{module path}` in
/// `tensors` (the path within the family's own module, as the model file names it), taking
/// it out; errors name a missing or misshapen tensor.
pub(crate) fn load_into(
    model: Network,
    tensors: &mut StoredTensors,
    prefix: &str,
    device: &Device,
) -> Result<Network> {
    model.load_inner(tensors, prefix, device)
}
