//! The decoded dataset: the pixels of every image at the training size, as `u8`, in one
//! buffer, with multi-hot labels. [`super::DatasetSource`] makes it from a zip.

use std::borrow::Cow;

use crate::error::{Error, Result, no_such_label_text};

use super::audio::SoundSettings;
use super::index::SplitTag;

/// Decoded images at the training size, ready for batching.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    /// Square side of every image.
    pub image_size: usize,
    /// Colour channels per pixel (3, RGB).
    pub channels: usize,
    /// `len × size × size × channels` bytes, image-major, `HWC` within an image.
    pub pixels: Vec<u8>,
    /// `len × labels.len()` multi-hot targets.
    pub targets: Vec<u8>,
    /// Label names.
    pub labels: Vec<String>,
    /// Image names (paths in the zip), one per image.
    pub names: Vec<String>,
    /// Each image's side of the split, when `index.csv` has a `split` column.
    pub splits: Option<Vec<SplitTag>>,
    /// Each image's group id (equal ids: one subject; [`crate::data::NO_GROUP`]: a group of its own), when
    /// `index.csv` has a `group` column. The split keeps a group on one side.
    pub groups: Option<Vec<u32>>,
    /// Sets of images that are the same (same file bytes, or the same pixels once decoded at
    /// the training size), each in index order. The split keeps a set on one side.
    pub duplicates: Vec<Vec<usize>>,
    /// How the files became pictures when they are sound clips (their spectrograms); `None`
    /// for images.
    pub sound: Option<SoundSettings>,
    /// For sound clips longer than the window, decoded for training: each clip's picture over
    /// more time, which training crops at random places ([`Dataset::training_image`]).
    pub strips: Option<TimeStrips>,
    /// The label edits its labels carry (the zip's `changes.csv` and those made since it was
    /// opened): a model's lineage records it.
    pub label_edits: usize,
    /// When the images stream from the zip's file (`pixels` is then empty): the loader that
    /// decodes them per batch ([`Dataset::images_of`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub stream: Option<super::stream::ImageStream>,
}

/// Each clip's spectrogram over its centre window and `reach` columns more each side (see
/// [`super::audio::TimeStrip`]), for training's random crops in time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeStrips {
    /// Columns each side of the centre window.
    pub reach: usize,
    /// `len × size × (size + 2·reach) × channels` bytes, clip-major, `HWC` within a clip.
    pub pixels: Vec<u8>,
    /// Per clip, how many columns a crop may move each way (its own sound, not silence).
    pub spans: Vec<usize>,
}

impl TimeStrips {
    /// Columns kept each side of a `side`-column window: half a window.
    pub fn reach_for(side: usize) -> usize {
        side / 2
    }

    /// Bytes a clip takes at `side` with `channels` channels, its window's picture and its
    /// strip together.
    pub fn clip_bytes(side: usize, channels: usize) -> usize {
        side * (side + side + 2 * Self::reach_for(side)) * channels
    }
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Bytes of one image.
    pub fn image_bytes(&self) -> usize {
        self.image_size * self.image_size * self.channels
    }

    /// True when the images stream from the zip's file instead of being held in `pixels`.
    pub fn is_streamed(&self) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        return self.stream.is_some();
        #[cfg(target_arch = "wasm32")]
        false
    }

    /// The pixels of the images `indices`, in order: borrowed when held, decoded (or waited
    /// for, when asked for ahead by [`Dataset::prefetch`]) when streamed.
    ///
    /// # Errors
    /// A streamed image that cannot be read or decoded, naming its zip entry.
    pub fn images_of(&self, indices: &[usize]) -> Result<Vec<Cow<'_, [u8]>>> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(stream) = &self.stream {
            return Ok(stream.take(indices)?.into_iter().map(Cow::Owned).collect());
        }
        Ok(indices.iter().map(|&i| Cow::Borrowed(self.image(i))).collect())
    }

    /// Says that [`Dataset::images_of`] will ask for the images `indices` next, in this
    /// order, so that a streamed dataset decodes them ahead; nothing when the pixels are held.
    pub fn prefetch(&self, indices: &[usize]) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(stream) = &self.stream {
            stream.prefetch(indices);
        }
        #[cfg(target_arch = "wasm32")]
        let _ = indices;
    }

    /// The pixels of image `i`, held in memory (a streamed dataset holds none: see
    /// [`Dataset::images_of`]).
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_bytes();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Image `i` as training takes it: a clip with a strip is cropped `offset` columns right
    /// of its centre window (negative: left; clamped to the clip's span), anything else is
    /// [`Dataset::image`]. Training draws `offset` from [`Dataset::crop_span`].
    pub fn training_image(&self, i: usize, offset: isize) -> Cow<'_, [u8]> {
        let Some(strips) = self.strips.as_ref().filter(|_| offset != 0) else {
            return self.image(i).into();
        };
        let span = strips.spans[i] as isize;
        let left = (strips.reach as isize + offset.clamp(-span, span)) as usize;
        let (side, c) = (self.image_size, self.channels);
        let width = side + 2 * strips.reach;
        let strip = &strips.pixels[i * side * width * c..(i + 1) * side * width * c];
        strip
            .chunks_exact(width * c)
            .flat_map(|row| &row[left * c..(left + side) * c])
            .copied()
            .collect()
    }

    /// How many columns image `i`'s crop may move each way in training (0: none).
    pub fn crop_span(&self, i: usize) -> usize {
        self.strips.as_ref().map_or(0, |s| s.spans[i])
    }

    /// The targets of image `i`.
    pub fn target(&self, i: usize) -> &[u8] {
        let l = self.labels.len();
        &self.targets[i * l..(i + 1) * l]
    }

    /// Keeps only the label columns named in `labels`, in that order (the brief's "feature
    /// set": train on a chosen set of label columns).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Options`] naming an unknown label, a label given twice, or an empty choice.
    pub fn select_labels(&mut self, labels: &[String]) -> Result<()> {
        if labels.is_empty() {
            return Err(Error::option("labels", "choose at least one label to train on"));
        }
        let mut columns = Vec::with_capacity(labels.len());
        for (k, name) in labels.iter().enumerate() {
            let column = self.labels.iter().position(|l| l == name).ok_or_else(|| {
                Error::option("labels", no_such_label_text("dataset", name, &self.labels))
            })?;
            if labels[..k].contains(name) {
                return Err(Error::option("labels", format!("'{name}' is chosen twice")));
            }
            columns.push(column);
        }
        if columns.iter().copied().eq(0..self.labels.len()) {
            return Ok(());
        }
        let targets = (0..self.len())
            .flat_map(|i| {
                let row = self.target(i);
                columns.iter().map(move |&c| row[c])
            })
            .collect();
        self.targets = targets;
        self.labels = labels.to_vec();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_crops_come_from_the_strip_within_the_span() {
        // Two 2×2 one-channel clips; the first kept over 2 columns more each side (its span 1),
        // its strip's pixels numbered by column.
        let strip: Vec<u8> = (0..2).flat_map(|_| 0..6u8).collect();
        let dataset = Dataset {
            image_size: 2,
            channels: 1,
            pixels: vec![2, 3, 2, 3, 9, 9, 9, 9],
            targets: vec![1, 0],
            labels: vec!["a".into()],
            names: vec!["long.ogg".into(), "short.ogg".into()],
            strips: Some(TimeStrips {
                reach: 2,
                pixels: [strip, vec![7; 12]].concat(),
                spans: vec![1, 0],
            }),
            ..Dataset::default()
        };
        assert_eq!(&*dataset.training_image(0, 0), &[2, 3, 2, 3], "offset 0: the window itself");
        assert_eq!(&*dataset.training_image(0, 1), &[3, 4, 3, 4]);
        assert_eq!(&*dataset.training_image(0, -1), &[1, 2, 1, 2]);
        assert_eq!(&*dataset.training_image(0, 5), &[3, 4, 3, 4], "clamped to the span");
        assert_eq!(&*dataset.training_image(1, 1), &[7, 7, 7, 7], "span 0: the window's columns");
        assert_eq!((dataset.crop_span(0), dataset.crop_span(1)), (1, 0));
    }
}
