//! Decoding a dataset for a run or an evaluation without freezing the worker: a chunk of
//! images at a time, with a yield to the event loop and a progress call between chunks.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::data::{self, DatasetSource, Decoder};

/// Images decoded between two yields to the event loop.
const DECODE_CHUNK: usize = 32;

/// Decodes every image of `source` into `decoder`, yielding to the event loop between chunks
/// and calling `on_progress(done, total)` after each; then drops the zip's bytes, so that the
/// network's memory can take their place in the tab (the worker attaches them again, from the
/// file, before the next decoding; see `Dataset.attachZip`).
pub(super) async fn decode_all(
    source: &Rc<RefCell<DatasetSource>>,
    mut decoder: Decoder,
    on_progress: &dyn Fn(usize, usize),
) -> Result<data::Dataset, JsError> {
    loop {
        let done = source
            .try_borrow_mut()
            .map_err(|_| JsError::new("the dataset is busy; try again"))?
            .decode_next(&mut decoder, DECODE_CHUNK)?;
        on_progress(decoder.done(), decoder.total());
        if done {
            if let Ok(mut source) = source.try_borrow_mut() {
                source.release_zip();
            }
            return Ok(decoder.finish());
        }
        next_tick().await;
    }
}

/// `f(done, total)`, if there is an `f`, as a decoding's progress call.
pub(super) fn js_progress(f: Option<&js_sys::Function>) -> impl Fn(usize, usize) + '_ {
    move |done, total| {
        if let Some(f) = f {
            // A throwing callback must not stop the decoding.
            let _ = f.call2(&JsValue::NULL, &done.into(), &total.into());
        }
    }
}

/// Resolves on the next turn of the event loop (`setTimeout(0)`), letting queued messages in.
pub(super) async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) if f.call2(&global, &resolve, &0.into()).is_ok() => {}
            _ => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
