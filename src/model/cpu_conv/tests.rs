use super::*;

// The kernels' forward values and gradients against burn's convolution: `super::super::
// agreement` (its `check` on the CPU compares them on every stride-1 case of `CPU_CASES`).

#[test]
fn supports_only_stride_one_on_the_cpu() {
    let device = Device::flex();
    assert!(supports(&device, 3, 1, 1) && supports(&device.clone().autodiff(), 3, 1, 0));
    assert!(supports(&device, 1, 1, 0));
    assert!(!supports(&device, 3, 2, 1), "no stride");
    assert!(!supports(&device, 3, 1, 3), "padding that leaves no tap inside");
}
