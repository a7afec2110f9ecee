//! The launches of [`super::kernels`] on burn-cubecl tensors, and [`GpuAdamW`] for
//! `CubeBackend`.

use burn::backend::{DType, TensorMetadata};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::CubeDim;
use cubecl::prelude::*;

use super::GpuAdamW;
use super::kernels::{adamw_kernel, square_sum_kernel};

/// The scalars of a step, as [`GpuAdamW`] takes them.
#[derive(Clone, Copy)]
struct Hyper {
    lr: f32,
    keep: f32,
    first_correction: f32,
    second_correction: f32,
    clip: Option<f32>,
}

/// Threads of a cube of [`square_sum_kernel`]: 2^`SUM_LEVELS` (WebGPU's default limit is 256).
const SUM_LEVELS: usize = 8;
/// At most this many cubes sum a gradient's squares: every thread of the update adds their
/// partial sums, so they are few. Each cube's threads take at least [`SUM_PER_CUBE`] values.
const SUM_CUBES: usize = 16;
const SUM_PER_CUBE: usize = 8192;

/// A new flat tensor of `len` values on `like`'s device.
fn empty(like: &CubeTensor, len: usize) -> CubeTensor {
    crate::model::cube_tensors::empty(like, [len])
}

/// `[cubes]` partial sums of `grad`'s squares ([`square_sum_kernel`]).
fn square_sums(grad: &CubeTensor) -> CubeTensor {
    let n = grad.meta.num_elements();
    let cubes = n.div_ceil(SUM_PER_CUBE).clamp(1, SUM_CUBES);
    let partial = empty(grad, cubes);
    let client = grad.client.clone();
    let cube_size = 1 << SUM_LEVELS;
    let dtype = burn::backend::cubecl::dtype_to_storage_type(grad.dtype);
    // SAFETY: the threads read the gradient below its length only; each cube writes its own
    // partial sum, at its position below `cubes`; the shared memory has a slot per thread.
    unsafe {
        square_sum_kernel::launch_unchecked(
            &client,
            CubeCount::Static(cubes as u32, 1, 1),
            CubeDim::new_1d(cube_size as u32),
            grad.clone().into_tensor_arg(),
            partial.clone().into_tensor_arg(),
            cube_size,
            dtype,
        );
    }
    partial
}

/// One step: the new weights and moments, from the weights, the gradient, the previous
/// moments (`None` on the first step) and the step's scalars.
fn launch_step(
    weights: CubeTensor,
    grad: CubeTensor,
    moments: Option<(CubeTensor, CubeTensor)>,
    hyper: Hyper,
) -> (CubeTensor, CubeTensor, CubeTensor) {
    for tensor in [&weights, &grad] {
        assert_eq!(tensor.dtype, DType::F32, "the GPU AdamW kernels take f32 tensors");
    }
    let n = weights.shape().num_elements();
    assert_eq!(grad.shape().num_elements(), n, "a gradient of another size than its weights");
    let (weights, grad) = (into_contiguous(weights), into_contiguous(grad));
    let has_moments = moments.is_some();
    // The kernel takes tensors it does not read as one-value placeholders (no zero-fill).
    let (first, second) = match moments {
        Some((first, second)) => (into_contiguous(first), into_contiguous(second)),
        None => (empty(&weights, 1), empty(&weights, 1)),
    };
    let partial = match hyper.clip {
        Some(_) => square_sums(&grad),
        None => empty(&weights, 1),
    };
    let (new_weights, new_first, new_second) =
        (empty(&weights, n), empty(&weights, n), empty(&weights, n));
    let client = weights.client.clone();
    let (cube_count, cube_dim) = crate::model::cube_tensors::grid(&client, n);
    let dtype = burn::backend::cubecl::dtype_to_storage_type(weights.dtype);
    // SAFETY: the threads stop at the weights' length, which every tensor read or written at
    // a thread's index has (the moments when `has_moments`; they are not read otherwise); the
    // partial sums are read below their own length.
    unsafe {
        adamw_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            weights.into_tensor_arg(),
            grad.into_tensor_arg(),
            first.into_tensor_arg(),
            second.into_tensor_arg(),
            partial.into_tensor_arg(),
            new_weights.clone().into_tensor_arg(),
            new_first.clone().into_tensor_arg(),
            new_second.clone().into_tensor_arg(),
            hyper.lr,
            hyper.keep,
            hyper.first_correction,
            hyper.second_correction,
            hyper.clip.unwrap_or(0.0),
            hyper.clip.is_some(),
            has_moments,
            dtype,
        );
    }
    (new_weights, new_first, new_second)
}

impl GpuAdamW for CubeBackend {
    fn gpu_adamw_first_step(
        weights: CubeTensor,
        grad: CubeTensor,
        lr: f32,
        keep: f32,
        first_correction: f32,
        second_correction: f32,
        clip: Option<f32>,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        let hyper = Hyper { lr, keep, first_correction, second_correction, clip };
        launch_step(weights, grad, None, hyper)
    }

    #[allow(clippy::too_many_arguments)]
    fn gpu_adamw_step(
        weights: CubeTensor,
        grad: CubeTensor,
        first: CubeTensor,
        second: CubeTensor,
        lr: f32,
        keep: f32,
        first_correction: f32,
        second_correction: f32,
        clip: Option<f32>,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        let hyper = Hyper { lr, keep, first_correction, second_correction, clip };
        launch_step(weights, grad, Some((first, second)), hyper)
    }
}
