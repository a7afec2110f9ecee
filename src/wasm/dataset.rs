//! `Dataset`: a dataset zip, checked and summarised; decoded for a training run or a
//! learning-rate test; and its gallery. Also `checkZipSize`, asked before a zip is read.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::backend::device;
use super::convert::{bytes_js, promise, to_js};
use super::decode::{decode_all, js_progress};
use super::interop::{set_field, thumbnail_js};
use super::lr_test::LearningRateTest;
use super::trainer::{Init, Trainer};
use crate::data::{self, DatasetSource};
use crate::device::ComputeDevice;
use crate::gallery::{GalleryFilter, GalleryImage, Side, thumbnail_side};
use crate::options::TrainingOptions;
use crate::report::Thumbnail;
use crate::train::{LrFindOptions, LrFinder, TrainingSession};
use crate::{Limits, MemoryPlan, ResizePolicy};

/// A dataset zip, checked and summarised, not yet decoded. Clones share it.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Dataset {
    /// Shared with a decoding in progress, which borrows it only between two yields.
    pub(super) source: Rc<RefCell<DatasetSource>>,
    /// Each image's side in the last training run's split (`None` before one).
    pub(super) sides: Rc<RefCell<Option<Vec<Side>>>>,
}

#[wasm_bindgen]
impl Dataset {
    /// Opens a dataset zip from its bytes; throws a located error (or the list of every
    /// problem found) for bad data.
    #[wasm_bindgen(js_name = fromZip)]
    pub fn from_zip(bytes: Vec<u8>) -> Result<Dataset, JsError> {
        Ok(Self::from_source(DatasetSource::from_zip(bytes, &Limits::default())?))
    }

    /// `{ images, imageColumn, labels: [{ name, positives, negatives }], sizes, minSide,
    /// maxSide, warnings, recommended: { kind, depth, imageSize, batchSize }, labelsPerImage,
    /// cooccurrence, grayscale, splitColumn }`
    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.source()?.summary())
    }

    /// Whether the zip's bytes are held: they are dropped after each decoding (see
    /// `attachZip`).
    #[wasm_bindgen(js_name = holdsZip)]
    pub fn holds_zip(&self) -> bool {
        self.source.try_borrow().is_ok_and(|s| s.holds_zip())
    }

    /// Gives back the bytes of the zip this dataset was opened from, before a decoding
    /// (training, evaluation); throws for any other zip.
    #[wasm_bindgen(js_name = attachZip)]
    pub fn attach_zip(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        Ok(self.source_mut()?.attach_zip(bytes)?)
    }

    /// What training with `options` would hold in memory, and whether it fits in this tab:
    /// `{ zipBytes, pixelBytes, networkBytes, totalBytes, availableBytes, verdict: "fits" |
    /// "tight" | "too-large", message }`. Nothing is decoded.
    #[wasm_bindgen(js_name = memoryPlan)]
    pub fn memory_plan(&self, options: JsValue) -> Result<JsValue, JsError> {
        let options = training_options(options)?;
        to_js(&self.source()?.memory_plan(&options)?)
    }

    /// Decodes the images at the chosen size and builds the network, resolving to a
    /// [`Trainer`]. Calls `on_progress(done, total)` after every few images and yields to the
    /// event loop between them, so the worker stays responsive while thousands of images
    /// decode. With `init_model` (a model file's bytes) training starts from that model
    /// (fine-tuning: same labels continue, other labels get a new head). `options`: a
    /// `TrainingOptions` object (`www/types/TrainingOptions.ts`), each field optional.
    #[wasm_bindgen(js_name = prepareTraining)]
    pub fn prepare_training(
        &self,
        options: JsValue,
        init_model: Option<Vec<u8>>,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let dataset = self.clone();
        promise(async move {
            let on_progress = js_progress(on_progress.as_ref());
            let init = init_model.map_or(Init::New, Init::Model);
            Ok(dataset.training(options, init, &on_progress).await?.into())
        })
    }

    /// Resumes a run saved by `Trainer.saveState` (an autosave) on this dataset: decodes the
    /// images as the run did (its own options) and resolves to a [`Trainer`] that goes on from
    /// the saved epoch. Throws, in words, for a run of another dataset or a newer version.
    #[wasm_bindgen(js_name = resumeTraining)]
    pub fn resume_training(
        &self,
        state: Vec<u8>,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let dataset = self.clone();
        promise(async move {
            let on_progress = js_progress(on_progress.as_ref());
            Ok(dataset.resumed(&state, &on_progress).await?.into())
        })
    }

    /// Decodes the images as `prepareTraining` would (same options, same progress calls) and
    /// resolves to a [`LearningRateTest`] of the network those options build.
    #[wasm_bindgen(js_name = prepareLearningRateTest)]
    pub fn prepare_learning_rate_test(
        &self,
        options: JsValue,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let dataset = self.clone();
        promise(async move {
            let on_progress = js_progress(on_progress.as_ref());
            Ok(dataset.learning_rate_test(options, &on_progress).await?.into())
        })
    }

    /// One page of the dataset's images: `filter` is `{ label, split: "train" | "valid" |
    /// null, page, perPage, side }`. Resolves to `{ total, page, pages, images: [{ index, name,
    /// labels, split, thumbnail: { width, height, rgba } }] }`. The zip must be held
    /// (`attachZip`): thumbnails are decoded from it, one page at a time.
    pub fn gallery(&self, filter: JsValue) -> Result<JsValue, JsError> {
        let filter: GalleryFilter = serde_wasm_bindgen::from_value(filter)
            .map_err(|e| JsError::new(&format!("gallery filter: {e}")))?;
        let side = thumbnail_side(filter.side)?;
        let page = {
            let (source, sides) = (self.source()?, self.sides.borrow());
            filter.select(source.labels(), source.targets(), sides.as_deref())?
        };
        let images = js_sys::Array::new();
        for &index in &page.indices {
            images.push(&self.gallery_image_js(index, side, ())?);
        }
        let value = to_js(&page)?;
        set_field(&value, "images", &images, "a gallery page")?;
        Ok(value)
    }

    /// Row `index`'s file as the zip holds it, for the page to play a clip: `{ name,
    /// mediaType, bytes: Uint8Array }` (`mediaType` from the bytes: `audio/ogg`, `image/png`,
    /// …). The zip must be held (`attachZip`).
    pub fn file(&self, index: usize) -> Result<JsValue, JsError> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct DatasetFile<'a> {
            name: &'a str,
            media_type: &'static str,
        }
        let mut source = self.source_mut()?;
        let (name, bytes) = source.read_file(index)?;
        let value = to_js(&DatasetFile { name, media_type: data::media_type(&bytes) })?;
        set_field(&value, "bytes", &bytes_js(&bytes), "a dataset file")?;
        Ok(value)
    }
}

impl Dataset {
    /// What `prepareTraining` resolves to.
    pub(super) async fn training(
        &self,
        options: JsValue,
        init: Init,
        on_progress: &dyn Fn(usize, usize),
    ) -> Result<Trainer, JsError> {
        let options = training_options(options)?;
        let (data, compute) = self.decode_for_run(&options, on_progress).await?;
        let session = match init {
            Init::New => TrainingSession::new(data, options, compute),
            Init::Model(bytes) => TrainingSession::from_model(data, options, compute, &bytes),
            Init::Pretrained(weights) => {
                let options = TrainingOptions { pretrained: false, ..options };
                TrainingSession::pretrained(data, options, compute, &weights)
            }
        }?;
        Ok(Trainer::started(session, &self.sides))
    }

    /// What `resumeTraining` resolves to.
    pub(super) async fn resumed(
        &self,
        state: &[u8],
        on_progress: &dyn Fn(usize, usize),
    ) -> Result<Trainer, JsError> {
        let options = crate::train::saved_run_info(state)?.options;
        let (data, compute) = self.decode_for_run(&options, on_progress).await?;
        let session = TrainingSession::resume(data, compute, state)?;
        Ok(Trainer::started(session, &self.sides))
    }

    /// What `prepareLearningRateTest` resolves to.
    pub(super) async fn learning_rate_test(
        &self,
        options: JsValue,
        on_progress: &dyn Fn(usize, usize),
    ) -> Result<LearningRateTest, JsError> {
        let options = training_options(options)?;
        let (data, compute) = self.decode_for_run(&options, on_progress).await?;
        Ok(LearningRateTest::new(LrFinder::new(data, options, compute, LrFindOptions::default())?))
    }

    /// Refuses a run that would not fit in the tab (rather than let it trap halfway through
    /// decoding), then decodes the dataset as `options` ask, for a run on the worker's device.
    pub(super) async fn decode_for_run(
        &self,
        options: &TrainingOptions,
        on_progress: &dyn Fn(usize, usize),
    ) -> Result<(data::Dataset, ComputeDevice), JsError> {
        self.source()?.memory_plan(options).and_then(|p| p.check())?;
        // Spectrogram settings the user changed: the clips are decoded with them (and the
        // gallery's thumbnails follow).
        if let Some(sound) = &options.sound {
            self.source_mut()?.set_sound_settings(sound.clone())?;
        }
        let compute = device()?;
        let decoder = self.source()?.decoder(options.image_size, options.resize)?;
        Ok((decode_all(&self.source, decoder, on_progress).await?, compute))
    }

    /// The zip's source, unless a decoding holds it.
    pub(super) fn source(&self) -> Result<Ref<'_, DatasetSource>, JsError> {
        self.source.try_borrow().map_err(|_| busy())
    }

    pub(super) fn source_mut(&self) -> Result<RefMut<'_, DatasetSource>, JsError> {
        self.source.try_borrow_mut().map_err(|_| busy())
    }

    /// Image `index`'s side in the last run's split (`None` before one).
    pub(super) fn side(&self, index: usize) -> Option<Side> {
        crate::gallery::side_of(self.sides.borrow().as_deref(), index)
    }

    /// Image `index` decoded from the zip (which must be held) as `decode_one` does.
    pub(super) fn decode_one(
        &self,
        index: usize,
        size: u32,
        channels: usize,
        resize: ResizePolicy,
    ) -> Result<Vec<u8>, JsError> {
        Ok(self.source_mut()?.decode_one(index, size, channels, resize)?)
    }

    /// A gallery image as JS, with `extra` fields and its thumbnail (decoded from the zip,
    /// letterboxed so that nothing is cut or stretched).
    pub(super) fn gallery_image_js(
        &self,
        index: usize,
        side: u32,
        extra: impl serde::Serialize,
    ) -> Result<JsValue, JsError> {
        #[derive(serde::Serialize)]
        struct WithExtra<E> {
            #[serde(flatten)]
            image: GalleryImage,
            #[serde(flatten)]
            extra: E,
        }
        let image = {
            let (source, sides) = (self.source()?, self.sides.borrow());
            let (names, labels) = (source.entries(), source.labels());
            GalleryImage::new(index, names, labels, source.targets(), sides.as_deref())
        };
        let value = to_js(&WithExtra { image, extra })?;
        let pixels = self.decode_one(index, side, 3, ResizePolicy::Letterbox)?;
        let thumbnail = Thumbnail::from_pixels(&pixels, side as usize, 3);
        set_field(&value, "thumbnail", &thumbnail_js(&thumbnail)?, "a gallery image")?;
        Ok(value)
    }
}

fn busy() -> JsError {
    JsError::new("the dataset is being decoded; try again when it is done")
}

/// Refuses, before its bytes are read, a dataset zip of `bytes` bytes too large to open in a
/// tab, saying what to do.
#[wasm_bindgen(js_name = checkZipSize)]
pub fn check_zip_size(bytes: f64) -> Result<(), JsError> {
    Ok(MemoryPlan::check_zip(bytes as u64)?)
}

/// Checked training options from the page's options object (defaults for what it leaves out).
fn training_options(options: JsValue) -> Result<TrainingOptions, JsError> {
    let options: TrainingOptions = if options.is_undefined() || options.is_null() {
        TrainingOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("training options: {e}")))?
    };
    options.validate()?;
    Ok(options)
}
