//! The conversions both builds share: Rust values to plain JS objects and typed arrays,
//! promises that settle with a `JsError`.

use std::future::Future;

use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `value` as a plain, JSON-compatible JS value (objects, arrays, numbers, `null`).
pub(super) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("internal: cannot convert result: {e}")))
}

/// A `Uint8Array` copy of `bytes`.
pub(super) fn bytes_js(bytes: &[u8]) -> js_sys::Uint8Array {
    js_sys::Uint8Array::from(bytes)
}

/// A promise of `work`, which may use `?` on the crate's errors (they convert to `JsError`).
pub(super) fn promise<F>(work: F) -> js_sys::Promise
where
    F: Future<Output = Result<JsValue, JsError>> + 'static,
{
    wasm_bindgen_futures::future_to_promise(async move { work.await.map_err(JsValue::from) })
}
