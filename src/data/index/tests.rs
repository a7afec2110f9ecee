//! `index.csv` parsing, case by case.

use super::*;

#[test]
fn parses_a_plain_index() {
    let csv = IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,0,1\n").unwrap();
    assert_eq!(csv.image_column, "image");
    assert_eq!(csv.labels, vec!["a", "b"]);
    assert_eq!(csv.row(1).line, 3);
    assert_eq!(csv.row(1).labels, [0, 1]);
}

#[test]
fn bom_crlf_and_float_values_are_accepted() {
    let csv = IndexCsv::parse(b"\xEF\xBB\xBFimage,a\r\nx.png, 1.0 \r\n").unwrap();
    assert_eq!(csv.row(0).labels, [1]);
}

#[test]
fn a_two_is_an_error_with_line_and_column() {
    let csv = IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,0,2\n").unwrap();
    let err = &csv.problems[0];
    assert_eq!(csv.len(), 1, "the bad row is left out");
    assert_eq!(
        err.kind(),
        &ErrorKind::BadLabelValue { line: 3, column: "b".into(), value: "2".into() }
    );
    assert!(err.to_string().contains("line 3"));
}

#[test]
fn duplicates_name_both_lines() {
    let csv = IndexCsv::parse(b"image,a\nx.png,1\n./x.png,0\n").unwrap();
    assert!(matches!(
        csv.problems[0].kind(),
        ErrorKind::DuplicateRow { line: 3, first_line: 2, .. }
    ));
}

#[test]
fn note_columns_are_left_out_with_a_warning() {
    let csv = IndexCsv::parse(b"image,note,a\nx.png,hello,1\ny.png,bye,0\n").unwrap();
    assert_eq!(csv.labels, vec!["a"]);
    assert!(csv.warnings.iter().any(|w| w.contains("note")));
}

#[test]
fn semicolons_are_detected() {
    let csv = IndexCsv::parse(b"image;a\nx.png;1\n").unwrap();
    assert_eq!(csv.labels, vec!["a"]);
}

#[test]
fn empty_and_header_only_files_are_errors() {
    assert!(matches!(IndexCsv::parse(b"").unwrap_err().kind(), ErrorKind::Csv { line: 1, .. }));
    assert!(matches!(
        IndexCsv::parse(b"image,a\n").unwrap_err().kind(),
        ErrorKind::EmptyDataset { .. }
    ));
}

#[test]
fn short_rows_name_their_line() {
    let csv = IndexCsv::parse(b"image,a,b\nx.png,1\ny.png,1,0\n").unwrap();
    assert!(matches!(csv.problems[0].kind(), ErrorKind::Csv { line: 2, .. }));
}

#[test]
fn every_row_problem_is_collected() {
    let csv =
        IndexCsv::parse(b"image,a,b\nx.png,1,0\ny.png,2,0\nx.png,0,1\nz.png,0,yes\n").unwrap();
    let lines: Vec<u64> = csv
        .problems
        .iter()
        .map(|p| match p.kind() {
            ErrorKind::BadLabelValue { line, .. } | ErrorKind::DuplicateRow { line, .. } => *line,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lines, vec![3, 4, 5]);
    assert_eq!(csv.len(), 1);
}

#[test]
fn the_split_column_is_read_and_checked() {
    let csv = IndexCsv::parse(
        b"image,a,split\nx.png,1,train\ny.png,0,Valid\nz.png,1, test \nw.png,0,later\n",
    )
    .unwrap();
    assert!(csv.has_split);
    assert_eq!(csv.labels, vec!["a"]);
    let tags: Vec<_> = csv.rows().map(|r| r.split).collect();
    assert_eq!(tags, vec![Some(SplitTag::Train), Some(SplitTag::Valid), Some(SplitTag::Test)]);
    assert!(
        matches!(csv.problems[0].kind(), ErrorKind::Csv { line: 5, column: Some(c), .. } if c == "split")
    );
}

#[test]
fn columns_over_the_limit_name_their_line_and_quoted_delimiters_do_not_count() {
    let limits = Limits { max_columns: 3, ..Limits::default() };
    let csv = IndexCsv::parse_with(b"image,a,b\n\"x,y.png\",1,0\n", &limits).unwrap();
    assert_eq!(csv.row(0).image, "x,y.png");
    let err = IndexCsv::parse_with(b"image,a,b\nx.png,1,0\n\ny.png,1,0,1\n", &limits).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Limit { what: "column count", place, actual: 4, .. }
            if place == "index.csv line 4"),
        "{err}"
    );
}

#[test]
fn repeated_problems_are_counted_beyond_those_kept() {
    let mut text = b"image,a\n".to_vec();
    for _ in 0..crate::PROBLEMS_KEPT + 10 {
        text.extend(b"x.png,1\n");
    }
    let csv = IndexCsv::parse(&text).unwrap();
    assert_eq!(csv.len(), 1);
    assert_eq!(csv.problems.len(), crate::PROBLEMS_KEPT + 1);
    let last = csv.problems[crate::PROBLEMS_KEPT].to_string();
    assert!(last.starts_with("9 more problems are not listed"), "{last}");
    let all = Error::from_problems(csv.problems).unwrap();
    assert_eq!(all.problem_count(), crate::PROBLEMS_KEPT + 9);
    let text = all.to_string();
    assert!(text.starts_with(&format!("the dataset has {} problems", crate::PROBLEMS_KEPT + 9)));
    assert!(
        text.ends_with(&format!("… and {} more", crate::PROBLEMS_KEPT + 9 - 50)),
        "{text:.200}"
    );
}

#[test]
fn retain_keeps_rows_labels_and_splits_aligned() {
    let mut csv = IndexCsv::parse(
        b"image,a,b,split\nw.png,1,0,train\nlonger/x.png,0,1,valid\ny.png,1,1,test\nz.png,0,0,train\n",
    )
    .unwrap();
    csv.retain(|i| i % 2 == 1);
    let rows: Vec<_> = csv.rows().map(|r| (r.line, r.image, r.labels.to_vec(), r.split)).collect();
    assert_eq!(
        rows,
        vec![
            (3, "longer/x.png", vec![0, 1], Some(SplitTag::Valid)),
            (5, "z.png", vec![0, 0], Some(SplitTag::Train)),
        ]
    );
    assert_eq!(csv.targets(), [0, 1, 0, 0]);
}

#[test]
fn windows_1252_and_utf16_are_converted() {
    let csv = IndexCsv::parse(b"image,a\n\x93x\x94.png,1\n").unwrap();
    assert_eq!(csv.row(0).image, "\u{201C}x\u{201D}.png");
    assert!(csv.warnings[0].contains("line 2"), "{:?}", csv.warnings);
    let mut utf16 = vec![0xFF, 0xFE];
    "image,a\nx.png,1\n".encode_utf16().for_each(|u| utf16.extend(u.to_le_bytes()));
    assert_eq!(IndexCsv::parse(&utf16).unwrap().row(0).image, "x.png");
}
