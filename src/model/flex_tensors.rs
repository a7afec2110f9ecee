//! What the project's kernels on the CPU backend (burn-flex) share: whether a device is that
//! backend, a tensor's values as a slice, a tensor from values, and outputs filled chunk by
//! chunk on every core (rayon) in native builds, one chunk after another in the browser.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use burn::backend::DispatchDevice;
use burn::tensor::{Device, Shape, TensorData};
use burn_flex::FlexTensor;

/// Whether `device` is the CPU backend (natively or in the browser), with or without autodiff.
pub fn on_flex(device: &Device) -> bool {
    matches!(device.as_dispatch().clone().inner(), DispatchDevice::Flex(_))
}

/// A float tensor's values in memory order (a copy only if it is strided).
pub(crate) fn values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(tensor.to_contiguous().as_slice::<f32>().unwrap().to_vec()),
    }
}

/// A contiguous f32 tensor of `shape` holding `values` (their buffer, not a copy).
pub(crate) fn from_values(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// Threads the chunk loops run on.
pub(crate) fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    1
}

/// Calls `each(index)` for `0..count`, on every core in native builds, and collects the results.
pub(crate) fn map_indices<T: Send>(
    count: usize,
    each: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..count).into_par_iter().map(each).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        (0..count).map(each).collect()
    }
}

/// `count` chunks of `chunk_len` values, chunk `i` written whole by `each(i, chunk, scratch)`,
/// `scratch` a buffer of `scratch_len` per thread. No zero-fill: `each` must write every value
/// of its chunk.
pub(crate) fn fill_chunks(
    count: usize,
    chunk_len: usize,
    scratch_len: usize,
    each: impl Fn(usize, &mut [f32], &mut [f32]) + Sync + Send,
) -> Vec<f32> {
    let total = count * chunk_len;
    let mut out: Vec<f32> = Vec::with_capacity(total);
    let spare = &mut out.spare_capacity_mut()[..total];
    let run = |scratch: &mut Vec<f32>, (i, chunk): (usize, &mut [MaybeUninit<f32>])| {
        // SAFETY: f32 has no invalid bit patterns, and `each` writes every value of its chunk
        // before anything reads it.
        let chunk = unsafe { &mut *(chunk as *mut [MaybeUninit<f32>] as *mut [f32]) };
        each(i, chunk, scratch);
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        spare
            .par_chunks_mut(chunk_len.max(1))
            .enumerate()
            .for_each_init(|| vec![0f32; scratch_len], |scratch, item| run(scratch, item));
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut scratch = vec![0f32; scratch_len];
        spare.chunks_mut(chunk_len.max(1)).enumerate().for_each(|item| run(&mut scratch, item));
    }
    // SAFETY: every one of the `total` values was written above.
    unsafe { out.set_len(total) };
    out
}
