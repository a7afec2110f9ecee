//! The network: ResNetV2 and its pre-activation bottleneck unit.

pub mod block;
pub mod conv;
#[cfg(feature = "gpu")]
pub mod gpu_conv;
pub mod norm;
pub mod resnet;

pub use block::{ConvInit, StrideOn};
pub use resnet::{ResNetKind, ResNetV2, ResNetV2Config};
