//! Arguments several subcommands share: the backend and output flags ([`Common`]), data files
//! and saved models ([`data`]), and `--set` fields with the optimizer they describe ([`set`]).

pub mod data;
pub mod set;

use anyhow::{Result, anyhow};
use clap::Args;
use stoke_optim::Backend;

/// Flags every subcommand takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Common {
    /// Backend: ndarray, flex or wgpu (among those compiled in); default: the CPU backend.
    #[arg(long, global = true)]
    pub backend: Option<String>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print results as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Common {
    /// The chosen backend. It also becomes Burn's default device (`BURN_DEVICE`), where Burn
    /// puts loaded optimizer state, so a CPU run never starts a GPU device it does not use.
    pub fn backend(&self) -> Result<Backend> {
        let b = match &self.backend {
            Some(name) => {
                let b: Backend = name.parse()?;
                b.device()?;
                b
            }
            None => Backend::default_cpu().ok_or_else(|| anyhow!("no backend compiled in"))?,
        };
        if std::env::var_os("BURN_DEVICE").is_none() {
            // SAFETY: called while the process is still single-threaded, before any run starts.
            unsafe { std::env::set_var("BURN_DEVICE", b.name()) };
        }
        Ok(b)
    }
}
