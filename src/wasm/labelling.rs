//! Building a dataset in the page: labels set in the grid (one or a selection at once), labels
//! added, webcam frames added as JPEG, and the session's edits kept in the browser and made
//! again after a reload. Every rule is the library's (`data/edits.rs`); these wrappers take
//! the page's values and answer `{ changes, summary }` as the cleaning requests do.

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use super::convert::bytes_js;
use super::interop::set_field;
use super::workspace::Workspace;
use crate::Limits;
use crate::data::ChangeLog;

/// One label of one image, as the grid sets it.
#[derive(Deserialize)]
struct CellEdit {
    index: usize,
    label: String,
    value: u8,
}

#[wasm_bindgen]
impl Workspace {
    /// Sets several labels at once (`edits`: `[{ index, label, value }]`), each change logged
    /// with `why`; values already set are left: `{ changes, summary, changed }`.
    #[wasm_bindgen(js_name = editLabels)]
    pub fn edit_labels(&self, edits: JsValue, why: String) -> Result<JsValue, JsError> {
        let edits: Vec<CellEdit> = serde_wasm_bindgen::from_value(edits)
            .map_err(|e| JsError::new(&format!("label edits: {e}")))?;
        let edits: Vec<(usize, String, u8)> =
            edits.into_iter().map(|e| (e.index, e.label, e.value)).collect();
        let state = self.state.borrow();
        let loaded = state.images()?;
        let changed = loaded.dataset.source_mut()?.set_labels(&edits, &why)?;
        let reply = loaded.changes_reply()?;
        set_field(&reply, "changed", &changed.into(), "the edits' reply")?;
        Ok(reply)
    }

    /// Adds label `name` to the loaded dataset (0 for every image): `{ changes, summary }`.
    #[wasm_bindgen(js_name = addLabel)]
    pub fn add_label(&self, name: String) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let loaded = state.images()?;
        loaded.dataset.source_mut()?.add_label(&name, "label added")?;
        loaded.changes_reply()
    }

    /// Adds a webcam frame (`width × height` RGBA) as a JPEG image with `labels` present:
    /// `{ changes, summary, index, path, bytes }` (`bytes`: the JPEG, which the page keeps).
    #[wasm_bindgen(js_name = addFrame)]
    pub fn add_frame(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        labels: Vec<String>,
    ) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let loaded = state.images()?;
        let (index, path) = loaded.dataset.source_mut()?.add_frame(
            &rgba,
            (width, height),
            &labels,
            "captured from the webcam",
        )?;
        let source = loaded.dataset.source()?;
        let jpeg = source.added_files().find(|(p, _)| *p == path).map(|(_, b)| b).unwrap_or(&[]);
        let bytes = bytes_js(jpeg);
        drop(source);
        let fields = [("index", index.into()), ("path", path.into()), ("bytes", bytes.into())];
        let reply = loaded.changes_reply()?;
        for (name, value) in &fields {
            set_field(&reply, name, value, "the frame's reply")?;
        }
        Ok(reply)
    }

    /// Renames label `from` to `to` in the loaded dataset, its values kept:
    /// `{ changes, summary }`.
    #[wasm_bindgen(js_name = renameLabel)]
    pub fn rename_label(&self, from: String, to: String) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let loaded = state.images()?;
        loaded.dataset.source_mut()?.rename_label(&from, &to, "label renamed")?;
        loaded.changes_reply()
    }

    /// Removes label `name` and its values from the loaded dataset: `{ changes, summary }`.
    #[wasm_bindgen(js_name = removeLabel)]
    pub fn remove_label(&self, name: String) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let loaded = state.images()?;
        loaded.dataset.source_mut()?.remove_label(&name, "label removed")?;
        loaded.changes_reply()
    }

    /// Leaves the images `indices` out of the loaded dataset (their files stay in the zip):
    /// `{ changes, summary }`.
    #[wasm_bindgen(js_name = excludeImages)]
    pub fn exclude_images(&self, indices: Vec<usize>) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let loaded = state.images()?;
        loaded.dataset.source_mut()?.exclude_images(&indices, "excluded by hand")?;
        loaded.changes_reply()
    }

    /// The loaded dataset's change log as `changes.csv` bytes, for the page to keep.
    #[wasm_bindgen(js_name = changesCsv)]
    pub fn changes_csv(&self) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let loaded = state.dataset()?;
        Ok(bytes_js(&loaded.dataset.source()?.changes().to_csv()).into())
    }

    /// Makes a kept session's edits again on the loaded dataset: its `changes.csv` bytes and
    /// the files it added (`[{ path, bytes }]`): `{ changes, summary }`.
    #[wasm_bindgen(js_name = restoreChanges)]
    pub fn restore_changes(&self, csv: Vec<u8>, files: js_sys::Array) -> Result<JsValue, JsError> {
        let log = ChangeLog::parse(&csv)?;
        let mut kept = Vec::with_capacity(files.length() as usize);
        for file in files.iter() {
            let field = |name: &str| js_sys::Reflect::get(&file, &name.into()).ok();
            let path = field("path").and_then(|p| p.as_string());
            let bytes = field("bytes").and_then(|b| b.dyn_into::<js_sys::Uint8Array>().ok());
            let (Some(path), Some(bytes)) = (path, bytes) else {
                return Err(JsError::new("a kept file is not { path, bytes: Uint8Array }"));
            };
            kept.push((path, bytes.to_vec()));
        }
        let files = kept;
        let state = self.state.borrow();
        let loaded = state.images()?;
        loaded.dataset.source_mut()?.restore_changes(&log, files)?;
        loaded.changes_reply()
    }
}

/// A folder the person chose or dropped, as a zip that opens as a dataset
/// (`data::zip_folder`): `paths[i]` (inside the folder, its own name first) holds `contents[i]`
/// (a `Uint8Array`). Resolves to the zip's bytes.
#[wasm_bindgen(js_name = zipFolder)]
pub fn zip_folder(
    paths: Vec<String>,
    contents: js_sys::Array,
) -> Result<js_sys::Uint8Array, JsError> {
    if paths.len() != contents.length() as usize {
        return Err(JsError::new("zipFolder: one content a path"));
    }
    let files: Vec<(String, Vec<u8>)> = paths
        .into_iter()
        .zip(contents.iter())
        .map(|(path, bytes)| (path, js_sys::Uint8Array::new(&bytes).to_vec()))
        .collect();
    Ok(bytes_js(&crate::data::zip_folder(&files, &Limits::default())?))
}
