//! `tagtrain label-errors` on a dataset with planted label mistakes: k-fold cross-validation
//! gives every image a probability from a model that did not train on it, and confident
//! learning lists the planted mistakes first.

use crate::common;

use std::process::{Command, Output};

fn tagtrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tagtrain")).args(args).output().expect("the binary runs")
}

/// 48 images of three colours, each a little different (identical images would be
/// duplicates, which cross-validation keeps in one fold): red (`red`), blue (`blue`) and
/// purple (both). Three labels are wrong: image 0 (red) is also tagged blue, image 20 (blue)
/// lacks blue, image 40 (purple) lacks red.
fn colours_with_mistakes() -> Vec<u8> {
    let mut csv = String::from("image,red,blue\n");
    let mut files = Vec::new();
    for i in 0..48u8 {
        let (mut red, mut blue) = match i / 16 {
            0 => (1, 0),
            1 => (0, 1),
            _ => (1, 1),
        };
        let shade = 3 * (i % 16);
        let rgb = [200 * red + shade, 40 + shade / 2, 200 * blue + shade];
        match i {
            0 => blue = 1,
            20 => blue = 0,
            40 => red = 0,
            _ => {}
        }
        csv.push_str(&format!("c{i}.png,{red},{blue}\n"));
        files.push((format!("c{i}.png"), common::solid_png(16, 16, rgb)));
    }
    let mut entries: Vec<(&str, Vec<u8>)> = vec![("index.csv", csv.into_bytes())];
    entries.extend(files.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())));
    common::zip_of(&entries)
}

#[test]
fn the_planted_mistakes_are_the_most_suspicious() {
    let dir = std::env::temp_dir().join(format!("tagtrain-label-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("colours.zip");
    std::fs::write(&data, colours_with_mistakes()).unwrap();
    let probabilities = dir.join("probabilities.csv");
    let out = tagtrain(&[
        "label-errors",
        data.to_str().unwrap(),
        "--json",
        "--folds",
        "3",
        "--epochs",
        "10",
        "--image-size",
        "8",
        "--batch-size",
        "8",
        "--probabilities",
        probabilities.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let suspects: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let suspects = suspects.as_array().expect("an array");
    let top: Vec<(String, String, u64)> = suspects
        .iter()
        .take(3)
        .map(|s| {
            (
                s["image"].as_str().unwrap().to_string(),
                s["label"].as_str().unwrap().to_string(),
                s["given"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut top_sorted = top.clone();
    top_sorted.sort();
    let planted = vec![
        ("c0.png".to_string(), "blue".to_string(), 1),
        ("c20.png".to_string(), "blue".to_string(), 0),
        ("c40.png".to_string(), "red".to_string(), 0),
    ];
    assert_eq!(top_sorted, planted, "{suspects:#?}");
    let scores: Vec<f64> = suspects.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "most suspicious first: {scores:?}");
    assert!(scores[..3].iter().all(|&s| s > 0.5), "sure of the planted ones: {scores:?}");
    for s in suspects {
        let (given, suggested) = (s["given"].as_u64().unwrap(), s["suggested"].as_u64().unwrap());
        assert_eq!(given + suggested, 1, "{s}");
    }

    // Every image has one out-of-sample probability a label.
    let csv = std::fs::read_to_string(&probabilities).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("image,red,blue"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 48);
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields.len(), 3, "{row}");
        for p in &fields[1..] {
            let p: f32 = p.parse().unwrap();
            assert!((0.0..=1.0).contains(&p), "{row}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_fold_count_out_of_range_names_the_flag() {
    let dir = std::env::temp_dir().join(format!("tagtrain-label-folds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("colours.zip");
    std::fs::write(&data, colours_with_mistakes()).unwrap();
    let out = tagtrain(&["label-errors", data.to_str().unwrap(), "--folds", "1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--folds 1: use 2 to 20"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

fn entry(zip: &[u8], name: &str) -> (Vec<u8>, u32, u64) {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut file = archive.by_name(name).unwrap_or_else(|_| panic!("{name} is in the zip"));
    let (crc, compressed) = (file.crc32(), file.compressed_size());
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    (bytes, crc, compressed)
}

#[test]
fn a_change_log_edits_index_csv_and_leaves_every_file_untouched() {
    let dir = std::env::temp_dir().join(format!("tagtrain-apply-changes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let index = "image,cat,dog,split\na.png,1,0,train\nb.png,0,1,valid\nc.png,1,1,train\n";
    let images: Vec<(String, Vec<u8>)> = (0..3u8)
        .map(|i| (format!("{}.png", (b'a' + i) as char), common::solid_png(8, 8, [40 * i, 90, 10])))
        .collect();
    let mut entries: Vec<(&str, Vec<u8>)> = vec![("index.csv", index.as_bytes().to_vec())];
    entries.extend(images.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())));
    let original = common::zip_of(&entries);
    let (data, changes, edited) =
        (dir.join("data.zip"), dir.join("changes.csv"), dir.join("edited.zip"));
    std::fs::write(&data, &original).unwrap();
    let log = "image,label,old,new,why\nb.png,cat,0,1,suspected label error (0.97) accepted\nc.png,dog,1,0,by hand\n";
    std::fs::write(&changes, log).unwrap();
    let run = |args: &[&std::path::Path], output: &std::path::Path| {
        let mut all = vec!["apply-changes"];
        all.extend(args.iter().map(|p| p.to_str().unwrap()));
        all.extend(["-o", output.to_str().unwrap()]);
        tagtrain(&all)
    };
    let out = run(&[&data, &changes], &edited);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let zip = std::fs::read(&edited).unwrap();
    for (name, bytes) in &images {
        let (copied, crc, compressed) = entry(&zip, name);
        let (_, original_crc, original_compressed) = entry(&original, name);
        assert_eq!(&copied, bytes, "{name}: the same bytes");
        assert_eq!((crc, compressed), (original_crc, original_compressed), "{name}: copied raw");
    }
    let index = String::from_utf8(entry(&zip, "index.csv").0).unwrap();
    assert_eq!(index, "image,cat,dog,split\na.png,1,0,train\nb.png,1,1,valid\nc.png,1,0,train\n");
    assert_eq!(String::from_utf8(entry(&zip, "changes.csv").0).unwrap(), log);

    // The edited zip is a dataset with the new labels.
    let inspect = tagtrain(&["inspect", edited.to_str().unwrap(), "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let counts: Vec<(String, u64)> = summary["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_string(), l["positives"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, vec![("cat".to_string(), 3), ("dog".to_string(), 1)], "{summary}");

    // The same log again does not fit the edited data: refused by line, nothing written.
    let again = dir.join("again.zip");
    let out = run(&[&edited, &changes], &again);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("changes.csv line 2: 'b.png' has cat = 1, not 0 as the change says"),
        "{stderr}"
    );
    assert!(!again.exists());

    // A second round's log is appended to the first's.
    let second = "image,label,old,new,why\na.png,dog,0,1,by hand\n";
    std::fs::write(&changes, second).unwrap();
    let out = run(&[&edited, &changes], &again);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log_now =
        String::from_utf8(entry(&std::fs::read(&again).unwrap(), "changes.csv").0).unwrap();
    assert_eq!(log_now, format!("{log}a.png,dog,0,1,by hand\n"));

    // A model trained on the edited data records its three edits; one fine-tuned from it on
    // the original data says that the data changed.
    let (first, second) = (dir.join("first.safetensors"), dir.join("second.safetensors"));
    let train =
        |data: &std::path::Path, output: &std::path::Path, init: Option<&std::path::Path>| {
            let mut args = vec!["train", data.to_str().unwrap(), "-o", output.to_str().unwrap()];
            args.extend(["--epochs", "1", "--image-size", "8", "--batch-size", "2", "--quiet"]);
            if let Some(init) = init {
                args.extend(["--init", init.to_str().unwrap()]);
            }
            let out = tagtrain(&args);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
    train(&again, &first, None);
    train(&data, &second, Some(&first));
    let metadata = tagtrain::checkpoint::read_metadata(&std::fs::read(&second).unwrap()).unwrap();
    let (before, after) = (&metadata.lineage[0], metadata.training.as_ref().unwrap());
    let (before, after) = (before.data.as_ref().unwrap(), after.data.as_ref().unwrap());
    assert_eq!((before.images, before.label_edits), (3, 3));
    assert_eq!((after.images, after.label_edits), (3, 0));
    assert_ne!(before.labels_digest, after.labels_digest);
    let shown = tagtrain(&["inspect", second.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("data with 3 label edit(s)"), "{shown}");
    assert!(shown.contains("the data changed since the previous run"), "{shown}");
    std::fs::remove_dir_all(&dir).ok();
}
