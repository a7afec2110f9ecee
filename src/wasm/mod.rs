//! The browser API: the only module with `#[wasm_bindgen]`, one file per exported class.
//!
//! The Web Worker owns this module. Bytes and one options object go in; plain JS objects come
//! out (serialised with `serde-wasm-bindgen`, JSON-compatible: objects, arrays, numbers); every
//! failure is a `JsError` carrying the same message the CLI prints. Long work is a `Promise`
//! that always settles. The bindings only convert: every rule lives in the library, where it
//! is tested natively.
//!
//! ```js
//! await initBackend({ prefer: "auto" });            // { kind, adapter, notice }
//! const ds = Dataset.fromZip(bytes);                 // ds.summary()
//! const t = await ds.prepareTraining({ depth, imageSize, epochs }, undefined, (done, total) => {});
//! let ev; do { ev = await t.step(); } while (!ev.done);
//! const model = await t.exportModel();               // Uint8Array (.safetensors)
//! const p = Predictor.fromBytes(model);              // p.metadata()
//! await p.predict(imageBytes);                       // { predictions: [{ label, probability, … }] }
//! ```
//!
//! The worker itself keeps one `Workspace` (`workspace.rs`), which holds what is loaded and
//! runs whole requests (`train`, `evaluate`, `gallery`, …) with these classes.
//!
//! Built without the `train` feature, only the backend and `Predictor` remain: the predict
//! package's API.

mod backend;
#[cfg(feature = "train")]
mod cleaning;
mod convert;
#[cfg(feature = "train")]
mod dataset;
#[cfg(feature = "train")]
mod decode;
#[cfg(feature = "train")]
mod explainer;
#[cfg(feature = "train")]
mod export;
#[cfg(feature = "train")]
mod interop;
#[cfg(feature = "train")]
mod labelling;
#[cfg(feature = "train")]
mod loaded;
#[cfg(feature = "train")]
mod lr_test;
mod predictor;
#[cfg(feature = "train")]
mod review;
#[cfg(feature = "train")]
mod runs;
#[cfg(feature = "train")]
mod trainer;
#[cfg(feature = "train")]
mod workspace;

use wasm_bindgen::prelude::*;

use crate::options::TrainingChoices;

// The linker's constructors (`inventory` registrations of the GPU compiler's types), run once.
// Without a call to them anywhere, wasm-ld treats the module as a "command" and wraps every
// export in a call to all of them: every call from JavaScript (each training step, each GPU
// callback) re-ran thousands of registrations. Once: the WebGPU page trains 1.3× faster
// (BENCHMARKS.md, "The linker's constructors once"); scripts/build-web.sh checks it stays so.
unsafe extern "C" {
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
fn start() {
    // SAFETY: called once per instance, first: wasm-bindgen runs the start function right
    // after instantiation, before any other export, and nothing else calls the constructors.
    unsafe { __wasm_call_ctors() };
    console_error_panic_hook::set_once();
}

/// What the page offers and accepts, so that it re-derives none of Rust's rules:
/// `{ models: [{ kind, depths, minImageSize, maxImageSize }], limits: { epochs,
/// timeBudgetSeconds, batchSize, imageSize, learningRate, weightDecay, validationFraction:
/// { min, max } }, resizePolicies, defaults }`.
#[wasm_bindgen(js_name = trainingChoices)]
pub fn training_choices() -> Result<JsValue, JsError> {
    convert::to_js(&TrainingChoices::new())
}
