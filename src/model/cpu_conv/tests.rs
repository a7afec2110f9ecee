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

/// The subsample and its gradient against burn's strided slice, on sides the stride divides
/// and sides it does not.
#[test]
fn the_subsample_matches_a_strided_slice() {
    let device = Device::flex().autodiff();
    for (shape, stride) in
        [([2, 3, 8, 8], 2), ([1, 2, 7, 9], 2), ([2, 1, 5, 4], 3), ([1, 1, 1, 1], 2)]
    {
        let x = Tensor::<4>::random(shape, burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let (a, b) = (x.clone().require_grad(), x.require_grad());
        let ours = subsample(a.clone(), stride);
        let theirs = b.clone().slice(burn::tensor::s![.., .., ..;stride, ..;stride]);
        assert_eq!(ours.dims(), theirs.dims());
        let upstream =
            Tensor::<4>::random(ours.dims(), burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let ours_values = ours.clone().into_data();
        theirs.clone().into_data().assert_eq(&ours_values, true);
        let ga = (ours * upstream.clone()).sum().backward();
        let gb = (theirs * upstream).sum().backward();
        b.grad(&gb).unwrap().into_data().assert_eq(&a.grad(&ga).unwrap().into_data(), true);
    }
}
