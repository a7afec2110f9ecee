//! What the worker's `Workspace` holds, under the library's rules (`src/workspace.rs`): the
//! loaded dataset with its file, the current model with its file's bytes and explainer, and
//! the task running, finished however its future ends.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::convert::bytes_js;
use super::dataset::Dataset;
use super::explainer::Explainer;
use super::interop::{message_of, read_blob};
use super::predictor::JsPredictor;
use super::review::JsReview;
use crate::workspace::{self, Task};
use crate::{DatasetSource, ErrorKind, Limits};

/// What the worker holds: the library's rules over the browser's objects.
pub(super) type State = workspace::Workspace<LoadedDataset, LoadedModel, JsReview>;

/// The loaded dataset, with the file it is read from again before each decoding.
#[derive(Clone)]
pub(super) struct LoadedDataset {
    pub(super) dataset: Dataset,
    /// The zip's `File`: the dataset drops the zip's bytes after each decoding.
    pub(super) file: JsValue,
    /// The file's name, for the report.
    pub(super) name: String,
}

impl LoadedDataset {
    /// `{ changes, summary }`: its change log and its summary, as every edit answers.
    pub(super) fn changes_reply(&self) -> Result<JsValue, JsError> {
        let changes = super::convert::to_js(&self.dataset.source()?.changes().changes)?;
        super::interop::object(&[("changes", changes), ("summary", self.dataset.summary()?)])
    }
}

/// The current model: its predictor, its file's bytes (with the thresholds in force) and,
/// once asked, its explainer.
pub(super) struct LoadedModel {
    pub(super) predictor: JsPredictor,
    pub(super) bytes: Vec<u8>,
    /// Whether the predictor averages over shifted copies (test-time augmentation).
    pub(super) tta: bool,
    pub(super) explainer: RefCell<Option<Explainer>>,
}

impl LoadedModel {
    /// The model file `bytes`, loaded; an error (and nothing changed) if it does not load.
    pub(super) fn from_bytes(bytes: Vec<u8>) -> Result<Self, JsError> {
        let predictor = JsPredictor::from_bytes(bytes.clone())?;
        Ok(LoadedModel { predictor, bytes, tta: false, explainer: RefCell::default() })
    }

    /// `{ model: Uint8Array, metadata }`, as the page keeps a model.
    pub(super) fn reply(&self) -> Result<Vec<(&'static str, JsValue)>, JsError> {
        Ok(vec![("model", bytes_js(&self.bytes).into()), ("metadata", self.predictor.metadata()?)])
    }
}

/// The current model's explainer, made when first asked.
pub(super) fn explainer(state: &RefCell<State>) -> Result<Explainer, JsError> {
    let state = state.borrow();
    let model = state.model()?;
    let mut explainer = model.explainer.borrow_mut();
    if explainer.is_none() {
        *explainer = Some(Explainer::from_bytes(model.bytes.clone())?);
    }
    Ok(explainer.clone().expect("made above"))
}

/// The loaded dataset with its zip held, for thumbnails: refused while a task holds the images.
pub(super) async fn images(state: &RefCell<State>) -> Result<LoadedDataset, JsError> {
    let loaded = state.borrow().images()?.clone();
    attach_zip(&loaded).await?;
    Ok(loaded)
}

/// Gives the dataset its zip's bytes again, read from its file, unless it holds them.
pub(super) async fn attach_zip(loaded: &LoadedDataset) -> Result<(), JsError> {
    if loaded.dataset.holds_zip() {
        return Ok(());
    }
    let bytes = read_blob(&loaded.file).await.map_err(|e| {
        let name = js_sys::Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string());
        JsError::new(&format!(
            "the dataset zip can no longer be read ({}): it was moved or changed on disk; choose it again",
            name.unwrap_or_else(|| message_of(&e))
        ))
    })?;
    loaded.dataset.attach_zip(bytes)
}

/// The task a workspace runs, finished however its future ends (even dropped).
pub(super) struct Running<'a>(pub(super) &'a RefCell<State>);

impl<'a> Running<'a> {
    /// Starts `task` on the loaded dataset.
    pub(super) fn start(
        state: &'a RefCell<State>,
        task: Task,
    ) -> Result<(Self, LoadedDataset), JsError> {
        let loaded = state.borrow_mut().start(task)?.clone();
        Ok((Running(state), loaded))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.borrow_mut().finish();
    }
}

/// The dataset zip `bytes` with `new_labels` added (`DatasetSource::from_zip_adding_labels`),
/// or, for images in no label folder and without `index.csv` when no label is given, their
/// number: the page asks for labels, and opens the zip again with them.
pub(super) fn open_dataset(
    bytes: Vec<u8>,
    new_labels: &[String],
) -> Result<Result<Dataset, usize>, JsError> {
    match DatasetSource::from_zip_adding_labels(bytes, &Limits::default(), new_labels) {
        Ok(source) => Ok(Ok(Dataset::from_source(source))),
        Err(e) => match e.kind() {
            ErrorKind::MissingIndexCsv { unlabelled, .. } if *unlabelled > 0 => {
                Ok(Err(*unlabelled))
            }
            _ => Err(e.into()),
        },
    }
}

impl Dataset {
    /// A dataset of `source`, not split yet.
    pub(super) fn from_source(source: DatasetSource) -> Self {
        Dataset { source: std::rc::Rc::new(RefCell::new(source)), sides: Default::default() }
    }
}
