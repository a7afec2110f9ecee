//! `Trainer`: a training run stepped from JS, and `savedRunInfo`, what a run file holds.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{bytes_js, promise, to_js};
use super::interop::{busy, read_file, session_sides};
use crate::checkpoint;
use crate::gallery::Side;
use crate::train::{StepEvent, TrainingSession};

/// A training run, stepped from JS. Clones share it.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Trainer {
    /// Taken out while a step runs, so no borrow is held across an `await`.
    session: Rc<RefCell<Option<TrainingSession>>>,
}

impl Trainer {
    /// A trainer of `session`, whose split becomes the dataset's `sides`.
    pub(super) fn started(session: TrainingSession, sides: &RefCell<Option<Vec<Side>>>) -> Self {
        *sides.borrow_mut() = Some(session_sides(&session));
        Trainer { session: Rc::new(RefCell::new(Some(session))) }
    }

    /// Runs one step: what `step` resolves to.
    pub(super) async fn next_step(&self) -> Result<StepEvent, JsError> {
        let mut session = self.session.borrow_mut().take().ok_or_else(busy)?;
        let result = session.step().await;
        *self.session.borrow_mut() = Some(session);
        Ok(result?)
    }

    /// The run file at the end of an epoch: what `saveState` resolves to.
    pub(super) async fn run_file(&self) -> Result<Vec<u8>, JsError> {
        // Taken out while reading back, so no borrow is held across the `await`.
        let session = self.session.borrow_mut().take().ok_or_else(busy)?;
        let result = session.save_state().await;
        *self.session.borrow_mut() = Some(session);
        Ok(result?)
    }

    /// The model file of the current weights: what `exportModel` resolves to.
    pub(super) async fn model_file(&self) -> Result<Vec<u8>, JsError> {
        let (model, metadata) = self.with(|s| s.snapshot())??;
        Ok(checkpoint::save(&model, &metadata).await?)
    }

    /// `read` of the session, unless a step holds it.
    pub(super) fn with<T>(&self, read: impl FnOnce(&TrainingSession) -> T) -> Result<T, JsError> {
        Ok(read(self.session.borrow().as_ref().ok_or_else(busy)?))
    }
}

#[wasm_bindgen]
impl Trainer {
    /// `{ trainImages, validImages, stepsPerEpoch, totalSteps, parameters, model, backend }`
    pub fn info(&self) -> Result<JsValue, JsError> {
        self.with(|s| to_js(&s.info()))?
    }

    /// Runs one step. Resolves to `{ epoch, step, totalSteps, loss, imagesPerSec,
    /// etaSeconds, validation, done }`.
    pub fn step(&self) -> js_sys::Promise {
        let trainer = self.clone();
        promise(async move { to_js(&trainer.next_step().await?) })
    }

    /// `[{ label, points: [{ threshold, precision, recall }] }]`: each label's validation
    /// precision–recall curve for the kept weights, highest threshold first.
    #[wasm_bindgen(js_name = thresholdCurves)]
    pub fn threshold_curves(&self) -> Result<JsValue, JsError> {
        self.with(|s| to_js(&s.threshold_curves()))?
    }

    /// Every epoch's validation report so far, oldest first (a resumed run's earlier epochs
    /// included), as the steps' `validation` reported them.
    pub fn history(&self) -> Result<JsValue, JsError> {
        self.with(|s| to_js(&s.history()))?
    }

    /// Resolves to the run's state at the end of an epoch (`Uint8Array`, a run file) for
    /// `Dataset.resumeTraining`: weights, optimiser moments, random state, history.
    #[wasm_bindgen(js_name = saveState)]
    pub fn save_state(&self) -> js_sys::Promise {
        let trainer = self.clone();
        promise(async move { Ok(bytes_js(&trainer.run_file().await?).into()) })
    }

    /// Resolves to the model file (`Uint8Array`, `.safetensors` with metadata) of the current
    /// weights.
    #[wasm_bindgen(js_name = exportModel)]
    pub fn export_model(&self) -> js_sys::Promise {
        let trainer = self.clone();
        promise(async move { Ok(bytes_js(&trainer.model_file().await?).into()) })
    }
}

/// What a saved run (autosave) is, read from its file without loading it: `{ epochsCompleted,
/// epochs, stoppedEarly, labels, images, model, options, bestMap }`.
#[wasm_bindgen(js_name = savedRunInfo)]
pub fn saved_run_info(state: &[u8]) -> Result<JsValue, JsError> {
    to_js(&crate::train::saved_run_info(state)?)
}

/// What a new run starts from.
pub(super) enum Init {
    /// Fresh weights.
    New,
    /// A model file's bytes (fine-tuning).
    Model(Vec<u8>),
    /// EfficientNet-Lite0's ImageNet weights (the served `.safetensors`).
    Pretrained(Vec<u8>),
}

impl Init {
    /// From `Workspace.train`'s arguments: a model `File` to start from (when not null), else
    /// the pretrained weights' bytes (when given), else fresh weights.
    pub(super) async fn read(model: JsValue, pretrained: Option<Vec<u8>>) -> Result<Self, JsError> {
        Ok(match (model.is_undefined() || model.is_null(), pretrained) {
            (false, _) => Self::Model(read_file(&model).await?),
            (true, Some(weights)) => Self::Pretrained(weights),
            (true, None) => Self::New,
        })
    }
}
