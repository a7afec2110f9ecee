//! `Workspace`: what the worker has loaded (a dataset, a model, its review) and what it runs,
//! so that `worker.js` only passes messages. The rules between them, and their words, are the
//! library's (`src/workspace.rs`); `loaded.rs` holds the browser's objects under those rules.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{promise, to_js};
use super::dataset::check_zip_size;
use super::interop::{await_js, message_of, object, read_file};
use super::loaded::{LoadedDataset, LoadedModel, State, explainer, images, open_dataset};
use super::review::JsReview;
use super::runs::{self, Run};
use super::trainer::Init;

/// Everything the worker has loaded and runs; every request of the worker protocol is one
/// method.
#[wasm_bindgen]
pub struct Workspace {
    pub(super) state: Rc<RefCell<State>>,
}

#[wasm_bindgen]
impl Workspace {
    /// Nothing loaded yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Workspace {
        Workspace { state: Rc::default() }
    }

    /// Opens the dataset zip `file` (a `File`) in place of the last one, adding `new_labels`:
    /// its summary (see `Dataset.summary`), or `{ unlabelled }` (`loaded::open_dataset`). A
    /// zip the tab cannot hold is refused unread; a bad one leaves the last dataset loaded.
    #[wasm_bindgen(js_name = loadDataset)]
    pub fn load_dataset(&self, file: JsValue, new_labels: Vec<String>) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let size = js_sys::Reflect::get(&file, &"size".into()).ok().and_then(|s| s.as_f64());
            check_zip_size(size.unwrap_or(0.0))?;
            let dataset = match open_dataset(read_file(&file).await?, &new_labels)? {
                Ok(dataset) => dataset,
                Err(unlabelled) => return object(&[("unlabelled", unlabelled.into())]),
            };
            let summary = dataset.summary()?;
            let name = js_sys::Reflect::get(&file, &"name".into()).ok().and_then(|n| n.as_string());
            let name = name.unwrap_or_else(|| "dataset.zip".into());
            state.borrow_mut().set_dataset(LoadedDataset { dataset, file, name });
            Ok(summary)
        })
    }

    /// What training the loaded dataset with `options` would hold in memory (see
    /// `Dataset.memoryPlan`).
    #[wasm_bindgen(js_name = memoryPlan)]
    pub fn memory_plan(&self, options: JsValue) -> Result<JsValue, JsError> {
        self.state.borrow().dataset()?.dataset.memory_plan(options)
    }

    /// Trains on the loaded dataset (from the model `File` `init_model`, or the pretrained
    /// weights' bytes `pretrained`, when given) to the end, a stop or a failure, posting
    /// `progress(event)` (decoding, started, each step) and with `autosave(bytes)` (resolving
    /// once the run file is stored) each epoch's save. Resolves to `{ stopped, failure?,
    /// model, metadata, curves, review }`; the model becomes the current one.
    pub fn train(
        &self,
        options: JsValue,
        init_model: JsValue,
        pretrained: Option<Vec<u8>>,
        autosave: Option<js_sys::Function>,
        progress: js_sys::Function,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let init = Init::read(init_model, pretrained).await?;
            runs::train(&state, Run::New { options, init }, autosave, &progress).await
        })
    }

    /// Resumes the run file `run` (a `File`) on the loaded dataset, as `train` does, saving
    /// each epoch with `autosave`.
    pub fn resume(
        &self,
        run: JsValue,
        autosave: js_sys::Function,
        progress: js_sys::Function,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let bytes = read_file(&run).await?;
            runs::train(&state, Run::Resumed(bytes), Some(autosave), &progress).await
        })
    }

    /// A learning-rate range test on the loaded dataset, posting each rate tried; resolves to
    /// its report (see `LearningRateTest.report`).
    #[wasm_bindgen(js_name = findLearningRate)]
    pub fn find_learning_rate(
        &self,
        options: JsValue,
        progress: js_sys::Function,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { runs::find_learning_rate(&state, options, &progress).await })
    }

    /// Measures the current model on the loaded dataset, posting the decoding's progress;
    /// resolves to the evaluation, whose review becomes the model's.
    pub fn evaluate(&self, progress: js_sys::Function) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { runs::evaluate(&state, &progress).await })
    }

    /// Asks a run or learning-rate test to stop after its step: `{ stopping }` (one ran).
    pub fn stop(&self) -> Result<JsValue, JsError> {
        let stopping = self.state.borrow_mut().request_stop();
        object(&[("stopping", stopping.into())])
    }

    /// Compares, on the worker's device, each form of a layer the project computes itself
    /// there with burn's own kernels (`check_agreement`): resolves to `{ compared, largestError,
    /// disagreements }`. One task at a time, as training is.
    #[wasm_bindgen(js_name = checkBackend)]
    pub fn check_backend(&self) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let device = super::backend::device()?.device;
            state.borrow_mut().start_backend_check()?;
            let report = crate::check_agreement(&device).await;
            state.borrow_mut().finish();
            to_js(&report?)
        })
    }

    /// Makes the model file `file` (a `File`) the current model, if it loads: `{ model,
    /// metadata }`.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, file: JsValue) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let bytes = read_file(&file).await?;
            let model = LoadedModel::from_bytes(bytes)?;
            let reply = object(&model.reply()?)?;
            state.borrow_mut().set_model(model, None);
            Ok(reply)
        })
    }

    /// New per-label thresholds for the model, its file and its review: `{ model, metadata,
    /// review }`.
    #[wasm_bindgen(js_name = setThresholds)]
    pub fn set_thresholds(&self, thresholds: Vec<f32>) -> Result<JsValue, JsError> {
        let mut state = self.state.borrow_mut();
        let model = state.model_mut("change the thresholds")?;
        let bytes = crate::checkpoint::with_thresholds(&model.bytes, &thresholds)?;
        model.predictor.set_thresholds(thresholds.clone())?;
        model.bytes = bytes;
        let mut reply = model.reply()?;
        if let Some(review) = state.review_mut() {
            review.set_thresholds(thresholds)?;
        }
        reply.push(("review", review_summary(&state)?));
        object(&reply)
    }

    /// Predicts the image `file` (a `File`) with the current model, averaging shifted copies
    /// when `tta`: `{ predictions }` (see `Predictor.predict`).
    pub fn predict(&self, file: JsValue, tta: bool) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            state.borrow().model()?;
            let bytes = read_file(&file).await?;
            let predicting = {
                let mut state = state.borrow_mut();
                let model = state.model_settings_mut()?;
                if model.tta != tta {
                    model.predictor.set_test_time_augmentation(tta)?;
                    model.tta = tta;
                }
                model.predictor.predict(bytes)
            };
            await_js(predicting.into()).await.map_err(|e| JsError::new(&message_of(&e)))
        })
    }

    /// Scores the sound clip `file` (a `File`) window by window with the current model (one
    /// of sound clips): `{ windows: [{ startSeconds, endSeconds, labels }] }` (see
    /// `Predictor.predictFileWindows`), a window of the model's length every `stepSeconds`
    /// (the window's length when `undefined`).
    #[wasm_bindgen(js_name = predictWindows)]
    pub fn predict_windows(&self, file: JsValue, step_seconds: Option<f64>) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let bytes = read_file(&file).await?;
            let predicting =
                state.borrow().model()?.predictor.predict_file_windows(bytes, step_seconds);
            await_js(predicting.into()).await.map_err(|e| JsError::new(&message_of(&e)))
        })
    }

    /// The current model's review summary (see `Review.summary`), or `null`.
    pub fn review(&self) -> Result<JsValue, JsError> {
        review_summary(&self.state.borrow())
    }

    /// One page of the loaded dataset's images (see `Dataset.gallery`).
    pub fn gallery(&self, filter: JsValue) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { images(&state).await?.dataset.gallery(filter) })
    }

    /// Row `index`'s file of the loaded dataset, as the zip holds it (see `Dataset.file`): the
    /// gallery's play button plays a clip's original bytes.
    pub fn file(&self, index: usize) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { images(&state).await?.dataset.file(index) })
    }

    /// A label's false positives and negatives (see `Review.errors`).
    pub fn errors(&self, label: String, limit: usize, side: Option<u32>) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            state.borrow().measured()?;
            let loaded = images(&state).await?;
            state.borrow().measured()?.errors(&loaded.dataset, &label, limit, side)
        })
    }

    /// The images with the highest loss (see `Review.mostWrong`).
    #[wasm_bindgen(js_name = mostWrong)]
    pub fn most_wrong(&self, limit: usize, side: Option<u32>) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            state.borrow().measured()?;
            let loaded = images(&state).await?;
            Ok(state.borrow().measured()?.most_wrong(&loaded.dataset, limit, side)?.into())
        })
    }

    /// Every label of image `index` against its truth (see `Review.verdicts`).
    #[wasm_bindgen(js_name = imageDetail)]
    pub fn image_detail(&self, index: usize) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let review = state.measured()?;
        review.verdicts(&state.dataset()?.dataset, index)
    }

    /// The heat map of `label` on the image file `file` (a `File`), or without one on image
    /// `index` of the loaded dataset (see `Explainer`).
    pub fn saliency(&self, file: JsValue, index: Option<usize>, label: String) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let explainer = explainer(&state)?;
            if !(file.is_undefined() || file.is_null()) {
                let bytes = read_file(&file).await?;
                return explainer.of_file_now(&bytes, label).await;
            }
            let loaded = images(&state).await?;
            explainer.of_image_now(&loaded.dataset, index.unwrap_or(0), label).await
        })
    }

    /// The evaluation report (see `Review.report`), titled `title` or the model's name.
    pub fn report(&self, title: Option<String>) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            state.borrow().measured()?;
            let loaded = images(&state).await?;
            let state = state.borrow();
            let model =
                state.model().ok().map(|m| m.predictor.inner.metadata().architecture.name());
            let title = title.or(model).unwrap_or_else(|| "model".into());
            Ok(state.measured()?.report(&loaded.dataset, title, loaded.name.clone())?.into())
        })
    }

    /// "Export for the web" of the current model: a zip (see `exportForWeb`), the app's files
    /// read with `fetch_file(path)`, a function resolving to their bytes.
    #[wasm_bindgen(js_name = exportForWeb)]
    pub fn export_for_web(&self, fetch_file: js_sys::Function) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move {
            let model = state.borrow().model()?.bytes.clone();
            super::export::export_fetching(&model, &fetch_file).await
        })
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// The review's summary, or `null`.
fn review_summary(state: &State) -> Result<JsValue, JsError> {
    state.review().map_or(Ok(JsValue::NULL), JsReview::summary)
}
