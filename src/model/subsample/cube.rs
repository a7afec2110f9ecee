//! The GPU's (burn-cubecl) [`super::Subsample`]: a value of the output per unit. The gradient
//! is the strided 1×1 convolution's spread ([`crate::model::gpu_conv::spread`]).

use burn::backend::TensorMetadata;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{Subsample, subsample_shape};
use crate::model::cube_tensors::{empty, grid};

/// `output[b, c, y, x] = input[b, c, y · stride, x · stride]`; a unit writes one output row
/// (a unit per value cost ten times as much on SwiftShader: `gpu_conv`'s spread).
#[cube(launch_unchecked)]
fn subsample_kernel<F: Float>(
    input: &Tensor<F>,
    output: &mut Tensor<F>,
    #[comptime] stride: usize,
    #[define(F)] _dtype: ElemType,
) {
    let (out_height, out_width) = (output.shape(2), output.shape(3));
    if ABSOLUTE_POS >= output.shape(0) * output.shape(1) * out_height {
        terminate!();
    }
    let (plane, y) = (ABSOLUTE_POS / out_height, ABSOLUTE_POS % out_height);
    let (height, width) = (input.shape(2), input.shape(3));
    let in_start = (plane * height + y * stride) * width;
    let out_start = ABSOLUTE_POS * out_width;
    for x in 0..out_width {
        output[out_start + x] = input[in_start + x * stride];
    }
}

impl Subsample for CubeBackend {
    fn subsample(input: CubeTensor, stride: usize) -> CubeTensor {
        let input = into_contiguous(input);
        let output = empty(&input, subsample_shape(&input.shape(), stride));
        let shape = output.shape();
        let client = input.client.clone();
        let (cube_count, cube_dim) = grid(&client, shape[0] * shape[1] * shape[2]);
        let dtype = burn::backend::cubecl::dtype_to_storage_type(input.dtype);
        // SAFETY: units stop at the output's rows, and each reads pixels of its own plane
        // (`y · stride < height` as the output's sides are the input's divided, rounded up).
        unsafe {
            subsample_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                input.into_tensor_arg(),
                output.clone().into_tensor_arg(),
                stride,
                dtype,
            );
        }
        output
    }

    fn subsample_grad(grad: CubeTensor, height: usize, width: usize, stride: usize) -> CubeTensor {
        crate::model::gpu_conv::spread(into_contiguous(grad), height, width, stride)
    }
}
