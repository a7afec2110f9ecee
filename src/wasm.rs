//! The browser API: the only file with `#[wasm_bindgen]`.
//!
//! The Web Worker owns this module. Bytes and one options object go in; plain JS objects come
//! out (serialised with `serde-wasm-bindgen`, JSON-compatible: objects, arrays, numbers); every
//! failure is a `JsError` carrying the same message the CLI prints. Long work is a `Promise`
//! that always settles.
//!
//! ```js
//! await initBackend({ prefer: "auto" });            // { kind, adapter, notice }
//! const ds = Dataset.fromZip(bytes);                 // ds.summary()
//! const t = await ds.prepareTraining({ depth, imageSize, epochs }, undefined, (done, total) => {});
//! let ev; do { ev = await t.step(); } while (!ev.done);
//! const model = await t.exportModel();               // Uint8Array (.safetensors)
//! const p = Predictor.fromBytes(model);              // p.metadata()
//! await p.predict(imageBytes);                       // { predictions: [{ label, probability, … }] }
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::checkpoint;
use crate::device::{BackendPreference, ComputeDevice};
use crate::infer;
use crate::options::TrainingChoices;
#[cfg(feature = "train")]
use crate::train::TrainingSession;
#[cfg(feature = "train")]
use crate::{Limits, data::DatasetSource, options::TrainingOptions};

thread_local! {
    /// Initialised once per worker by `initBackend`, then cloned.
    static DEVICE: RefCell<Option<ComputeDevice>> = const { RefCell::new(None) };
}

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("internal: cannot convert result: {e}")))
}

fn err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

fn device() -> Result<ComputeDevice, JsError> {
    DEVICE.with(|d| d.borrow().clone()).ok_or_else(|| {
        JsError::new("the compute backend is not initialised; call initBackend() first")
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BackendOptions {
    prefer: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendInfo {
    kind: &'static str,
    adapter: String,
    notice: Option<String>,
    /// The GPU's largest buffer in bytes (null on the CPU): batches are sized to fit it.
    max_buffer_bytes: Option<u64>,
}

/// Picks and initialises the backend once: `{ prefer: "auto" | "webgpu" | "cpu" }`.
/// Resolves to `{ kind: "webgpu" | "cpu", adapter, notice, maxBufferBytes }`. Later calls
/// return the same.
#[wasm_bindgen(js_name = initBackend)]
pub async fn init_backend(options: JsValue) -> Result<JsValue, JsError> {
    if let Ok(existing) = device() {
        return to_js(&info(&existing));
    }
    let options: BackendOptions = if options.is_undefined() || options.is_null() {
        BackendOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("initBackend options: {e}")))?
    };
    let preference =
        BackendPreference::parse(options.prefer.as_deref().unwrap_or("auto")).map_err(err)?;
    let compute = ComputeDevice::init_in_browser(preference).await;
    DEVICE.with(|d| *d.borrow_mut() = Some(compute.clone()));
    to_js(&info(&compute))
}

fn info(compute: &ComputeDevice) -> BackendInfo {
    BackendInfo {
        kind: compute.kind.as_str(),
        adapter: compute.adapter.clone(),
        notice: compute.notice.clone(),
        max_buffer_bytes: compute.max_buffer_bytes,
    }
}

/// What the page offers and accepts, so that it re-derives none of Rust's rules:
/// `{ models: [{ kind, depths, minImageSize, maxImageSize }], limits: { epochs,
/// timeBudgetSeconds, batchSize, imageSize, learningRate, weightDecay, validationFraction:
/// { min, max } }, resizePolicies, defaults }`.
#[wasm_bindgen(js_name = trainingChoices)]
pub fn training_choices() -> Result<JsValue, JsError> {
    to_js(&TrainingChoices::new())
}

#[cfg(feature = "train")]
/// A dataset zip, checked and summarised, not yet decoded.
#[wasm_bindgen]
pub struct Dataset {
    /// Shared with a decoding in progress, which borrows it only between two yields.
    source: Rc<RefCell<DatasetSource>>,
    /// Each image's side in the last training run's split (`None` before one).
    sides: Rc<RefCell<Option<Vec<Side>>>>,
}

#[cfg(feature = "train")]
/// An image's side of a run's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Side {
    Train,
    Valid,
}

#[cfg(feature = "train")]
/// Images decoded between two yields to the event loop while preparing a training run.
const DECODE_CHUNK: usize = 32;

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Dataset {
    /// Opens a dataset zip from its bytes; throws a located error (or the list of every
    /// problem found) for bad data.
    #[wasm_bindgen(js_name = fromZip)]
    pub fn from_zip(bytes: Vec<u8>) -> Result<Dataset, JsError> {
        let source = DatasetSource::from_zip(bytes, &Limits::default()).map_err(err)?;
        Ok(Dataset { source: Rc::new(RefCell::new(source)), sides: Rc::default() })
    }

    /// `{ images, imageColumn, labels: [{ name, positives, negatives }], sizes, minSide,
    /// maxSide, warnings, recommended: { kind, depth, imageSize, batchSize }, labelsPerImage,
    /// cooccurrence, grayscale, splitColumn }`
    pub fn summary(&self) -> Result<JsValue, JsError> {
        let source = self
            .source
            .try_borrow()
            .map_err(|_| JsError::new("the dataset is being decoded; try again when it is done"))?;
        to_js(&source.summary())
    }

    /// Whether the zip's bytes are held: they are dropped after each decoding (see
    /// `attachZip`).
    #[wasm_bindgen(js_name = holdsZip)]
    pub fn holds_zip(&self) -> bool {
        self.source.try_borrow().is_ok_and(|s| s.holds_zip())
    }

    /// Gives back the bytes of the zip this dataset was opened from, before a decoding
    /// (training, evaluation); throws for any other zip.
    #[wasm_bindgen(js_name = attachZip)]
    pub fn attach_zip(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        self.source
            .try_borrow_mut()
            .map_err(|_| JsError::new("the dataset is being decoded; try again when it is done"))?
            .attach_zip(bytes)
            .map_err(err)
    }

    /// What training with `options` would hold in memory, and whether it fits in this tab:
    /// `{ zipBytes, pixelBytes, networkBytes, totalBytes, availableBytes, verdict: "fits" |
    /// "tight" | "too-large", message }`. Nothing is decoded.
    #[wasm_bindgen(js_name = memoryPlan)]
    pub fn memory_plan(&self, options: JsValue) -> Result<JsValue, JsError> {
        let options = training_options(options)?;
        let source = self
            .source
            .try_borrow()
            .map_err(|_| JsError::new("the dataset is being decoded; try again when it is done"))?;
        to_js(&source.memory_plan(&options).map_err(err)?)
    }
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Dataset {
    /// Decodes the images at the chosen size and builds the network, resolving to a
    /// [`Trainer`]. Calls `on_progress(done, total)` after every few images and yields to the
    /// event loop between them, so the worker stays responsive while thousands of images
    /// decode. With `init_model` (a model file's bytes) training starts from that model
    /// (fine-tuning: same labels continue, other labels get a new head).
    ///
    /// Options: `{ depth, imageSize, epochs, timeBudgetSeconds, batchSize, learningRate,
    /// weightDecay, validationFraction (null: the dataset decides), seed, augment: { crop,
    /// cropPadding, flip, jitter }, positiveWeights, labelSmoothing, emaDecay, gradientClip, patience,
    /// resize, thresholdGoal, labels }`, each optional.
    #[wasm_bindgen(js_name = prepareTraining)]
    pub fn prepare_training(
        &self,
        options: JsValue,
        init_model: Option<Vec<u8>>,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let source = self.source.clone();
        let sides = self.sides.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let options = training_options(options)?;
            let (data, compute) = decode_for_run(&source, &options, on_progress.as_ref()).await?;
            let session = match init_model {
                None => TrainingSession::new(data, options, compute),
                Some(bytes) => TrainingSession::from_model(data, options, compute, &bytes),
            }
            .map_err(err)?;
            *sides.borrow_mut() = Some(split_sides(&session));
            Ok(JsValue::from(Trainer { session: Rc::new(RefCell::new(Some(session))) }))
        })
    }
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Dataset {
    /// Resumes a run saved by `Trainer.saveState` (an autosave) on this dataset: decodes the
    /// images as the run did (its own options) and resolves to a [`Trainer`] that goes on from
    /// the saved epoch. Throws, in words, for a run of another dataset or a newer version.
    #[wasm_bindgen(js_name = resumeTraining)]
    pub fn resume_training(
        &self,
        state: Vec<u8>,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let source = self.source.clone();
        let sides = self.sides.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let options = crate::train::saved_run_info(&state).map_err(err)?.options;
            let (data, compute) = decode_for_run(&source, &options, on_progress.as_ref()).await?;
            let session = TrainingSession::resume(data, compute, &state).map_err(err)?;
            *sides.borrow_mut() = Some(split_sides(&session));
            Ok(JsValue::from(Trainer { session: Rc::new(RefCell::new(Some(session))) }))
        })
    }
}

/// Refuses a run that would not fit in the tab (rather than let it trap halfway through
/// decoding), then decodes the dataset as `options` ask, for a run on the worker's device.
#[cfg(feature = "train")]
async fn decode_for_run(
    source: &Rc<RefCell<DatasetSource>>,
    options: &TrainingOptions,
    on_progress: Option<&js_sys::Function>,
) -> Result<(crate::data::Dataset, ComputeDevice), JsError> {
    source.borrow().memory_plan(options).and_then(|p| p.check()).map_err(err)?;
    let compute = device()?;
    let decoder = source.borrow().decoder(options.image_size, options.resize).map_err(err)?;
    Ok((decode_all(source, decoder, on_progress).await?, compute))
}

/// Each image's side in a session's split.
#[cfg(feature = "train")]
fn split_sides(session: &TrainingSession) -> Vec<Side> {
    let mut sides = vec![Side::Train; session.dataset().len()];
    for &i in &session.split().valid {
        sides[i] = Side::Valid;
    }
    sides
}

/// What a saved run (autosave) is, read from its file without loading it: `{ epochsCompleted,
/// epochs, stoppedEarly, labels, images, model, options, bestMap }`.
#[cfg(feature = "train")]
#[wasm_bindgen(js_name = savedRunInfo)]
pub fn saved_run_info(state: &[u8]) -> Result<JsValue, JsError> {
    to_js(&crate::train::saved_run_info(state).map_err(err)?)
}

#[cfg(feature = "train")]
/// Checked training options from the page's options object (defaults for what it leaves out).
fn training_options(options: JsValue) -> Result<TrainingOptions, JsError> {
    let options: TrainingOptions = if options.is_undefined() || options.is_null() {
        TrainingOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("training options: {e}")))?
    };
    options.validate().map_err(err)?;
    Ok(options)
}

#[cfg(feature = "train")]
/// Refuses, before its bytes are read, a dataset zip of `bytes` bytes too large to open in a
/// tab, saying what to do.
#[wasm_bindgen(js_name = checkZipSize)]
pub fn check_zip_size(bytes: f64) -> Result<(), JsError> {
    crate::MemoryPlan::check_zip(bytes as u64).map_err(err)
}

#[cfg(feature = "train")]
/// Decodes every image of `source` into `decoder`, yielding to the event loop between chunks
/// and calling `on_progress(done, total)` after each; then drops the zip's bytes, so that the
/// network's memory can take their place in the tab (the worker attaches them again, from the
/// file, before the next decoding; see `Dataset.attachZip`).
async fn decode_all(
    source: &Rc<RefCell<DatasetSource>>,
    mut decoder: crate::data::Decoder,
    on_progress: Option<&js_sys::Function>,
) -> Result<crate::data::Dataset, JsError> {
    loop {
        let done = source
            .try_borrow_mut()
            .map_err(|_| JsError::new("the dataset is busy; try again"))?
            .decode_next(&mut decoder, DECODE_CHUNK)
            .map_err(err)?;
        if let Some(f) = on_progress {
            // A throwing callback must not stop the decoding.
            let _ = f.call2(&JsValue::NULL, &decoder.done().into(), &decoder.total().into());
        }
        if done {
            if let Ok(mut source) = source.try_borrow_mut() {
                source.release_zip();
            }
            return Ok(decoder.finish());
        }
        next_tick().await;
    }
}

#[cfg(feature = "train")]
/// Resolves on the next turn of the event loop (`setTimeout(0)`), letting queued messages in.
async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) if f.call2(&global, &resolve, &0.into()).is_ok() => {}
            _ => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A training run, stepped from JS.
#[cfg(feature = "train")]
#[wasm_bindgen]
pub struct Trainer {
    /// Taken out while a step runs, so no borrow is held across an `await`.
    session: Rc<RefCell<Option<TrainingSession>>>,
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Trainer {
    /// `{ trainImages, validImages, stepsPerEpoch, totalSteps, parameters, model, backend }`
    pub fn info(&self) -> Result<JsValue, JsError> {
        let guard = self.session.borrow();
        let session = guard.as_ref().ok_or_else(busy)?;
        to_js(&session.info())
    }

    /// Runs one step. Resolves to `{ epoch, step, totalSteps, loss, imagesPerSec,
    /// etaSeconds, validation, done }`.
    pub fn step(&self) -> js_sys::Promise {
        let cell = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut session = cell.borrow_mut().take().ok_or_else(busy)?;
            let result = session.step().await;
            *cell.borrow_mut() = Some(session);
            let event = result.map_err(err)?;
            Ok(to_js(&event)?)
        })
    }

    /// `[{ label, points: [{ threshold, precision, recall }] }]`: each label's validation
    /// precision–recall curve for the kept weights, highest threshold first.
    #[wasm_bindgen(js_name = thresholdCurves)]
    pub fn threshold_curves(&self) -> Result<JsValue, JsError> {
        let guard = self.session.borrow();
        let session = guard.as_ref().ok_or_else(busy)?;
        to_js(&session.threshold_curves())
    }

    /// Every epoch's validation report so far, oldest first (a resumed run's earlier epochs
    /// included), as the steps' `validation` reported them.
    pub fn history(&self) -> Result<JsValue, JsError> {
        let guard = self.session.borrow();
        let session = guard.as_ref().ok_or_else(busy)?;
        to_js(&session.history())
    }

    /// Resolves to the run's state at the end of an epoch (`Uint8Array`, a run file) for
    /// `Dataset.resumeTraining`: weights, optimiser moments, random state, history.
    #[wasm_bindgen(js_name = saveState)]
    pub fn save_state(&self) -> js_sys::Promise {
        let cell = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            // Taken out while reading back, so no borrow is held across the `await`.
            let session = cell.borrow_mut().take().ok_or_else(busy)?;
            let result = session.save_state().await;
            *cell.borrow_mut() = Some(session);
            let bytes = result.map_err(err)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Resolves to the model file (`Uint8Array`, `.safetensors` with metadata) of the current
    /// weights.
    #[wasm_bindgen(js_name = exportModel)]
    pub fn export_model(&self) -> js_sys::Promise {
        let cell = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (model, metadata) = {
                let guard = cell.borrow();
                guard.as_ref().ok_or_else(busy)?.snapshot().map_err(err)?
            };
            let bytes = checkpoint::save(&model, &metadata).await.map_err(err)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }
}

/// The app's files (paths under its root) that `exportForWeb` needs besides the model.
#[cfg(feature = "train")]
#[wasm_bindgen(js_name = webExportFiles)]
pub fn web_export_files() -> Vec<String> {
    crate::export::SITE_FILES.iter().map(|p| p.to_string()).collect()
}

/// "Export for the web": a zip holding the model file `model`, the predict package and a
/// ready `index.html`, from the app's `files`: an array of `[path, Uint8Array]` for every
/// path of `webExportFiles()`.
#[cfg(feature = "train")]
#[wasm_bindgen(js_name = exportForWeb)]
pub fn export_for_web(model: Vec<u8>, files: js_sys::Array) -> Result<js_sys::Uint8Array, JsError> {
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|pair| {
            let pair = js_sys::Array::from(&pair);
            let path = pair.get(0).as_string().unwrap_or_default();
            (path, js_sys::Uint8Array::new(&pair.get(1)).to_vec())
        })
        .collect();
    let zip = crate::export::web_export(&model, &files).map_err(err)?;
    Ok(js_sys::Uint8Array::from(zip.as_slice()))
}

#[cfg(feature = "train")]
fn busy() -> JsError {
    JsError::new("the trainer is busy with another request; await the previous call first")
}

/// The same model file with new per-label thresholds (`Float32Array` or array of numbers).
#[wasm_bindgen(js_name = withThresholds)]
pub fn with_thresholds(
    model: Vec<u8>,
    thresholds: Vec<f32>,
) -> Result<js_sys::Uint8Array, JsError> {
    let bytes = checkpoint::with_thresholds(&model, &thresholds).map_err(err)?;
    Ok(js_sys::Uint8Array::from(bytes.as_slice()))
}

/// What `predict` resolves to.
#[derive(Serialize)]
struct Predictions {
    predictions: Vec<infer::LabelPrediction>,
}

/// A model loaded from a model file, ready to predict.
#[wasm_bindgen(js_name = Predictor)]
pub struct JsPredictor {
    inner: Rc<infer::Predictor>,
    backend: &'static str,
}

#[wasm_bindgen(js_class = Predictor)]
impl JsPredictor {
    /// Loads a model file; throws when it is not a tagtrain model.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<JsPredictor, JsError> {
        let compute = device()?;
        let mut inner = infer::Predictor::from_bytes(&bytes, &compute.device).map_err(err)?;
        inner.fit_to_buffers(compute.max_buffer_bytes).map_err(err)?;
        Ok(JsPredictor { inner: Rc::new(inner), backend: compute.kind.as_str() })
    }

    /// Uses new per-label thresholds for the following predictions.
    #[wasm_bindgen(js_name = setThresholds)]
    pub fn set_thresholds(&mut self, thresholds: Vec<f32>) -> Result<(), JsError> {
        let inner = Rc::get_mut(&mut self.inner).ok_or_else(|| {
            JsError::new("a prediction is running; set thresholds after it finishes")
        })?;
        inner.set_thresholds(&thresholds).map_err(err)
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
        let metadata = self.inner.metadata();
        let mut value =
            serde_json::to_value(metadata).map_err(|e| JsError::new(&format!("internal: {e}")))?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("imageSize".into(), metadata.input.image_size.into());
            obj.insert("model".into(), metadata.architecture.name().into());
            obj.insert("backend".into(), self.backend.into());
        }
        to_js(&value)
    }

    /// Predicts several images in batched forward passes. Each element of `images` is a
    /// `Uint8Array` of JPEG/PNG bytes or `{ rgba, width, height }` (`rgba` a canvas's
    /// `ImageData.data`). Resolves to one array of `{ label, probability, threshold, positive }`
    /// per image, in order, each highest probability first.
    #[wasm_bindgen(js_name = predictMany)]
    pub fn predict_many(&self, images: js_sys::Array) -> js_sys::Promise {
        let inner = self.inner.clone();
        let inputs: Result<Vec<infer::ImageInput>, JsError> = images
            .iter()
            .enumerate()
            .map(|(i, item)| {
                if let Some(bytes) = item.dyn_ref::<js_sys::Uint8Array>() {
                    return Ok(infer::ImageInput::Encoded(bytes.to_vec()));
                }
                let field = |name: &str| js_sys::Reflect::get(&item, &name.into()).ok();
                let pixels = field("rgba").filter(JsValue::is_object);
                let size = |name| field(name).and_then(|v| v.as_f64()).map(|v| v as u32);
                match (pixels, size("width"), size("height")) {
                    (Some(pixels), Some(width), Some(height)) => Ok(infer::ImageInput::Rgba {
                        pixels: js_sys::Uint8Array::new(&pixels).to_vec(),
                        width,
                        height,
                    }),
                    _ => Err(JsError::new(&format!(
                        "image #{i} is neither JPEG/PNG bytes (Uint8Array) nor {{ rgba, width, height }}"
                    ))),
                }
            })
            .collect();
        wasm_bindgen_futures::future_to_promise(async move {
            let predictions = inner.predict_many(inputs?).await.map_err(err)?;
            Ok(to_js(&predictions)?)
        })
    }

    /// Predicts one image file (JPEG/PNG bytes). Resolves to `{ predictions: [{ label,
    /// probability, threshold, positive }] }`, highest probability first.
    pub fn predict(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let predictions = inner.predict_file("the image", &bytes).await.map_err(err)?;
            Ok(to_js(&Predictions { predictions })?)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Looking at the data and the model's mistakes: the gallery, reviews, saliency, the report.

/// Side of gallery thumbnails unless asked otherwise.
#[cfg(feature = "train")]
const THUMBNAIL_SIDE: u32 = 96;
/// Most images in one gallery page or error list: each is decoded from the zip.
#[cfg(feature = "train")]
const MOST_IMAGES: usize = 200;

/// `{ width, height, rgba: Uint8ClampedArray }`, ready for `new ImageData(rgba, width, height)`.
#[cfg(feature = "train")]
fn thumbnail_js(t: &crate::report::Thumbnail) -> Result<JsValue, JsError> {
    let object = js_sys::Object::new();
    let set = |key: &str, value: &JsValue| {
        js_sys::Reflect::set(&object, &key.into(), value)
            .map_err(|_| JsError::new("internal: cannot build a thumbnail"))
    };
    set("width", &t.width.into())?;
    set("height", &t.height.into())?;
    set("rgba", &js_sys::Uint8ClampedArray::from(t.rgba.as_slice()).into())?;
    Ok(object.into())
}

/// What a gallery shows of one image.
#[cfg(feature = "train")]
#[derive(Serialize)]
struct GalleryImage {
    index: usize,
    name: String,
    labels: Vec<String>,
    split: Option<Side>,
}

#[cfg(feature = "train")]
impl Dataset {
    fn busy() -> JsError {
        JsError::new("the dataset is being decoded; try again when it is done")
    }

    fn gallery_image(&self, index: usize) -> Result<GalleryImage, JsError> {
        let source = self.source.try_borrow().map_err(|_| Self::busy())?;
        let labels = source.labels();
        let row = &source.targets()[index * labels.len()..(index + 1) * labels.len()];
        Ok(GalleryImage {
            index,
            name: source.entries()[index].clone(),
            labels: labels
                .iter()
                .zip(row)
                .filter(|(_, t)| **t == 1)
                .map(|(l, _)| l.clone())
                .collect(),
            split: self.sides.borrow().as_ref().and_then(|s| s.get(index).copied()),
        })
    }

    /// A gallery image as JS, with `extra` fields and its thumbnail (decoded from the zip,
    /// letterboxed so that nothing is cut or stretched).
    fn gallery_image_js(
        &self,
        index: usize,
        side: u32,
        extra: impl Serialize,
    ) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct WithExtra<E> {
            #[serde(flatten)]
            image: GalleryImage,
            #[serde(flatten)]
            extra: E,
        }
        let value = to_js(&WithExtra { image: self.gallery_image(index)?, extra })?;
        let pixels = self
            .source
            .try_borrow_mut()
            .map_err(|_| Self::busy())?
            .decode_one(index, side, 3, crate::ResizePolicy::Letterbox)
            .map_err(err)?;
        let thumbnail = crate::report::Thumbnail::from_pixels(&pixels, side as usize, 3);
        js_sys::Reflect::set(&value, &"thumbnail".into(), &thumbnail_js(&thumbnail)?)
            .map_err(|_| JsError::new("internal: cannot build a gallery image"))?;
        Ok(value)
    }
}

/// Which page of which images `Dataset.gallery` shows.
#[cfg(feature = "train")]
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GalleryFilter {
    label: Option<String>,
    split: Option<Side>,
    page: usize,
    per_page: usize,
    side: Option<u32>,
}

#[cfg(feature = "train")]
fn thumbnail_side(side: Option<u32>) -> Result<u32, JsError> {
    match side.unwrap_or(THUMBNAIL_SIDE) {
        s @ 8..=256 => Ok(s),
        s => Err(JsError::new(&format!("a thumbnail side of {s} px: use 8 to 256"))),
    }
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Dataset {
    /// One page of the dataset's images: `filter` is `{ label, split: "train" | "valid" |
    /// null, page, perPage, side }`. Resolves to `{ total, page, pages, images: [{ index, name,
    /// labels, split, thumbnail: { width, height, rgba } }] }`. The zip must be held
    /// (`attachZip`): thumbnails are decoded from it, one page at a time.
    pub fn gallery(&self, filter: JsValue) -> Result<JsValue, JsError> {
        let filter: GalleryFilter = serde_wasm_bindgen::from_value(filter)
            .map_err(|e| JsError::new(&format!("gallery filter: {e}")))?;
        let side = thumbnail_side(filter.side)?;
        let per_page = filter.per_page.clamp(1, MOST_IMAGES);
        let sides = self.sides.borrow().clone();
        if filter.split.is_some() && sides.is_none() {
            return Err(JsError::new(
                "no training run has split this dataset yet; train first to filter by split",
            ));
        }
        let matching: Vec<usize> = {
            let source = self.source.try_borrow().map_err(|_| Self::busy())?;
            let labels = source.labels();
            let column = match &filter.label {
                None => None,
                Some(name) => Some(labels.iter().position(|l| l == name).ok_or_else(|| {
                    JsError::new(&format!(
                        "the dataset has no label '{name}'; its labels are {}",
                        labels.join(", ")
                    ))
                })?),
            };
            let targets = source.targets();
            (0..source.len())
                .filter(|&i| column.is_none_or(|j| targets[i * labels.len() + j] == 1))
                .filter(|&i| {
                    filter.split.is_none_or(|s| sides.as_ref().and_then(|v| v.get(i)) == Some(&s))
                })
                .collect()
        };
        let pages = matching.len().div_ceil(per_page).max(1);
        let page = filter.page.min(pages - 1);
        let images = js_sys::Array::new();
        for &index in matching.iter().skip(page * per_page).take(per_page) {
            images.push(&self.gallery_image_js(index, side, ())?);
        }
        #[derive(Serialize)]
        struct Page {
            total: usize,
            page: usize,
            pages: usize,
        }
        let value = to_js(&Page { total: matching.len(), page, pages })?;
        js_sys::Reflect::set(&value, &"images".into(), &images)
            .map_err(|_| JsError::new("internal: cannot build a gallery page"))?;
        Ok(value)
    }
}

/// A model measured on labelled images at the thresholds in force (see `src/review.rs`): the
/// page's curves, error galleries, per-image verdicts and report all ask it.
#[cfg(feature = "train")]
#[wasm_bindgen(js_name = Review)]
pub struct JsReview {
    inner: crate::review::Review,
    /// Prediction throughput, for an evaluation.
    images_per_sec: f64,
}

#[cfg(feature = "train")]
#[wasm_bindgen(js_class = Review)]
impl JsReview {
    /// `{ source: "validation" | "evaluation", images, labels, thresholds, metrics, curves:
    /// [{ label, ap, rocAuc, pr: [{ threshold, precision, recall }], roc: [{ threshold, fpr,
    /// tpr }], current: { threshold, precision, recall, fpr } }] }`
    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.summary())
    }

    /// As `Predictor.evaluate` resolves: `{ images, imagesPerSec, map, …, labels }`.
    pub fn evaluation(&self) -> Result<JsValue, JsError> {
        to_js(&infer::Evaluation {
            images: self.inner.len(),
            images_per_sec: self.images_per_sec,
            metrics: self.inner.metrics(),
            probs: Vec::new(),
            targets: Vec::new(),
        })
    }

    /// Uses new thresholds (one per label, the model's order) from now on.
    #[wasm_bindgen(js_name = setThresholds)]
    pub fn set_thresholds(&mut self, thresholds: Vec<f32>) -> Result<(), JsError> {
        self.inner.set_thresholds(&thresholds).map_err(err)
    }

    /// Label `label`'s false positives and negatives at its threshold: `{ label, threshold,
    /// falsePositiveCount, falseNegativeCount, falsePositives, falseNegatives }`, each image
    /// `{ index, name, labels, split, probability, loss, thumbnail }`, most confident first,
    /// at most `limit` (≤ 200) of each.
    pub fn errors(
        &self,
        dataset: &Dataset,
        label: &str,
        limit: usize,
        side: Option<u32>,
    ) -> Result<JsValue, JsError> {
        let side = thumbnail_side(side)?;
        let j = self.inner.label_index(label).map_err(err)?;
        let errors = self.inner.errors(j, limit.clamp(1, MOST_IMAGES));
        let list = |images: &[crate::review::ReviewedImage]| -> Result<js_sys::Array, JsError> {
            let out = js_sys::Array::new();
            for image in images {
                out.push(&self.reviewed_js(dataset, image, side)?);
            }
            Ok(out)
        };
        let (fps, fns) = (list(&errors.false_positives)?, list(&errors.false_negatives)?);
        let value = to_js(&crate::review::LabelErrors {
            false_positives: Vec::new(),
            false_negatives: Vec::new(),
            ..errors
        })?;
        let set = |key: &str, array: &js_sys::Array| {
            js_sys::Reflect::set(&value, &key.into(), array)
                .map_err(|_| JsError::new("internal: cannot build the error lists"))
        };
        set("falsePositives", &fps)?;
        set("falseNegatives", &fns)?;
        Ok(value)
    }

    /// The `limit` (≤ 200) images with the highest loss over every label, highest first,
    /// each `{ index, name, labels, split, probability: null, loss, thumbnail }`.
    #[wasm_bindgen(js_name = mostWrong)]
    pub fn most_wrong(
        &self,
        dataset: &Dataset,
        limit: usize,
        side: Option<u32>,
    ) -> Result<js_sys::Array, JsError> {
        let side = thumbnail_side(side)?;
        let out = js_sys::Array::new();
        for image in self.inner.most_wrong(limit.clamp(1, MOST_IMAGES)) {
            out.push(&self.reviewed_js(dataset, &image, side)?);
        }
        Ok(out)
    }

    /// Every label of image `index` against its truth: `{ index, name, split, labels: [{
    /// label, probability, threshold, truth, positive }] }`; throws for an image not reviewed.
    pub fn verdicts(&self, dataset: &Dataset, index: usize) -> Result<JsValue, JsError> {
        let verdicts = self.inner.verdicts(index).ok_or_else(|| {
            JsError::new(&format!(
                "image {index} is not among the {} images this model was measured on",
                self.inner.len()
            ))
        })?;
        #[derive(Serialize)]
        struct Detail {
            #[serde(flatten)]
            verdicts: crate::review::ImageVerdicts,
            split: Option<Side>,
        }
        let split = dataset.sides.borrow().as_ref().and_then(|s| s.get(index).copied());
        to_js(&Detail { verdicts, split })
    }

    /// The evaluation report: one self-contained HTML file (`Uint8Array`), thumbnails from
    /// `dataset`'s zip (which must be held).
    pub fn report(
        &self,
        dataset: &Dataset,
        model: String,
        dataset_name: String,
    ) -> Result<js_sys::Uint8Array, JsError> {
        let title = crate::report::ReportTitle { model, dataset: dataset_name };
        let mut thumbnail = |index: usize| {
            let mut source = dataset.source.try_borrow_mut().ok()?;
            let pixels =
                source.decode_one(index, THUMBNAIL_SIDE, 3, crate::ResizePolicy::Letterbox).ok()?;
            Some(crate::report::Thumbnail::from_pixels(&pixels, THUMBNAIL_SIDE as usize, 3))
        };
        let html = crate::report::html_report(&self.inner, &title, &mut thumbnail).map_err(err)?;
        Ok(js_sys::Uint8Array::from(html.as_bytes()))
    }

    fn reviewed_js(
        &self,
        dataset: &Dataset,
        image: &crate::review::ReviewedImage,
        side: u32,
    ) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Scores {
            probability: Option<f32>,
            loss: f64,
        }
        dataset.gallery_image_js(
            image.index,
            side,
            Scores { probability: image.probability, loss: image.loss },
        )
    }
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Trainer {
    /// The kept weights on the run's validation images at the tuned thresholds (a `Review`),
    /// or `undefined` before an epoch was validated.
    pub fn review(&self) -> Result<Option<JsReview>, JsError> {
        let guard = self.session.borrow();
        let session = guard.as_ref().ok_or_else(busy)?;
        Ok(session.review().map(|inner| JsReview { inner, images_per_sec: 0.0 }))
    }
}

#[cfg(feature = "train")]
#[wasm_bindgen(js_class = Predictor)]
impl JsPredictor {
    /// Like `evaluate`, resolving to a `Review` of every image of the dataset (its
    /// `evaluation()` is what `evaluate` resolves to).
    #[wasm_bindgen(js_name = reviewDataset)]
    pub fn review_dataset(
        &self,
        dataset: &Dataset,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let source = dataset.source.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let input = inner.metadata().input.clone();
            let decoder = source
                .borrow()
                .decoder_with_channels(input.image_size, input.resize, input.channels)
                .map_err(err)?;
            let data = decode_all(&source, decoder, on_progress.as_ref()).await?;
            let evaluation = inner.evaluate(&data).await.map_err(err)?;
            let review = evaluation.review(&data, inner.metadata()).map_err(err)?;
            Ok(JsReview { inner: review, images_per_sec: evaluation.images_per_sec }.into())
        })
    }
}

/// A model ready to show which regions raise a label's probability (Grad-CAM, computed with
/// autodiff on the worker's backend).
#[cfg(feature = "train")]
#[wasm_bindgen]
pub struct Explainer {
    inner: Rc<crate::saliency::Saliency>,
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Explainer {
    /// Loads a model file for Grad-CAM.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Explainer, JsError> {
        let compute = device()?;
        let inner = crate::saliency::Saliency::from_bytes(&bytes, &compute.device).map_err(err)?;
        Ok(Explainer { inner: Rc::new(inner) })
    }

    /// The heat map of `label` on image `index` of `dataset` (whose zip must be held). Resolves
    /// to `{ label, probability, image: { width, height, rgba }, heat: { width, height, rgba } }`:
    /// the image as the model sees it, and the coloured map of the same size.
    #[wasm_bindgen(js_name = ofImage)]
    pub fn of_image(&self, dataset: &Dataset, index: usize, label: String) -> js_sys::Promise {
        let input = self.inner.metadata().input.clone();
        let pixels =
            dataset.source.try_borrow_mut().map_err(|_| Dataset::busy()).and_then(|mut s| {
                s.decode_one(index, input.image_size, input.channels, input.resize).map_err(err)
            });
        self.explain(pixels, label)
    }

    /// The heat map of `label` on an image file (JPEG/PNG bytes); as `ofImage`.
    #[wasm_bindgen(js_name = ofFile)]
    pub fn of_file(&self, bytes: Vec<u8>, label: String) -> js_sys::Promise {
        let input = self.inner.metadata().input.clone();
        let pixels = crate::data::image::decode_image(
            "the image",
            &bytes,
            input.image_size,
            input.channels,
            input.resize,
            &Limits::default(),
        )
        .map_err(err);
        self.explain(pixels, label)
    }

    fn explain(&self, pixels: Result<Vec<u8>, JsError>, label: String) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let pixels = pixels?;
            let metadata = inner.metadata();
            let j = metadata.labels.iter().position(|l| *l == label).ok_or_else(|| {
                JsError::new(&format!(
                    "the model has no label '{label}'; its labels are {}",
                    metadata.labels.join(", ")
                ))
            })?;
            let map = inner.heat_map(&pixels, j).await.map_err(err)?;
            let side = map.side;
            let image =
                crate::report::Thumbnail::from_pixels(&pixels, side, metadata.input.channels);
            let heat = crate::report::Thumbnail {
                width: side as u32,
                height: side as u32,
                rgba: map.rgba(),
            };
            #[derive(Serialize)]
            struct Explained {
                label: String,
                probability: f32,
            }
            let value =
                to_js(&Explained { label: map.label.clone(), probability: map.probability })?;
            let set = |key: &str, t: &crate::report::Thumbnail| -> Result<(), JsError> {
                js_sys::Reflect::set(&value, &key.into(), &thumbnail_js(t)?)
                    .map(|_| ())
                    .map_err(|_| JsError::new("internal: cannot build a heat map"))
            };
            set("image", &image)?;
            set("heat", &heat)?;
            Ok(value)
        })
    }
}

/// A learning-rate range test on the dataset (see `src/train/lr_find.rs`), stepped from JS like
/// a `Trainer`.
#[cfg(feature = "train")]
#[wasm_bindgen]
pub struct LearningRateTest {
    /// Taken out while a step runs, so no borrow is held across an `await`.
    finder: Rc<RefCell<Option<crate::train::LrFinder>>>,
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl Dataset {
    /// Decodes the images as `prepareTraining` would (same options, same progress calls) and
    /// resolves to a [`LearningRateTest`] of the network those options build.
    #[wasm_bindgen(js_name = prepareLearningRateTest)]
    pub fn prepare_learning_rate_test(
        &self,
        options: JsValue,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let source = self.source.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let options = training_options(options)?;
            let (data, compute) = decode_for_run(&source, &options, on_progress.as_ref()).await?;
            let range = crate::train::LrFindOptions::default();
            let finder = crate::train::LrFinder::new(data, options, compute, range).map_err(err)?;
            Ok(JsValue::from(LearningRateTest { finder: Rc::new(RefCell::new(Some(finder))) }))
        })
    }
}

#[cfg(feature = "train")]
#[wasm_bindgen]
impl LearningRateTest {
    /// Batches the test runs at most.
    #[wasm_bindgen(js_name = totalSteps)]
    pub fn total_steps(&self) -> Result<usize, JsError> {
        Ok(self.finder.borrow().as_ref().ok_or_else(busy)?.total_steps())
    }

    /// Runs the next batch; resolves to `{ learningRate, loss, smoothed }`, or `null` once the
    /// test is done (every rate tried, or the loss blew up).
    pub fn step(&self) -> js_sys::Promise {
        let cell = self.finder.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut finder = cell.borrow_mut().take().ok_or_else(busy)?;
            let result = finder.step().await;
            *cell.borrow_mut() = Some(finder);
            match result.map_err(err)? {
                Some(point) => Ok(to_js(&point)?),
                None => Ok(JsValue::NULL),
            }
        })
    }

    /// `{ points: [{ learningRate, loss, smoothed }], suggested, minLossRate, kneeRate,
    /// divergedAt }`.
    pub fn report(&self) -> Result<JsValue, JsError> {
        let guard = self.finder.borrow();
        to_js(&guard.as_ref().ok_or_else(busy)?.report().map_err(err)?)
    }
}
