//! Which weights a run trains when it starts from a trained network (a model file, or the
//! pretrained ImageNet weights): the transfer-learning choice.
//!
//! A backbone trained on many images already computes useful features; with few images of
//! one's own, training all of it again overfits them, and training only a new head on its
//! features is both quicker and better. With more images, the top of the backbone, and then
//! all of it at a lower learning rate, adapts the features to the data.

use serde::{Deserialize, Serialize};

/// Which layers a run trains (the others keep their weights; their batch norms use the
/// statistics they were trained with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum TrainLayers {
    /// Every layer (the default; a network trained from scratch always).
    #[default]
    All,
    /// The head and the top of the backbone: ResNetV2's last stage, EfficientNet-Lite0's last
    /// two stages and its 1×1 head convolution.
    Top,
    /// The classifier head alone, on the backbone's features.
    Head,
}

impl TrainLayers {
    /// The JSON name (`all`, `top`, `head`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Top => "top",
            Self::Head => "head",
        }
    }

    /// The choice for a pretrained start on `train_images` images: the head alone below 500,
    /// the top of the backbone below 2,000, everything above (BENCHMARKS.md, "A pretrained
    /// start").
    pub fn for_training_images(train_images: usize) -> Self {
        match train_images {
            0..500 => Self::Head,
            500..2000 => Self::Top,
            _ => Self::All,
        }
    }
}

/// The learning rate of a pretrained backbone's layers, as a share of the head's, when they
/// train (`top` and `all`): ImageNet's features are moved gently.
pub const PRETRAINED_BACKBONE_LR_SCALE: f64 = 0.1;
