//! What the model's tests share (test builds only): the GPU they run on where this machine has
//! one, random tensors, their relative error, and the harness that checks a convolution's
//! forward values and gradients against burn's own. The CPU forms (`conv`) and the GPU kernels
//! (`gpu_conv`) are both checked with it, so it lives beside them, in neither.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};

/// A convolution's case: `(batch, in, out, side, kernel, stride, padding)`.
pub(super) type Case = (usize, usize, usize, usize, usize, usize, usize);

/// The GPU for tests, or `None` where this machine has no adapter (the tests that take it then
/// check nothing). `TAGTRAIN_REQUIRE_GPU=1`, which `scripts/test.sh` sets where it provides
/// SwiftShader's Vulkan driver, turns a missing adapter into a failure.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub(super) fn test_gpu() -> Option<Device> {
    use crate::device::{BackendKind, BackendPreference, ComputeDevice};
    // wgpu's device is set up once per process; the tests share it.
    static GPU: std::sync::OnceLock<Option<Device>> = std::sync::OnceLock::new();
    let gpu = GPU.get_or_init(|| {
        let compute = pollster::block_on(ComputeDevice::init(BackendPreference::Gpu, true));
        (compute.kind == BackendKind::Gpu).then_some(compute.device)
    });
    if gpu.is_none() {
        assert!(
            std::env::var_os("TAGTRAIN_REQUIRE_GPU").is_none(),
            "TAGTRAIN_REQUIRE_GPU is set but no GPU adapter was found"
        );
        eprintln!("no GPU adapter: the GPU paths are not checked here");
    }
    gpu.clone()
}

/// A tensor of standard normal values.
pub(super) fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Largest absolute difference, relative to the larger of 1 and `expected`'s largest value.
pub(super) fn relative_error<const D: usize>(actual: Tensor<D>, expected: Tensor<D>) -> f32 {
    let scale = expected.clone().abs().max().into_scalar::<f32>().max(1.0);
    (actual - expected).abs().max().into_scalar::<f32>() / scale
}

/// Forward values, and the gradients of both inputs under a random upstream gradient, equal
/// burn's own convolution's on `device`, for each of `cases` (to 1e-4 of the largest value).
pub(super) fn matches_burn_on(
    device: &Device,
    form: fn(Tensor<4>, Tensor<4>, usize, usize) -> Tensor<4>,
    cases: &[Case],
) {
    let device = device.clone().autodiff();
    for &(batch, cin, cout, side, kernel, stride, padding) in cases {
        let x = random([batch, cin, side, side], &device);
        let w = random([cout, cin, kernel, kernel], &device);
        let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);

        let (x1, w1) = (x.clone().require_grad(), w.clone().require_grad());
        let ours = form(x1.clone(), w1.clone(), stride, padding);
        let (x2, w2) = (x.clone().require_grad(), w.clone().require_grad());
        let theirs = conv2d(x2.clone(), w2.clone(), None, options);
        let case =
            format!("{batch}×{cin}→{cout} at {side}², {kernel}×{kernel} /{stride} pad {padding}");
        assert_eq!(ours.dims(), theirs.dims(), "{case}");
        let error = relative_error(ours.clone(), theirs.clone());
        assert!(error < 1e-4, "{case}: forward differs by {error}");

        let upstream = random(ours.dims(), &device);
        let ours_grads = (ours * upstream.clone()).sum().backward();
        let theirs_grads = (theirs * upstream).sum().backward();
        for (name, a, b) in [
            ("input", x1.grad(&ours_grads), x2.grad(&theirs_grads)),
            ("weight", w1.grad(&ours_grads), w2.grad(&theirs_grads)),
        ] {
            let (a, b) = (a.expect("a gradient"), b.expect("a gradient"));
            assert_eq!(a.dims(), b.dims(), "{case}: {name} gradient shape");
            let error = relative_error(a, b);
            assert!(error < 1e-4, "{case}: {name} gradient differs by {error}");
        }
    }
}
