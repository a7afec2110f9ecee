//! `Review`: a model measured on labelled images at the thresholds in force (see
//! `src/review.rs`), which the page's curves, error galleries, per-image verdicts and report
//! ask; and `Predictor.reviewDataset`, which measures one.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::convert::{bytes_js, promise, to_js};
use super::dataset::Dataset;
use super::decode::{decode_all, js_progress};
use super::interop::set_field;
use super::predictor::JsPredictor;
use super::trainer::Trainer;
use crate::ResizePolicy;
use crate::gallery::{MOST_IMAGES, Side, THUMBNAIL_SIDE, thumbnail_side};
use crate::infer::Evaluation;
use crate::report::{ReportTitle, Thumbnail, html_report};
use crate::review::{ImageVerdicts, LabelErrors, Review, ReviewedImage};

/// A model measured on labelled images at the thresholds in force.
#[wasm_bindgen(js_name = Review)]
pub struct JsReview {
    inner: Review,
    /// Prediction throughput, for an evaluation.
    images_per_sec: f64,
}

impl JsReview {
    pub(super) fn new(inner: Review, images_per_sec: f64) -> Self {
        JsReview { inner, images_per_sec }
    }

    fn reviewed_js(
        &self,
        dataset: &Dataset,
        image: &ReviewedImage,
        side: u32,
    ) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Scores {
            probability: Option<f32>,
            loss: f64,
        }
        let scores = Scores { probability: image.probability, loss: image.loss };
        dataset.gallery_image_js(image.index, side, scores)
    }

    fn reviewed_list(
        &self,
        dataset: &Dataset,
        images: &[ReviewedImage],
        side: u32,
    ) -> Result<js_sys::Array, JsError> {
        let out = js_sys::Array::new();
        for image in images {
            out.push(&self.reviewed_js(dataset, image, side)?);
        }
        Ok(out)
    }
}

#[wasm_bindgen(js_class = Review)]
impl JsReview {
    /// `{ source: "validation" | "evaluation", images, labels, thresholds, metrics, curves:
    /// [{ label, ap, rocAuc, pr: [{ threshold, precision, recall }], roc: [{ threshold, fpr,
    /// tpr }], current: { threshold, precision, recall, fpr } }] }`
    pub fn summary(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.summary())
    }

    /// As `Predictor.evaluate` resolves: `{ images, imagesPerSec, map, …, labels }`.
    pub fn evaluation(&self) -> Result<JsValue, JsError> {
        to_js(&Evaluation {
            images: self.inner.len(),
            images_per_sec: self.images_per_sec,
            metrics: self.inner.metrics(),
            probs: Vec::new(),
            targets: Vec::new(),
        })
    }

    /// Uses new thresholds (one per label, the model's order) from now on.
    #[wasm_bindgen(js_name = setThresholds)]
    pub fn set_thresholds(&mut self, thresholds: Vec<f32>) -> Result<(), JsError> {
        Ok(self.inner.set_thresholds(&thresholds)?)
    }

    /// Label `label`'s false positives and negatives at its threshold: `{ label, threshold,
    /// falsePositiveCount, falseNegativeCount, falsePositives, falseNegatives }`, each image
    /// `{ index, name, labels, split, probability, loss, thumbnail }`, most confident first,
    /// at most `limit` (≤ 200) of each.
    pub fn errors(
        &self,
        dataset: &Dataset,
        label: &str,
        limit: usize,
        side: Option<u32>,
    ) -> Result<JsValue, JsError> {
        let side = thumbnail_side(side)?;
        let j = self.inner.label_index(label)?;
        let errors = self.inner.errors(j, limit.clamp(1, MOST_IMAGES));
        let fps = self.reviewed_list(dataset, &errors.false_positives, side)?;
        let fns = self.reviewed_list(dataset, &errors.false_negatives, side)?;
        let value = to_js(&LabelErrors {
            false_positives: Vec::new(),
            false_negatives: Vec::new(),
            ..errors
        })?;
        set_field(&value, "falsePositives", &fps, "the error lists")?;
        set_field(&value, "falseNegatives", &fns, "the error lists")?;
        Ok(value)
    }

    /// The `limit` (≤ 200) images with the highest loss over every label, highest first,
    /// each `{ index, name, labels, split, probability: null, loss, thumbnail }`.
    #[wasm_bindgen(js_name = mostWrong)]
    pub fn most_wrong(
        &self,
        dataset: &Dataset,
        limit: usize,
        side: Option<u32>,
    ) -> Result<js_sys::Array, JsError> {
        let side = thumbnail_side(side)?;
        self.reviewed_list(dataset, &self.inner.most_wrong(limit.clamp(1, MOST_IMAGES)), side)
    }

    /// Every label of image `index` against its truth: `{ index, name, split, labels: [{
    /// label, probability, threshold, truth, positive }] }`; throws for an image not reviewed.
    pub fn verdicts(&self, dataset: &Dataset, index: usize) -> Result<JsValue, JsError> {
        let verdicts = self.inner.verdicts(index).ok_or_else(|| {
            JsError::new(&format!(
                "image {index} is not among the {} images this model was measured on",
                self.inner.len()
            ))
        })?;
        #[derive(Serialize)]
        struct Detail {
            #[serde(flatten)]
            verdicts: ImageVerdicts,
            split: Option<Side>,
        }
        to_js(&Detail { verdicts, split: dataset.side(index) })
    }

    /// The evaluation report: one self-contained HTML file (`Uint8Array`), thumbnails from
    /// `dataset`'s zip (which must be held).
    pub fn report(
        &self,
        dataset: &Dataset,
        model: String,
        dataset_name: String,
    ) -> Result<js_sys::Uint8Array, JsError> {
        let title = ReportTitle { model, dataset: dataset_name };
        let mut thumbnail = |index: usize| {
            let mut source = dataset.source.try_borrow_mut().ok()?;
            let pixels =
                source.decode_one(index, THUMBNAIL_SIDE, 3, ResizePolicy::Letterbox).ok()?;
            Some(Thumbnail::from_pixels(&pixels, THUMBNAIL_SIDE as usize, 3))
        };
        Ok(bytes_js(html_report(&self.inner, &title, &mut thumbnail)?.as_bytes()))
    }
}

/// Evaluation needs the dataset's decoding, so it is the `train` build's (this block is the
/// only one of `Predictor`'s outside `predictor.rs`, which the predict package builds alone).
#[wasm_bindgen(js_class = Predictor)]
impl JsPredictor {
    /// Like `evaluate`, resolving to a `Review` of every image of the dataset (its
    /// `evaluation()` is what `evaluate` resolves to).
    #[wasm_bindgen(js_name = reviewDataset)]
    pub fn review_dataset(
        &self,
        dataset: &Dataset,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let (predictor, dataset) = (self.clone(), dataset.clone());
        promise(async move {
            let on_progress = js_progress(on_progress.as_ref());
            Ok(predictor.review_of(&dataset, &on_progress).await?.into())
        })
    }
}

impl JsPredictor {
    /// What `reviewDataset` resolves to.
    pub(super) async fn review_of(
        &self,
        dataset: &Dataset,
        on_progress: &dyn Fn(usize, usize),
    ) -> Result<JsReview, JsError> {
        let input = &self.inner.metadata().input;
        let (size, resize, channels) = (input.image_size, input.resize, input.channels);
        let decoder = dataset.source()?.decoder_with_channels(size, resize, channels)?;
        let data = decode_all(&dataset.source, decoder, on_progress).await?;
        let evaluation = self.inner.evaluate(&data).await?;
        let review = evaluation.review(&data, self.inner.metadata())?;
        Ok(JsReview::new(review, evaluation.images_per_sec))
    }
}

#[wasm_bindgen]
impl Trainer {
    /// The kept weights on the run's validation images at the tuned thresholds (a `Review`),
    /// or `undefined` before an epoch was validated.
    pub fn review(&self) -> Result<Option<JsReview>, JsError> {
        self.with(|s| s.review().map(|review| JsReview::new(review, 0.0)))
    }
}
