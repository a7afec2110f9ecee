//! Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise
//! (a log file or CI output would fill up with redraws).

use std::io::{IsTerminal, Write};

use web_time::Instant;

/// Seconds between plain progress lines when stderr is not a terminal.
const LINE_INTERVAL_SECS: f64 = 5.0;

/// Characters in the bar drawn on a terminal.
const BAR_WIDTH: usize = 30;

/// The progress of one phase (decoding, training) of `total` units.
pub struct Progress {
    /// The phase's name, shown first.
    what: &'static str,
    /// Units in the whole phase.
    total: usize,
    /// When the phase started, for the ETA.
    started: Instant,
    /// When the last plain line was printed.
    last_line: Instant,
    /// Whether stderr is a terminal (then the bar is redrawn in place).
    terminal: bool,
    /// Print nothing.
    quiet: bool,
}

impl Progress {
    /// Starts a phase of `total` units; `quiet` silences it.
    pub fn new(what: &'static str, total: usize, quiet: bool) -> Self {
        Self {
            what,
            total,
            started: Instant::now(),
            last_line: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// Reports `done` units finished, with `detail` after the ETA.
    pub fn update(&mut self, done: usize, detail: &str) {
        if self.quiet {
            return;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if done > 0 {
            elapsed / done as f64 * (self.total - done.min(self.total)) as f64
        } else {
            0.0
        };
        let share = done as f64 / self.total.max(1) as f64;
        if self.terminal {
            let filled = ((share * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
            eprint!(
                "\r{:<9} [{}{}] {done}/{} ETA {} {detail}\x1b[K",
                self.what,
                "#".repeat(filled),
                "-".repeat(BAR_WIDTH - filled),
                self.total,
                duration(eta)
            );
            // stderr is unbuffered in Rust, but a partial line may sit in the terminal's
            // buffer; a failed flush only delays the bar, so it is not an error.
            let _ = std::io::stderr().flush();
        } else if self.last_line.elapsed().as_secs_f64() >= LINE_INTERVAL_SECS || done == self.total
        {
            self.last_line = Instant::now();
            eprintln!(
                "{} {done}/{} ({:.0}%) ETA {} {detail}",
                self.what,
                self.total,
                share * 100.0,
                duration(eta)
            );
        }
    }

    /// Ends the bar's line (on a terminal) so that the next message starts clean.
    pub fn finish(&self) {
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }
}

/// `s` seconds as `42s`, `3m07s` or `2h05m`.
fn duration(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0}s")
    } else if s < 3600.0 {
        format!("{}m{:02.0}s", (s / 60.0).floor(), (s % 60.0).floor())
    } else {
        format!("{}h{:02.0}m", (s / 3600.0).floor(), ((s % 3600.0) / 60.0).floor())
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(187.0), "3m07s");
        assert_eq!(duration(119.7), "1m59s");
        assert_eq!(duration(7500.0), "2h05m");
    }
}
