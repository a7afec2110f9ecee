//! A network's parameters by module path: reading the tensors of a `.safetensors` file and
//! filling any module from them, every tensor checked against the parameter it replaces.
//! Model files ([`crate::checkpoint`]), run files and pretrained weights
//! ([`super::efficientnet::load_imagenet`]) load through it.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::tensor::Dtype;

use crate::error::{Error, Result};

/// The error for bytes the safetensors reader refuses.
pub(crate) fn not_safetensors(e: safetensors::SafeTensorError) -> Error {
    Error::model_file(format!("not a safetensors file ({e})"))
}

/// A file's tensors by name: shape and `f32` values.
pub(crate) type StoredTensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Replaces every float tensor by the stored one with the same path.
struct Loader<'a> {
    prefix: &'a str,
    path: Vec<String>,
    tensors: &'a mut StoredTensors,
    device: Device,
    error: Option<Error>,
}

impl ModuleMapper for Loader<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = format!("{}{}", self.prefix, self.path.join("."));
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

/// Every tensor of a `.safetensors` file, by name: shape and `f32` values.
pub(crate) fn read_f32_tensors(bytes: &[u8]) -> Result<StoredTensors> {
    read_tensors(bytes, false)
}

/// As [`read_f32_tensors`], and with `widen_f16` also `F16` tensors, widened to `f32` (half
/// the download for pretrained weights).
pub(crate) fn read_tensors(bytes: &[u8], widen_f16: bool) -> Result<StoredTensors> {
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        let values = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 if widen_f16 => view
                .data()
                .chunks_exact(2)
                .map(|b| burn::tensor::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                let expected = if widen_f16 { "F32 or F16" } else { "F32" };
                return Err(Error::model_file(format!(
                    "tensor '{name}' is {other:?}, expected {expected}"
                )));
            }
        };
        tensors.insert(name, (view.shape().to_vec(), values));
    }
    Ok(tensors)
}

/// Replaces every float tensor of `model` by the one named `{prefix}{module path}` in
/// `tensors`, taking it out; errors name a missing or misshapen tensor.
pub(crate) fn load_into<M: Module>(
    model: M,
    tensors: &mut StoredTensors,
    prefix: &str,
    device: &Device,
) -> Result<M> {
    let mut loader =
        Loader { prefix, path: Vec::new(), tensors, device: device.clone(), error: None };
    let model = model.map(&mut loader);
    match loader.error {
        Some(e) => Err(e),
        None => Ok(model),
    }
}
