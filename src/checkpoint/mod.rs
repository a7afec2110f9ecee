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

use crate::error::{Error, Result};
use crate::model::ResNetV2;

mod metadata;

pub use metadata::{
    FORMAT, InputSpec, ModelMetadata, TrainingSummary, VERSION, check_thresholds, read_metadata,
};

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
    safetensors::serialize(views, Some(metadata.header()?.into_iter().collect()))
        .map_err(Error::backend)
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
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(metadata::not_safetensors)?;
    safetensors::serialize(file.tensors(), Some(metadata.header()?.into_iter().collect()))
        .map_err(Error::backend)
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
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(metadata::not_safetensors)?;
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
