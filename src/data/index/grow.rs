//! An index that grows in the page: a label column added (every row 0), a row added for an
//! image the person captured or brought in (every label 0), and either taken back (undo). The
//! rows and columns the file had are never renumbered: additions go at the end.

use crate::limits::MAX_LABEL_BYTES;

use super::{IndexCsv, NO_GROUP, SplitTag, offset};

impl IndexCsv {
    /// Adds label column `name` at the end, 0 for every row.
    pub(crate) fn push_label(&mut self, name: &str) {
        let old = self.labels.len();
        let mut targets = Vec::with_capacity(self.len() * (old + 1));
        for row in 0..self.len() {
            targets.extend_from_slice(&self.targets[row * old..(row + 1) * old]);
            targets.push(0);
        }
        self.targets = targets;
        self.labels.push(name.to_string());
    }

    /// Removes label column `column` (its values go with it).
    pub(crate) fn remove_label(&mut self, column: usize) {
        let old = self.labels.len();
        if column >= old {
            return;
        }
        let targets: Vec<u8> = self
            .targets
            .chunks_exact(old)
            .flat_map(|row| row.iter().enumerate().filter(|(j, _)| *j != column).map(|(_, v)| *v))
            .collect();
        self.targets = targets;
        self.labels.remove(column);
    }

    /// Adds a row for `image` at the end: every label 0, on the training side when the file
    /// has a `split` column, in a group of its own when it has a `group` column, line 0 (it is
    /// in no file yet).
    pub(crate) fn push_row(&mut self, image: &str) {
        self.images.extend_from_slice(image.as_bytes());
        self.image_ends.push(offset(self.images.len()));
        self.lines.push(0);
        self.targets.extend(std::iter::repeat_n(0, self.labels.len()));
        if self.has_split {
            self.splits.push(SplitTag::Train);
        }
        if self.group_column.is_some() {
            self.groups.push(NO_GROUP);
        }
    }

    /// Removes row `row` (excluded, or an added one taken back), the later rows moving up.
    pub(crate) fn remove_row(&mut self, row: usize) {
        self.retain(|i| i != row);
    }
}

/// Why `name` cannot be a new label beside `labels`, with what to do; `None` when it can: not
/// blank, at most [`MAX_LABEL_BYTES`], no control characters, not `image` (the file column of
/// `index.csv`), and different from every label in more than case.
pub(crate) fn new_label_problem(name: &str, labels: &[String]) -> Option<String> {
    if name.trim().is_empty() {
        Some("a label needs a name".into())
    } else if name != name.trim() {
        Some("a label's name cannot start or end with a space".into())
    } else if name.len() > MAX_LABEL_BYTES {
        Some(format!(
            "the name is {} bytes long, and a label holds at most {MAX_LABEL_BYTES}; choose a shorter one",
            name.len()
        ))
    } else if name.chars().any(char::is_control) {
        Some("the name holds control characters (a line break, a tab, …); choose another".into())
    } else if super::FILE_COLUMNS.iter().any(|c| name.eq_ignore_ascii_case(c)) {
        Some(format!(
            "'{name}' names the file column of index.csv and cannot be a label; choose another name"
        ))
    } else {
        let same = labels.iter().find(|l| l.to_lowercase() == name.to_lowercase());
        same.map(|same| format!("the dataset has a label '{same}' already"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> IndexCsv {
        IndexCsv::parse(b"image,cat,dog,split\na.png,1,0,train\nb.png,0,1,valid\n").unwrap()
    }

    #[test]
    fn a_label_added_is_zero_everywhere_and_taken_back_whole() {
        let mut index = index();
        index.push_label("bird");
        assert_eq!(index.labels, ["cat", "dog", "bird"]);
        assert_eq!(index.targets(), [1, 0, 0, 0, 1, 0]);
        index.set_target(1, 2, 1);
        assert_eq!(index.row(1).labels, [0, 1, 1]);
        index.remove_label(2);
        assert_eq!(index.labels, ["cat", "dog"]);
        assert_eq!(index.targets(), [1, 0, 0, 1]);
        index.remove_label(0);
        assert_eq!(index.labels, ["dog"]);
        assert_eq!(index.targets(), [0, 1]);
    }

    #[test]
    fn a_row_added_has_no_label_and_trains_and_is_taken_back_whole() {
        let mut index = index();
        index.push_row("captured/1.jpg");
        assert_eq!(index.len(), 3);
        let row = index.row(2);
        assert_eq!(
            (row.image, row.labels, row.split, row.line),
            ("captured/1.jpg", &[0, 0][..], Some(SplitTag::Train), 0)
        );
        index.push_row("captured/2.jpg");
        index.remove_row(2);
        assert_eq!(index.len(), 3);
        assert_eq!(index.row(2).image, "captured/2.jpg");
        assert_eq!(index.row(1).image, "b.png");
        assert_eq!(index.targets(), [1, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn new_label_names_are_checked_against_the_others() {
        let labels = vec!["Cat".to_string()];
        assert_eq!(new_label_problem("dog", &labels), None);
        for (name, expected) in [
            ("", "needs a name"),
            (" dog", "start or end with a space"),
            ("cat", "has a label 'Cat' already"),
            ("Image", "names the file column"),
            ("a\tb", "control characters"),
        ] {
            let problem = new_label_problem(name, &labels).unwrap_or_default();
            assert!(problem.contains(expected), "{name:?}: {problem}");
        }
        assert!(new_label_problem(&"x".repeat(MAX_LABEL_BYTES + 1), &labels).is_some());
    }
}
