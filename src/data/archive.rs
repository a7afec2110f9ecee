//! Reading the dataset zip in memory, treating it as hostile.
//!
//! Entry names go through [`zip::read::ZipFile::enclosed_name`] so that `../` tricks and absolute
//! paths never name anything; macOS `__MACOSX/` folders and dotfiles are skipped; sizes are
//! checked against [`Limits`] before anything is inflated, and again while inflating, because
//! the sizes a zip declares are themselves user data.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::{Cursor, Read, Seek, Write};

use zip::{ZipArchive, ZipWriter};

use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;

/// A zip archive, held in memory or read from its file, with its usable entries indexed by
/// normalised path.
pub struct Archive {
    zip: ZipArchive<ZipBytes>,
    /// Normalised path → entry index.
    entries: BTreeMap<String, usize>,
    limits: Limits,
    identity: ZipIdentity,
    /// Read from its file ([`ZipBytes::File`]): a copy of `zip` is cheap, a worker's own.
    #[cfg(not(target_arch = "wasm32"))]
    in_file: bool,
}

/// What tells one zip from another without keeping its bytes: its size, and a hash of every
/// entry's path, CRC-32 and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipIdentity {
    /// The zip's size in bytes.
    pub byte_len: u64,
    fingerprint: u64,
}

/// Where a zip's bytes are: in memory, or in its file (read where needed, never whole).
#[derive(Clone)]
pub(crate) enum ZipBytes {
    /// The whole zip in memory (a browser's file, a small zip).
    Held(Cursor<Vec<u8>>),
    /// The zip's file, read in place: a dataset larger than memory streams from it.
    #[cfg(not(target_arch = "wasm32"))]
    File(super::shared_file::SharedFile),
}

impl Read for ZipBytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Held(cursor) => cursor.read(buf),
            #[cfg(not(target_arch = "wasm32"))]
            Self::File(file) => file.read(buf),
        }
    }
}

impl Seek for ZipBytes {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            Self::Held(cursor) => cursor.seek(pos),
            #[cfg(not(target_arch = "wasm32"))]
            Self::File(file) => file.seek(pos),
        }
    }
}

impl Archive {
    /// Opens a zip from its bytes and indexes its entries.
    ///
    /// # Errors
    /// [`ErrorKind::NotAZip`] for anything that is not a zip; [`ErrorKind::Limit`] for too many
    /// entries or too many declared bytes.
    pub fn from_bytes(bytes: Vec<u8>, limits: &Limits) -> Result<Self> {
        let looks_like = what_else(&bytes);
        Self::open(ZipBytes::Held(Cursor::new(bytes)), looks_like, limits)
    }

    /// Opens a zip from `bytes` (whose first bytes, when not a zip, look like `looks_like`).
    pub(super) fn open(
        mut bytes: ZipBytes,
        looks_like: Option<&'static str>,
        limits: &Limits,
    ) -> Result<Self> {
        #[cfg(not(target_arch = "wasm32"))]
        let in_file = !matches!(bytes, ZipBytes::Held(_));
        let byte_len = bytes.seek(std::io::SeekFrom::End(0)).map_err(|e| {
            Error::new(ErrorKind::NotAZip { reason: format!("it cannot be read: {e}") })
        })?;
        let mut zip = ZipArchive::new(bytes).map_err(|e| {
            let reason = match looks_like {
                Some(kind) => format!("it is {kind}"),
                None => e.to_string(),
            };
            Error::new(ErrorKind::NotAZip { reason })
        })?;
        let count = zip.len() as u64;
        limits.check_entries(count)?;
        let mut entries = BTreeMap::new();
        let mut total: u64 = 0;
        let mut fingerprint = std::hash::DefaultHasher::new();
        for i in 0..zip.len() {
            let file = zip.by_index_raw(i).map_err(|e| {
                Error::new(ErrorKind::NotAZip { reason: format!("entry #{i}: {e}") })
            })?;
            if file.is_dir() {
                continue;
            }
            let Some(path) = file.enclosed_name() else {
                // Absolute paths and `..` escapes never name a dataset file: such an archive was
                // made by mistake or to attack, and either way it is not used.
                return Err(Error::new(ErrorKind::ZipEntry {
                    entry: file.name().map(|n| n.to_string()).unwrap_or_else(|_| format!("entry #{i}")),
                    reason: "the path leaves the archive (absolute, or with '..'); re-create the zip from the dataset folder".into(),
                }));
            };
            let key = normalise(&path.to_string_lossy());
            (&key, file.crc32(), file.size(), file.compressed_size()).hash(&mut fingerprint);
            if key.is_empty() || is_ignored(&key) {
                continue;
            }
            total = total.saturating_add(file.size());
            entries.insert(key, i);
        }
        limits.check_total_uncompressed(total)?;
        let identity = ZipIdentity { byte_len, fingerprint: fingerprint.finish() };
        Ok(Self {
            zip,
            entries,
            limits: limits.clone(),
            identity,
            #[cfg(not(target_arch = "wasm32"))]
            in_file,
        })
    }

    /// Normalised paths of every usable entry, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// What tells this zip from another.
    pub fn identity(&self) -> ZipIdentity {
        self.identity
    }

    /// The zip's entry number of `path` (normalised), as its central directory orders them.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn entry_number(&self, path: &str) -> Option<usize> {
        self.entries.get(path).copied()
    }

    /// The zip itself, when read from its file: a copy sharing the parsed central directory,
    /// which reads with its own position (a streaming worker's).
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn file_zip(&self) -> Option<ZipArchive<ZipBytes>> {
        self.in_file.then(|| self.zip.clone())
    }

    /// The caps this zip is read under.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Number of usable entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when `path` (normalised) is an entry.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// The CRC-32 and uncompressed size the zip records for an entry: two files with equal
    /// pairs are, in practice, the same bytes (found without inflating either).
    pub fn checksum(&mut self, path: &str) -> Option<(u32, u64)> {
        let index = *self.entries.get(path)?;
        let file = self.zip.by_index_raw(index).ok()?;
        Some((file.crc32(), file.size()))
    }

    /// Copies entry `path` into `zip` as this zip holds it (its compressed bytes, CRC and
    /// times: never inflated, never re-encoded), under its normalised path.
    pub fn copy_raw<W: Write + Seek>(&mut self, path: &str, zip: &mut ZipWriter<W>) -> Result<()> {
        let index =
            *self.entries.get(path).ok_or_else(|| Error::zip_entry(path, "no such entry"))?;
        let file = self.zip.by_index_raw(index).map_err(|e| Error::zip_entry(path, e))?;
        zip.raw_copy_file_rename(file, path).map_err(|e| Error::zip_entry(path, e))
    }

    /// Inflates one entry, enforcing the per-entry size and compression-ratio limits.
    pub fn read(&mut self, path: &str, cap: u64) -> Result<Vec<u8>> {
        let index =
            *self.entries.get(path).ok_or_else(|| Error::zip_entry(path, "no such entry"))?;
        let cap = self.limits.entry_cap(cap);
        let mut file = self.zip.by_index(index).map_err(|e| Error::zip_entry(path, e))?;
        let declared = file.size();
        self.limits.check_entry(path, declared, file.compressed_size(), cap)?;
        // The declared size is user data too: read at most cap + 1 bytes whatever it says.
        let mut out = Vec::with_capacity(declared as usize);
        (&mut file).take(cap + 1).read_to_end(&mut out).map_err(|e| Error::zip_entry(path, e))?;
        self.limits.check_inflated(path, out.len() as u64, cap)?;
        Ok(out)
    }
}

/// Normalises a path as people write it: backslashes become slashes, `./` and empty
/// components are dropped.
pub fn normalise(path: &str) -> String {
    normalised_components(path).collect::<Vec<_>>().join("/")
}

/// The folder a file lies in, as a prefix of its siblings' paths: `data/` for
/// `data/index.csv`, empty at the top level.
pub fn folder_of(path: &str) -> String {
    path.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default()
}

/// The components of [`normalise`]`(path)`, without allocating.
pub fn normalised_components(path: &str) -> impl Iterator<Item = &str> {
    path.trim().split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".")
}

/// macOS resource forks and dotfiles are never dataset files.
fn is_ignored(path: &str) -> bool {
    path.split('/').any(|c| c == "__MACOSX" || c.starts_with('.'))
}

/// The media type of a dataset's file from its first bytes (`audio/ogg`, `image/png`, …), for
/// a browser to play or show the original bytes; `application/octet-stream` when unknown.
pub fn media_type(bytes: &[u8]) -> &'static str {
    use super::audio::AudioFormat;
    match AudioFormat::sniff(bytes) {
        Some(AudioFormat::Wav) => "audio/wav",
        Some(AudioFormat::Flac) => "audio/flac",
        Some(AudioFormat::Ogg) => "audio/ogg",
        Some(AudioFormat::Mp3) => "audio/mpeg",
        None if bytes.starts_with(b"\x89PNG") => "image/png",
        None if bytes.starts_with(b"\xff\xd8\xff") => "image/jpeg",
        None => "application/octet-stream",
    }
}

/// What a file that is not a zip is, from its first bytes, for the error message: what people
/// pick by mistake instead of a dataset zip.
pub fn what_else(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let safetensors = bytes.len() > 9
        && bytes[8] == b'{'
        && u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) < bytes.len() as u64;
    Some(if bytes.is_empty() {
        "an empty file"
    } else if starts(b"PK") {
        return None; // a zip, damaged: the zip reader's reason says more
    } else if starts(b"Rar!\x1a\x07") {
        "a RAR archive; re-create it as a .zip"
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        "a 7-Zip archive; re-create it as a .zip"
    } else if starts(b"\x1f\x8b") {
        "gzip-compressed (a .tar.gz?); re-create it as a .zip"
    } else if bytes.get(257..262) == Some(b"ustar") {
        "a tar archive; re-create it as a .zip"
    } else if starts(b"\x89PNG") || starts(b"\xff\xd8\xff") {
        "a single image; put the images and index.csv in a .zip"
    } else if safetensors {
        "a model file (.safetensors), not a dataset"
    } else if starts(b"%PDF") {
        "a PDF document"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_types_follow_the_bytes_not_the_name() {
        use super::media_type;
        assert_eq!(media_type(b"OggS\0\x02rest"), "audio/ogg");
        assert_eq!(media_type(b"fLaC\0\0\0\x22"), "audio/flac");
        assert_eq!(media_type(b"RIFF\x24\0\0\0WAVEfmt "), "audio/wav");
        assert_eq!(media_type(b"ID3\x04\0\0"), "audio/mpeg");
        assert_eq!(media_type(b"\x89PNG\r\n\x1a\n"), "image/png");
        assert_eq!(media_type(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(media_type(b"plain text"), "application/octet-stream");
    }

    use super::*;

    #[test]
    fn normalise_handles_dot_slash_and_backslashes() {
        assert_eq!(normalise("./a/b.png"), "a/b.png");
        assert_eq!(normalise("a\\b\\c.png"), "a/b/c.png");
        assert_eq!(normalise(" a//b.png "), "a/b.png");
    }

    #[test]
    fn ignores_macos_and_dotfiles() {
        assert!(is_ignored("__MACOSX/a/._b.png"));
        assert!(is_ignored("a/.DS_Store"));
        assert!(!is_ignored("a/b.png"));
    }

    #[test]
    fn what_people_pick_instead_of_a_zip_is_named() {
        let named = |bytes: &[u8]| {
            Archive::from_bytes(bytes.to_vec(), &Limits::default()).err().unwrap().to_string()
        };
        assert!(
            named(b"Rar!\x1a\x07\x01\x00rest")
                .contains("it is a RAR archive; re-create it as a .zip")
        );
        assert!(named(b"\x1f\x8b\x08\x00rest").contains("gzip-compressed (a .tar.gz?)"));
        assert!(named(b"\x89PNG\r\n\x1a\n").contains("a single image"));
        assert!(named(b"").contains("an empty file"));
        let mut model = 2u64.to_le_bytes().to_vec();
        model.extend_from_slice(b"{}rest of a model");
        assert!(named(&model).contains("a model file (.safetensors), not a dataset"));
    }

    #[test]
    fn random_bytes_are_not_a_zip() {
        let err =
            Archive::from_bytes(b"hello, not a zip".to_vec(), &Limits::default()).err().unwrap();
        assert!(matches!(err.kind(), ErrorKind::NotAZip { .. }));
    }
}
