//! What the peers of a data-parallel step exchange, flattened: one shard's loss, image count,
//! gradients and batch-norm running statistics; and how they are combined and put back.
//!
//! Every peer walks the same network in the same order, so a flat vector is enough: the
//! parameters that train (those that require a gradient), then the running statistics (module
//! paths ending `running_mean` / `running_var`). Frozen layers are in neither list.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use crate::checkpoint::{Readback, StoredTensors};
use crate::error::{Error, Result};
use crate::model::Network;

/// Values before the gradients in a shard's vector: loss, images, gradient length.
const HEADER: usize = 3;

/// One shard's values as a peer sends them: `[loss, images, G, gradients (G), statistics]`,
/// read from the device at once. `loss` and `grads` are `None` for a shard without images
/// (its loss and gradients are zeros, and weigh nothing).
///
/// # Errors
/// A failed read from the device.
pub(crate) async fn shard_values(
    model: &Network,
    grads: Option<&GradientsParams>,
    loss: Option<Tensor<1>>,
    images: usize,
) -> Result<Vec<f32>> {
    settle(model);
    let mut walk = Collect::new(grads);
    model.visit_inner(&mut walk);
    let gradient_len: usize = walk.grads_out.iter().map(|(n, _)| n).sum();
    let mut parts = vec![(1, loss), (1, None), (1, None)];
    parts.extend(walk.grads_out);
    parts.extend(walk.stats_out);
    let mut values = read_flat(parts).await?;
    values[1] = images as f32;
    values[2] = gradient_len as f32;
    Ok(values)
}

/// The running statistics of `model`, flattened in walk order.
///
/// # Errors
/// A failed read from the device.
pub(crate) async fn running_statistics(model: &Network) -> Result<Vec<f32>> {
    settle(model);
    let mut walk = Collect::new(None);
    model.visit_inner(&mut walk);
    read_flat(walk.stats_out).await
}

/// Every float tensor of `model` (weights, frozen or not, and running statistics) read as a
/// model file reads them, flattened in name order, and their names and shapes (the values
/// taken out): what rank 0 sends the others when a run starts.
///
/// # Errors
/// A failed read from the device.
pub(crate) async fn every_value(model: &Network) -> Result<(Vec<f32>, StoredTensors)> {
    let tensors = Readback::default().module("", model).read().await?;
    let mut layout: StoredTensors =
        tensors.into_iter().map(|t| (t.name, (t.shape, t.values))).collect();
    let values = layout.values_mut().flat_map(|(_, v)| std::mem::take(v)).collect();
    Ok((values, layout))
}

/// Replaces every float tensor of `model` by `values`, cut along `layout` ([`every_value`]'s
/// names and shapes of this network), keeping which ones train, as a model file loads.
///
/// # Errors
/// [`crate::ErrorKind::Peer`] (naming rank 0) when `values` is not this network's size.
pub(crate) fn set_every_value(
    model: Network,
    values: &[f32],
    mut layout: StoredTensors,
    device: &Device,
) -> Result<Network> {
    let wrong_size =
        || super::peer_error(0, format!("it sent {} weights, not this network's", values.len()));
    let mut rest = values;
    for (shape, slot) in layout.values_mut() {
        let len = shape.iter().product::<usize>();
        if rest.len() < len {
            return Err(wrong_size());
        }
        let (mine, tail) = rest.split_at(len);
        *slot = mine.to_vec();
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(wrong_size());
    }
    model.load_inner(&mut layout, "", device)
}

/// Every peer's shard combined: the batch's loss, then its gradients and running statistics
/// in [`shard_values`]'s order.
pub(crate) struct Combined {
    pub loss: f32,
    gradient_len: usize,
    values: Vec<f32>,
}

/// Combines the shards' values, in rank order: a shard of `n` of the batch's `N` images
/// weighs `n / N` (so the loss and gradients are the whole batch's mean), the running
/// statistics are the same weighted mean, taken as rank 0's plus the weighted differences
/// (frozen or equal statistics stay bit for bit).
///
/// # Errors
/// [`crate::ErrorKind::Peer`] when the peers' networks differ in size.
pub(crate) fn combine(parts: &[Vec<f32>]) -> Result<Combined> {
    let first = &parts[0];
    if first.len() < HEADER {
        return Err(super::peer_error(0, "it sent no step"));
    }
    for (rank, part) in parts.iter().enumerate() {
        if part.len() != first.len() || part.get(2) != first.get(2) {
            return Err(super::peer_error(
                rank,
                format!(
                    "it sent {} values and this peer {}: every peer needs the same network",
                    part.len(),
                    first.len()
                ),
            ));
        }
    }
    let images: f64 = parts.iter().map(|p| f64::from(p[1])).sum();
    if images == 0.0 {
        return Err(Error::misuse("a step of no images"));
    }
    let weights: Vec<f64> = parts.iter().map(|p| f64::from(p[1]) / images).collect();
    let gradient_len = first[2] as usize;
    let base = &parts[0][HEADER..];
    let values = (0..first.len() - HEADER)
        .map(|j| {
            if j < gradient_len {
                parts.iter().zip(&weights).map(|(p, w)| w * f64::from(p[HEADER + j])).sum::<f64>()
                    as f32
            } else {
                let b = f64::from(base[j]);
                let shift: f64 = parts
                    .iter()
                    .zip(&weights)
                    .map(|(p, w)| w * (f64::from(p[HEADER + j]) - b))
                    .sum();
                (b + shift) as f32
            }
        })
        .collect();
    let loss = parts.iter().zip(&weights).map(|(p, w)| w * f64::from(p[0])).sum::<f64>() as f32;
    Ok(Combined { loss, gradient_len, values })
}

impl Combined {
    /// Puts the combined running statistics into `model` and returns it with the combined
    /// gradients, ready for the optimiser.
    pub(crate) fn apply(&self, model: Network) -> (Network, GradientsParams) {
        let (gradients, statistics) = self.values.split_at(self.gradient_len);
        let mut put = Put::new(gradients, statistics);
        let model = model.map_inner(&mut put);
        (model, put.grads)
    }
}

/// Puts `statistics` (as [`running_statistics`] read them) back into `model`: an accumulated
/// step restores them between its shards, as if each shard ran on its own peer.
pub(crate) fn set_running_statistics(model: Network, statistics: &[f32]) -> Network {
    let mut put = Put::new(&[], statistics);
    model.map_inner(&mut put)
}

/// Brings `model`'s running statistics up to date: burn's batch norm parks a forward pass's
/// new statistics per thread (`RunningState::update`) until the next pass or an inference
/// copy reads them, and a walk over the module sees the value from before. The readers call
/// it; the writers ([`Combined::apply`], [`set_running_statistics`]) come after a reader on
/// the same model, with no forward pass between.
fn settle(model: &Network) {
    let _ = model.valid();
}

/// True for a batch norm's running mean or variance.
fn is_running_statistic(path: &[String]) -> bool {
    matches!(path.last().map(String::as_str), Some("running_mean" | "running_var"))
}

/// Reads tensors (or zeros of a length, for gradients a shard does not have) into one vector,
/// in one read from the device.
async fn read_flat(parts: Vec<(usize, Option<Tensor<1>>)>) -> Result<Vec<f32>> {
    let present: Vec<Tensor<1>> = parts.iter().filter_map(|(_, t)| t.clone()).collect();
    let mut read = if present.is_empty() {
        Vec::new()
    } else {
        let data = Tensor::cat(present, 0).into_data_async().await.map_err(Error::backend)?;
        data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))?
    }
    .into_iter();
    let mut out = Vec::with_capacity(parts.iter().map(|(n, _)| n).sum());
    for (len, tensor) in &parts {
        match tensor {
            Some(_) => out.extend(read.by_ref().take(*len)),
            None => out.extend(std::iter::repeat_n(0.0, *len)),
        }
    }
    Ok(out)
}

/// Walks a network, taking its gradients (from `grads`) and running statistics.
struct Collect<'a> {
    grads: Option<&'a GradientsParams>,
    path: Vec<String>,
    grads_out: Vec<(usize, Option<Tensor<1>>)>,
    stats_out: Vec<(usize, Option<Tensor<1>>)>,
}

impl<'a> Collect<'a> {
    fn new(grads: Option<&'a GradientsParams>) -> Self {
        Self { grads, path: Vec::new(), grads_out: Vec::new(), stats_out: Vec::new() }
    }
}

impl ModuleVisitor for Collect<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let len = tensor.dims().iter().product::<usize>();
        if is_running_statistic(&self.path) {
            self.stats_out.push((len, Some(tensor.inner().reshape([len]))));
        } else if tensor.is_require_grad() {
            let grad = self.grads.and_then(|g| g.get::<D>(param.id));
            self.grads_out.push((len, grad.map(|g| g.inner().reshape([len]))));
        }
    }
}

/// Walks a network, registering its gradients and replacing its running statistics from flat
/// values in [`Collect`]'s order.
struct Put<'a> {
    gradients: &'a [f32],
    statistics: &'a [f32],
    grads: GradientsParams,
    path: Vec<String>,
}

impl<'a> Put<'a> {
    fn new(gradients: &'a [f32], statistics: &'a [f32]) -> Self {
        Self { gradients, statistics, grads: GradientsParams::new(), path: Vec::new() }
    }
}

impl ModuleMapper for Put<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let dims = tensor.dims();
        let len = dims.iter().product::<usize>();
        let device = tensor.device();
        if is_running_statistic(&self.path) {
            if self.statistics.len() >= len {
                let (mine, rest) = self.statistics.split_at(len);
                self.statistics = rest;
                let values = Tensor::<D>::from_data(TensorData::new(mine.to_vec(), dims), &device);
                return Param::from_mapped_value(id, values, mapper);
            }
        } else if tensor.is_require_grad() && self.gradients.len() >= len {
            let (mine, rest) = self.gradients.split_at(len);
            self.gradients = rest;
            let grad = Tensor::<D>::from_data(TensorData::new(mine.to_vec(), dims), &device);
            self.grads.register::<D>(id, grad.inner());
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(loss: f32, images: f32, grads: &[f32], stats: &[f32]) -> Vec<f32> {
        let mut v = vec![loss, images, grads.len() as f32];
        v.extend(grads);
        v.extend(stats);
        v
    }

    #[test]
    fn shards_weigh_by_their_images_and_equal_statistics_stay_exact() {
        let parts =
            [part(1.0, 3.0, &[3.0, 0.0], &[0.1, 7.0]), part(2.0, 1.0, &[-1.0, 4.0], &[0.1, 11.0])];
        let combined = combine(&parts).unwrap();
        assert!((combined.loss - 1.25).abs() < 1e-7);
        assert_eq!(combined.values[..2], [2.0, 1.0]);
        assert_eq!(combined.values[2], 0.1, "an equal statistic must not move by rounding");
        assert!((combined.values[3] - 8.0).abs() < 1e-6);
        // A shard of no images weighs nothing.
        let parts = [part(0.5, 2.0, &[1.0], &[5.0]), part(0.0, 0.0, &[0.0], &[9.0])];
        let combined = combine(&parts).unwrap();
        assert_eq!((combined.loss, combined.values.clone()), (0.5, vec![1.0, 5.0]));
    }

    #[test]
    fn peers_with_different_networks_are_refused() {
        let parts = [part(1.0, 1.0, &[1.0, 2.0], &[]), part(1.0, 1.0, &[1.0], &[])];
        let error = combine(&parts).err().unwrap();
        assert!(error.to_string().contains("peer 1"), "{error}");
    }
}
