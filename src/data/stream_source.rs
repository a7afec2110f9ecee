//! A dataset zip opened from its file, and its images streamed (issue #36; see
//! [`super::stream`]): the constructors of [`DatasetSource`] that only the native build has.

use crate::error::{Error, Result};
use crate::limits::{Limits, check_image_size};

use super::archive::{Archive, ZipBytes};
use super::dataset::Dataset;
use super::image::ResizePolicy;
use super::shared_file::SharedFile;
use super::source::DatasetSource;
use super::stream::{Decoding, ImageStream, StreamSettings, StreamedFile};
use super::summary::MediaKind;
use super::what_else;

impl DatasetSource {
    /// Opens the dataset zip at `path` as [`DatasetSource::from_zip`] does, reading it in place
    /// from the file (never whole into memory): `index.csv` is parsed and every image header
    /// read as for a zip in memory. Its images can then be decoded into memory as usual, or
    /// streamed ([`DatasetSource::stream`]).
    ///
    /// # Errors
    /// The file cannot be opened or read ([`crate::ErrorKind::NotAZip`] saying why); then as
    /// [`DatasetSource::from_zip`].
    pub fn from_file(path: &std::path::Path, limits: &Limits) -> Result<Self> {
        let file = SharedFile::open(path).map_err(|e| {
            Error::new(crate::ErrorKind::NotAZip { reason: format!("it cannot be opened: {e}") })
        })?;
        let looks_like = what_else(&file.first_bytes(512));
        let archive = Archive::open(ZipBytes::File(file), looks_like, limits)?;
        Self::open_archive(archive, limits, false)
    }

    /// The dataset at `image_size × image_size` without its pixels: they are decoded per batch
    /// by `settings.workers` threads reading the zip's file ([`Dataset::images_of`]), with one
    /// channel when every image is grayscale, else RGB. Duplicates are the files with the same
    /// bytes only (the same CRC-32 and size): finding images that decode to the same pixels
    /// would take a full decoding pass.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidOption`] (`stream`) for sound clips, which are decoded into
    /// memory only; [`crate::ErrorKind::Misuse`] for a zip not opened from its file
    /// ([`DatasetSource::from_file`]) or with files added since; an image size out of range.
    pub fn stream(
        &mut self,
        image_size: u32,
        resize: ResizePolicy,
        settings: StreamSettings,
    ) -> Result<Dataset> {
        if self.kind() == MediaKind::Sounds {
            return Err(Error::option(
                "stream",
                "sound clips are decoded into memory only (their spectrograms are made once); \
                 train on this dataset in memory",
            ));
        }
        check_image_size(image_size)?;
        self.require_zip()?;
        if !self.added_files.is_empty() {
            return Err(Error::misuse(
                "files were added to the dataset since it was opened: export it and stream the new zip",
            ));
        }
        let archive = self.archive.as_mut().expect("checked: the zip is held");
        let zip = archive.file_zip().ok_or_else(|| {
            Error::misuse("streaming reads the zip from its file: open it with from_file")
        })?;
        let mut files = Vec::with_capacity(self.entries.len());
        for path in &self.entries {
            let entry = archive.entry_number(path);
            let checksum = archive.checksum(path);
            let (Some(entry), Some((crc32, size))) = (entry, checksum) else {
                return Err(Error::zip_entry(path, "the entry is no longer in the zip"));
            };
            files.push(StreamedFile { path: path.clone(), entry, crc32, size });
        }
        let limits = archive.limits().clone();
        let channels = if self.grayscale() { 1 } else { 3 };
        let mut dataset = self.undecoded(image_size, channels);
        let decoding = Decoding { side: image_size, channels, resize, limits };
        dataset.stream = Some(ImageStream::start(zip, files, decoding, settings)?);
        Ok(dataset)
    }
}

impl Limits {
    /// The limits for a zip read from its file: as [`Limits::default`], except the zip's entry
    /// count and total uncompressed size, which bound memory only when the whole zip is held
    /// (a streamed dataset holds a few decoded images at a time). Each entry's size and
    /// compression ratio, and each image's, stay capped.
    pub fn for_zip_file() -> Self {
        Self { max_entries: 50_000_000, max_total_uncompressed: u64::MAX, ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    /// A dataset zip of `n` 8×8 PNGs (image `i` a flat grey of `i`) in a temporary file.
    fn zip_file(n: usize, name: &str) -> std::path::PathBuf {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        let mut csv = String::from("image,a\n");
        for i in 0..n {
            let mut png = Vec::new();
            image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
                8,
                8,
                image::Rgb([i as u8; 3]),
            ))
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
            zip.start_file(format!("{i}.png"), options).unwrap();
            zip.write_all(&png).unwrap();
            csv.push_str(&format!("{i}.png,{}\n", i % 2));
        }
        zip.start_file("index.csv", options).unwrap();
        zip.write_all(csv.as_bytes()).unwrap();
        let path = std::env::temp_dir().join(format!("{name}-{}.zip", std::process::id()));
        std::fs::write(&path, zip.finish().unwrap().into_inner()).unwrap();
        path
    }

    #[test]
    fn decodes_at_most_ahead_images_before_they_are_taken() {
        let path = zip_file(20, "loader-ahead");
        let mut source = DatasetSource::from_file(&path, &Limits::for_zip_file()).unwrap();
        let settings = StreamSettings { workers: 2, ahead: 3, cache_bytes: 0 };
        let dataset = source.stream(8, ResizePolicy::Stretch, settings).unwrap();
        let stream = dataset.stream.clone().unwrap();
        let order: Vec<usize> = (0..20).rev().collect();
        stream.prefetch(&order);
        assert_eq!(stream.ahead_of_the_taker(), (3, 3), "three decoded, no more");
        let first = stream.take(&order[..2]).unwrap();
        assert_eq!(first, vec![vec![19; 8 * 8 * 3], vec![18; 8 * 8 * 3]], "in the order asked");
        assert_eq!(stream.ahead_of_the_taker(), (3, 3), "taking two made room for two more");
        assert_eq!(stream.take(&order[2..]).unwrap().len(), 18);
        assert_eq!(stream.ahead_of_the_taker(), (0, 0), "nothing left to decode");
        drop(dataset);
        drop(stream); // the last clone: the workers stop and are joined
        std::fs::remove_file(path).unwrap();
    }
}
