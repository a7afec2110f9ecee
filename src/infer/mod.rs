//! Prediction: a loaded model, its metadata, per-label probabilities for images, and the
//! model measured on a labelled dataset.

mod evaluation;
mod sound;
pub mod tta;

pub use evaluation::Evaluation;
pub use sound::WindowPrediction;

use burn::tensor::Device;
use serde::Serialize;

use crate::checkpoint::{self, ModelMetadata};
use crate::data::batcher::images_tensor;
use crate::data::image::rgba_input;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::model::Network;
use tta::TtaViews;

/// Most images [`Predictor::predict_many`] sends through the network at once.
pub const PREDICT_BATCH: usize = 32;

/// An image to predict: a file's bytes, or pixels already decoded.
#[derive(Debug, Clone)]
pub enum ImageInput {
    /// A JPEG or PNG file.
    Encoded(Vec<u8>),
    /// `width × height` RGBA pixels, unpremultiplied (a canvas's `ImageData`).
    Rgba {
        /// The pixels, 4 bytes each, row-major.
        pixels: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// One label's prediction for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LabelPrediction {
    /// The label's name.
    pub label: String,
    /// Its sigmoid probability.
    pub probability: f32,
    /// The label's threshold in the model.
    pub threshold: f32,
    /// `probability >= threshold`.
    pub positive: bool,
}

/// A model's metadata as the page shows it: every metadata field, plus the input's
/// `imageSize`, the architecture's `model` name and the `backend` it runs on, at the top level
/// for display.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataView<'a> {
    /// The model file's metadata, its fields at the top level.
    #[serde(flatten)]
    pub metadata: &'a ModelMetadata,
    /// Side of the square images the model takes.
    pub image_size: u32,
    /// The architecture's name, e.g. `ResNetV2-Small-11`.
    pub model: String,
    /// The backend predicting ("webgpu", "cpu").
    pub backend: &'a str,
}

impl<'a> MetadataView<'a> {
    /// The view of `metadata` on `backend`.
    pub fn new(metadata: &'a ModelMetadata, backend: &'a str) -> Self {
        MetadataView {
            metadata,
            image_size: metadata.input.image_size,
            model: metadata.architecture.name(),
            backend,
        }
    }
}

/// A model ready to predict.
pub struct Predictor {
    model: Network,
    metadata: ModelMetadata,
    device: Device,
    limits: Limits,
    /// Test-time augmentation, when switched on.
    tta: Option<TtaViews>,
    /// The GPU's largest buffer and one image's largest tensor, in bytes
    /// ([`Predictor::fit_to_buffers`]): a forward pass holds at most `buffer / image` images,
    /// views included. `None` on the CPU.
    buffer: Option<(u64, u64)>,
}

impl Predictor {
    /// Loads a model file onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self> {
        let (model, metadata) = checkpoint::load(bytes, device)?;
        Ok(Self {
            model,
            metadata,
            device: device.clone(),
            limits: Limits::default(),
            tta: None,
            buffer: None,
        })
    }

    /// Splits every prediction into forward passes whose tensors fit in one buffer of
    /// `max_buffer_bytes` (a GPU's, [`crate::ComputeDevice::max_buffer_bytes`]; `None`: no
    /// limit).
    ///
    /// # Errors
    /// [`crate::ErrorKind::WillNotFit`] when not even one image fits: a model trained at a size
    /// this GPU cannot run; the CPU can.
    pub fn fit_to_buffers(&mut self, max_buffer_bytes: Option<u64>) -> Result<()> {
        self.buffer = match max_buffer_bytes {
            None => None,
            Some(limit) => {
                let side = self.metadata.input.image_size as usize;
                let footprint = self.metadata.architecture.footprint(side)?;
                // Errors (in words) when not even one image fits.
                crate::model::batch_for_buffer(&footprint, side, 1, limit)?;
                let image = footprint.largest_tensor_per_image * 4;
                Some((limit, image))
            }
        };
        Ok(())
    }

    /// Averages every prediction over shifted (and, for a model trained with flips, mirrored)
    /// copies of the image from now on, or stops ([`tta`]). Off by default: it costs 5–6
    /// forward passes an image, and the model's thresholds were tuned on plain predictions.
    pub fn set_test_time_augmentation(&mut self, on: bool) {
        self.tta = on.then(|| TtaViews::for_model(&self.metadata));
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Uses new per-label thresholds from now on (see [`checkpoint::with_thresholds`] to
    /// store them in the file).
    pub fn set_thresholds(&mut self, thresholds: &[f32]) -> Result<()> {
        checkpoint::check_thresholds(&self.metadata, thresholds)?;
        self.metadata.thresholds = thresholds.to_vec();
        Ok(())
    }

    /// Probabilities (`images × labels`, row-major) for images already decoded at the model's
    /// input size and channel count (`HWC`, as [`crate::data::image::decode_image`] returns them).
    pub async fn probabilities(&self, images: &[&[u8]]) -> Result<Vec<f32>> {
        let size = self.metadata.input.image_size as usize;
        let expected = size * size * self.metadata.input.channels;
        if let Some(bad) = images.iter().position(|i| i.len() != expected) {
            return Err(Error::misuse(format!(
                "image #{bad} is not {size}×{size} with {} channel(s); decode images at the \
                 model's input first",
                self.metadata.input.channels
            )));
        }
        let views = self.tta.map_or(1, TtaViews::count);
        let per_pass = self.buffer.map_or(usize::MAX, |(limit, image)| {
            usize::try_from(limit / (image * views as u64)).unwrap_or(usize::MAX)
        });
        if let (0, Some((limit, image))) = (per_pass, self.buffer) {
            return Err(Error::new(crate::ErrorKind::WillNotFit {
                needed: image * views as u64,
                available: limit,
                advice: format!(
                    "averaging over {views} shifted copies of an image takes more than this \
                     GPU's largest buffer at {size} px: turn the averaging off, or predict on \
                     the CPU"
                ),
            }));
        }
        let mut out = Vec::with_capacity(images.len() * self.metadata.labels.len());
        for chunk in images.chunks(per_pass) {
            out.extend(self.forward_pass(chunk).await?);
        }
        Ok(out)
    }

    /// [`Predictor::probabilities`] of images checked to be the model's size, in one pass.
    async fn forward_pass(&self, images: &[&[u8]]) -> Result<Vec<f32>> {
        let size = self.metadata.input.image_size as usize;
        let input = images_tensor(
            images.iter().copied(),
            size,
            &self.metadata.input.normalization,
            &self.device,
        );
        let probs = match self.tta {
            None => self.model.probabilities(input),
            Some(views) => tta::probabilities(&self.model, input, views),
        };
        let data = probs.into_data_async().await.map_err(Error::backend)?;
        data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))
    }

    /// Decodes one image file, or for a model of sound clips one sound file (`name` is used in
    /// errors), and predicts every label, sorted by probability, highest first.
    pub async fn predict_file(&self, name: &str, bytes: &[u8]) -> Result<Vec<LabelPrediction>> {
        let pixels = self.prepare_file(name, bytes)?;
        let probs = self.probabilities(&[&pixels]).await?;
        Ok(self.label_predictions(&probs))
    }

    /// Predicts several images in batched forward passes (at most [`PREDICT_BATCH`] images
    /// each): one list of label predictions per image, in order. Each image is prepared exactly
    /// as [`Predictor::predict_file`] prepares a file (pixels through
    /// [`crate::data::image::rgba_input`], which takes the same last steps).
    ///
    /// # Errors
    /// The first image that cannot be prepared, named `image #i` (0-based).
    pub async fn predict_many(&self, images: Vec<ImageInput>) -> Result<Vec<Vec<LabelPrediction>>> {
        let input = &self.metadata.input;
        let (size, channels, resize) = (input.image_size, input.channels, input.resize);
        let mut pixels = Vec::with_capacity(images.len());
        for (i, image) in images.into_iter().enumerate() {
            let name = format!("image #{i}");
            pixels.push(match image {
                ImageInput::Encoded(bytes) => self.prepare_file(&name, &bytes)?,
                ImageInput::Rgba { .. } if self.metadata.input.sound.is_some() => {
                    return Err(Error::misuse(format!(
                        "{name} is pixels, and this model was trained on sound clips: give it sound files or samples"
                    )));
                }
                ImageInput::Rgba { pixels, width, height } => rgba_input(
                    &name,
                    pixels,
                    (width, height),
                    size,
                    channels,
                    resize,
                    &self.limits,
                )?,
            });
        }
        let labels = self.metadata.labels.len();
        let mut out = Vec::with_capacity(pixels.len());
        for chunk in pixels.chunks(PREDICT_BATCH) {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            let probs = self.probabilities(&refs).await?;
            out.extend(probs.chunks(labels).map(|p| self.label_predictions(p)));
        }
        Ok(out)
    }

    /// Pairs one image's probabilities with labels and thresholds, sorted descending.
    pub fn label_predictions(&self, probs: &[f32]) -> Vec<LabelPrediction> {
        let mut out = self.predictions_in_label_order(probs);
        out.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        out
    }

    /// One input's probabilities with labels and thresholds, in the model's label order.
    fn predictions_in_label_order(&self, probs: &[f32]) -> Vec<LabelPrediction> {
        self.metadata
            .labels
            .iter()
            .zip(&self.metadata.thresholds)
            .zip(probs)
            .map(|((label, &threshold), &probability)| LabelPrediction {
                label: label.clone(),
                probability,
                threshold,
                positive: crate::scoring::is_positive(probability, threshold),
            })
            .collect()
    }
}

/// An image given for prediction is no dataset row: its decoding errors say what to give
/// instead of what to do with `index.csv`.
fn not_a_prediction_input(e: Error) -> Error {
    match e.kind() {
        ErrorKind::ImageDecode { image, reason } => Error::misuse(format!(
            "image '{image}' cannot be decoded ({reason}); give a JPEG or PNG image"
        )),
        ErrorKind::UnsupportedImage { image, format } => Error::misuse(format!(
            "image '{image}' is a {format}; tagtrain predicts on JPEG and PNG images: convert it first"
        )),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::image::decode_image;

    const DIGIT: &[u8] = include_bytes!("../../tests/fixtures/digit.png");

    /// A model file of a freshly initialised Small-11 with labels a, b, c.
    fn model_file() -> Vec<u8> {
        let config: crate::NetworkConfig = crate::ResNetV2Config::for_depth(11, 3).unwrap().into();
        let network = config.init(&Device::flex()).unwrap();
        let metadata = ModelMetadata {
            labels: vec!["a".into(), "b".into(), "c".into()],
            thresholds: vec![0.5; 3],
            architecture: config,
            ..Default::default()
        };
        pollster::block_on(checkpoint::save(&network, &metadata)).unwrap()
    }

    fn predictor() -> Predictor {
        Predictor::from_bytes(&model_file(), &Device::flex()).unwrap()
    }

    #[test]
    fn passes_sized_to_a_gpus_largest_buffer_predict_the_same() {
        let bytes = model_file();
        let whole = Predictor::from_bytes(&bytes, &Device::flex()).unwrap();
        let mut split = Predictor::from_bytes(&bytes, &Device::flex()).unwrap();
        // Small-11 at 32 px: the largest tensor is 64 channels × 32², 4 bytes a float.
        let per_image = 64 * 32 * 32 * 4;
        split.fit_to_buffers(Some(3 * per_image + 7)).unwrap();
        let input = &whole.metadata().input;
        let pixels =
            decode_image("digit", DIGIT, 32, input.channels, input.resize, &Limits::default())
                .unwrap();
        let mut images: Vec<Vec<u8>> = Vec::new();
        for i in 0..8u8 {
            images.push(pixels.iter().map(|&p| p.wrapping_add(i * 17)).collect());
        }
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        let a = pollster::block_on(whole.probabilities(&refs)).unwrap();
        let b = pollster::block_on(split.probabilities(&refs)).unwrap();
        assert_eq!(b.len(), 8 * 3);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
        // Five shifted views of one image need five images' room.
        split.set_test_time_augmentation(true);
        let e = pollster::block_on(split.probabilities(&refs[..1])).unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::WillNotFit { .. }), "{e}");
        assert!(e.to_string().contains("turn the averaging off"), "{e}");
        split.fit_to_buffers(Some(5 * per_image)).unwrap();
        assert_eq!(pollster::block_on(split.probabilities(&refs)).unwrap().len(), 8 * 3);
        // Not even one image: the model cannot run on this GPU, and says so.
        let e = split.fit_to_buffers(Some(per_image - 1)).unwrap_err();
        assert!(e.to_string().contains("?backend=cpu"), "{e}");
    }

    #[test]
    fn the_metadata_view_adds_size_model_and_backend_at_the_top_level() {
        let p = predictor();
        let view = serde_json::to_value(MetadataView::new(p.metadata(), "cpu")).unwrap();
        // What the page read before the view was a type: the metadata's own fields, plus three.
        let mut want = serde_json::to_value(p.metadata()).unwrap();
        let object = want.as_object_mut().unwrap();
        object.insert("imageSize".into(), 32.into());
        object.insert("model".into(), p.metadata().architecture.name().into());
        object.insert("backend".into(), "cpu".into());
        assert_eq!(view, want);
        assert_eq!(view["labels"], serde_json::json!(["a", "b", "c"]));
        assert_eq!(view["input"]["imageSize"], 32);
    }

    #[test]
    fn a_batch_predicts_what_each_image_alone_does_from_bytes_or_pixels() {
        let p = predictor();
        let alone = pollster::block_on(p.predict_file("digit", DIGIT)).unwrap();
        let rgba = image::load_from_memory(DIGIT).unwrap().to_rgba8();
        let (width, height) = rgba.dimensions();
        let mut inputs = vec![ImageInput::Rgba { pixels: rgba.into_raw(), width, height }];
        // More than one batch, so that the chunks are put back in order.
        inputs.extend(std::iter::repeat_n(ImageInput::Encoded(DIGIT.to_vec()), PREDICT_BATCH + 2));
        let batch = pollster::block_on(p.predict_many(inputs)).unwrap();
        assert_eq!(batch.len(), PREDICT_BATCH + 3);
        for predictions in &batch {
            assert_eq!(predictions.len(), 3);
            for (got, want) in predictions.iter().zip(&alone) {
                assert_eq!(got.label, want.label);
                assert!((got.probability - want.probability).abs() < 1e-5, "{got:?} vs {want:?}");
            }
        }
        let err = pollster::block_on(p.predict_many(vec![
            ImageInput::Encoded(DIGIT.to_vec()),
            ImageInput::Rgba { pixels: vec![0; 10], width: 2, height: 2 },
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("image #1"), "{err}");
    }
}
