use burn::tensor::{Device, Distribution, Tensor, s};

use super::subsample;

/// The subsample and its gradient against burn's strided slice, on sides the stride divides
/// and sides it does not.
#[test]
fn the_subsample_matches_a_strided_slice() {
    matches_a_strided_slice_on(Device::flex().autodiff());
}

/// The same with the GPU kernels.
#[cfg(feature = "gpu")]
#[test]
fn the_subsample_matches_a_strided_slice_on_the_gpu() {
    let Some(gpu) = crate::model::testing::test_gpu() else { return };
    matches_a_strided_slice_on(gpu.autodiff());
}

fn matches_a_strided_slice_on(device: Device) {
    for (shape, stride) in
        [([2, 3, 8, 8], 2), ([1, 2, 7, 9], 2), ([2, 1, 5, 4], 3), ([1, 1, 1, 1], 2)]
    {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let (a, b) = (x.clone().require_grad(), x.require_grad());
        let ours = subsample(a.clone(), stride);
        let theirs = b.clone().slice(s![.., .., ..;stride, ..;stride]);
        assert_eq!(ours.dims(), theirs.dims());
        let upstream = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
        let ours_values = ours.clone().into_data();
        theirs.clone().into_data().assert_eq(&ours_values, true);
        let ga = (ours * upstream.clone()).sum().backward();
        let gb = (theirs * upstream).sum().backward();
        b.grad(&gb).unwrap().into_data().assert_eq(&a.grad(&ga).unwrap().into_data(), true);
    }
}
