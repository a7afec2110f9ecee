//! What the page's gallery and error lists show of a dataset's images: which images a filter
//! selects, one page of them, and each image's names, labels and side of the run's split.
//!
//! Plain data in, plain data out (labels, the row-major 0/1 targets, each image's [`Side`]), so
//! that the rules are tested natively; the browser bindings only add the thumbnails.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Side of gallery thumbnails unless asked otherwise.
pub const THUMBNAIL_SIDE: u32 = 96;

/// Most images in one gallery page or error list: each is decoded from the zip.
pub const MOST_IMAGES: usize = 200;

/// An image's side of a run's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Trained on.
    Train,
    /// Held out for validation.
    Valid,
}

/// Each of `len` images' side in a split whose validation images are `valid` (indices).
pub fn split_sides(len: usize, valid: &[usize]) -> Vec<Side> {
    let mut sides = vec![Side::Train; len];
    for &i in valid {
        sides[i] = Side::Valid;
    }
    sides
}

/// Image `index`'s side in `sides`, when a run has split the dataset and the image is in it.
pub fn side_of(sides: Option<&[Side]>, index: usize) -> Option<Side> {
    sides.and_then(|s| s.get(index).copied())
}

/// The side of square thumbnails `side` asks for (8 to 256 px; [`THUMBNAIL_SIDE`] when
/// `None`).
///
/// # Errors
/// [`crate::ErrorKind::Misuse`] outside 8 to 256.
pub fn thumbnail_side(side: Option<u32>) -> Result<u32> {
    match side.unwrap_or(THUMBNAIL_SIDE) {
        s @ 8..=256 => Ok(s),
        s => Err(Error::misuse(format!("a thumbnail side of {s} px: use 8 to 256"))),
    }
}

/// Which page of which images a gallery shows: `{ label, split, page, perPage, side }`, each
/// optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GalleryFilter {
    /// Only images with this label present.
    pub label: Option<String>,
    /// Only images on this side of the last run's split.
    pub split: Option<Side>,
    /// 0-based page, clamped to the last one.
    pub page: usize,
    /// Images a page, clamped to 1 to [`MOST_IMAGES`].
    pub per_page: usize,
    /// Thumbnail side in pixels (see [`thumbnail_side`]).
    pub side: Option<u32>,
}

/// One page of the images a [`GalleryFilter`] selects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GalleryPage {
    /// Images selected, on every page.
    pub total: usize,
    /// The page shown (0-based).
    pub page: usize,
    /// Pages in all (at least one, empty or not).
    pub pages: usize,
    /// The images of this page, in dataset order.
    #[serde(skip)]
    pub indices: Vec<usize>,
}

impl GalleryFilter {
    /// The page of images this filter selects among images labelled `targets` (row-major,
    /// `labels.len()` 0/1 values an image), whose sides are `sides` when a run has split
    /// them.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Misuse`] for a split asked before any run, or a label the dataset
    /// does not have.
    pub fn select(
        &self,
        labels: &[String],
        targets: &[u8],
        sides: Option<&[Side]>,
    ) -> Result<GalleryPage> {
        if self.split.is_some() && sides.is_none() {
            return Err(Error::misuse(
                "no training run has split this dataset yet; train first to filter by split",
            ));
        }
        let column = match &self.label {
            None => None,
            Some(name) => Some(
                (labels.iter().position(|l| l == name))
                    .ok_or_else(|| Error::no_such_label("dataset", name, labels))?,
            ),
        };
        let images = targets.len().checked_div(labels.len()).unwrap_or(0);
        let matching: Vec<usize> = (0..images)
            .filter(|&i| column.is_none_or(|j| targets[i * labels.len() + j] == 1))
            .filter(|&i| self.split.is_none_or(|s| side_of(sides, i) == Some(s)))
            .collect();
        let per_page = self.per_page.clamp(1, MOST_IMAGES);
        let pages = matching.len().div_ceil(per_page).max(1);
        let page = self.page.min(pages - 1);
        let indices = matching.iter().skip(page * per_page).take(per_page).copied().collect();
        Ok(GalleryPage { total: matching.len(), page, pages, indices })
    }
}

/// What a gallery shows of one image, thumbnail aside.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GalleryImage {
    /// The image's index in the dataset.
    pub index: usize,
    /// Its path in the zip.
    pub name: String,
    /// The labels present on it, in the dataset's order.
    pub labels: Vec<String>,
    /// Its side of the last run's split (`null` before a run).
    pub split: Option<Side>,
}

impl GalleryImage {
    /// Image `index` of a dataset whose image names are `names`, labelled as in
    /// [`GalleryFilter::select`].
    pub fn new(
        index: usize,
        names: &[String],
        labels: &[String],
        targets: &[u8],
        sides: Option<&[Side]>,
    ) -> Self {
        let row = &targets[index * labels.len()..(index + 1) * labels.len()];
        GalleryImage {
            index,
            name: names[index].clone(),
            labels: labels
                .iter()
                .zip(row)
                .filter(|(_, t)| **t == 1)
                .map(|(l, _)| l.clone())
                .collect(),
            split: side_of(sides, index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["cat".into(), "dog".into()]
    }

    /// Five images: 0 cat, 1 dog, 2 both, 3 none, 4 cat.
    const TARGETS: [u8; 10] = [1, 0, 0, 1, 1, 1, 0, 0, 1, 0];

    fn filter(
        label: Option<&str>,
        split: Option<Side>,
        page: usize,
        per_page: usize,
    ) -> GalleryFilter {
        GalleryFilter { label: label.map(Into::into), split, page, per_page, side: None }
    }

    #[test]
    fn split_sides_marks_the_validation_images() {
        use Side::*;
        assert_eq!(split_sides(4, &[3, 1]), vec![Train, Valid, Train, Valid]);
        assert_eq!(split_sides(2, &[]), vec![Train, Train]);
        let sides = split_sides(2, &[1]);
        assert_eq!(side_of(Some(&sides), 1), Some(Valid));
        assert_eq!(side_of(Some(&sides), 2), None);
        assert_eq!(side_of(None, 0), None);
        assert_eq!(serde_json::to_string(&sides).unwrap(), r#"["train","valid"]"#);
    }

    #[test]
    fn thumbnail_sides_default_and_stay_in_range() {
        assert_eq!(thumbnail_side(None).unwrap(), THUMBNAIL_SIDE);
        assert_eq!(thumbnail_side(Some(8)).unwrap(), 8);
        assert_eq!(thumbnail_side(Some(256)).unwrap(), 256);
        for bad in [0, 7, 257] {
            let e = thumbnail_side(Some(bad)).unwrap_err();
            assert_eq!(e.to_string(), format!("a thumbnail side of {bad} px: use 8 to 256"));
        }
    }

    #[test]
    fn a_label_selects_the_images_it_is_present_on() {
        let page = filter(Some("cat"), None, 0, 48).select(&labels(), &TARGETS, None).unwrap();
        assert_eq!((page.total, page.page, page.pages), (3, 0, 1));
        assert_eq!(page.indices, vec![0, 2, 4]);
        let all = filter(None, None, 0, 48).select(&labels(), &TARGETS, None).unwrap();
        assert_eq!(all.indices, vec![0, 1, 2, 3, 4]);
        let e = filter(Some("bird"), None, 0, 48).select(&labels(), &TARGETS, None).unwrap_err();
        assert_eq!(e.to_string(), "the dataset has no label 'bird'; its labels are cat, dog");
    }

    #[test]
    fn a_split_side_needs_a_run_and_selects_its_images() {
        let e =
            filter(None, Some(Side::Valid), 0, 48).select(&labels(), &TARGETS, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no training run has split this dataset yet; train first to filter by split"
        );
        let sides = split_sides(5, &[1, 4]);
        let valid = filter(None, Some(Side::Valid), 0, 48);
        assert_eq!(valid.select(&labels(), &TARGETS, Some(&sides)).unwrap().indices, vec![1, 4]);
        let train_cats = filter(Some("cat"), Some(Side::Train), 0, 48);
        assert_eq!(
            train_cats.select(&labels(), &TARGETS, Some(&sides)).unwrap().indices,
            vec![0, 2]
        );
    }

    #[test]
    fn pages_are_clamped_and_never_fewer_than_one() {
        let select = |page, per_page| {
            filter(None, None, page, per_page).select(&labels(), &TARGETS, None).unwrap()
        };
        let second = select(1, 2);
        assert_eq!((second.total, second.page, second.pages), (5, 1, 3));
        assert_eq!(second.indices, vec![2, 3]);
        // Past the end: the last page.
        let last = select(9, 2);
        assert_eq!((last.page, last.indices), (2, vec![4]));
        // perPage 0 shows one image a page; more than MOST_IMAGES shows MOST_IMAGES.
        assert_eq!(select(0, 0).pages, 5);
        let many = vec![0u8; 2 * 450];
        let big = filter(None, None, 0, 1000).select(&labels(), &many, None).unwrap();
        assert_eq!((big.indices.len(), big.pages), (MOST_IMAGES, 3));
        // Nothing selected is still one (empty) page.
        let none = filter(Some("dog"), None, 3, 48).select(&labels(), &many, None).unwrap();
        assert_eq!((none.total, none.page, none.pages, none.indices.len()), (0, 0, 1, 0));
        assert_eq!(serde_json::to_string(&none).unwrap(), r#"{"total":0,"page":0,"pages":1}"#);
    }

    #[test]
    fn the_filter_reads_the_pages_object() {
        let f: GalleryFilter =
            serde_json::from_str(r#"{"label":"cat","split":"valid","perPage":12,"side":64}"#)
                .unwrap();
        assert_eq!(
            f,
            GalleryFilter {
                label: Some("cat".into()),
                split: Some(Side::Valid),
                page: 0,
                per_page: 12,
                side: Some(64)
            }
        );
        let f: GalleryFilter = serde_json::from_str(r#"{"label":null,"split":null}"#).unwrap();
        assert_eq!(f, GalleryFilter::default());
    }

    #[test]
    fn an_image_shows_its_name_labels_and_side() {
        let names: Vec<String> = (0..5).map(|i| format!("img{i}.png")).collect();
        let sides = split_sides(5, &[2]);
        let image = GalleryImage::new(2, &names, &labels(), &TARGETS, Some(&sides));
        assert_eq!(image.name, "img2.png");
        assert_eq!(image.labels, vec!["cat".to_string(), "dog".to_string()]);
        assert_eq!(
            serde_json::to_string(&image).unwrap(),
            r#"{"index":2,"name":"img2.png","labels":["cat","dog"],"split":"valid"}"#
        );
        let plain = GalleryImage::new(3, &names, &labels(), &TARGETS, None);
        assert!(plain.labels.is_empty());
        assert_eq!(plain.split, None);
    }
}
