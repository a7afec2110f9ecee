//! Prediction on sound (issue #33): a model trained on sound clips hears a file, raw samples,
//! or a long recording window by window, through the same spectrogram its training used
//! ([`crate::data::audio`], by the settings the model file records).

use serde::Serialize;

use super::{LabelPrediction, Predictor, not_a_prediction_input};
use crate::data::audio::{
    AudioFormat, Clip, Crop, SoundSettings, clip_image, decode_audio, log_mel, resample,
};
use crate::data::image::decode_image;
use crate::data::{DatasetSource, MediaKind};
use crate::error::{Error, Result};

/// One window of a long recording and what the model hears in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WindowPrediction {
    /// Where the window starts, seconds from the start of the recording.
    pub start_seconds: f64,
    /// Where it ends (the last window may run past the recording's end: silence).
    pub end_seconds: f64,
    /// Every label's prediction, in the model's label order.
    pub labels: Vec<LabelPrediction>,
}

impl Predictor {
    /// Makes `source` decode as this model's training data was: its clips through the model's
    /// spectrogram settings. Call before decoding a dataset to evaluate the model on.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] when the model takes images and the dataset holds sound
    /// clips, or the other way round.
    pub fn fit_source(&self, source: &mut DatasetSource) -> Result<()> {
        match (&self.metadata.input.sound, source.kind()) {
            (Some(settings), MediaKind::Sounds) => source.set_sound_settings(settings.clone()),
            (None, MediaKind::Images) => Ok(()),
            (Some(_), MediaKind::Images) => Err(Error::misuse(
                "the model was trained on sound clips, and the dataset holds images",
            )),
            (None, MediaKind::Sounds) => Err(Error::misuse(
                "the model was trained on images, and the dataset holds sound clips",
            )),
        }
    }

    /// The model's spectrogram settings, or an error saying the model takes images.
    fn sound(&self, what: &str) -> Result<&SoundSettings> {
        self.metadata.input.sound.as_ref().ok_or_else(|| {
            Error::misuse(format!(
                "{what} is a sound clip, and this model was trained on images: give it a JPEG or PNG image"
            ))
        })
    }

    /// The input pixels for one file: its spectrogram (the centre window) for a model of sound
    /// clips, else the decoded image.
    pub(super) fn prepare_file(&self, name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
        let input = &self.metadata.input;
        match &input.sound {
            Some(settings) => {
                let clip = decode_audio(name, bytes, &self.limits).map_err(|e| {
                    if AudioFormat::sniff(bytes).is_none() {
                        Error::misuse(format!(
                            "'{name}' is not a sound clip, and this model was trained on sound clips: give it a WAV, FLAC, Ogg Vorbis or MP3 file"
                        ))
                    } else {
                        e
                    }
                })?;
                Ok(clip_image(&clip, settings, input.image_size as usize, Crop::Centre))
            }
            None if AudioFormat::sniff(bytes).is_some() => {
                Err(self.sound(&format!("'{name}'")).unwrap_err())
            }
            None => decode_image(
                name,
                bytes,
                input.image_size,
                input.channels,
                input.resize,
                &self.limits,
            )
            .map_err(not_a_prediction_input),
        }
    }

    /// Predicts one clip given as mono `samples` at `sample_rate` (the page's microphone, an
    /// `AudioBuffer`): the same spectrogram as for a file with the same samples.
    ///
    /// # Errors
    /// The model takes images; the rate or the length is over the limits; a sample is not a
    /// number.
    pub async fn predict_samples(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Vec<LabelPrediction>> {
        let settings = self.sound("the input")?.clone();
        let clip = self.samples_clip(samples, sample_rate)?;
        let pixels =
            clip_image(&clip, &settings, self.metadata.input.image_size as usize, Crop::Centre);
        let probs = self.probabilities(&[&pixels]).await?;
        Ok(self.label_predictions(&probs))
    }

    /// Scores a long recording window by window: windows of the model's clip length every
    /// `step_seconds` (the clip length when `None`), from the start; a recording shorter than
    /// one window is one window.
    ///
    /// # Errors
    /// The model takes images; the file cannot be decoded; `step_seconds` is not positive.
    pub async fn predict_windows(
        &self,
        name: &str,
        bytes: &[u8],
        step_seconds: Option<f64>,
    ) -> Result<Vec<WindowPrediction>> {
        let settings = self.sound(&format!("'{name}'"))?.clone();
        let clip = decode_audio(name, bytes, &self.limits)?;
        self.windows_of(&clip, &settings, step_seconds).await
    }

    /// [`Predictor::predict_windows`] of mono samples at `sample_rate`.
    ///
    /// # Errors
    /// As [`Predictor::predict_samples`], and a `step_seconds` that is not positive.
    pub async fn predict_sample_windows(
        &self,
        samples: &[f32],
        sample_rate: u32,
        step_seconds: Option<f64>,
    ) -> Result<Vec<WindowPrediction>> {
        let settings = self.sound("the input")?.clone();
        let clip = self.samples_clip(samples, sample_rate)?;
        self.windows_of(&clip, &settings, step_seconds).await
    }

    /// Raw samples as a clip, held to the limits a file is held to.
    fn samples_clip(&self, samples: &[f32], sample_rate: u32) -> Result<Clip> {
        let name = "the samples";
        self.limits.check_audio_rate(name, sample_rate)?;
        self.limits.check_audio_length(name, samples.len() as u64, sample_rate)?;
        if samples.is_empty() {
            return Err(Error::misuse("no samples were given"));
        }
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(Error::misuse("a sample is not a number (NaN or infinite)"));
        }
        Ok(Clip { samples: samples.to_vec(), sample_rate, channels: 1, format: AudioFormat::Wav })
    }

    async fn windows_of(
        &self,
        clip: &Clip,
        settings: &SoundSettings,
        step_seconds: Option<f64>,
    ) -> Result<Vec<WindowPrediction>> {
        let window_seconds = f64::from(settings.clip_seconds);
        let step = step_seconds.unwrap_or(window_seconds);
        if !(step.is_finite() && step > 0.0) {
            return Err(Error::misuse(format!(
                "the step between windows ({step} s) must be a positive number of seconds"
            )));
        }
        let samples = resample(&clip.samples, clip.sample_rate, settings.sample_rate);
        let rate = f64::from(settings.sample_rate);
        let len = settings.clip_samples();
        let seconds = samples.len() as f64 / rate;
        let side = self.metadata.input.image_size as usize;
        let mut starts = vec![0.0];
        while starts.last().is_some_and(|&s| s + window_seconds < seconds) {
            let next = starts.last().copied().unwrap_or(0.0) + step;
            starts.push(next);
        }
        let mut out = Vec::with_capacity(starts.len());
        for start in starts {
            let first = ((start * rate).round() as usize).min(samples.len());
            let mut window: Vec<f32> = samples[first..].iter().take(len).copied().collect();
            window.resize(len, 0.0);
            let pixels = log_mel(&window, settings).to_image(side);
            let probs = self.probabilities(&[&pixels]).await?;
            out.push(WindowPrediction {
                start_seconds: start,
                end_seconds: start + window_seconds,
                labels: self.unsorted_predictions(&probs),
            });
        }
        Ok(out)
    }

    /// One input's probabilities with labels and thresholds, in the model's label order.
    fn unsorted_predictions(&self, probs: &[f32]) -> Vec<LabelPrediction> {
        let mut by_label = self.label_predictions(probs);
        let order = &self.metadata.labels;
        by_label.sort_by_key(|p| order.iter().position(|l| *l == p.label));
        by_label
    }
}
