//! `initBackend`: the worker's compute device, picked and initialised once.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::convert::to_js;
use crate::device::{BackendPreference, ComputeDevice};

thread_local! {
    /// Initialised once per worker by `initBackend`, then cloned.
    static DEVICE: RefCell<Option<ComputeDevice>> = const { RefCell::new(None) };
}

/// The worker's device; an error before `initBackend`.
pub(super) fn device() -> Result<ComputeDevice, JsError> {
    DEVICE.with(|d| d.borrow().clone()).ok_or_else(|| {
        JsError::new("the compute backend is not initialised; call initBackend() first")
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BackendOptions {
    prefer: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackendInfo {
    kind: &'static str,
    adapter: String,
    notice: Option<String>,
    /// The GPU's largest buffer in bytes (null on the CPU): batches are sized to fit it.
    max_buffer_bytes: Option<u64>,
}

impl BackendInfo {
    fn of(compute: &ComputeDevice) -> Self {
        BackendInfo {
            kind: compute.kind.as_str(),
            adapter: compute.adapter.clone(),
            notice: compute.notice.clone(),
            max_buffer_bytes: compute.max_buffer_bytes,
        }
    }
}

/// Picks and initialises the backend once: `{ prefer: "auto" | "webgpu" | "cpu" }`.
/// Resolves to `{ kind: "webgpu" | "cpu", adapter, notice, maxBufferBytes }`. Later calls
/// return the same.
#[wasm_bindgen(js_name = initBackend)]
pub async fn init_backend(options: JsValue) -> Result<JsValue, JsError> {
    if let Ok(existing) = device() {
        return to_js(&BackendInfo::of(&existing));
    }
    let options: BackendOptions = if options.is_undefined() || options.is_null() {
        BackendOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("initBackend options: {e}")))?
    };
    let preference = BackendPreference::parse(options.prefer.as_deref().unwrap_or("auto"))?;
    let compute = ComputeDevice::init_in_browser(preference).await;
    DEVICE.with(|d| *d.borrow_mut() = Some(compute.clone()));
    to_js(&BackendInfo::of(&compute))
}
