//! Data-parallel training (issue #36): peers that are threads, and peers that are processes on
//! 127.0.0.1, end with the weights of one process taking each batch in the same shards in turn
//! (`accumulate`: batch norm normalises each shard on its own, the rule the peers follow);
//! resume works across processes; a peer killed mid-run stops the other with an error, and the
//! run file it leaves resumes.

use crate::cli::{stderr, tagtrain, temp_dir};
use crate::common::synthetic_dataset;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor};
use tagtrain::train::peers::Peers;
use tagtrain::train::peers::local::LocalExchange;
use tagtrain::{ComputeDevice, TrainingOptions, TrainingSession};

const SAMPLE: &str = "tests/fixtures/smoke_mnist32.zip";

fn options() -> TrainingOptions {
    TrainingOptions {
        depth: 11,
        image_size: 16,
        epochs: 2,
        batch_size: 8,
        learning_rate: 3e-3,
        validation_fraction: Some(0.25),
        patience: 0,
        seed: 5,
        ..TrainingOptions::default()
    }
}

/// Steps `session` to the end: every step's loss, and its last weights' outputs on `probe`.
fn run(session: &mut TrainingSession, probe: &Tensor<4>) -> (Vec<f64>, Vec<f32>) {
    let mut losses = Vec::new();
    while !session.is_done() {
        losses.push(pollster::block_on(session.step()).unwrap().loss);
    }
    let (model, _) = session.snapshot().unwrap();
    let outputs = model.forward(probe.clone()).into_data().try_to_vec::<f32>().unwrap();
    (losses, outputs)
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Three threads, with augmentation on and a last batch of 2 images (so one peer has none),
/// step the run one process steps with `accumulate(3)`: the same losses and weights.
#[test]
fn peers_in_threads_equal_one_process_taking_the_same_shards() {
    // 120 images, a quarter held out: 90 to train, batches of 8, the last one of 2.
    let dataset = synthetic_dataset(120, 16, 3);
    let probe =
        Tensor::<4>::random([4, 3, 16, 16], Distribution::Normal(0.0, 1.0), &Device::flex());
    let cpu = || ComputeDevice::cpu(None);

    let mut alone = TrainingSession::new(dataset.clone(), options(), cpu()).unwrap();
    assert_eq!(
        alone.info().train_images % 8,
        2,
        "the last batch must have fewer images than peers"
    );
    alone.accumulate(3).unwrap();
    let (reference_losses, reference) = run(&mut alone, &probe);

    let mut ends = LocalExchange::group(3).into_iter();
    let own = ends.next().unwrap();
    let threads: Vec<_> = ends
        .enumerate()
        .map(|(k, end)| {
            let (dataset, probe) = (dataset.clone(), probe.clone());
            std::thread::spawn(move || {
                let mut peer = TrainingSession::new(dataset, options(), cpu()).unwrap();
                let peers = Peers::new(k + 1, 3, Box::new(end)).unwrap();
                pollster::block_on(peer.join_peers(peers)).unwrap();
                let outcome = run(&mut peer, &probe);
                peer.leave_peers().unwrap();
                outcome
            })
        })
        .collect();
    let mut first = TrainingSession::new(dataset, options(), cpu()).unwrap();
    pollster::block_on(first.join_peers(Peers::new(0, 3, Box::new(own)).unwrap())).unwrap();
    let (losses, outputs) = run(&mut first, &probe);
    first.leave_peers().unwrap();

    assert_eq!(losses.len(), reference_losses.len());
    for (a, b) in losses.iter().zip(&reference_losses) {
        assert!((a - b).abs() < 1e-5, "losses {losses:?} against {reference_losses:?}");
    }
    let difference = largest_difference(&outputs, &reference);
    assert!(difference < 1e-4, "the peers' weights differ from one process's by {difference}");
    for thread in threads {
        let (peer_losses, peer_outputs) = thread.join().unwrap();
        assert_eq!(peer_losses, losses, "every peer reports the batch's loss");
        assert_eq!(peer_outputs, outputs, "every peer holds the same weights");
    }
    // And the shards matter: taking the batch whole is another run (batch norm's rule).
    let mut whole = TrainingSession::new(synthetic_dataset(120, 16, 3), options(), cpu()).unwrap();
    let (_, whole_outputs) = run(&mut whole, &probe);
    assert!(largest_difference(&whole_outputs, &reference) > 1e-4);
}

/// Two free ports on 127.0.0.1 (bound together, so distinct, and let go: the peers bind them
/// again at once).
fn free_ports() -> [u16; 2] {
    let (a, b) =
        (TcpListener::bind("127.0.0.1:0").unwrap(), TcpListener::bind("127.0.0.1:0").unwrap());
    [a.local_addr().unwrap().port(), b.local_addr().unwrap().port()]
}

/// `tagtrain train` on the sample as one of two peers on `ports`.
fn peer(rank: usize, ports: [u16; 2], output: &Path, extra: &[&str]) -> Child {
    let peers = format!("127.0.0.1:{},127.0.0.1:{}", ports[0], ports[1]);
    Command::new(env!("CARGO_BIN_EXE_tagtrain"))
        .args(["train", SAMPLE, "-o", output.to_str().unwrap(), "--quiet", "--seed", "3"])
        .args([
            "--batch-size",
            "8",
            "--patience",
            "0",
            "--peers",
            &peers,
            "--rank",
            &rank.to_string(),
        ])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for both peers; both must succeed.
fn both_succeed(first: Child, second: Child) {
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a peer failed: {}", stderr(&out));
    }
}

/// The weights of a model file, by tensor name.
fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut named: Vec<_> = file
        .tensors()
        .into_iter()
        .filter(|(_, view)| view.dtype() == safetensors::Dtype::F32)
        .map(|(name, view)| {
            let values =
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()));
            (name, values.collect())
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

fn assert_same_weights(a: &Path, b: &Path, tolerance: f32) {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.len(), b.len());
    for ((name, x), (other, y)) in a.iter().zip(&b) {
        assert_eq!(name, other);
        let difference = largest_difference(x, y);
        assert!(difference <= tolerance, "{name} differs by {difference}");
    }
}

/// Two threads and two processes equal one process with `--accumulate 2`; one killed mid-run stops the other
/// within seconds with an error naming it; the run file left resumes with two processes and
/// ends where the uninterrupted run ended.
#[cfg(feature = "distributed")]
#[test]
fn two_processes_equal_one_and_survive_a_killed_peer_through_the_run_file() {
    let dir = temp_dir("data-parallel");
    let epochs = ["--epochs", "20"];

    // One process, --accumulate 2, and two peers as threads of one process (--devices 2).
    let one_process = |name: &str, flags: [&str; 2]| {
        let output = dir.join(name);
        let out = tagtrain(
            &[
                &["train", SAMPLE, "-o", output.to_str().unwrap(), "--quiet", "--seed", "3"][..],
                &["--batch-size", "8", "--patience", "0", epochs[0], epochs[1]],
                &flags,
            ]
            .concat(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        (output, stderr(&out))
    };
    let (alone, _) = one_process("alone.safetensors", ["--accumulate", "2"]);
    let (threads, said) = one_process("threads.safetensors", ["--devices", "2"]);
    assert!(said.contains("2 peers"), "{said}");
    assert_same_weights(&threads, &alone, 1e-4);

    let ports = free_ports();
    let together = dir.join("together.safetensors");
    let unused = dir.join("unused.safetensors");
    both_succeed(peer(1, ports, &unused, &epochs), peer(0, ports, &together, &epochs));
    assert!(!unused.exists(), "only rank 0 writes the model file");
    assert_same_weights(&together, &alone, 1e-4);

    // Kill rank 1 once rank 0 has saved an epoch.
    let run_file = dir.join("run.json");
    let run_file_flag = ["--run-file", run_file.to_str().unwrap()];
    let with_run_file = [&epochs[..], &run_file_flag[..]].concat();
    let ports = free_ports();
    let resumed = dir.join("resumed.safetensors");
    let mut second = peer(1, ports, &unused, &with_run_file);
    let first = peer(0, ports, &resumed, &with_run_file);
    let started = Instant::now();
    while !run_file.exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "no run file was written");
        std::thread::sleep(Duration::from_millis(20));
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let killed = Instant::now();
    let out = first.wait_with_output().unwrap();
    let waited = killed.elapsed();
    assert!(!out.status.success(), "rank 0 went on without its peer");
    assert!(waited < Duration::from_secs(30), "rank 0 took {waited:?} to notice");
    let message = stderr(&out);
    assert!(message.contains("peer 1") && message.contains("left the run"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    assert!(!resumed.exists());

    // The run file left behind resumes, with two processes again, to the same end.
    let ports = free_ports();
    both_succeed(peer(1, ports, &unused, &with_run_file), peer(0, ports, &resumed, &with_run_file));
    assert_same_weights(&resumed, &together, 1e-5);
    assert!(!run_file.exists(), "a finished run removes its run file");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn peer_flags_that_do_not_go_together_are_usage_errors() {
    for (flags, expected) in [
        (&["--peers", "127.0.0.1:1,127.0.0.1:2"][..], "--peers needs --rank"),
        (&["--rank", "1"][..], "--rank goes with --peers"),
        (&["--peers", "127.0.0.1:1", "--rank", "0"][..], "two or more"),
        (&["--peers", "a:1,b:2", "--rank", "2"][..], "--rank is 0 to 1"),
        (&["--devices", "2", "--accumulate", "2"][..], "--accumulate"),
        (&["--devices", "2", "--lr", "auto"][..], "--lr auto"),
    ] {
        let out = tagtrain(&[&["train", SAMPLE, "-o", "/dev/null"][..], flags].concat());
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{flags:?}: {}", stderr(&out));
    }
}
