//! An exponential moving average of the weights (EMA), the model validated and saved when on.
//!
//! After every optimisation step, `average ← d · average + (1 − d) · weights`, for every
//! parameter and batch-norm running statistic. The average moves like the weights but without
//! the last steps' noise; with a learning rate that ends near zero it mostly helps short runs.
//! Early on the decay is lowered to `(1 + t) / (10 + t)` (t = updates so far), so the average
//! is not anchored to the random start.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::model::Network;

/// The average of a run's weights, on the inference device.
#[derive(Debug)]
pub(super) struct WeightAverage {
    decay: f32,
    updates: usize,
    model: Network,
}

impl WeightAverage {
    /// Starts at `model`'s weights.
    pub(super) fn new(decay: f32, model: &Network) -> Self {
        Self { decay, updates: 0, model: model.valid() }
    }

    /// Takes up a saved average after `updates` updates.
    pub(super) fn restore(decay: f32, updates: usize, model: Network) -> Self {
        Self { decay, updates, model }
    }

    /// Moves the average towards `model`'s current weights.
    pub(super) fn update(&mut self, model: &Network) {
        let t = self.updates as f32;
        let decay = self.decay.min((1.0 + t) / (10.0 + t));
        let mut current = Collect(Vec::new());
        model.valid().visit(&mut current);
        let mut blend = Blend { decay, current: current.0.into_iter() };
        self.model = self.model.clone().map(&mut blend);
        self.updates += 1;
    }

    /// The averaged network (inference mode).
    pub(super) fn model(&self) -> &Network {
        &self.model
    }

    /// Updates so far (saved with a run, for the early decay).
    pub(super) fn updates(&self) -> usize {
        self.updates
    }
}

/// Every float tensor of a module, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.0.push(value.reshape([n]));
    }
}

/// Blends each float tensor of the average with the same tensor of the weights (same module
/// structure, so the same visiting order).
struct Blend<I> {
    decay: f32,
    current: I,
}

impl<I: Iterator<Item = Tensor<1>>> ModuleMapper for Blend<I> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self.current.next().expect("the average and the weights have one structure");
        let decay = self.decay;
        param.map(|average| {
            let shape = average.shape();
            average.mul_scalar(decay) + current.reshape(shape).mul_scalar(1.0 - decay)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResNetV2Config;
    use burn::tensor::Device;

    fn floats(model: &Network) -> Vec<f32> {
        let mut all = Collect(Vec::new());
        model.visit(&mut all);
        all.0
            .into_iter()
            .flat_map(|t| {
                pollster::block_on(t.into_data_async()).unwrap().try_to_vec::<f32>().unwrap()
            })
            .collect()
    }

    #[test]
    fn moves_each_weight_by_the_decay() {
        let device = Device::flex();
        let config: crate::NetworkConfig = ResNetV2Config::for_depth(11, 2).unwrap().into();
        let start = config.init(&device).unwrap();
        let target = config.init(&device).unwrap();
        let (a, b) = (floats(&start), floats(&target));
        let mut average = WeightAverage::new(0.9, &start);
        // First update: the decay is min(0.9, 1/10) = 0.1.
        average.update(&target);
        let once = floats(average.model());
        assert_eq!(once.len(), a.len());
        for ((x, y), z) in a.iter().zip(&b).zip(&once) {
            assert!((0.1 * x + 0.9 * y - z).abs() < 1e-5, "{x} {y} {z}");
        }
        // Many updates towards the same weights converge on them.
        for _ in 0..200 {
            average.update(&target);
        }
        for (y, z) in b.iter().zip(floats(average.model())) {
            assert!((y - z).abs() < 1e-4);
        }
        assert_eq!(average.updates(), 201);
        // The average is a copy: the weights it started from are unchanged.
        assert_eq!(floats(&start), a);
    }
}
