//! Which augmentations a run applies to its training images.

use serde::{Deserialize, Serialize};

/// Which augmentations run. Serialised camelCase; every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct AugmentOptions {
    /// Random crop with padding (default on).
    pub crop: bool,
    /// The crop's padding as a share of the image side (at least 1 pixel): the crop moves by
    /// up to this share in each direction. Default 1/16 (4 px at 64 px, the PyTorch
    /// reference's): 1/8 trained worse on both benchmark sets in 8 epochs (BENCHMARKS.md,
    /// "A default recipe", session 16).
    pub crop_padding: f32,
    /// Random horizontal flip (default off: flags, arrows and text change meaning mirrored).
    pub flip: bool,
    /// Brightness/contrast jitter (default off: it cost 0.04 test mAP on the emoji benchmark
    /// in 8 epochs, BENCHMARKS.md, "A default recipe"). On a spectrogram it is a random gain
    /// and a change of dynamic range.
    pub jitter: bool,
    /// SpecAugment-style masks, for sound clips' spectrograms: per image, one band of up to
    /// 1/8 of the rows (frequencies) and one span of up to 1/8 of the columns (time) set to
    /// the mean (default off).
    pub masks: bool,
}

/// The crop's padding when none is chosen: 1/16 of the side (see [`AugmentOptions::crop_padding`]).
pub(super) const DEFAULT_CROP_PADDING: f32 = 0.0625;

/// The crop's padding of runs recorded before the share was an option: 1/8 of the side.
pub(super) const RECORDED_CROP_PADDING: f32 = 0.125;

impl Default for AugmentOptions {
    fn default() -> Self {
        Self {
            crop: true,
            crop_padding: DEFAULT_CROP_PADDING,
            flip: false,
            jitter: false,
            masks: false,
        }
    }
}

impl AugmentOptions {
    /// No augmentation at all.
    pub const NONE: Self = Self {
        crop: false,
        crop_padding: DEFAULT_CROP_PADDING,
        flip: false,
        jitter: false,
        masks: false,
    };

    /// True when at least one augmentation runs.
    pub fn any(self) -> bool {
        self.crop || self.flip || self.jitter || self.masks
    }
}
