//! A folder the person chose or dropped in the page (its files, each with its path inside the
//! folder) made into a zip, so that it opens exactly as a dataset zip does: `index.csv` or one
//! folder per label or loose images, checked by the same code. The files are stored, not
//! compressed: images and clips are compressed already, and storing is a copy.

use std::io::{Cursor, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::error::{Error, Result};
use crate::limits::Limits;

use super::archive::normalise;

/// A zip of `files` (`(path in the folder, bytes)`), each at its path: the folder's own name
/// first when the browser gives it (`pets/cat/1.jpg`), as a zip of the folder would hold it.
///
/// # Errors
/// More files or bytes than `limits` allow a zip; a path that climbs out of the folder (`..`) or
/// is empty; two files at one path.
pub fn zip_folder(files: &[(String, Vec<u8>)], limits: &Limits) -> Result<Vec<u8>> {
    limits.check_entries(files.len() as u64)?;
    let total: u64 = files.iter().map(|(_, bytes)| bytes.len() as u64).sum();
    limits.check_total_uncompressed(total)?;
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(total > u32::MAX as u64);
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(total as usize)));
    let mut seen = std::collections::HashSet::new();
    for (path, bytes) in files {
        let name = normalise(path);
        if name.is_empty() || path.split(['/', '\\']).any(|c| c == "..") {
            return Err(Error::zip_entry(
                path,
                "the path leaves the folder; choose the folder itself",
            ));
        }
        limits.check_inflated(&name, bytes.len() as u64, limits.max_entry_bytes)?;
        if !seen.insert(name.clone()) {
            return Err(Error::zip_entry(&name, "two files have this path"));
        }
        zip.start_file(name.as_str(), stored).map_err(|e| Error::zip_entry(&name, e))?;
        zip.write_all(bytes).map_err(|e| Error::zip_entry(&name, e))?;
    }
    let written = zip.finish().map_err(|e| Error::zip_entry("the folder's zip", e))?;
    Ok(written.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DatasetSource;

    fn png(rgb: [u8; 3]) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(4, 4, image::Rgb(rgb));
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        bytes
    }

    #[test]
    fn a_folder_per_label_opens_as_its_zip_would() {
        let files = vec![
            ("pets/cat/1.png".to_string(), png([200, 0, 0])),
            ("pets/dog/2.png".to_string(), png([0, 0, 200])),
            ("pets/notes.txt".to_string(), b"ignored".to_vec()),
        ];
        let zip = zip_folder(&files, &Limits::default()).unwrap();
        let source = DatasetSource::from_zip(zip, &Limits::default()).unwrap();
        assert_eq!(source.labels(), ["cat", "dog"]);
        assert_eq!(source.entries(), ["pets/cat/1.png", "pets/dog/2.png"]);
    }

    #[test]
    fn paths_out_of_the_folder_and_too_many_files_are_refused() {
        let error = zip_folder(&[("../x.png".into(), vec![1])], &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("leaves the folder"), "{error}");
        let twice = [("a/x.png".to_string(), vec![1]), ("a//x.png".to_string(), vec![2])];
        let error = zip_folder(&twice, &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("two files have this path"), "{error}");
        let limits = Limits { max_entries: 1, ..Limits::default() };
        assert!(zip_folder(&twice, &limits).is_err());
    }
}
