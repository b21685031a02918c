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
    let backend = a.common.backend()?;
    let text = std::fs::read_to_string(&a.spec).with_context(|| a.spec.display().to_string())?;
    let spec: RunSpec =
        serde_json::from_str(&text).with_context(|| a.spec.display().to_string())?;
    let mut cache = DataCache::default();
    run_one(&spec, &a.out, backend, a.resume, &mut cache, &Emitter)?;
    Ok(())
}
