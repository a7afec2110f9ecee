//! Saliency: which regions of an image raise a label's probability (Grad-CAM).
//!
//! Grad-CAM (Selvaraju et al., 2017) weighs each feature map `A_k` of the last stage (its
//! activations after the final BN → ReLU, which the head averages) by the mean gradient of the
//! label's logit with respect to it, `α_k = mean_xy ∂y/∂A_k(x, y)`, and keeps the positive
//! part of `Σ_k α_k A_k`: the regions whose features push the logit up. The
//! gradient comes from burn's autodiff, on whichever backend the page or CLI runs; the map (a
//! few cells per side) is then brought to the image's size bilinearly and scaled to `[0, 1]`.

use burn::module::Module;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};
use serde::Serialize;

use crate::checkpoint::{self, ModelMetadata};
use crate::data::batcher::images_tensor;
use crate::error::{Error, Result};
use crate::model::Network;

/// A label's heat map over one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatMap {
    /// The label.
    pub label: String,
    /// The model's probability of the label for the image.
    pub probability: f32,
    /// Side of the map: the model's input size.
    pub side: usize,
    /// `side × side` values in `[0, 1]`, row-major: 1 where the label's evidence is strongest;
    /// all 0 when nothing in the image raises the label.
    pub heat: Vec<f32>,
}

impl HeatMap {
    /// The share of the map's total heat inside the rectangle of rows `rows` and columns
    /// `columns` (0 for an all-zero map).
    pub fn mass_in(&self, rows: std::ops::Range<usize>, columns: std::ops::Range<usize>) -> f64 {
        let total: f64 = self.heat.iter().map(|&h| f64::from(h)).sum();
        if total <= 0.0 {
            return 0.0;
        }
        let inside: f64 = rows
            .flat_map(|y| columns.clone().map(move |x| (y, x)))
            .map(|(y, x)| f64::from(self.heat[y * self.side + x]))
            .sum();
        inside / total
    }

    /// The map coloured for display over the image, `side × side` RGBA: a warm ramp from
    /// transparent blue (no evidence) to opaque red-yellow (the strongest).
    pub fn rgba(&self) -> Vec<u8> {
        self.heat
            .iter()
            .flat_map(|&h| {
                let h = h.clamp(0.0, 1.0);
                let channel = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                [
                    channel(h * 2.0),
                    channel(h * 2.0 - 1.0),
                    channel(1.0 - h * 2.0) / 2,
                    channel(0.15 + 0.85 * h),
                ]
            })
            .collect()
    }
}

/// A model ready to explain its predictions (on an autodiff device).
pub struct Saliency {
    model: Network,
    metadata: ModelMetadata,
    device: Device,
}

impl Saliency {
    /// Loads a model file for Grad-CAM on `device` (autodiff is added to it).
    ///
    /// # Errors
    /// Not a tagtrain model file.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self> {
        let device = device.clone().autodiff();
        let (model, metadata) = checkpoint::load_trainable(bytes, &device)?;
        // Frozen: batch norm uses its running statistics (as in prediction) rather than one
        // image's, and no weight needs a gradient, only the last stage's maps.
        Ok(Self { model: model.freeze(), metadata, device })
    }

    /// The model's metadata (labels, input).
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Grad-CAM of label `label` for one image decoded at the model's input (`HWC`, as
    /// [`crate::data::image::decode_image`] returns it).
    ///
    /// # Errors
    /// A label past the model's, pixels of the wrong size, or a failed read from the device.
    pub async fn heat_map(&self, pixels: &[u8], label: usize) -> Result<HeatMap> {
        let input = &self.metadata.input;
        let side = input.image_size as usize;
        let name = self.metadata.labels.get(label).cloned().ok_or_else(|| {
            Error::misuse(format!(
                "label {label} is past the model's {}",
                self.metadata.labels.len()
            ))
        })?;
        if pixels.len() != side * side * input.channels {
            return Err(Error::misuse(format!(
                "the image is not {side}×{side} with {} channel(s); decode it at the model's input",
                input.channels
            )));
        }
        let image =
            images_tensor(std::iter::once(pixels), side, &input.normalization, &self.device);
        // The last stage's maps become a leaf, so that the gradient stops there.
        let features = self.model.features(image).detach().require_grad();
        let [_, _, h, w] = features.dims();
        let logits = self.model.classify(features.clone());
        let logit = logits.narrow(1, label, 1);
        let probability = sigmoid(logit.clone().detach()).into_data_async().await;
        let grads = logit.sum().backward();
        let gradient = features
            .grad(&grads)
            .ok_or_else(|| Error::backend("no gradient reached the last stage"))?;
        let weights = gradient.mean_dim(3).mean_dim(2); // [1, k, 1, 1]
        let cam: Tensor<4> = relu((features.detach() * weights).sum_dim(1));
        let cam = cam.into_data_async().await.map_err(Error::backend)?;
        let cam = cam.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))?;
        let probability = probability
            .map_err(Error::backend)?
            .try_to_vec::<f32>()
            .map_err(|e| Error::backend(format!("{e:?}")))?;
        Ok(HeatMap {
            label: name,
            probability: probability.first().copied().unwrap_or(f32::NAN),
            side,
            heat: normalise(&upsample(&cam, h, w, side)),
        })
    }
}

/// Bilinear resize of an `h × w` map to `side × side`, cell centres aligned (as image resizing
/// does), edges clamped.
fn upsample(map: &[f32], h: usize, w: usize, side: usize) -> Vec<f32> {
    let at = |y: usize, x: usize| map[y.min(h - 1) * w + x.min(w - 1)];
    let source = |i: usize, n: usize| ((i as f32 + 0.5) * n as f32 / side as f32 - 0.5).max(0.0);
    let mut out = Vec::with_capacity(side * side);
    for y in 0..side {
        let sy = source(y, h);
        let (y0, fy) = (sy.floor() as usize, sy.fract());
        for x in 0..side {
            let sx = source(x, w);
            let (x0, fx) = (sx.floor() as usize, sx.fract());
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx;
            let bottom = at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Scales to `[0, 1]` by the maximum (all 0 stays 0; NaN counts as 0).
fn normalise(map: &[f32]) -> Vec<f32> {
    let max = map.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
    map.iter().map(|&v| if max > 0.0 && v.is_finite() { (v / max).max(0.0) } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsampling_keeps_a_hot_corner_in_its_corner() {
        // A 2×2 map hot at the top left, brought to 8×8.
        let map = upsample(&[1.0, 0.0, 0.0, 0.0], 2, 2, 8);
        let heat = HeatMap { label: "a".into(), probability: 1.0, side: 8, heat: normalise(&map) };
        assert!(heat.mass_in(0..4, 0..4) > 0.5);
        assert_eq!(heat.heat[0], 1.0);
        assert_eq!(heat.heat[63], 0.0);
        assert_eq!(heat.rgba().len(), 8 * 8 * 4);
    }

    #[test]
    fn a_cold_map_has_no_mass() {
        let heat =
            HeatMap { label: "a".into(), probability: 0.1, side: 2, heat: normalise(&[0.0; 4]) };
        assert_eq!(heat.mass_in(0..1, 0..1), 0.0);
    }
}
