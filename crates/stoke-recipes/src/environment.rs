//! Where a recipe ran: backend, versions, machine (`environment.json` and the report's last
//! line).

use serde::{Deserialize, Serialize};
use stoke_optim::Backend;

/// Where the run happened, written as `environment.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    /// The backend's name (`flex`, `ndarray`, `wgpu`).
    pub backend: String,
    /// This crate's version.
    pub stoke_version: String,
    /// [`BURN_VERSION`].
    pub burn_version: String,
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
    pub arch: String,
    /// CPUs available to the process.
    pub cpus: usize,
}

impl Environment {
    /// This process on `backend`.
    pub fn current(backend: Backend) -> Self {
        Self {
            backend: backend.name().to_string(),
            stoke_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: BURN_VERSION.to_string(),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The Burn version stoke is built against (pinned in the workspace's Cargo.toml).
pub const BURN_VERSION: &str = "0.22.1";
