//! Choosing where tensors live: WebGPU (or native wgpu) when an adapter is available, else
//! Burn's `flex` CPU backend. The choice is always reported to the user.

use burn::tensor::Device;
use serde::Serialize;

#[cfg(target_arch = "wasm32")]
mod browser;

/// Which backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// WebGPU in the browser, or wgpu (Vulkan, Metal, …) natively.
    #[serde(rename = "webgpu")]
    Gpu,
    /// Burn's `flex` CPU backend.
    Cpu,
}

impl BackendKind {
    /// Short name used in model metadata and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }
}

/// What the caller would like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendPreference {
    /// GPU when available, CPU otherwise.
    Auto,
    /// GPU, falling back to CPU with a notice when unavailable.
    Gpu,
    /// CPU only.
    Cpu,
}

impl BackendPreference {
    /// Parses `auto`, `gpu`/`webgpu` or `cpu`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "gpu" | "webgpu" | "wgpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(crate::Error::option(
                "device",
                format!("'{other}' is not one of auto, gpu, cpu"),
            )),
        }
    }
}

/// An initialised device and what it is.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    /// The device to create tensors on (without autodiff).
    pub device: Device,
    /// GPU or CPU.
    pub kind: BackendKind,
    /// Adapter description, e.g. "SwiftShader (vulkan)".
    pub adapter: String,
    /// Set when the GPU was wanted but could not be had.
    pub notice: Option<String>,
    /// The largest buffer one tensor may take, in bytes: on a GPU the smaller of the device's
    /// `maxStorageBufferBindingSize` and `maxBufferSize` (WebGPU guarantees only 128 MiB, and
    /// phones give little more); `None` on the CPU, whose tensors are bounded by memory alone.
    /// A training batch is sized to fit ([`crate::TrainingSession`]).
    pub max_buffer_bytes: Option<u64>,
}

impl ComputeDevice {
    /// The CPU backend.
    pub fn cpu(notice: Option<String>) -> Self {
        Self {
            device: Device::flex(),
            kind: BackendKind::Cpu,
            adapter: "CPU (burn flex)".into(),
            notice,
            max_buffer_bytes: None,
        }
    }

    /// Initialises the GPU asynchronously (the only way that works in a browser), falling back
    /// to the CPU with a notice. `gpu_exposed` is false when the environment has no WebGPU at
    /// all (no `navigator.gpu`), in which case the GPU is not even tried.
    pub async fn init(preference: BackendPreference, gpu_exposed: bool) -> Self {
        if preference == BackendPreference::Cpu {
            return Self::cpu(None);
        }
        if !gpu_exposed {
            return Self::cpu(Some(
                "WebGPU is not available in this browser; training runs on the CPU, which is much slower".into(),
            ));
        }
        #[cfg(not(feature = "gpu"))]
        return Self::cpu(Some(
            "this build of tagtrain has no GPU backend (the `gpu` feature); it runs on the CPU"
                .into(),
        ));
        #[cfg(feature = "gpu")]
        match Device::wgpu_options().init_with_setup_async().await {
            Ok((device, setup)) => {
                let info = setup.adapter.get_info();
                // cubecl requests the device with these limits and allocates no buffer larger.
                let limits = setup.device.limits();
                Self {
                    device,
                    kind: BackendKind::Gpu,
                    adapter: format!("{} ({:?})", info.name, info.backend),
                    notice: None,
                    max_buffer_bytes: Some(
                        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size),
                    ),
                }
            }
            // wgpu's error lists every backend it tried; the user needs the conclusion.
            Err(_) => Self::cpu(Some(
                "no usable GPU adapter was found; training runs on the CPU, which is much slower \
                 (in a browser, WebGPU with hardware acceleration enabled gives the GPU path)"
                    .into(),
            )),
        }
    }
}
