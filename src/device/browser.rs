//! The browser's side of device selection: whether WebGPU is exposed at all, and what the
//! adapter is (wgpu cannot tell in a browser), through the JS APIs themselves.

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

use super::{BackendKind, BackendPreference, ComputeDevice};

impl ComputeDevice {
    /// [`ComputeDevice::init`] in a browser or worker: WebGPU only where `navigator.gpu`
    /// exists, and the adapter described by WebGPU itself (with a notice for software ones).
    pub async fn init_in_browser(preference: BackendPreference) -> Self {
        let mut compute = Self::init(preference, webgpu_exposed()).await;
        if compute.kind == BackendKind::Gpu {
            describe_webgpu_adapter(&mut compute).await;
        }
        compute
    }
}

/// True when the global scope exposes `navigator.gpu` (WebGPU).
fn webgpu_exposed() -> bool {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"navigator".into())
        .ok()
        .filter(|n| !n.is_undefined())
        .and_then(|n| js_sys::Reflect::get(&n, &"gpu".into()).ok())
        .is_some_and(|g| !g.is_undefined() && !g.is_null())
}

/// wgpu's adapter info is empty in browsers, so ask WebGPU itself (`GPUAdapter.info`) what the
/// adapter is, and warn when it is a software fallback: training still works there, but the
/// CPU backend is usually faster.
async fn describe_webgpu_adapter(compute: &mut ComputeDevice) {
    let get = |target: &JsValue, key: &str| {
        js_sys::Reflect::get(target, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
    };
    let Some(gpu) = get(&js_sys::global(), "navigator").and_then(|n| get(&n, "gpu")) else {
        return;
    };
    let Some(request) =
        get(&gpu, "requestAdapter").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return;
    };
    let Ok(promise) = request.call0(&gpu).and_then(|p| p.dyn_into::<js_sys::Promise>()) else {
        return;
    };
    let Some(adapter) = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()
        .filter(|a| !a.is_null() && !a.is_undefined())
    else {
        return;
    };
    let info = get(&adapter, "info");
    let text = |key: &str| {
        info.as_ref()
            .and_then(|i| get(i, key))
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let parts: Vec<String> =
        ["description", "vendor", "architecture"].iter().filter_map(|k| text(k)).collect();
    if !parts.is_empty() {
        compute.adapter = parts.join(" · ");
    } else if compute.adapter.trim_start().starts_with('(') {
        compute.adapter = "browser WebGPU adapter".into();
    }
    let fallback = info
        .as_ref()
        .and_then(|i| get(i, "isFallbackAdapter"))
        .or_else(|| get(&adapter, "isFallbackAdapter"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if fallback {
        compute.adapter.push_str(" (software)");
        compute.notice = Some(
            "WebGPU runs on a software adapter here (no hardware GPU is available to the browser): \
             training works but is slow; the CPU backend (open the page with ?backend=cpu) is usually faster on such machines"
                .into(),
        );
    }
}
