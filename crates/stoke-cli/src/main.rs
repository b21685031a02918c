//! `stoke`: run the course's experiments, train and use text classifiers, from the command line.

mod alloc;
mod args;
mod cmd;
mod output;
mod pool;
mod progress;
mod protocol;

use std::process::ExitCode;

use clap::Parser;

/// The system allocator, with huge pages asked for on blocks of 32 MiB or more (see
/// [`alloc::HugePages`]).
#[global_allocator]
static ALLOCATOR: alloc::HugePages = alloc::HugePages;

fn main() -> ExitCode {
    // A bug must still end in one clear line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {msg}{place}");
    }));
    // Training frees and re-allocates the same large buffers every step; keep them in the heap.
    alloc::tune_allocator();
    let cli = cmd::Cli::parse();
    match std::panic::catch_unwind(|| cmd::run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            // Each cause on the same line, unless the message already says it (most errors
            // write their source into their own message as well as exposing it).
            let mut message = String::new();
            for cause in e.chain() {
                let cause = cause
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !message.contains(&cause) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&cause);
                }
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::from(2),
    }
}
