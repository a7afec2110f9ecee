//! How much memory a training run will take, known before any image is decoded.
//!
//! A browser tab gives a wasm module one heap of at most 4 GiB, and a tab that runs out dies
//! without a word. So the page asks for a [`MemoryPlan`] as soon as the dataset's summary is
//! known and again whenever the options change, shows it, and says what to change when the run
//! will not fit; [`MemoryPlan::check`] refuses such a run before anything is allocated.
//!
//! A run holds:
//! - the decoded pixels, once, as bytes at the training size (`images × side² × channels`;
//!   three times that for sound clips longer than the window, kept over more time too),
//! - while decoding, the zip's bytes (each image is inflated, decoded and resized one at a
//!   time); the page drops them once every image is decoded and reads them again from the file
//!   for the next decoding ([`crate::DatasetSource::release_zip`]),
//! - while training, the network: parameters, their gradients and two Adam moments (4 floats
//!   a parameter), and the activations autodiff keeps for a batch's backward pass.
//!
//! So the peak is `pixels + max(zip, network)`, plus the module's own few MiB.
//!
//! The activation term is the one estimate here: [`ResNetV2Config::footprint`] counts the
//! floats of every intermediate tensor of the forward pass, and [`ACTIVATION_BYTES_PER_FLOAT`]
//! (measured in the page, see BENCHMARKS.md) turns them into bytes, for what the backward pass
//! adds and the allocator keeps.

use serde::Serialize;

use crate::data::{DatasetSource, TimeStrips};
use crate::error::{Error, ErrorKind, Result};
use crate::model::efficientnet::EfficientNetLite0Config;
use crate::model::{NetworkConfig, ResNetV2Config, byte_size};
use crate::options::{LIMITS, TrainingOptions};

/// The most a wasm32 module can address: a tab's heap can never grow past this.
pub const TAB_MEMORY_BYTES: u64 = 4 << 30;

/// Plans up to this much are expected to work; between this and [`TAB_MEMORY_BYTES`] a run
/// may fail (the heap must grow in one piece, and the browser may refuse sooner).
pub const TAB_COMFORT_BYTES: u64 = 3 << 30;

/// Bytes of wasm memory per float that the forward pass of one batch produces: the saved
/// activations, the gradients of the backward pass and the allocator's slack. Measured in the
/// CPU page at 2.8–3.7 (Small-11 and Small-20, 32–96 px, batches 16–64; BENCHMARKS.md), so the
/// plan errs on the safe side.
pub const ACTIVATION_BYTES_PER_FLOAT: f64 = 4.0;

/// The module's own memory besides the run: code's data, stacks, the allocator, the dataset's
/// index and the page's curves.
const BASE_BYTES: u64 = 32 << 20;

/// Whether a planned run fits in a browser tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum MemoryVerdict {
    /// Within [`TAB_COMFORT_BYTES`].
    Fits,
    /// Between [`TAB_COMFORT_BYTES`] and [`TAB_MEMORY_BYTES`]: it may work; it may not.
    Tight,
    /// Over [`TAB_MEMORY_BYTES`]: refused.
    TooLarge,
}

/// What a training run will hold in memory; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MemoryPlan {
    /// The dataset zip's bytes.
    pub zip_bytes: u64,
    /// The decoded pixels at the training size.
    pub pixel_bytes: u64,
    /// Parameters, gradients, optimiser state and a batch's activations.
    pub network_bytes: u64,
    /// The peak: pixels, the larger of the zip and the network, and the module's own memory.
    pub total_bytes: u64,
    /// What a tab can hold at most ([`TAB_MEMORY_BYTES`]).
    pub available_bytes: u64,
    /// Whether it fits.
    pub verdict: MemoryVerdict,
    /// The plan in words, with what to change when it does not fit.
    pub message: String,
}

/// What the plan is computed from: the dataset as summarised, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct PlannedDataset {
    /// Size of the zip in bytes.
    pub zip_bytes: u64,
    /// Images listed in `index.csv`.
    pub images: usize,
    /// Channels images are decoded to (1 grayscale, 3 colour).
    pub channels: usize,
    /// Label columns.
    pub labels: usize,
    /// Sound clips longer than the window: training keeps each one over more time too
    /// ([`TimeStrips`]; three pictures' worth of pixels a clip).
    pub time_strips: bool,
}

impl MemoryPlan {
    /// The plan for training on `dataset` with `options` in a browser tab.
    ///
    /// # Errors
    /// Options that name no valid network (depth, labels).
    pub fn for_training(dataset: PlannedDataset, options: &TrainingOptions) -> Result<Self> {
        let parts = Parts::new(dataset, options)?;
        let total = parts.total(options.image_size, dataset.images);
        let verdict = verdict(total);
        let message = match verdict {
            MemoryVerdict::Fits => format!(
                "Training at {} px needs about {} of this tab's memory ({}), of the {} a tab can use.",
                options.image_size,
                byte_size(total),
                parts.breakdown(options.image_size, dataset.images),
                byte_size(TAB_MEMORY_BYTES),
            ),
            _ => {
                let lead = if verdict == MemoryVerdict::Tight {
                    "This may not fit in a browser tab"
                } else {
                    "This will not fit in a browser tab"
                };
                format!(
                    "{lead}: at {} px the {} images need about {} ({}), and a tab can use at \
                     most {}. {}",
                    options.image_size,
                    dataset.images,
                    byte_size(total),
                    parts.breakdown(options.image_size, dataset.images),
                    byte_size(TAB_MEMORY_BYTES),
                    parts.advice(options.image_size, dataset.images),
                )
            }
        };
        Ok(Self {
            zip_bytes: dataset.zip_bytes,
            pixel_bytes: parts.pixels(options.image_size, dataset.images),
            network_bytes: parts.network(options.image_size),
            total_bytes: total,
            available_bytes: TAB_MEMORY_BYTES,
            verdict,
            message,
        })
    }

    /// Refuses a zip too large to open in a tab at all, before its bytes are read: the zip
    /// stays in the tab's memory while it is used, and its images still need room to decode.
    ///
    /// # Errors
    /// [`ErrorKind::WillNotFit`] for a zip over half of [`TAB_MEMORY_BYTES`].
    pub fn check_zip(zip_bytes: u64) -> Result<()> {
        let available = TAB_MEMORY_BYTES / 2;
        if zip_bytes <= available {
            return Ok(());
        }
        Err(Error::new(ErrorKind::WillNotFit {
            needed: zip_bytes,
            available,
            advice: format!(
                "This zip ({}) is too large to open in a browser tab, which can use at most {} in \
                 all and needs room to decode the images: split the dataset into zips of at most \
                 {} each, or train with the command-line tool (`tagtrain train`), which has no \
                 such limit.",
                byte_size(zip_bytes),
                byte_size(TAB_MEMORY_BYTES),
                byte_size(available)
            ),
        }))
    }

    /// Refuses a plan that cannot fit, with the plan's words.
    ///
    /// # Errors
    /// [`ErrorKind::WillNotFit`] when the verdict is [`MemoryVerdict::TooLarge`].
    pub fn check(&self) -> Result<()> {
        if self.verdict == MemoryVerdict::TooLarge {
            return Err(Error::new(ErrorKind::WillNotFit {
                needed: self.total_bytes,
                available: self.available_bytes,
                advice: self.message.clone(),
            }));
        }
        Ok(())
    }
}

impl DatasetSource {
    /// What training on this dataset with `options` will hold in memory (see
    /// [`MemoryPlan`]), before any image is decoded.
    ///
    /// # Errors
    /// Options naming no valid network.
    pub fn memory_plan(&self, options: &TrainingOptions) -> Result<MemoryPlan> {
        let dataset = PlannedDataset {
            zip_bytes: self.zip_bytes(),
            images: self.len(),
            channels: if self.grayscale() { 1 } else { 3 },
            labels: self.labels().len(),
            time_strips: self.strip_reach(options.image_size) > 0,
        };
        MemoryPlan::for_training(dataset, options)
    }
}

/// The plan's terms, as functions of the image side and the number of images, so that the
/// advice can search for what would fit.
struct Parts {
    dataset: PlannedDataset,
    network: NetworkConfig,
    batch_size: u64,
}

impl Parts {
    fn new(dataset: PlannedDataset, options: &TrainingOptions) -> Result<Self> {
        let labels = dataset.labels.max(1);
        let network: NetworkConfig = if options.pretrained {
            EfficientNetLite0Config::new(labels).into()
        } else {
            let network = ResNetV2Config::for_depth(options.depth, labels)?
                .with_in_channels(dataset.channels);
            network.stage_units()?;
            network.into()
        };
        Ok(Self { dataset, network, batch_size: options.batch_size as u64 })
    }

    fn pixels(&self, side: u32, images: usize) -> u64 {
        let (side, channels) = (side as usize, self.dataset.channels);
        let per_image = if self.dataset.time_strips {
            TimeStrips::clip_bytes(side, channels)
        } else {
            side * side * channels
        };
        images as u64 * per_image as u64
    }

    fn zip(&self, images: usize) -> u64 {
        // A smaller zip (fewer images) weighs in proportion.
        self.dataset.zip_bytes * images as u64 / self.dataset.images.max(1) as u64
    }

    fn network(&self, side: u32) -> u64 {
        let footprint = self.network.footprint(side as usize).expect("checked in Parts::new");
        let activations = (footprint.activations_per_image * self.batch_size) as f64;
        footprint.parameters * 16 + (activations * ACTIVATION_BYTES_PER_FLOAT) as u64
    }

    fn total(&self, side: u32, images: usize) -> u64 {
        // The zip is dropped before the network is built: the two never coexist.
        BASE_BYTES + self.pixels(side, images) + self.zip(images).max(self.network(side))
    }

    fn breakdown(&self, side: u32, images: usize) -> String {
        format!(
            "zip {}, decoded images {}, network {}",
            byte_size(self.zip(images)),
            byte_size(self.pixels(side, images)),
            byte_size(self.network(side))
        )
    }

    /// What would fit: a smaller image size, fewer images, a smaller batch; else the CLI.
    fn advice(&self, side: u32, images: usize) -> String {
        let fits = |total| total <= TAB_COMFORT_BYTES;
        let mut ways = Vec::new();
        let min_side = LIMITS.image_size.min as u32;
        if let Some(s) = (min_side..side).rev().find(|&s| fits(self.total(s, images))) {
            ways.push(format!("choose an image size of {s} px or less"));
        }
        let (mut lo, mut hi) = (0, images);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(self.total(side, mid)) { lo = mid } else { hi = mid - 1 }
        }
        if lo > 0 {
            ways.push(format!("train on at most {lo} images (a smaller zip)"));
        }
        if self.batch_size > 8 {
            let smaller =
                Self { batch_size: 8, network: self.network.clone(), dataset: self.dataset };
            if fits(smaller.total(side, images)) {
                ways.push("use a batch size of 8".to_string());
            }
        }
        ways.push(
            "train with the command-line tool (`tagtrain train`), which has no such limit".into(),
        );
        let last = ways.pop().expect("one way at least");
        let ways = if ways.is_empty() { last } else { format!("{}, or {last}", ways.join(", ")) };
        let mut chars = ways.chars();
        let first = chars.next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
        format!("{first}{}.", chars.as_str())
    }
}

fn verdict(total: u64) -> MemoryVerdict {
    if total > TAB_MEMORY_BYTES {
        MemoryVerdict::TooLarge
    } else if total > TAB_COMFORT_BYTES {
        MemoryVerdict::Tight
    } else {
        MemoryVerdict::Fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(images: usize, zip_mib: u64) -> PlannedDataset {
        PlannedDataset {
            zip_bytes: zip_mib << 20,
            images,
            channels: 3,
            labels: 2,
            time_strips: false,
        }
    }

    fn options(image_size: u32) -> TrainingOptions {
        TrainingOptions { image_size, depth: 11, ..TrainingOptions::default() }
    }

    #[test]
    fn fifty_thousand_images_at_64_px_fit_in_a_tab() {
        let plan = MemoryPlan::for_training(dataset(50_000, 164), &options(64)).unwrap();
        assert_eq!(plan.pixel_bytes, 50_000 * 64 * 64 * 3);
        assert_eq!(plan.verdict, MemoryVerdict::Fits);
        // The zip is gone before the network is built.
        assert_eq!(plan.total_bytes, BASE_BYTES + plan.pixel_bytes + plan.network_bytes);
        assert!(plan.total_bytes < 1100 << 20, "{plan:?}");
        assert!(plan.message.starts_with("Training at 64 px needs about"), "{}", plan.message);
        plan.check().unwrap();
    }

    #[test]
    fn too_large_says_what_would_fit_and_is_refused() {
        let plan = MemoryPlan::for_training(dataset(50_000, 164), &options(144)).unwrap();
        assert_eq!(plan.verdict, MemoryVerdict::TooLarge);
        let m = &plan.message;
        assert!(
            m.starts_with("This will not fit in a browser tab: at 144 px the 50000 images"),
            "{m}"
        );
        // The suggested size must itself fit, and the next one up must not.
        let suggested: u32 =
            m.split("image size of ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let at = |s| MemoryPlan::for_training(dataset(50_000, 164), &options(s)).unwrap();
        assert_eq!(at(suggested).verdict, MemoryVerdict::Fits);
        assert_ne!(at(suggested + 1).verdict, MemoryVerdict::Fits);
        let most: usize = m
            .split("train on at most ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let fewer = |n| {
            MemoryPlan::for_training(dataset(n, 164 * n as u64 / 50_000), &options(144)).unwrap()
        };
        assert_eq!(fewer(most).verdict, MemoryVerdict::Fits, "{m}");
        assert_ne!(fewer(most + 500).verdict, MemoryVerdict::Fits, "{m}");
        assert!(m.contains("`tagtrain train`"), "{m}");
        let err = plan.check().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::WillNotFit { .. }));
        assert_eq!(err.to_string(), plan.message);
    }

    #[test]
    fn a_zip_over_half_the_tab_is_refused_before_reading() {
        MemoryPlan::check_zip(2 << 30).unwrap();
        let err = MemoryPlan::check_zip((2 << 30) + 1).unwrap_err();
        assert!(
            err.to_string().starts_with("This zip (2.0 GiB) is too large to open in a browser tab")
        );
    }

    #[test]
    fn a_zip_too_large_for_any_size_points_to_the_cli() {
        let plan = MemoryPlan::for_training(dataset(100_000, 5 << 10), &options(8)).unwrap();
        assert_eq!(plan.verdict, MemoryVerdict::TooLarge);
        assert!(!plan.message.contains("image size of"), "{}", plan.message);
        assert!(plan.message.contains("Train on at most"), "{}", plan.message);
    }
}
