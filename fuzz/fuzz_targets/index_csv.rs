//! Fuzzes the `index.csv` parser with arbitrary bytes (any encoding, any delimiter, quotes,
//! huge or ragged rows): it must return `Ok` or a typed error, never panic, and never keep
//! more than a bounded number of problems. See ../Cargo.toml for how to run it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagtrain::data::IndexCsv;
use tagtrain::{Limits, PROBLEMS_KEPT};

fuzz_target!(|bytes: &[u8]| {
    let limits = Limits { max_columns: 64, ..Limits::default() };
    if let Ok(index) = IndexCsv::parse_with(bytes, &limits) {
        assert!(index.problems.len() <= PROBLEMS_KEPT + 1);
        for row in index.rows() {
            assert_eq!(row.labels.len(), index.labels.len());
            assert!(row.labels.iter().all(|v| *v <= 1));
            assert!(!row.image.is_empty());
        }
        assert_eq!(index.targets().len(), index.len() * index.labels.len());
    }
});
