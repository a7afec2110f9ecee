//! Decoding a [`DatasetSource`]'s images into a [`Dataset`]: all at once
//! ([`DatasetSource::decode`]), or a few at a time so that a browser stays responsive
//! ([`DatasetSource::decoder`] and [`DatasetSource::decode_next`]), or one image alone
//! ([`DatasetSource::decode_one`]: a thumbnail, an image to explain). Sound clips become their
//! spectrograms here, by the source's [`SoundSettings`].

use crate::error::{Error, Result};
use crate::limits::check_image_size;

use super::audio::{spectrogram_pixels, spectrogram_with_strip};
use super::dataset::Dataset;
use super::dataset::TimeStrips;
use super::duplicates::{equal_sets, fnv1a, merge_sets};
use super::image::{ResizePolicy, decode_image};
use super::source::DatasetSource;

/// Images decoded between two progress reports of [`DatasetSource::decode`].
const CHUNK: usize = 16;

impl DatasetSource {
    /// Decodes every image at `image_size × image_size`, brought to the square by `resize`,
    /// with one channel when every image is grayscale, else RGB.
    ///
    /// `progress(done, total)` is called after each image so that a caller can report it.
    pub fn decode(
        &mut self,
        image_size: u32,
        resize: ResizePolicy,
        progress: impl FnMut(usize, usize),
    ) -> Result<Dataset> {
        let decoder = self.decoder(image_size, resize)?;
        self.decode_all(decoder, progress)
    }

    /// Like [`DatasetSource::decode`], with the channel count fixed by the caller (a model's
    /// input; see [`DatasetSource::decoder_with_channels`]).
    pub fn decode_with_channels(
        &mut self,
        image_size: u32,
        resize: ResizePolicy,
        channels: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Dataset> {
        let decoder = self.decoder_with_channels(image_size, resize, channels)?;
        self.decode_all(decoder, progress)
    }

    /// Runs `decoder` to the end, calling `progress(done, total)` after each chunk.
    fn decode_all(
        &mut self,
        mut decoder: Decoder,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Dataset> {
        while !self.decode_next(&mut decoder, CHUNK)? {
            progress(decoder.done(), decoder.total());
        }
        progress(decoder.done(), decoder.total());
        Ok(decoder.finish())
    }

    /// Starts decoding for training (see [`DatasetSource::decode_next`]). The pixel buffer is
    /// allocated once, at its final size. Sound clips longer than the window are also kept
    /// over more time ([`super::TimeStrips`], [`DatasetSource::strip_reach`]), for training's
    /// random crops.
    pub fn decoder(&self, image_size: u32, resize: ResizePolicy) -> Result<Decoder> {
        let channels = if self.grayscale() { 1 } else { 3 };
        let mut decoder = self.decoder_with_channels(image_size, resize, channels)?;
        let reach = self.strip_reach(image_size);
        if reach > 0 {
            let side = image_size as usize;
            let pixels = pixel_buffer(self.len(), side * (side + 2 * reach) * channels)?;
            let spans = Vec::with_capacity(self.len());
            decoder.dataset.strips = Some(TimeStrips { reach, pixels, spans });
        }
        Ok(decoder)
    }

    /// Like [`DatasetSource::decoder`], with the channel count fixed by the caller (a model's
    /// input): grayscale images are repeated over RGB, colour images averaged to one channel.
    pub fn decoder_with_channels(
        &self,
        image_size: u32,
        resize: ResizePolicy,
        channels: usize,
    ) -> Result<Decoder> {
        check_image_size(image_size)?;
        let total = self.len();
        let per_image = (image_size as usize).pow(2) * channels;
        let mut decoder = Decoder {
            next: 0,
            resize,
            dataset: self.undecoded(image_size, channels),
            pixel_hashes: Vec::with_capacity(total),
        };
        decoder.dataset.pixels = pixel_buffer(total, per_image)?;
        Ok(decoder)
    }

    /// Decodes up to `count` more images into `decoder`; true when every image is decoded.
    ///
    /// # Errors
    /// The zip was released ([`DatasetSource::attach_zip`] first), or the first image that
    /// cannot be decoded, by name.
    pub fn decode_next(&mut self, decoder: &mut Decoder, count: usize) -> Result<bool> {
        let total = self.len();
        let end = (decoder.next + count).min(total);
        // Released is an error even with nothing left to decode.
        self.require_zip()?;
        let limits = self.limits().clone();
        let sound = self.sound_settings().cloned();
        let ds = &mut decoder.dataset;
        for index in decoder.next..end {
            let (path, bytes) = self.read_file(index)?;
            let side = ds.image_size as u32;
            let px = match (&sound, &mut ds.strips) {
                (Some(settings), Some(strips)) => {
                    let (px, strip) = spectrogram_with_strip(
                        path,
                        &bytes,
                        settings,
                        side,
                        ds.channels,
                        strips.reach,
                        &limits,
                    )?;
                    let strip = strip.expect("a reach gives a strip");
                    strips.pixels.extend_from_slice(&strip.pixels);
                    strips.spans.push(strip.span);
                    px
                }
                (Some(settings), None) => {
                    spectrogram_pixels(path, &bytes, settings, side, ds.channels, &limits)?
                }
                (None, _) => {
                    decode_image(path, &bytes, side, ds.channels, decoder.resize, &limits)?
                }
            };
            ds.pixels.extend_from_slice(&px);
            decoder.pixel_hashes.push(fnv1a(&px));
        }
        decoder.next = end;
        Ok(end == total)
    }

    /// Decodes image `index` alone at `side × side` with `channels` channels, brought to the
    /// square by `resize`: a gallery's thumbnail, or one image to explain.
    ///
    /// # Errors
    /// The zip was released ([`DatasetSource::attach_zip`] first), or the image cannot be
    /// decoded, by name.
    pub fn decode_one(
        &mut self,
        index: usize,
        side: u32,
        channels: usize,
        resize: ResizePolicy,
    ) -> Result<Vec<u8>> {
        let limits = self.limits().clone();
        let sound = self.sound_settings().cloned();
        let (path, bytes) = self.read_file(index)?;
        match &sound {
            Some(settings) => spectrogram_pixels(path, &bytes, settings, side, channels, &limits),
            None => decode_image(path, &bytes, side, channels, resize, &limits),
        }
    }
}

/// An empty buffer with room for `count` images of `per_image` bytes, allocated once.
///
/// # Errors
/// The allocator's refusal is the limit here: [`crate::ErrorKind::Limit`] saying how much was
/// asked.
fn pixel_buffer(count: usize, per_image: usize) -> Result<Vec<u8>> {
    let bytes = count.saturating_mul(per_image);
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(bytes).map_err(|_| {
        Error::limit("decoded pixel bytes", "the dataset", bytes as u64 - 1, bytes as u64)
    })?;
    Ok(pixels)
}

/// A decoding in progress; see [`DatasetSource::decoder`].
pub struct Decoder {
    next: usize,
    resize: ResizePolicy,
    dataset: Dataset,
    /// A hash of each decoded image's pixels, to find duplicates.
    pixel_hashes: Vec<u64>,
}

impl Decoder {
    /// Images decoded so far.
    pub fn done(&self) -> usize {
        self.next
    }

    /// Images to decode in all.
    pub fn total(&self) -> usize {
        self.dataset.names.len()
    }

    /// The decoded dataset (complete once `decode_next` returned true), with its duplicate
    /// sets: the same file bytes, or the same pixels at the training size.
    pub fn finish(self) -> Dataset {
        let mut dataset = self.dataset;
        let same_pixels = equal_sets(self.pixel_hashes.into_iter().zip(0..));
        let bytes = std::mem::take(&mut dataset.duplicates);
        dataset.duplicates = merge_sets(dataset.len(), bytes.into_iter().chain(same_pixels));
        dataset
    }
}
