//! The networks: ResNetV2 and its pre-activation bottleneck unit; EfficientNet-Lite0 and its
//! MBConv block (ImageNet weights, issue #37); the enum over the families ([`Network`]).

#[cfg(feature = "train")]
pub mod agreement;
pub mod block;
// Without training (the predict package) the kernels' gradients are compiled, since the backend
// extensions declare them, but never called.
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub mod bn_relu;
pub mod conv;
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub mod cpu_conv;
#[cfg(feature = "gpu")]
pub mod cube_tensors;
pub mod efficientnet;
pub mod flex_tensors;
mod footprint;
#[cfg(feature = "gpu")]
pub mod gpu_conv;
pub mod mbconv;
pub mod network;
pub mod norm;
pub(crate) mod params;
pub mod resnet;
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub mod subsample;
#[cfg(all(test, feature = "gpu", not(target_arch = "wasm32")))]
pub(crate) mod testing;

pub use block::{ConvInit, StrideOn};
pub use footprint::Footprint;
pub(crate) use footprint::{batch_for_buffer, byte_size};
pub use network::{Network, NetworkConfig};
pub use resnet::{ResNetKind, ResNetV2, ResNetV2Config};
