//! Finding images that are the same: the same file bytes (by the zip's CRC-32 and size, before
//! decoding) or the same pixels once decoded at the training size. The split keeps each set on
//! one side, so that a copy never validates its own original.

/// 64-bit FNV-1a, the project's one content hash: it tells identical buffers apart from
/// different ones (duplicate detection here, a run file's dataset fingerprint). Not for
/// anything an adversary may want to collide.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    /// The hash of nothing yet.
    pub(crate) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `bytes` to what is hashed.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash of everything written.
    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

/// The FNV-1a hash of one buffer.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = Fnv1a::new();
    hash.write(bytes);
    hash.finish()
}

/// Sets of indices sharing a key, each in index order, sets ordered by their first index.
pub(super) fn equal_sets(keys: impl IntoIterator<Item = (u64, usize)>) -> Vec<Vec<usize>> {
    let mut keys: Vec<(u64, usize)> = keys.into_iter().collect();
    keys.sort_unstable();
    let mut sets: Vec<Vec<usize>> = keys
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| run.iter().map(|&(_, i)| i).collect())
        .collect();
    sets.sort_unstable_by_key(|set| set[0]);
    sets
}

/// Merges sets of indices that share an index (union–find), each in index order.
pub(super) fn merge_sets(n: usize, sets: impl IntoIterator<Item = Vec<usize>>) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut touched = Vec::new();
    for set in sets {
        for pair in set.windows(2) {
            let (a, b) = (root(&mut parent, pair[0]), root(&mut parent, pair[1]));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        touched.extend(set);
    }
    let keys = touched.into_iter().map(|i| (root(&mut parent, i) as u64, i));
    let mut sets = equal_sets(keys);
    for set in &mut sets {
        set.dedup();
    }
    sets.retain(|s| s.len() > 1);
    sets
}

/// The key of a zip entry's bytes, from its CRC-32 and size (the zip's own record: nothing is
/// inflated).
pub(super) fn byte_key(crc: u32, size: u64) -> u64 {
    (u64::from(crc) << 32) ^ size
}

/// The warning for byte-for-byte copies, naming one example pair; `None` when there is none.
pub(super) fn byte_duplicates_warning(sets: &[Vec<usize>], names: &[String]) -> Option<String> {
    let example = sets.first()?;
    let copies: usize = sets.iter().map(|s| s.len() - 1).sum();
    Some(format!(
        "{copies} image(s) are byte-for-byte copies of others (e.g. {} and {}); each set is kept on one side of the split",
        names[example[0]], names[example[1]]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_make_sets_in_index_order() {
        let sets = equal_sets([(7, 3), (5, 0), (7, 1), (9, 2), (5, 4), (7, 5)]);
        assert_eq!(sets, [vec![0, 4], vec![1, 3, 5]]);
        assert!(equal_sets([(1, 0), (2, 1)]).is_empty());
    }

    #[test]
    fn sets_sharing_an_index_merge() {
        let merged = merge_sets(8, [vec![1, 4], vec![4, 6], vec![2, 3], vec![6, 1]]);
        assert_eq!(merged, [vec![1, 4, 6], vec![2, 3]]);
    }

    #[test]
    fn the_warning_counts_copies_and_names_an_example() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).into();
        let warning = byte_duplicates_warning(&[vec![0, 2, 3]], &names).unwrap();
        assert!(
            warning.starts_with("2 image(s) are byte-for-byte copies of others (e.g. a and c)")
        );
        assert_eq!(byte_duplicates_warning(&[], &names), None);
        assert_ne!(fnv1a(b"ab"), fnv1a(b"ba"));
    }
}
