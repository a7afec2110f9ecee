//! Prediction on sound (issue #33): a model trained on sound clips hears a file, raw samples,
//! or a long recording window by window, through the same spectrogram its training used
//! ([`crate::data::audio`], by the settings the model file records).

use serde::Serialize;

use super::{LabelPrediction, Predictor, not_a_prediction_input};
#[cfg(not(feature = "sound"))]
use crate::data::audio::sound_unavailable;
use crate::data::audio::{AudioFormat, Clip, SoundSettings};
#[cfg(feature = "sound")]
use crate::data::audio::{Crop, clip_image, decode_audio, log_mel, resample};
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
        self.metadata.input.sound.as_ref().ok_or_else(|| trained_on_images(what))
    }

    /// The input pixels for one file: its spectrogram (the centre window) for a model of sound
    /// clips, else the decoded image.
    pub(super) fn prepare_file(&self, name: &str, bytes: &[u8]) -> Result<Vec<u8>> {
        let input = &self.metadata.input;
        match &input.sound {
            Some(settings) => {
                let clip = self.decode(name, bytes).map_err(|e| {
                    if AudioFormat::sniff(bytes).is_none() {
                        Error::misuse(format!(
                            "'{name}' is not a sound clip, and this model was trained on sound clips: give it a WAV, FLAC, Ogg Vorbis or MP3 file"
                        ))
                    } else {
                        e
                    }
                })?;
                self.clip_pixels(&clip, settings)
            }
            None if AudioFormat::sniff(bytes).is_some() => {
                Err(trained_on_images(&format!("'{name}'")))
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
        let pixels = self.clip_pixels(&clip, &settings)?;
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
        let clip = self.decode(name, bytes)?;
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
        let samples = resampled(clip, settings)?;
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
            let pixels = window_pixels(&window, settings, side)?;
            let probs = self.probabilities(&[&pixels]).await?;
            out.push(WindowPrediction {
                start_seconds: start,
                end_seconds: start + window_seconds,
                labels: self.predictions_in_label_order(&probs),
            });
        }
        Ok(out)
    }

    /// Decodes a sound file by the predictor's limits.
    #[cfg(feature = "sound")]
    fn decode(&self, name: &str, bytes: &[u8]) -> Result<Clip> {
        decode_audio(name, bytes, &self.limits)
    }

    #[cfg(not(feature = "sound"))]
    fn decode(&self, name: &str, _bytes: &[u8]) -> Result<Clip> {
        Err(sound_unavailable(name))
    }

    /// A clip's input pixels: the spectrogram of its centre window at the model's side.
    #[cfg(feature = "sound")]
    fn clip_pixels(&self, clip: &Clip, settings: &SoundSettings) -> Result<Vec<u8>> {
        Ok(clip_image(clip, settings, self.metadata.input.image_size as usize, Crop::Centre))
    }

    #[cfg(not(feature = "sound"))]
    fn clip_pixels(&self, _clip: &Clip, _settings: &SoundSettings) -> Result<Vec<u8>> {
        Err(sound_unavailable("the samples"))
    }
}

/// A sound clip given to a model of images.
fn trained_on_images(what: &str) -> Error {
    Error::misuse(format!(
        "{what} is a sound clip, and this model was trained on images: give it a JPEG or PNG image"
    ))
}

/// A clip's samples at the settings' rate.
#[cfg(feature = "sound")]
fn resampled(clip: &Clip, settings: &SoundSettings) -> Result<Vec<f32>> {
    Ok(resample(&clip.samples, clip.sample_rate, settings.sample_rate))
}

#[cfg(not(feature = "sound"))]
fn resampled(_clip: &Clip, _settings: &SoundSettings) -> Result<Vec<f32>> {
    Err(sound_unavailable("the recording"))
}

/// One window's input pixels.
#[cfg(feature = "sound")]
fn window_pixels(window: &[f32], settings: &SoundSettings, side: usize) -> Result<Vec<u8>> {
    Ok(log_mel(window, settings).to_image(side))
}

#[cfg(not(feature = "sound"))]
fn window_pixels(_window: &[f32], _settings: &SoundSettings, _side: usize) -> Result<Vec<u8>> {
    Err(sound_unavailable("the recording"))
}

#[cfg(all(test, feature = "sound"))]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::checkpoint::{self, InputSpec, ModelMetadata};
    use crate::data::Normalization;

    const TONE: &[u8] = include_bytes!("../../tests/fixtures/sounds/tone_wav16_16k_stereo.wav");

    /// A freshly initialised Small-11 on 32-px one-channel spectrograms of 0.25 s windows.
    fn sound_model() -> Predictor {
        let config: crate::NetworkConfig =
            crate::ResNetV2Config::for_depth(11, 2).unwrap().with_in_channels(1).into();
        let network = config.init(&Device::flex()).unwrap();
        let metadata = ModelMetadata {
            labels: vec!["a".into(), "b".into()],
            thresholds: vec![0.5; 2],
            architecture: config,
            input: InputSpec {
                image_size: 32,
                channels: 1,
                resize: Default::default(),
                normalization: Normalization { mean: vec![0.4], std: vec![0.2] },
                sound: Some(SoundSettings { clip_seconds: 0.25, ..SoundSettings::default() }),
            },
            ..Default::default()
        };
        let bytes = pollster::block_on(checkpoint::save(&network, &metadata)).unwrap();
        Predictor::from_bytes(&bytes, &Device::flex()).unwrap()
    }

    #[test]
    fn a_file_and_its_samples_and_its_windows_predict_alike() {
        let model = sound_model();
        let by_file = pollster::block_on(model.predict_file("tone.wav", TONE)).unwrap();
        // The file's own samples (mixed to mono, at its rate) through the samples path.
        let clip = decode_audio("tone.wav", TONE, &crate::Limits::default()).unwrap();
        let by_samples =
            pollster::block_on(model.predict_samples(&clip.samples, clip.sample_rate)).unwrap();
        assert_eq!(by_file, by_samples);
        // 0.3 s in windows of 0.25 s every 0.05 s: starts 0, 0.05; the one centred
        // (0.025 s) lies between them and the probabilities are near both.
        let windows =
            pollster::block_on(model.predict_windows("tone.wav", TONE, Some(0.05))).unwrap();
        assert_eq!(windows.len(), 2, "{windows:?}");
        assert_eq!((windows[0].start_seconds, windows[1].start_seconds), (0.0, 0.05));
        assert!((windows[1].end_seconds - 0.30).abs() < 1e-9);
        let labels: Vec<&str> = windows[0].labels.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["a", "b"], "the model's label order");
        let samples_windows = pollster::block_on(model.predict_sample_windows(
            &clip.samples,
            clip.sample_rate,
            Some(0.05),
        ))
        .unwrap();
        assert_eq!(windows, samples_windows);
    }

    #[test]
    fn a_model_of_one_kind_refuses_the_other_in_words() {
        let model = sound_model();
        let png = include_bytes!("../../tests/fixtures/digit.png");
        let err = pollster::block_on(model.predict_file("digit.png", png)).unwrap_err();
        assert!(err.to_string().contains("trained on sound clips"), "{err}");
        let err = pollster::block_on(model.predict_samples(&[f32::NAN; 100], 16_000)).unwrap_err();
        assert!(err.to_string().contains("not a number"), "{err}");
        let err = pollster::block_on(model.predict_samples(&[0.1; 100], 1_000_000)).unwrap_err();
        assert!(err.to_string().contains("sample rate"), "{err}");
        let err =
            pollster::block_on(model.predict_windows("tone.wav", TONE, Some(0.0))).unwrap_err();
        assert!(err.to_string().contains("positive number of seconds"), "{err}");
    }
}
