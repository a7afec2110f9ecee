//! What the model's tests share (test builds only): the GPU they run on where this machine has
//! one. The comparisons themselves are [`super::agreement`]'s, which the page runs too.

use burn::tensor::Device;

/// The GPU for tests, or `None` where this machine has no adapter (the tests that take it then
/// check nothing). `TAGTRAIN_REQUIRE_GPU=1`, set where a run provides a Vulkan driver (e.g.
/// SwiftShader's), turns a missing adapter into a failure.
pub(crate) fn test_gpu() -> Option<Device> {
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
