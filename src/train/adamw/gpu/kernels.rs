//! The cubecl kernels behind [`GpuAdamW`](super::GpuAdamW); their launches are in `launch.rs`.
//!
//! All tensors are contiguous, flat `f32`. The norm of a clipped gradient is summed in two
//! stages: [`square_sum_kernel`] leaves one partial sum of squares per cube, and every thread
//! of [`adamw_kernel`] adds those few partials itself (the same order in every thread), so the
//! norm never leaves the GPU and no third kernel is launched.

use cubecl::prelude::*;

use super::super::{BETA_1, BETA_2, EPSILON};
use crate::model::cube_tensors::cube_sum;

/// `partial[c]` = the sum of `grad[i]²` over the `i` of cube `c`: the threads of all cubes
/// stride over the gradient, then each cube adds its threads' sums in shared memory.
/// Launched on a one-dimensional grid of cubes of `cube_size` (a power of two) threads.
#[cube(launch_unchecked)]
pub(super) fn square_sum_kernel<F: Float>(
    grad: &Tensor<F>,
    partial: &mut Tensor<F>,
    #[comptime] cube_size: usize,
    #[define(F)] _dtype: ElemType,
) {
    let n = grad.len();
    let threads = CUBE_COUNT * cube_size;
    let mut sum = F::new(0.0);
    let mut i = ABSOLUTE_POS;
    while i < n {
        let x = grad[i];
        sum += x * x;
        i += threads;
    }
    // Each cube adds its threads' sums: a tree in shared memory.
    let total = cube_sum::<F>(sum, cube_size);
    if UNIT_POS == 0 {
        partial[CUBE_POS] = total;
    }
}

/// One AdamW step of every element (see `super::super` for the formulas), writing the new
/// weights and both moments; `keep` is `1 − lr · weight decay`. `clipped`: the gradient is scaled to the norm `clip` when its
/// norm, `sqrt(Σ partial)`, is larger (burn's `clip_by_norm`). `moments`: `first` and `second`
/// hold the moments of the previous steps (on the first step they are not read: zeros).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn adamw_kernel<F: Float>(
    weights: &Tensor<F>,
    grad: &Tensor<F>,
    first: &Tensor<F>,
    second: &Tensor<F>,
    partial: &Tensor<F>,
    new_weights: &mut Tensor<F>,
    new_first: &mut Tensor<F>,
    new_second: &mut Tensor<F>,
    lr: f32,
    keep: f32,
    first_correction: f32,
    second_correction: f32,
    clip: f32,
    #[comptime] clipped: bool,
    #[comptime] moments: bool,
    #[define(F)] _dtype: ElemType,
) {
    let i = ABSOLUTE_POS;
    if i >= new_weights.len() {
        terminate!();
    }
    let mut g = grad[i];
    if comptime!(clipped) {
        let mut sum = F::new(0.0);
        for c in 0..partial.len() {
            sum += partial[c];
        }
        let norm = F::sqrt(sum);
        let coef = F::cast_from(clip) / (norm + F::new(comptime!(f32::MIN_POSITIVE)));
        g *= clamp_max(coef, F::new(1.0));
    }
    // In the composed path's order: `β·m + (1 − β)·g` and `β·v + (1 − β)·g²`.
    let mut m = g * F::new(comptime!(1.0 - BETA_1));
    let mut v = g * g * F::new(comptime!(1.0 - BETA_2));
    if comptime!(moments) {
        m = first[i] * F::new(BETA_1) + m;
        v = second[i] * F::new(BETA_2) + v;
    }
    let first_hat = m / F::cast_from(first_correction);
    let second_hat = v / F::cast_from(second_correction);
    let delta = first_hat / (F::sqrt(second_hat) + F::new(EPSILON));
    let lr = F::cast_from(lr);
    new_weights[i] = weights[i] * F::cast_from(keep) - delta * lr;
    new_first[i] = m;
    new_second[i] = v;
}
