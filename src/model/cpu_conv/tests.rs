use pollster::block_on;

use super::*;
use crate::model::agreement::{Case, ConvForm, assert_all_agree, convolution};

/// The kernels' forward values and both gradients against burn's convolution to 1e-4, on the
/// shapes ResNetV2 uses (the 3-channel stem, 3×3 units) and the edges of the column building:
/// batch 1, padding 0 and 2, sides of 1 and 2 against a 3×3 kernel, non-square channel counts,
/// a 5×5 kernel, more images than threads.
#[test]
fn matches_burns_convolution_on_the_cpu() {
    let device = Device::flex();
    let cases: [Case; 9] = [
        (2, 3, 16, 9, 3, 1, 1),
        (1, 16, 16, 8, 3, 1, 1),
        (3, 12, 8, 7, 3, 1, 0),
        (1, 5, 7, 10, 3, 1, 1),
        (2, 4, 8, 6, 3, 1, 2),
        (2, 3, 4, 1, 3, 1, 1),
        (1, 2, 3, 2, 3, 1, 2),
        (2, 3, 5, 11, 5, 1, 2),
        (9, 8, 8, 12, 3, 1, 1),
    ];
    for (.., kernel, stride, padding) in cases {
        assert!(supports(&device, kernel, stride, padding));
    }
    let kernels: ConvForm = |x, w, _, padding| conv2d(x, w, padding);
    assert_all_agree(&block_on(convolution(&device, kernels, &cases)).unwrap());
}

#[test]
fn supports_only_stride_one_kernels_larger_than_one_on_the_cpu() {
    let device = Device::flex();
    assert!(supports(&device, 3, 1, 1) && supports(&device.clone().autodiff(), 3, 1, 0));
    assert!(!supports(&device, 1, 1, 0), "1×1 convolutions have their own forms");
    assert!(!supports(&device, 3, 2, 1), "no stride");
    assert!(!supports(&device, 3, 1, 3), "padding that leaves no tap inside");
}
