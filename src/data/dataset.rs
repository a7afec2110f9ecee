//! The decoded dataset: the pixels of every image at the training size, as `u8`, in one
//! buffer, with multi-hot labels. [`super::DatasetSource`] makes it from a zip.

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

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_bytes();
        &self.pixels[i * n..(i + 1) * n]
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
