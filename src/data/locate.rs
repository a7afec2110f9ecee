//! Finding a dataset's files in its zip: `index.csv` (the shallowest, any case), then each
//! row's image, with the entry a missing one likely meant, and the images no row lists.
//! Without `index.csv`, the folder names may give the labels (`folders.rs`).

use std::collections::{HashMap, HashSet};

use crate::error::{Error, ErrorKind, ProblemList};

use super::archive::{Archive, folder_of, normalise};
use super::index::IndexCsv;

/// The path of `index.csv`: the shallowest of any case; `None` when the zip has none.
pub(super) fn find_index_csv(archive: &Archive) -> Option<String> {
    let mut found: Vec<&str> = archive
        .paths()
        .filter(|p| p.rsplit('/').next().is_some_and(|f| f.eq_ignore_ascii_case("index.csv")))
        .collect();
    // The shallowest wins: `data/index.csv` in a zip made by compressing a folder.
    found.sort_by_key(|p| p.matches('/').count());
    found.first().map(|path| path.to_string())
}

/// Why a zip with neither `index.csv` nor label folders is no dataset: the inner zip to unzip
/// when there is one, else [`ErrorKind::MissingIndexCsv`], with the `unlabelled` images or
/// clips it holds outside label folders (in `wrapper/`, when one folder holds them all).
pub(super) fn missing_index_csv(archive: &Archive, unlabelled: usize, wrapper: &str) -> Error {
    // A zip of the zip (or a zip of a folder holding the dataset zip): say which to unzip.
    match archive.paths().find(|p| p.to_lowercase().ends_with(".zip")) {
        Some(inner) => Error::inner_zip(inner),
        None => Error::missing_index_csv(archive.len(), unlabelled, wrapper),
    }
}

/// The zip entry of each row's image (rows name images relative to `index.csv`'s folder, or
/// to the zip's root), and whether each row's was found. A missing image is a problem, with
/// the entry it likely meant (another case, another folder) when there is one.
pub(super) fn locate_images(
    archive: &Archive,
    index: &IndexCsv,
    index_path: &str,
    problems: &mut ProblemList,
) -> (Vec<String>, Vec<bool>) {
    let prefix = folder_of(index_path);
    let lower: HashMap<String, &str> = archive.paths().map(|p| (p.to_lowercase(), p)).collect();
    // An entry of each file name (the first in path order), for suggestions: built once, so
    // that many missing rows cost one lookup each.
    let mut by_file_name: HashMap<String, &str> = HashMap::new();
    for path in archive.paths() {
        by_file_name.entry(file_name(path).to_lowercase()).or_insert(path);
    }
    // Rows that name an image of the zip are at most as many as its entries.
    let mut entries = Vec::with_capacity(index.len().min(archive.len()));
    let mut found = Vec::with_capacity(index.len());
    for row in index.rows() {
        let wanted = normalise(row.image);
        let candidates = [format!("{prefix}{wanted}"), wanted.clone()];
        let path = candidates.iter().find(|c| archive.contains(c));
        found.push(path.is_some());
        match path {
            Some(path) => entries.push(path.clone()),
            None => {
                let suggestion = lower
                    .get(&candidates[0].to_lowercase())
                    .or_else(|| lower.get(&wanted.to_lowercase()))
                    .or_else(|| by_file_name.get(&file_name(&wanted).to_lowercase()))
                    .map(|s| s.to_string());
                problems.push(Error::new(ErrorKind::MissingImage {
                    line: row.line,
                    image: row.image.to_string(),
                    suggestion,
                }));
            }
        }
    }
    (entries, found)
}

/// The warning for images in the zip that no row lists (they are ignored), with examples.
pub(super) fn unlisted_images_warning(archive: &Archive, entries: &[String]) -> Option<String> {
    let listed: HashSet<&str> = entries.iter().map(String::as_str).collect();
    let unlisted: Vec<&str> =
        archive.paths().filter(|p| is_data_path(p) && !listed.contains(p)).collect();
    if unlisted.is_empty() {
        return None;
    }
    let examples = unlisted.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    Some(format!(
        "{} file(s) in the zip are not listed in index.csv and are ignored (e.g. {examples})",
        unlisted.len()
    ))
}

/// The last component of a normalised path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// An image or a sound clip by its name.
pub(super) fn is_data_path(path: &str) -> bool {
    let lower = path.to_lowercase();
    [".png", ".jpg", ".jpeg"]
        .iter()
        .chain(&super::audio::SOUND_EXTENSIONS)
        .any(|e| lower.ends_with(e))
}
