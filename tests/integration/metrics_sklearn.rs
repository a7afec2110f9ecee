//! tagtrain's metrics against scikit-learn on a 200×8 random case with ties, a label without
//! positives and all-negative rows. The expected values were computed by scikit-learn with
//! `tests/fixtures/sklearn_metrics.py` (the command is in its docstring) and stored with the
//! inputs in `tests/fixtures/sklearn_metrics.json`.

use serde_json::Value;
use tagtrain::metrics::evaluate;

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9, "{what}: tagtrain {a}, scikit-learn {b}");
}

#[test]
fn every_metric_matches_scikit_learn() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sklearn_metrics.json"
    ))
    .unwrap();
    let case: Value = serde_json::from_str(&text).unwrap();
    let floats = |key: &str| -> Vec<f32> {
        case[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
    };
    let probs = floats("probs");
    let thresholds = floats("thresholds");
    let targets: Vec<u8> =
        case["targets"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
    let names: Vec<String> = (0..8).map(|j| format!("label{j}")).collect();
    assert_eq!(probs.len(), 200 * 8);
    assert!(case["all_negative_rows"].as_u64().unwrap() > 0);

    let m = evaluate(&names, &probs, &targets, &thresholds);
    for (j, (ours, theirs)) in m.labels.iter().zip(case["labels"].as_array().unwrap()).enumerate() {
        close(ours.precision, theirs["precision"].as_f64().unwrap(), &format!("precision {j}"));
        close(ours.recall, theirs["recall"].as_f64().unwrap(), &format!("recall {j}"));
        close(ours.f1, theirs["f1"].as_f64().unwrap(), &format!("f1 {j}"));
        match (ours.ap, theirs["ap"].as_f64()) {
            (Some(a), Some(b)) => close(a, b, &format!("AP {j}")),
            (a, b) => assert_eq!(a, b, "AP {j} defined only with positives"),
        }
        match (ours.roc_auc, theirs["roc_auc"].as_f64()) {
            (Some(a), Some(b)) => close(a, b, &format!("ROC-AUC {j}")),
            (a, b) => assert_eq!(a, b, "ROC-AUC {j} defined only with both classes"),
        }
    }
    assert_eq!(m.labels[7].support, 0, "label 7 has no positives");
    close(m.map, case["map"].as_f64().unwrap(), "mAP");
    close(m.macro_roc_auc.unwrap(), case["macro_roc_auc"].as_f64().unwrap(), "macro ROC-AUC");
    close(m.micro_f1, case["micro_f1"].as_f64().unwrap(), "micro-F1");
    close(m.macro_f1, case["macro_f1"].as_f64().unwrap(), "macro-F1");
    close(m.hamming_loss, case["hamming_loss"].as_f64().unwrap(), "Hamming loss");
    close(m.subset_accuracy, case["subset_accuracy"].as_f64().unwrap(), "subset accuracy");
}
