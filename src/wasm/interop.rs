//! The `train` build's JS interop beyond serde: objects completed field by field (typed arrays
//! serde does not write), thumbnails as `ImageData` takes them, promises awaited, files read,
//! progress posted.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::convert::to_js;
use crate::gallery::{Side, split_sides};
use crate::report::Thumbnail;
use crate::train::TrainingSession;

/// Sets `object[key] = field`, for the fields serde cannot write (typed arrays); `what` the
/// object says which, in the (never expected) failure.
pub(super) fn set_field(
    object: &JsValue,
    key: &str,
    field: &JsValue,
    what: &str,
) -> Result<(), JsError> {
    js_sys::Reflect::set(object, &key.into(), field)
        .map(|_| ())
        .map_err(|_| JsError::new(&format!("internal: cannot build {what}")))
}

/// `{ width, height, rgba: Uint8ClampedArray }`, ready for `new ImageData(rgba, width, height)`.
pub(super) fn thumbnail_js(t: &Thumbnail) -> Result<JsValue, JsError> {
    let object = JsValue::from(js_sys::Object::new());
    let rgba = js_sys::Uint8ClampedArray::from(t.rgba.as_slice());
    set_field(&object, "width", &t.width.into(), "a thumbnail")?;
    set_field(&object, "height", &t.height.into(), "a thumbnail")?;
    set_field(&object, "rgba", &rgba.into(), "a thumbnail")?;
    Ok(object)
}

/// Awaits `value` (a promise, or a value as `Promise.resolve` takes it); a rejection as what
/// it was rejected with.
pub(super) async fn await_js(value: JsValue) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&value)).await
}

/// What a JS error says: an `Error`'s message, a thrown string, or its debug form.
pub(super) fn message_of(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(e) => e.message().into(),
        None => error.as_string().unwrap_or_else(|| format!("{error:?}")),
    }
}

/// The bytes of a `Blob` (a `File`), read with its `arrayBuffer()`.
pub(super) async fn read_blob(blob: &JsValue) -> Result<Vec<u8>, JsValue> {
    let read: js_sys::Function = js_sys::Reflect::get(blob, &"arrayBuffer".into())?.dyn_into()?;
    let buffer = await_js(read.call0(blob)?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The bytes of `file` (a `File` or `Blob`), or the browser's reason it cannot be read.
pub(super) async fn read_file(file: &JsValue) -> Result<Vec<u8>, JsError> {
    read_blob(file).await.map_err(|e| JsError::new(&message_of(&e)))
}

/// A JS object of `fields`, for replies whose fields are JS values already.
pub(super) fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, JsError> {
    let object = JsValue::from(js_sys::Object::new());
    for (key, value) in fields {
        set_field(&object, key, value, "a reply")?;
    }
    Ok(object)
}

/// Calls `f(value)` and lets a throw go: progress reports must not stop the work.
pub(super) fn report(f: &js_sys::Function, value: &impl Serialize) {
    if let Ok(value) = to_js(value) {
        let _ = f.call1(&JsValue::NULL, &value);
    }
}

/// The error for a call while a step, a save or an export holds the session (also the
/// learning-rate test's).
pub(super) fn busy() -> JsError {
    JsError::new("the trainer is busy with another request; await the previous call first")
}

/// Each image's side in a session's split.
pub(super) fn session_sides(session: &TrainingSession) -> Vec<Side> {
    split_sides(session.dataset().len(), &session.split().valid)
}
