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
    /// FNV-1a 64 of the image names, targets and what [`DatasetFingerprint::basis`] says, in
    /// hex.
    pub digest: String,
    /// What tells the images apart in `digest` (run files before streaming: the pixels).
    #[serde(default)]
    pub basis: FingerprintBasis,
    /// For [`FingerprintBasis::Files`]: the names', the targets' and the files' digests
    /// apart, so that a mismatch says which differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<FingerprintParts>,
}

/// What a fingerprint hashes of the images themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FingerprintBasis {
    /// Every decoded pixel (a dataset held in memory).
    #[default]
    Pixels,
    /// Each file's CRC-32 and size from the zip's central directory (a streamed dataset: no
    /// decoding pass needed).
    Files,
}

/// The digests a [`FingerprintBasis::Files`] fingerprint combines, in hex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintParts {
    /// Of the image names.
    pub names: String,
    /// Of the 0/1 targets.
    pub targets: String,
    /// Of each file's CRC-32 and size.
    pub files: String,
}

/// FNV-1a of every image's name and its 0/1 labels: which labelled images a dataset holds.
/// The fingerprint adds the pixels; a model's lineage records it alone (`products.rs`).
pub(super) fn labelled_names(dataset: &Dataset) -> Fnv1a {
    let mut hash = names_hash(dataset);
    hash.write(&dataset.targets);
    hash
}

fn names_hash(dataset: &Dataset) -> Fnv1a {
    let mut hash = Fnv1a::new();
    for name in &dataset.names {
        hash.write(name.as_bytes());
        hash.write(&[0]);
    }
    hash
}

impl DatasetFingerprint {
    /// The fingerprint of a dataset: of its decoded pixels when held, of its files' checksums
    /// when streamed.
    pub fn of(dataset: &Dataset) -> Self {
        let mut hash = labelled_names(dataset);
        let (basis, parts) = match streamed_files(dataset) {
            None => {
                hash.write(&dataset.pixels);
                (FingerprintBasis::Pixels, None)
            }
            Some(files) => {
                let files = files.finish();
                hash.write(&files.to_le_bytes());
                let mut targets = Fnv1a::new();
                targets.write(&dataset.targets);
                let parts = FingerprintParts {
                    names: format!("{:016x}", names_hash(dataset).finish()),
                    targets: format!("{:016x}", targets.finish()),
                    files: format!("{files:016x}"),
                };
                (FingerprintBasis::Files, Some(parts))
            }
        };
        Self {
            images: dataset.len(),
            labels: dataset.labels.clone(),
            image_size: dataset.image_size,
            channels: dataset.channels,
            digest: format!("{:016x}", hash.finish()),
            basis,
            parts,
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
        } else if self.basis != other.basis {
            let how = |basis| match basis {
                FingerprintBasis::Pixels => "held its images in memory (decoded pixels)",
                FingerprintBasis::Files => "streamed its images (the zip's file checksums)",
            };
            Some(format!(
                "it was saved by a run that {} and this run {}, so the two cannot be compared: \
                 resume it the way it started (the CLI's --in-memory or --stream)",
                how(self.basis),
                how(other.basis).replace("its images", "them")
            ))
        } else if self.digest == other.digest {
            None
        } else if let (Some(saved), Some(now)) = (&self.parts, &other.parts) {
            let mut differ = Vec::new();
            if saved.names != now.names {
                differ.push("the image names");
            }
            if saved.targets != now.targets {
                differ.push("the images' labels");
            }
            if saved.files != now.files {
                differ.push("the image files (a zip entry's CRC-32 or size)");
            }
            Some(format!("{} differ from the ones it trained on", differ.join(" and ")))
        } else {
            Some("the images or their labels differ from the ones it trained on".to_string())
        }
    }
}

/// FNV-1a of each streamed file's CRC-32 and size, in index order; `None` when the pixels are
/// held.
fn streamed_files(dataset: &Dataset) -> Option<Fnv1a> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(stream) = &dataset.stream {
        let mut hash = Fnv1a::new();
        for (crc, size) in stream.file_checksums() {
            hash.write(&crc.to_le_bytes());
            hash.write(&size.to_le_bytes());
        }
        return Some(hash);
    }
    let _ = dataset;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(names: &str, targets: &str, files: &str) -> DatasetFingerprint {
        DatasetFingerprint {
            images: 2,
            labels: vec!["a".into()],
            image_size: 8,
            channels: 3,
            digest: format!("{names}{targets}{files}"),
            basis: FingerprintBasis::Files,
            parts: Some(FingerprintParts {
                names: names.into(),
                targets: targets.into(),
                files: files.into(),
            }),
        }
    }

    #[test]
    fn a_streamed_mismatch_says_what_differs() {
        let saved = streamed("n", "t", "f");
        assert_eq!(saved.difference(&saved.clone()), None);
        let files = saved.difference(&streamed("n", "t", "g")).unwrap();
        assert_eq!(
            files,
            "the image files (a zip entry's CRC-32 or size) differ from the ones it trained on"
        );
        let both = saved.difference(&streamed("m", "u", "f")).unwrap();
        assert!(both.starts_with("the image names and the images' labels differ"), "{both}");
        let held =
            DatasetFingerprint { basis: FingerprintBasis::Pixels, parts: None, ..saved.clone() };
        let basis = saved.difference(&held).unwrap();
        assert!(
            basis.contains("streamed its images") && basis.contains("held them in memory"),
            "{basis}"
        );
    }
}
