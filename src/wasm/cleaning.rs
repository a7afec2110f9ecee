//! Cleaning the labels in the page: the loaded dataset's suspected label errors (k-fold
//! cross-validation, then confident learning: `CrossValidation`), and the label edits made
//! from them or by hand. The edits change the loaded dataset's labels (the next run trains on
//! them) and are kept as a change log, which "Download dataset" writes beside the edited
//! `index.csv` in a zip of the untouched files.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::convert::{bytes_js, promise};
use super::decode::next_tick;
use super::interop::{object, report};
use super::loaded::{LoadedDataset, Running, State, attach_zip, images};
use super::workspace::Workspace;
use crate::gallery::THUMBNAIL_SIDE;
use crate::train::CrossValidation;
use crate::workspace::Task;
use crate::{SuspectedError, TrainingOptions};

/// `findLabelErrors`' options: the runs' training options, the folds, and how many suspects
/// come back with thumbnails.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LabelErrorOptions {
    folds: usize,
    limit: usize,
    training: TrainingOptions,
}

impl Default for LabelErrorOptions {
    fn default() -> Self {
        let training = TrainingOptions { epochs: 8, ..TrainingOptions::default() };
        LabelErrorOptions { folds: 4, limit: 48, training }
    }
}

/// A progress reply's `event` while the runs train.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "camelCase")]
enum Progress {
    Decoding { done: usize, total: usize },
    FoldStep { fold: usize, folds: usize, epoch: usize, step: usize, total: usize, loss: f64 },
}

/// A suspect's fields beside its gallery image's.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SuspectFields<'a> {
    label: &'a str,
    given: u8,
    suggested: u8,
    score: f32,
    probability: f32,
    why: &'a str,
}

/// Cross-validates on the loaded dataset until done or stopped: `{ stopped, found, suspects }`,
/// the `limit` most suspicious as gallery images with `label`, `given`, `suggested`, `score`
/// and `probability`.
async fn find_label_errors(
    state: &RefCell<State>,
    options: JsValue,
    progress: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let options: LabelErrorOptions = if options.is_undefined() || options.is_null() {
        LabelErrorOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("label-error options: {e}")))?
    };
    options.training.validate()?;
    let (running, loaded) = Running::start(state, Task::LabelErrors)?;
    attach_zip(&loaded).await?;
    let decoding =
        |done: usize, total: usize| report(progress, &Progress::Decoding { done, total });
    let (data, compute) = loaded.dataset.decode_for_run(&options.training, &decoding).await?;
    let mut runs = CrossValidation::new(data, options.training, options.folds, compute)?;
    let (total, mut step) = (runs.total_steps(), 0);
    while !state.borrow().stop_requested() {
        let Some(event) = runs.step().await? else { break };
        step += 1;
        let (fold, folds) = (event.fold, event.folds);
        let (epoch, loss) = (event.step.epoch, event.step.loss);
        report(progress, &Progress::FoldStep { fold, folds, epoch, step, total, loss });
        // Let "stop" (a message) in between two steps.
        next_tick().await;
    }
    if !runs.is_done() {
        return object(&[
            ("stopped", true.into()),
            ("found", 0.into()),
            ("suspects", js_sys::Array::new().into()),
        ]);
    }
    let suspects = runs.suspected_errors()?;
    drop(running);
    let loaded = images(state).await?;
    let list = js_sys::Array::new();
    for s in suspects.iter().take(options.limit) {
        list.push(&suspect_js(&loaded, s)?);
    }
    object(&[
        ("stopped", false.into()),
        ("found", suspects.len().into()),
        ("suspects", list.into()),
    ])
}

/// The worker's requests for cleaning the labels, beside the others (`workspace.rs`).
#[wasm_bindgen]
impl Workspace {
    /// Searches the loaded dataset for label errors, posting the runs' progress (`stop` ends
    /// it): `{ stopped, found, suspects }` (see `find_label_errors`). Options: `{ folds,
    /// limit, training }` (training options as `train` takes them; 4 folds, 48 suspects and 8
    /// epochs by default).
    #[wasm_bindgen(js_name = findLabelErrors)]
    pub fn find_label_errors(
        &self,
        options: JsValue,
        progress: js_sys::Function,
    ) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { find_label_errors(&state, options, &progress).await })
    }

    /// Sets a label of one image of the loaded dataset (see `edit_label`).
    #[wasm_bindgen(js_name = editLabel)]
    pub fn edit_label(
        &self,
        index: usize,
        label: String,
        value: u8,
        why: String,
    ) -> Result<JsValue, JsError> {
        edit_label(&self.state, index, &label, value, why)
    }

    /// Undoes one change of the log (see `undo_change`).
    #[wasm_bindgen(js_name = undoChange)]
    pub fn undo_change(&self, k: usize) -> Result<JsValue, JsError> {
        undo_change(&self.state, k)
    }

    /// The loaded dataset with its edits, as a zip (see `export_dataset`).
    #[wasm_bindgen(js_name = exportDataset)]
    pub fn export_dataset(&self) -> js_sys::Promise {
        let state = self.state.clone();
        promise(async move { export_dataset(&state).await })
    }
}

fn suspect_js(loaded: &LoadedDataset, s: &SuspectedError) -> Result<JsValue, JsError> {
    let fields = SuspectFields {
        label: &s.label,
        given: s.given,
        suggested: s.suggested,
        score: s.score,
        probability: s.probability,
        why: &s.why,
    };
    loaded.dataset.gallery_image_js(s.index, THUMBNAIL_SIDE, fields)
}

/// Sets label `label` of image `index` to `value` (0 or 1) in the loaded dataset, noting `why`
/// in its change log (`DatasetSource::set_label`): `{ changes, summary }`. Refused while a task
/// holds the images.
fn edit_label(
    state: &RefCell<State>,
    index: usize,
    label: &str,
    value: u8,
    why: String,
) -> Result<JsValue, JsError> {
    let state = state.borrow();
    let loaded = state.images()?;
    loaded.dataset.source_mut()?.set_label(index, label, value, &why)?;
    loaded.changes_reply()
}

/// Undoes change `k` of the loaded dataset's log (`DatasetSource::undo_change`): `{ changes,
/// summary }`.
fn undo_change(state: &RefCell<State>, k: usize) -> Result<JsValue, JsError> {
    let state = state.borrow();
    let loaded = state.images()?;
    loaded.dataset.source_mut()?.undo_change(k)?;
    loaded.changes_reply()
}

/// The loaded dataset with its edits as a zip in the product's format (see
/// `DatasetSource::export_zip`): `Uint8Array`.
async fn export_dataset(state: &RefCell<State>) -> Result<JsValue, JsError> {
    let loaded = images(state).await?;
    let zip = loaded.dataset.source_mut()?.export_zip()?;
    Ok(bytes_js(&zip).into())
}
