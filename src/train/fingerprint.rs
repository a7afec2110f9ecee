//! Which dataset a run trains on: a run file is refused on another one.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Fnv1a};

/// Which dataset a run trains on, to refuse resuming it on another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFingerprint {
    /// Number of images.
    pub images: usize,
    /// Label names, in order.
    pub labels: Vec<String>,
    /// Side the images were decoded at.
    pub image_size: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// FNV-1a 64 of the image names, targets and decoded pixels, in hex.
    pub digest: String,
}

/// FNV-1a of every image's name and its 0/1 labels: which labelled images a dataset holds.
/// The fingerprint adds the pixels; a model's lineage records it alone (`products.rs`).
pub(super) fn labelled_names(dataset: &Dataset) -> Fnv1a {
    let mut hash = Fnv1a::new();
    for name in &dataset.names {
        hash.write(name.as_bytes());
        hash.write(&[0]);
    }
    hash.write(&dataset.targets);
    hash
}

impl DatasetFingerprint {
    /// The fingerprint of a decoded dataset.
    pub fn of(dataset: &Dataset) -> Self {
        let mut hash = labelled_names(dataset);
        hash.write(&dataset.pixels);
        Self {
            images: dataset.len(),
            labels: dataset.labels.clone(),
            image_size: dataset.image_size,
            channels: dataset.channels,
            digest: format!("{:016x}", hash.finish()),
        }
    }

    /// Why `other` is not this dataset, in words; `None` when it is.
    pub fn difference(&self, other: &Self) -> Option<String> {
        if self.labels != other.labels {
            Some(format!(
                "it trained on the labels {:?} and this dataset has {:?}",
                self.labels, other.labels
            ))
        } else if self.images != other.images {
            Some(format!(
                "it trained on {} images and this dataset has {}",
                self.images, other.images
            ))
        } else if (self.image_size, self.channels) != (other.image_size, other.channels) {
            Some(format!(
                "it trained on {0}×{0} images with {1} channels, not {2}×{2} with {3}",
                self.image_size, self.channels, other.image_size, other.channels
            ))
        } else if self.digest != other.digest {
            Some("the images or their labels differ from the ones it trained on".to_string())
        } else {
            None
        }
    }
}
