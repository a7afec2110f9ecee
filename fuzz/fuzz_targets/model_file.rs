//! Fuzzes the model-file reader with arbitrary bytes (issue #32): checking a file
//! (`checkpoint::check`: the safetensors header, the metadata field by field, the tensors against
//! the architecture) and loading it for prediction must return `Ok` or a typed error, never
//! panic, abort or allocate without bound. Half the inputs are a small valid model's header with
//! the fuzzer's bytes spliced into its metadata, so that the metadata checks are reached often.
#![no_main]

use burn::tensor::Device;
use libfuzzer_sys::fuzz_target;
use tagtrain::{Predictor, checkpoint};

fuzz_target!(|bytes: &[u8]| {
    let file = match bytes.split_first() {
        Some((&even, rest)) if even % 2 == 0 => with_metadata(rest),
        _ => bytes.to_vec(),
    };
    if checkpoint::check(&file).is_ok() {
        let _ = Predictor::from_bytes(&file, &Device::flex());
    }
});

/// A safetensors file with no tensors whose `tagtrain` metadata entry is `json` (lossily as
/// UTF-8), under the right format name.
fn with_metadata(json: &[u8]) -> Vec<u8> {
    let header = serde_json::json!({
        "__metadata__": { "format": "tagtrain-model", "tagtrain": String::from_utf8_lossy(json) }
    })
    .to_string();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out
}
