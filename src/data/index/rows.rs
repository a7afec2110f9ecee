//! How the parsed rows are stored and read: column-wise (one image-path arena, one flat 0/1
//! label table), borrowed as [`IndexRow`]s, with duplicates found without a map per row.

use std::hash::{BuildHasher, Hash, Hasher};

use super::super::archive::normalised_components;
use super::{IndexCsv, IndexRow, offset, text};

impl IndexCsv {
    /// An index made from a listing rather than a file (the folder-per-label layout,
    /// `data/folders.rs`): the file column is called `image`, each row's path is its zip entry
    /// and `targets` holds `paths.len() × labels.len()` 0/1 values, row-major. Its rows have
    /// no line (0), no split and no group.
    pub(in crate::data) fn from_listing(
        labels: Vec<String>,
        paths: &[String],
        targets: Vec<u8>,
    ) -> Self {
        debug_assert_eq!(targets.len(), paths.len() * labels.len());
        let mut images = Vec::with_capacity(paths.iter().map(String::len).sum());
        let mut image_ends = Vec::with_capacity(paths.len());
        for path in paths {
            images.extend_from_slice(path.as_bytes());
            image_ends.push(offset(images.len()));
        }
        Self {
            image_column: "image".into(),
            labels,
            warnings: Vec::new(),
            problems: Vec::new(),
            has_split: false,
            group_column: None,
            group_count: 0,
            images,
            image_ends,
            lines: vec![0; paths.len()],
            targets,
            splits: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Number of usable rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no row is usable.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Usable row `i`.
    ///
    /// # Panics
    /// When `i` is not below [`IndexCsv::len`].
    pub fn row(&self, i: usize) -> IndexRow<'_> {
        let start = if i == 0 { 0 } else { self.image_ends[i - 1] as usize };
        let l = self.labels.len();
        IndexRow {
            line: self.lines[i].into(),
            image: text(&self.images[start..self.image_ends[i] as usize]),
            labels: &self.targets[i * l..(i + 1) * l],
            split: self.splits.get(i).copied(),
            group: self.groups.get(i).copied().filter(|&g| g != super::NO_GROUP),
        }
    }

    /// The usable rows, in file order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = IndexRow<'_>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// The multi-hot targets of every usable row, row-major (`len × labels.len()`).
    pub fn targets(&self) -> &[u8] {
        &self.targets
    }

    /// Sets label `label` (a column index) of row `row` to `value` (0 or 1).
    pub(crate) fn set_target(&mut self, row: usize, label: usize, value: u8) {
        let l = self.labels.len();
        self.targets[row * l + label] = value;
    }

    /// Keeps the rows for which `keep(row index)` is true, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let l = self.labels.len();
        let (mut kept, mut start) = (0, 0);
        for row in 0..self.len() {
            let end = self.image_ends[row] as usize;
            if keep(row) {
                self.targets.copy_within(row * l..(row + 1) * l, kept * l);
                if let Some(&tag) = self.splits.get(row) {
                    self.splits[kept] = tag;
                }
                if let Some(&group) = self.groups.get(row) {
                    self.groups[kept] = group;
                }
                self.move_row(row, start, kept);
                kept += 1;
            }
            start = end;
        }
        self.truncate(kept);
    }

    /// Moves the line and image of row `row` (whose image starts at `start`) to row `to`, where
    /// `to <= row` and rows before `to` are already in place.
    pub(super) fn move_row(&mut self, row: usize, start: usize, to: usize) {
        let end = self.image_ends[row] as usize;
        let to_start = if to == 0 { 0 } else { self.image_ends[to - 1] as usize };
        self.images.copy_within(start..end, to_start);
        self.image_ends[to] = offset(to_start + end - start);
        self.lines[to] = self.lines[row];
    }

    /// Keeps the first `rows` rows (targets and splits are already that long, or longer).
    pub(super) fn truncate(&mut self, rows: usize) {
        let image_bytes = if rows == 0 { 0 } else { self.image_ends[rows - 1] as usize };
        self.images.truncate(image_bytes);
        self.image_ends.truncate(rows);
        self.lines.truncate(rows);
        self.targets.truncate(rows * self.labels.len());
        self.splits.truncate(rows);
        self.groups.truncate(rows);
        for v in [&mut self.images, &mut self.targets] {
            v.shrink_to_fit();
        }
        self.image_ends.shrink_to_fit();
        self.lines.shrink_to_fit();
        self.splits.shrink_to_fit();
        self.groups.shrink_to_fit();
    }

    /// Each usable row's group id ([`super::NO_GROUP`] for none), when the file has a `group`
    /// column.
    pub fn groups(&self) -> Option<&[u32]> {
        self.group_column.is_some().then_some(self.groups.as_slice())
    }

    /// For every row with an image path, in row order, `row << 32 | first`: `first` is the line
    /// of the earlier row listing the same image (paths compared as
    /// [`super::archive::normalise`] writes them), or 0. Costs 8 bytes per row and no
    /// allocation per row: the rows are sorted by a hash of their path, rows of equal hash
    /// compared, and the result sorted back.
    pub(super) fn first_listings(&self) -> Vec<u64> {
        let state = std::collections::hash_map::RandomState::new();
        let image = |row: usize| {
            let start = if row == 0 { 0 } else { self.image_ends[row - 1] as usize };
            text(&self.images[start..self.image_ends[row] as usize])
        };
        let hash = |path: &str| {
            let mut hasher = state.build_hasher();
            normalised_components(path).for_each(|c| c.hash(&mut hasher));
            hasher.finish() as u32
        };
        let mut keys: Vec<u64> = Vec::with_capacity(self.len());
        keys.extend(
            (0..self.len())
                .filter(|&row| !image(row).is_empty())
                .map(|row| (u64::from(hash(image(row))) << 32) | row as u64),
        );
        keys.sort_unstable();
        // Rows of one hash, in row order: the first row of each distinct path among them.
        let mut firsts: Vec<usize> = Vec::new();
        let mut previous_hash = None;
        for key in keys.iter_mut() {
            let (hash, row) = (*key >> 32, (*key & u64::from(u32::MAX)) as usize);
            if previous_hash != Some(hash) {
                firsts.clear();
                previous_hash = Some(hash);
            }
            let same = |&&first: &&usize| {
                normalised_components(image(first)).eq(normalised_components(image(row)))
            };
            let first_line = match firsts.iter().find(same) {
                Some(&first) => self.lines[first],
                None => {
                    firsts.push(row);
                    0
                }
            };
            *key = ((row as u64) << 32) | u64::from(first_line);
        }
        keys.sort_unstable();
        keys
    }
}
