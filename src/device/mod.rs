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
    /// burn's CUDA backend (the CLI built with the `cuda` feature, `--device cuda`).
    Cuda,
}

impl BackendKind {
    /// Short name used in model metadata and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gpu => "webgpu",
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
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
    /// The NVIDIA GPU of this index through burn's CUDA backend (the `cuda` feature).
    Cuda(usize),
}

impl BackendPreference {
    /// Parses `auto`, `gpu`/`webgpu`, `cpu`, or `cuda` / `cuda:N` (the GPU of index N).
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "gpu" | "webgpu" | "wgpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(index)) => Ok(Self::Cuda(index)),
                _ => Err(crate::Error::option(
                    "device",
                    format!("'{other}' is not one of auto, gpu, cpu, cuda, cuda:N"),
                )),
            },
        }
    }

    /// The device a data-parallel run's peer `k` (of a run in one process) takes: the next
    /// CUDA GPUs after this one; every other choice is shared.
    pub fn for_peer(self, k: usize) -> Self {
        match self {
            Self::Cuda(index) => Self::Cuda(index + k),
            other => other,
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

    /// The CUDA GPU of `index` (burn's CUDA backend, whose kernels cubecl compiles with NVRTC
    /// at their first use); the CPU with a notice in a build without the `cuda` feature.
    /// The driver is first reached by the first operation: a machine without one fails there.
    pub fn cuda(index: usize) -> Self {
        #[cfg(all(feature = "cuda", not(target_arch = "wasm32")))]
        return Self {
            device: Device::cuda(index),
            kind: BackendKind::Cuda,
            adapter: format!("CUDA device {index}"),
            notice: None,
            max_buffer_bytes: None,
        };
        #[cfg(not(all(feature = "cuda", not(target_arch = "wasm32"))))]
        Self::cpu(Some(format!(
            "this build of tagtrain has no CUDA backend (build it with `--features cuda`); \
             training runs on the CPU instead of cuda:{index}"
        )))
    }

    /// Initialises the GPU asynchronously (the only way that works in a browser), falling back
    /// to the CPU with a notice. `gpu_exposed` is false when the environment has no WebGPU at
    /// all (no `navigator.gpu`), in which case the GPU is not even tried.
    pub async fn init(preference: BackendPreference, gpu_exposed: bool) -> Self {
        if preference == BackendPreference::Cpu {
            return Self::cpu(None);
        }
        if let BackendPreference::Cuda(index) = preference {
            return Self::cuda(index);
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
