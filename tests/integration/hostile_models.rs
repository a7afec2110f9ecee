//! Model files are hostile input (issue #32): every file of the corpus that
//! `scripts/hostile-models.mjs` makes from a good model (cut short, a header that lies, tensors
//! that do not fit, metadata out of every range) is refused by `tagtrain inspect` and
//! `tagtrain predict` with a message and a non-zero exit, never a panic or an abort, within
//! 64 MiB of memory beyond the file's own size and what the program takes to start. The one
//! good file of the corpus (markup in its label names) loads and predicts. Hostile sound clips
//! (issue #33) are held to the same rule, in a dataset.

#![cfg(unix)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const GOOD: &str = "tests/fixtures/library-v1/m1-digits/model.safetensors";
const DIGIT: &str = "tests/fixtures/digit.png";
/// What a refused file may cost beyond its size and the program's own start.
const BUDGET: u64 = 64 << 20;

/// One run of the binary: exit code, stderr, and the child's peak resident memory in bytes.
struct Run {
    success: bool,
    stderr: String,
    peak_bytes: u64,
}

/// Runs `tagtrain args…` and reads the child's peak resident set from `wait4`.
// The child is reaped by `wait4` (which also reports its peak memory), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(args: &[&str]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_tagtrain"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let mut status = 0;
    // SAFETY: `usage` is a plain C struct the call fills; `pid` is our own child, not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    Run {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        stderr: reader.join().unwrap(),
        // Linux reports ru_maxrss in KiB.
        peak_bytes: usage.ru_maxrss as u64 * 1024,
    }
}

/// The corpus, written by the repository's script into a fresh folder: `(file, why, good)`.
fn corpus() -> Vec<(PathBuf, String, bool)> {
    let dir = std::env::temp_dir().join(format!("tagtrain-hostile-models-{}", std::process::id()));
    let made = Command::new("node")
        .args(["scripts/hostile-models.mjs", GOOD, dir.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("node runs (scripts/test.sh installs it)");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let cases: Vec<_> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                dir.join(c["file"].as_str().unwrap()),
                c["why"].as_str().unwrap().to_string(),
                c["good"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(cases.len() >= 25, "the corpus shrank to {}", cases.len());
    cases
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn every_edited_model_file_is_refused_in_words_within_bounded_memory() {
    // What the program takes to start and read a good model, the baseline of the budget.
    let baseline = run(&["inspect", GOOD]);
    assert!(baseline.success, "the good model: {}", baseline.stderr);
    let mut report = Vec::new();
    for (path, why, good) in corpus() {
        let file = path.to_str().unwrap();
        for args in [vec!["inspect", file], vec!["predict", file, DIGIT]] {
            let run = run(&args);
            let case = format!("{} {} ({why})", args[0], path.file_name().unwrap().display());
            assert!(
                !run.stderr.contains("panicked") && !run.stderr.contains("memory allocation"),
                "{case}: {}",
                run.stderr
            );
            if good {
                assert!(run.success, "{case} should work: {}", run.stderr);
            } else {
                assert!(!run.success, "{case} was accepted");
                assert!(
                    run.stderr.contains("cannot be used") || run.stderr.contains("model"),
                    "{case}: the message does not say what is wrong: {}",
                    run.stderr
                );
            }
            let beyond = run.peak_bytes.saturating_sub(baseline.peak_bytes + size(&path));
            assert!(beyond <= BUDGET, "{case}: {} MiB beyond the budget's base", beyond >> 20);
            report.push(format!(
                "{case}: peak {:.1} MiB beyond the base; {}",
                beyond as f64 / f64::from(1 << 20),
                run.stderr.lines().last().unwrap_or("")
            ));
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn an_image_that_is_not_one_is_refused_in_prediction_words() {
    let garbage = std::env::temp_dir().join(format!("tagtrain-garbage-{}.png", std::process::id()));
    std::fs::write(&garbage, b"this is text, not a PNG").unwrap();
    let run = run(&["predict", GOOD, garbage.to_str().unwrap()]);
    assert!(!run.success);
    assert!(run.stderr.contains("give a JPEG or PNG image"), "{}", run.stderr);
    assert!(!run.stderr.contains("row"), "dataset wording: {}", run.stderr);
}

/// Hostile sound clips (issue #33): each `bad_*` file of `tests/fixtures/sounds/` (cut short, a
/// header claiming 18 hours or a 50 MHz rate, no samples, silence, text named `.mp3`, an Ogg
/// stream with no audio track, damaged MP3 and Ogg data) in a one-clip dataset is refused by
/// `tagtrain inspect`, naming the clip, never with a panic, within the same memory budget
/// beyond a good one-clip dataset.
#[test]
fn hostile_sound_clips_are_refused_by_name_within_bounded_memory() {
    let dir = std::env::temp_dir().join(format!("tagtrain-hostile-sounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sounds");
    let one_clip = |name: &str| {
        let bytes = std::fs::read(fixtures.join(name)).unwrap();
        let csv = format!("audio,a\n{name},1\n").into_bytes();
        let zip = dir.join(format!("{name}.zip"));
        std::fs::write(&zip, common::zip_of(&[("index.csv", csv), (name, bytes)])).unwrap();
        zip
    };
    let good = one_clip("tone_wav16_16k_stereo.wav");
    let baseline = run(&["inspect", good.to_str().unwrap()]);
    assert!(baseline.success, "the good clip: {}", baseline.stderr);
    let mut bad: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bad_"))
        .collect();
    bad.sort();
    assert!(bad.len() >= 10, "the hostile clips shrank to {}", bad.len());
    for name in bad {
        let zip = one_clip(&name);
        let run = run(&["inspect", zip.to_str().unwrap()]);
        assert!(!run.success, "{name} was accepted");
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("clip '{name}'")), "{name}: {}", run.stderr);
        let beyond = run.peak_bytes.saturating_sub(baseline.peak_bytes + size(&zip));
        assert!(beyond <= BUDGET, "{name}: {} MiB beyond the budget's base", beyond >> 20);
        println!(
            "{name}: peak {:.1} MiB beyond the base; {}",
            beyond as f64 / f64::from(1 << 20),
            run.stderr.trim()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
