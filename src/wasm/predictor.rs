//! `Predictor`: a model file loaded for prediction (the predict package's whole API), and
//! `withThresholds`, the same file with new thresholds.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::backend::device;
use super::convert::{bytes_js, promise, to_js};
use crate::checkpoint;
use crate::data::audio::mix_to_mono;
use crate::infer::{self, ImageInput, MetadataView};

/// The same model file with new per-label thresholds (`Float32Array` or array of numbers).
#[wasm_bindgen(js_name = withThresholds)]
pub fn with_thresholds(
    model: Vec<u8>,
    thresholds: Vec<f32>,
) -> Result<js_sys::Uint8Array, JsError> {
    Ok(bytes_js(&checkpoint::with_thresholds(&model, &thresholds)?))
}

/// What `predict` resolves to.
#[derive(Serialize)]
struct Predictions {
    predictions: Vec<infer::LabelPrediction>,
}

/// What the window methods resolve to: one entry per window.
#[derive(Serialize)]
struct Windows {
    windows: Vec<infer::WindowPrediction>,
}

/// A model loaded from a model file, ready to predict.
#[wasm_bindgen(js_name = Predictor)]
#[derive(Clone)]
pub struct JsPredictor {
    /// Shared with the predictions (and evaluations) in flight.
    pub(super) inner: Rc<infer::Predictor>,
    backend: &'static str,
}

#[wasm_bindgen(js_class = Predictor)]
impl JsPredictor {
    /// Loads a model file; throws when it is not a tagtrain model.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<JsPredictor, JsError> {
        let compute = device()?;
        let mut inner = infer::Predictor::from_bytes(&bytes, &compute.device)?;
        inner.fit_to_buffers(compute.max_buffer_bytes)?;
        Ok(JsPredictor { inner: Rc::new(inner), backend: compute.kind.as_str() })
    }

    /// Uses new per-label thresholds for the following predictions.
    #[wasm_bindgen(js_name = setThresholds)]
    pub fn set_thresholds(&mut self, thresholds: Vec<f32>) -> Result<(), JsError> {
        let inner = Rc::get_mut(&mut self.inner).ok_or_else(|| {
            JsError::new("a prediction is running; set thresholds after it finishes")
        })?;
        Ok(inner.set_thresholds(&thresholds)?)
    }

    /// Test-time augmentation on or off (off when loaded): each prediction averaged over 5
    /// shifted copies of the image (6 with the mirror image for a model trained with flips),
    /// at 5–6 times the cost. The thresholds were tuned without it.
    #[wasm_bindgen(js_name = setTestTimeAugmentation)]
    pub fn set_test_time_augmentation(&mut self, on: bool) -> Result<(), JsError> {
        let inner = Rc::get_mut(&mut self.inner).ok_or_else(|| {
            JsError::new("a prediction is running; switch test-time augmentation after it finishes")
        })?;
        inner.set_test_time_augmentation(on);
        Ok(())
    }

    /// The model's metadata plus `imageSize`, `model` (name) and `backend` for display.
    pub fn metadata(&self) -> Result<JsValue, JsError> {
        to_js(&MetadataView::new(self.inner.metadata(), self.backend))
    }

    /// Predicts several images in batched forward passes. Each element of `images` is a
    /// `Uint8Array` of JPEG/PNG bytes or `{ rgba, width, height }` (`rgba` a canvas's
    /// `ImageData.data`). Resolves to one array of `{ label, probability, threshold, positive }`
    /// per image, in order, each highest probability first.
    #[wasm_bindgen(js_name = predictMany)]
    pub fn predict_many(&self, images: js_sys::Array) -> js_sys::Promise {
        let inner = self.inner.clone();
        let inputs: Result<Vec<ImageInput>, JsError> =
            images.iter().enumerate().map(|(i, item)| image_input(i, item)).collect();
        promise(async move { to_js(&inner.predict_many(inputs?).await?) })
    }

    /// Predicts one image file (JPEG/PNG bytes). Resolves to `{ predictions: [{ label,
    /// probability, threshold, positive }] }`, highest probability first.
    pub fn predict(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let inner = self.inner.clone();
        promise(async move {
            let predictions = inner.predict_file("the image", &bytes).await?;
            to_js(&Predictions { predictions })
        })
    }

    /// Predicts raw samples for a model of sound clips: `channels` an array of `Float32Array`s
    /// of the same length (one for mono; an `AudioBuffer`'s channels are mixed to mono as a
    /// file's are), at `sampleRate` samples per second. The clip's centre window, as for a file.
    /// Resolves to `{ predictions }`, highest probability first.
    #[wasm_bindgen(js_name = predictSamples)]
    pub fn predict_samples(&self, channels: js_sys::Array, sample_rate: f64) -> js_sys::Promise {
        let inner = self.inner.clone();
        let input = mono_samples(&channels, sample_rate);
        promise(async move {
            let (samples, rate) = input?;
            let predictions = inner.predict_samples(&samples, rate).await?;
            to_js(&Predictions { predictions })
        })
    }

    /// Scores a long recording (WAV/FLAC/Ogg Vorbis/MP3 bytes) window by window: windows of the
    /// model's clip length every `stepSeconds` (the clip length when `undefined`). Resolves to
    /// `{ windows: [{ startSeconds, endSeconds, labels }] }`, `labels` in the model's order.
    #[wasm_bindgen(js_name = predictFileWindows)]
    pub fn predict_file_windows(
        &self,
        bytes: Vec<u8>,
        step_seconds: Option<f64>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        promise(async move {
            let windows = inner.predict_windows("the recording", &bytes, step_seconds).await?;
            to_js(&Windows { windows })
        })
    }

    /// `predictFileWindows` of raw samples (`channels` and `sampleRate` as `predictSamples`).
    #[wasm_bindgen(js_name = predictSampleWindows)]
    pub fn predict_sample_windows(
        &self,
        channels: js_sys::Array,
        sample_rate: f64,
        step_seconds: Option<f64>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let input = mono_samples(&channels, sample_rate);
        promise(async move {
            let (samples, rate) = input?;
            let windows = inner.predict_sample_windows(&samples, rate, step_seconds).await?;
            to_js(&Windows { windows })
        })
    }
}

/// `channels` (an array of `Float32Array`s) mixed to mono, and `sample_rate` as a whole number
/// of samples per second; refused in words otherwise.
fn mono_samples(channels: &js_sys::Array, sample_rate: f64) -> Result<(Vec<f32>, u32), JsError> {
    let planar: Vec<Vec<f32>> = channels
        .iter()
        .enumerate()
        .map(|(i, channel)| {
            channel.dyn_ref::<js_sys::Float32Array>().map(js_sys::Float32Array::to_vec).ok_or_else(
                || JsError::new(&format!("channel #{i} of the samples is not a Float32Array")),
            )
        })
        .collect::<Result<_, _>>()?;
    let rate_ok = sample_rate.is_finite()
        && sample_rate >= 1.0
        && sample_rate.fract() == 0.0
        && sample_rate <= f64::from(u32::MAX);
    if !rate_ok {
        return Err(JsError::new(&format!(
            "the sample rate ({sample_rate}) must be a whole, positive number of samples per second"
        )));
    }
    Ok((mix_to_mono(&planar)?, sample_rate as u32))
}

/// Decoded pixels as `predictMany` takes them. `rgba` stays a JS value: a canvas's
/// `ImageData.data` is a `Uint8ClampedArray`, which serde does not read as bytes.
#[derive(Deserialize)]
struct RgbaImage {
    #[serde(with = "serde_wasm_bindgen::preserve")]
    rgba: JsValue,
    width: f64,
    height: f64,
}

/// Element `i` of `predictMany`'s images: file bytes, or `{ rgba, width, height }`.
fn image_input(i: usize, item: JsValue) -> Result<ImageInput, JsError> {
    if let Some(bytes) = item.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(ImageInput::Encoded(bytes.to_vec()));
    }
    match serde_wasm_bindgen::from_value::<RgbaImage>(item) {
        Ok(RgbaImage { rgba, width, height }) if rgba.is_object() => Ok(ImageInput::Rgba {
            pixels: js_sys::Uint8Array::new(&rgba).to_vec(),
            // As JS numbers convert: fractions cut, negatives 0.
            width: width as u32,
            height: height as u32,
        }),
        _ => Err(JsError::new(&format!(
            "image #{i} is neither JPEG/PNG bytes (Uint8Array) nor {{ rgba, width, height }}"
        ))),
    }
}
