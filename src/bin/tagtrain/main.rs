//! `tagtrain`: the same core as the browser app, on the command line.
//!
//! It writes the model file the browser reads, and reads the browser's. Progress goes to
//! stderr (a bar on a terminal, plain lines otherwise), results to stdout; `--json` output is
//! the library's own types, serialised as the browser sees them (camelCase). Exit status: 0 on
//! success, 1 when the data, model or run fails (the message says where and what to do), 2 on
//! a usage mistake.
//!
//! `flag` declares one flag, `args` parses the command line against one table of flags per
//! command, `usage` writes the usage text from those tables, `commands` holds one file per
//! command, `progress` draws the bars. No two import each other: `flag` and `progress` import
//! none of the others, `args` imports `flag`, `usage` those two, `commands` all but `usage`.

mod args;
mod commands;
mod flag;
mod progress;
mod usage;

use std::process::ExitCode;

use args::{Args, UsageError, usage_error};

/// Exit status of a usage mistake (1 is a failure of the work itself).
const USAGE_EXIT: u8 = 2;

/// Sets the process up, runs the command line, and turns the outcome into the exit status.
fn main() -> ExitCode {
    set_up_process();
    let words: Vec<String> = std::env::args().skip(1).collect();
    match run(&words) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<UsageError>() {
            Some(mistake) => {
                eprintln!("tagtrain: {}", usage::usage_of(mistake, commands::COMMANDS));
                ExitCode::from(USAGE_EXIT)
            }
            None => {
                // `:#` prints the whole chain of context: where, then what went wrong.
                eprintln!("tagtrain: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Process-wide settings that must come before anything else runs.
fn set_up_process() {
    // Rust ignores SIGPIPE, which turns `tagtrain … | head` into a panic on the next print;
    // a Unix tool should just stop.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The network threads of a data-parallel run (tagtrain::train::peers::network) run burn's
    // transport, which panics inside its own tasks when a peer's connection breaks; the
    // exchange turns that into an error naming the peer, so the panic's message is noise.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !std::thread::current().name().is_some_and(|n| n.starts_with("tagtrain-peers")) {
            default_hook(info);
        }
    }));
    // Training frees and re-allocates the same large tensor buffers every step. glibc's default
    // gives each one back to the kernel (mmap/munmap), which measured here cost a third of
    // the CPU time in page faults; keeping them in the heap made training 1.5x faster.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any allocation-heavy work.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Runs the command named by the first word on the rest.
fn run(words: &[String]) -> anyhow::Result<()> {
    let Some((name, rest)) = words.split_first() else {
        return Err(usage_error("no command given", None));
    };
    if matches!(name.as_str(), "-h" | "--help" | "help") {
        println!("usage:\n{}", usage::usage(commands::COMMANDS));
        return Ok(());
    }
    let command = commands::find(name)
        .ok_or_else(|| usage_error(format!("unknown command '{name}'"), None))?;
    let args = Args::parse(command, rest)?;
    for note in args.notes() {
        eprintln!("note: {note}");
    }
    (command.run)(&args)
}
