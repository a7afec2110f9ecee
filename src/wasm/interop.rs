//! The `train` build's JS interop beyond serde: objects completed field by field (typed arrays
//! serde does not write), thumbnails as `ImageData` takes them.

use wasm_bindgen::prelude::*;

use crate::report::Thumbnail;

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
