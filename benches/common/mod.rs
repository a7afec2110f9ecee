//! What the hand-run benches share.

use std::time::Instant;

/// Milliseconds `run` takes: the median of 3 to 15 repetitions (as many as fit in about 3 s),
/// after one warm-up run (allocations, the thread pool).
pub fn median_ms(mut run: impl FnMut()) -> f64 {
    run();
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 3 || (times.len() < 15 && started.elapsed().as_secs_f64() < 3.0) {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The number after `flag` on the command line, else `default`.
pub fn flag_value(flag: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}
