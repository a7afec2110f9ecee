//! Helpers the GPU (burn-cubecl) kernels of the project share: new tensors, a grid of units and
//! a cube's sum in shared memory. The GPU's counterpart of [`super::flex_tensors`].

use burn::tensor::Shape;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;
use cubecl::{CubeDim, calculate_cube_count_elemwise};

/// A new contiguous tensor of `shape` on `like`'s device, of its type (not filled).
pub fn empty(like: &CubeTensor, shape: impl Into<Shape>) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        shape.into(),
        like.dtype,
    )
}

/// The cubes and their size for `units` units, one per piece of work.
pub fn grid(client: &Client, units: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(client, units);
    (calculate_cube_count_elemwise(client, units, cube_dim), cube_dim)
}

/// The sum of every unit's `value` over a cube of `units` units (a power of two), in shared
/// memory (a tree: `unit + half` added to `unit`, halving); every unit returns it.
#[cube]
pub fn cube_sum<F: Float>(value: F, #[comptime] units: usize) -> F {
    let mut shared = Shared::<[F]>::new_slice(units);
    let unit = UNIT_POS as usize;
    shared[unit] = value;
    sync_cube();
    #[unroll]
    for level in 0..comptime!(units.trailing_zeros() as usize) {
        let half = comptime!(units >> (level + 1));
        if unit < half {
            let other = shared[unit + half];
            shared[unit] += other;
        }
        sync_cube();
    }
    let total = shared[0];
    // Every unit has read the total before a next call overwrites the slots.
    sync_cube();
    total
}
