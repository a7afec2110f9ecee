//! `Explainer`: which regions of an image raise a label's probability (Grad-CAM, computed with
//! autodiff on the worker's backend).

use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::backend::device;
use super::convert::{promise, to_js};
use super::dataset::Dataset;
use super::interop::{set_field, thumbnail_js};
use crate::Limits;
use crate::data::audio::spectrogram_pixels;
use crate::data::image::decode_image;
use crate::report::Thumbnail;
use crate::saliency::Saliency;

/// A model ready to show which regions raise a label's probability. Clones share it.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Explainer {
    inner: Rc<Saliency>,
}

#[wasm_bindgen]
impl Explainer {
    /// Loads a model file for Grad-CAM.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Explainer, JsError> {
        let compute = device()?;
        Ok(Explainer { inner: Rc::new(Saliency::from_bytes(&bytes, &compute.device)?) })
    }

    /// The heat map of `label` on image `index` of `dataset` (whose zip must be held). Resolves
    /// to `{ label, probability, image: { width, height, rgba }, heat: { width, height, rgba } }`:
    /// the image as the model sees it, and the coloured map of the same size.
    #[wasm_bindgen(js_name = ofImage)]
    pub fn of_image(&self, dataset: &Dataset, index: usize, label: String) -> js_sys::Promise {
        promise(explain(self.inner.clone(), self.image_pixels(dataset, index), label))
    }

    /// The heat map of `label` on an image file (JPEG/PNG bytes); as `ofImage`.
    #[wasm_bindgen(js_name = ofFile)]
    pub fn of_file(&self, bytes: Vec<u8>, label: String) -> js_sys::Promise {
        promise(explain(self.inner.clone(), self.file_pixels(&bytes), label))
    }
}

impl Explainer {
    /// What `ofImage` resolves to.
    pub(super) async fn of_image_now(
        &self,
        dataset: &Dataset,
        index: usize,
        label: String,
    ) -> Result<JsValue, JsError> {
        explain(self.inner.clone(), self.image_pixels(dataset, index), label).await
    }

    /// What `ofFile` resolves to.
    pub(super) async fn of_file_now(
        &self,
        bytes: &[u8],
        label: String,
    ) -> Result<JsValue, JsError> {
        explain(self.inner.clone(), self.file_pixels(bytes), label).await
    }

    /// Image `index` of `dataset` as the model takes it.
    fn image_pixels(&self, dataset: &Dataset, index: usize) -> Result<Vec<u8>, JsError> {
        let input = &self.inner.metadata().input;
        dataset.decode_one(index, input.image_size, input.channels, input.resize)
    }

    /// An image file as the model takes it (a sound clip's spectrogram, for a model of sound
    /// clips).
    fn file_pixels(&self, bytes: &[u8]) -> Result<Vec<u8>, JsError> {
        let input = &self.inner.metadata().input;
        let (size, channels, resize) = (input.image_size, input.channels, input.resize);
        Ok(match &input.sound {
            Some(sound) => {
                spectrogram_pixels("the clip", bytes, sound, size, channels, &Limits::default())?
            }
            None => decode_image("the image", bytes, size, channels, resize, &Limits::default())?,
        })
    }
}

/// The heat map of `label` on `pixels`, with the image as the model sees it.
async fn explain(
    inner: Rc<Saliency>,
    pixels: Result<Vec<u8>, JsError>,
    label: String,
) -> Result<JsValue, JsError> {
    let pixels = pixels?;
    let metadata = inner.metadata();
    let j = (metadata.labels.iter().position(|l| *l == label))
        .ok_or_else(|| crate::Error::no_such_label("model", &label, &metadata.labels))?;
    let map = inner.heat_map(&pixels, j).await?;
    let side = map.side;
    let image = Thumbnail::from_pixels(&pixels, side, metadata.input.channels);
    let heat = Thumbnail { width: side as u32, height: side as u32, rgba: map.rgba() };
    #[derive(Serialize)]
    struct Explained {
        label: String,
        probability: f32,
    }
    let value = to_js(&Explained { label: map.label.clone(), probability: map.probability })?;
    set_field(&value, "image", &thumbnail_js(&image)?, "a heat map")?;
    set_field(&value, "heat", &thumbnail_js(&heat)?, "a heat map")?;
    Ok(value)
}
