//! "Export for the web": the model, the predict package and a page, in one zip.

use wasm_bindgen::prelude::*;

use super::convert::bytes_js;
use super::interop::{await_js, message_of};

/// The app's files (paths under its root) that `exportForWeb` needs besides the model.
#[wasm_bindgen(js_name = webExportFiles)]
pub fn web_export_files() -> Vec<String> {
    crate::export::SITE_FILES.iter().map(|p| p.to_string()).collect()
}

/// A zip holding the model file `model`, the predict package and a ready `index.html`, from
/// the app's `files`: an array of `[path, Uint8Array]` for every path of `webExportFiles()`.
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
    Ok(bytes_js(&crate::export::web_export(&model, &files)?))
}

/// The export of `model` (a model file's bytes) with the app's files read by
/// `fetch_file(path)`, a function resolving to their bytes (the worker's `Workspace`).
pub(super) async fn export_fetching(
    model: &[u8],
    fetch_file: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let paths = crate::export::SITE_FILES;
    let reads: Vec<JsValue> = paths
        .iter()
        .map(|path| fetch_file.call1(&JsValue::NULL, &(*path).into()))
        .collect::<Result<_, _>>()
        .map_err(|e| JsError::new(&message_of(&e)))?;
    let mut files = Vec::new();
    for (path, read) in paths.iter().zip(reads) {
        let bytes = await_js(read).await.map_err(|e| JsError::new(&message_of(&e)))?;
        files.push((path.to_string(), js_sys::Uint8Array::new(&bytes).to_vec()));
    }
    Ok(bytes_js(&crate::export::web_export(model, &files)?).into())
}
