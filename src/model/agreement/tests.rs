use burn::tensor::Device;
use pollster::block_on;

use super::*;
use crate::model::conv::forward_conv;

#[test]
fn the_matrix_product_form_matches_burn_convolution_on_the_cpu() {
    let compared = block_on(convolution(&Device::flex(), conv2d_as_matmul, &CPU_CASES));
    assert_all_agree(&compared.unwrap());
}

#[test]
fn the_per_image_1x1_form_matches_burn_convolution_on_the_cpu() {
    let unpadded_1x1: Vec<Case> = CPU_CASES
        .into_iter()
        .filter(|&(.., kernel, _, padding)| kernel == 1 && padding == 0)
        .collect();
    let per_image: ConvForm = |x, w, stride, _| conv1x1_batched(x, w, stride);
    let compared = block_on(convolution(&Device::flex(), per_image, &unpadded_1x1));
    assert_all_agree(&compared.unwrap());
}

#[test]
fn a_pair_of_strided_1x1_convolutions_matches_the_modules() {
    assert_all_agree(&block_on(strided_pair(&Device::flex())).unwrap());
    let device = Device::flex().autodiff();
    let first = Conv2dConfig::new([4, 3], [1, 1]).with_stride([2, 2]).init(&device);
    let (alone, none) = forward_conv_pair(&first, None, random([1, 4, 6, 6], &device));
    assert_eq!((alone.dims(), none.is_none()), ([1, 3, 3, 3], true));
}

#[test]
fn forward_conv_matches_the_module_with_bias() {
    let device = Device::flex().autodiff();
    let conv = Conv2dConfig::new([4, 6], [1, 1]).with_stride([2, 2]).init(&device);
    assert!(on_native_cpu(&device));
    // Below and above `BATCHED_FROM_PIXELS`: both 1×1 forms.
    for side in [9, 33] {
        let x = random([2, 4, side, side], &device);
        let error = block_on(relative_error(forward_conv(&conv, x.clone()), conv.forward(x)));
        let error = error.unwrap();
        assert!(error < 1e-4, "{side}²: differs by {error}");
    }
}

#[test]
fn the_batch_norms_equal_burns_in_values_gradients_and_running_statistics() {
    let device = Device::flex();
    // Otherwise either form would be burn's module, compared with itself.
    assert!(composed_on(&device.clone().autodiff()), "the composed path runs here");
    assert!(crate::model::bn_relu::supports(&device), "the fused path runs here");
    assert_all_agree(&block_on(batch_norm(&device)).unwrap());
}

#[test]
fn a_check_on_the_cpu_compares_the_cpu_forms() {
    let report = block_on(check(&Device::flex())).unwrap();
    assert_eq!(report.disagreements, vec![], "largest error {}", report.largest_error);
    // The matrix-product form (13 cases), the per-image 1×1 (4) and the CPU kernels (the 9
    // stride-1 cases), three quantities each; the pair (3 × 3) and the batch norm alone and
    // with its ReLU (3 × 2 × 6).
    assert_eq!(report.compared, (13 + 4 + 9) * 3 + 3 * 3 + 3 * 2 * 6);
    assert!(report.largest_error > 0.0 && report.largest_error < TOLERANCE);
}

/// Everything [`check`] compares on a GPU (the page's "Check" runs the same on WebGPU in
/// the browser tests): the kernels' forward values and gradients against burn's
/// convolution for every case of [`GPU_CASES`], each reaching the kernels; the strided
/// pair's shared subsample; the composed batch norm, alone and followed by a ReLU.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
#[test]
fn the_gpu_paths_agree_with_burns_kernels() {
    let Some(gpu) = crate::model::testing::test_gpu() else { return };
    let report = block_on(check(&gpu)).unwrap();
    assert_eq!(report.disagreements, vec![], "largest error {}", report.largest_error);
    assert_eq!(report.compared, GPU_CASES.len() * 3 + 3 * 3 + 3 * 2 * 6);
}
