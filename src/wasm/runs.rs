//! The worker's long requests, run to their end in Rust: training (new, fine-tuned, resumed),
//! the learning-rate test and the evaluation, with the progress they post.

use std::cell::RefCell;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_time::Instant;

use super::convert::{bytes_js, to_js};
use super::decode::next_tick;
use super::interop::{await_js, message_of, object, report};
use super::loaded::{LoadedModel, Running, State, attach_zip};
use super::review::JsReview;
use super::trainer::{Init, Trainer};
use crate::train::{LrPoint, RunHistory, SessionInfo, StepEvent};
use crate::workspace::Task;

/// Which run `train` starts.
pub(super) enum Run {
    /// A new run: from fresh weights, a model file (fine-tuning) or the pretrained weights.
    New { options: JsValue, init: Init },
    /// A run file's run, going on from its last epoch.
    Resumed(Vec<u8>),
}

/// A progress reply's `event` (`www/protocol.js`' `Progress`).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "camelCase")]
enum Progress<'a> {
    Decoding {
        done: usize,
        total: usize,
    },
    Started {
        info: StartedInfo<'a>,
    },
    Step {
        #[serde(flatten)]
        event: &'a StepEvent,
        wasm_memory_bytes: f64,
    },
    Autosaved {
        epoch: usize,
        bytes: usize,
        ms: f64,
    },
    AutosaveFailed {
        epoch: usize,
        message: String,
    },
    LrPoint {
        point: &'a LrPoint,
        step: usize,
        total: usize,
    },
}

/// A run's sizes as it starts, with the memory decoding took and a resumed run's history.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartedInfo<'a> {
    #[serde(flatten)]
    info: SessionInfo,
    /// Decoded pixels live in wasm memory, which only grows: its size is the peak so far.
    wasm_memory_bytes: f64,
    /// A resumed run's earlier epochs, to redraw its curves.
    history: &'a RunHistory,
}

/// The worker's wasm memory in bytes: it only grows, so this is also its peak so far.
fn wasm_memory_bytes() -> f64 {
    let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

/// Runs training to its end (or a stop, or a failure), saving its state after every epoch but
/// the last with `autosave`, so that a reload or a crash loses at most one epoch.
pub(super) async fn train(
    state: &RefCell<State>,
    run: Run,
    autosave: Option<js_sys::Function>,
    progress: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let (_running, loaded) = Running::start(state, Task::Training)?;
    attach_zip(&loaded).await?;
    let decoding =
        |done: usize, total: usize| report(progress, &Progress::Decoding { done, total });
    let trainer = match run {
        Run::New { options, init } => loaded.dataset.training(options, init, &decoding).await?,
        Run::Resumed(bytes) => loaded.dataset.resumed(&bytes, &decoding).await?,
    };
    let info = trainer.with(|s| s.info())?;
    let history = trainer.with(|s| s.history().clone())?;
    let info = StartedInfo { info, wasm_memory_bytes: wasm_memory_bytes(), history: &history };
    report(progress, &Progress::Started { info });
    let mut done = false;
    let mut failure = None;
    while !done && !state.borrow().stop_requested() {
        let event = match trainer.next_step().await {
            Ok(event) => event,
            Err(e) => {
                failure = Some(message_of(&e.into()));
                break;
            }
        };
        let memory = wasm_memory_bytes();
        report(progress, &Progress::Step { event: &event, wasm_memory_bytes: memory });
        if let Some(save) = autosave.as_ref().filter(|_| event.validation.is_some() && !event.done)
        {
            save_epoch(&trainer, event.epoch, save, progress).await;
        }
        done = event.done;
        // Let "stop" (a message) in between two steps.
        next_tick().await;
    }
    finish_training(state, &trainer, done, failure).await
}

/// The run's model becomes the current one: `{ stopped, failure?, model, metadata, curves,
/// review }`. A run that failed mid-way keeps its best validated epoch; with none, the failure
/// stands (and the previous model stays). A run stopped before its first step has no model.
async fn finish_training(
    state: &RefCell<State>,
    trainer: &Trainer,
    done: bool,
    failure: Option<String>,
) -> Result<JsValue, JsError> {
    let steps = trainer.with(|s| s.history().step_losses.len())?;
    if failure.is_none() && steps == 0 {
        let null = || JsValue::NULL;
        let fields =
            [("stopped", true.into()), ("model", null()), ("metadata", null()), ("curves", null())];
        return object(&fields);
    }
    let bytes = match (trainer.model_file().await, &failure) {
        (Ok(bytes), _) => bytes,
        (Err(_), Some(failure)) => return Err(JsError::new(failure)),
        (Err(e), None) => return Err(e),
    };
    let curves = trainer.with(|s| to_js(&s.threshold_curves()))??;
    let review = trainer.with(|s| s.review().map(|r| JsReview::new(r, 0.0)))?;
    let model = LoadedModel::from_bytes(bytes)?;
    let mut reply = vec![("stopped", JsValue::from(failure.is_some() || !done))];
    if let Some(failure) = &failure {
        reply.push(("failure", failure.into()));
    }
    reply.extend(model.reply()?);
    reply.push(("curves", curves));
    let summary = review.as_ref().map_or(Ok(JsValue::NULL), JsReview::summary)?;
    reply.push(("review", summary));
    state.borrow_mut().set_model(model, review);
    object(&reply)
}

/// Saves the run's state after `epoch` with `save`; a failure (storage full) is reported, not
/// fatal.
async fn save_epoch(
    trainer: &Trainer,
    epoch: usize,
    save: &js_sys::Function,
    progress: &js_sys::Function,
) {
    let started = Instant::now();
    let saved = async {
        let bytes = trainer.run_file().await.map_err(JsValue::from)?;
        await_js(save.call1(&JsValue::NULL, &bytes_js(&bytes))?).await?;
        Ok::<usize, JsValue>(bytes.len())
    };
    match saved.await {
        Ok(bytes) => {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            report(progress, &Progress::Autosaved { epoch, bytes, ms });
        }
        Err(e) => report(progress, &Progress::AutosaveFailed { epoch, message: message_of(&e) }),
    }
}

/// A learning-rate range test on the loaded dataset until its end or a stop: its report.
pub(super) async fn find_learning_rate(
    state: &RefCell<State>,
    options: JsValue,
    progress: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let (_running, loaded) = Running::start(state, Task::LearningRateTest)?;
    attach_zip(&loaded).await?;
    let decoding =
        |done: usize, total: usize| report(progress, &Progress::Decoding { done, total });
    let test = loaded.dataset.learning_rate_test(options, &decoding).await?;
    let total = test.total_steps()?;
    let mut step = 1;
    while !state.borrow().stop_requested() {
        let Some(point) = test.next_point().await? else { break };
        report(progress, &Progress::LrPoint { point: &point, step, total });
        step += 1;
        // Let "stop" (a message) in between two batches.
        next_tick().await;
    }
    test.report()
}

/// The current model measured on the loaded dataset: the evaluation; its review becomes the
/// model's.
pub(super) async fn evaluate(
    state: &RefCell<State>,
    progress: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let (_running, loaded) = Running::start(state, Task::Evaluation)?;
    attach_zip(&loaded).await?;
    let predictor = state.borrow().model()?.predictor.clone();
    let decoding =
        |done: usize, total: usize| report(progress, &Progress::Decoding { done, total });
    let review = predictor.review_of(&loaded.dataset, &decoding).await?;
    let evaluation = review.evaluation()?;
    state.borrow_mut().set_review(review);
    Ok(evaluation)
}
