//! `stoke run-one` (hidden): the child side of `stoke run --jobs N`. Trains one run of a recipe
//! and reports its progress as [`Event`](crate::protocol::Event) lines on stdout.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use stoke_recipes::RunSpec;
use stoke_recipes::runner::{DataCache, run_one};

use crate::args::Common;
use crate::protocol::Emitter;

#[derive(Args, Debug)]
pub struct RunOneArgs {
    /// The run, as JSON.
    #[arg(long)]
    spec: PathBuf,
    /// The recipe's output directory.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    common: Common,
}

pub fn run(a: RunOneArgs) -> Result<()> {
    end_with_parent();
    let backend = a.common.backend()?;
    let text = std::fs::read_to_string(&a.spec).with_context(|| a.spec.display().to_string())?;
    let spec: RunSpec =
        serde_json::from_str(&text).with_context(|| a.spec.display().to_string())?;
    let mut cache = DataCache::default();
    run_one(&spec, &a.out, backend, a.resume, &mut cache, &Emitter)?;
    Ok(())
}

/// Makes the kernel end this process when the `stoke run` that started it ends, however it
/// ends: a parent killed with SIGKILL cannot stop its children, and a child left running
/// would go on writing checkpoints into the directory a `--resume` is then writing into.
/// Linux only (`PR_SET_PDEATHSIG`); the signal follows the parent *thread*, and each of the
/// parent's pool threads waits for its child before it takes the next run or ends.
fn end_with_parent() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: getppid and prctl(PR_SET_PDEATHSIG) read and set this process's own
        // attributes only; no memory is passed.
        let orphaned = unsafe {
            let parent = libc::getppid();
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 && libc::getppid() != parent
        };
        if orphaned {
            // The parent ended before the request took effect.
            std::process::exit(1);
        }
    }
}
