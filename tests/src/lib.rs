//! Workspace-level tests of stoke: the training engine (`stoke_recipes::train`, the
//! [`Stepper`](stoke_recipes::step::Stepper) and stoke's optimizers) on the bundled real data —
//! the accuracy bars, the row-sparse against the dense embedding update, determinism, and
//! save / load of a trained model. The tests are in `tests/training/`; this library holds what
//! they share.
//!
//! Every test that trains runs in a process of its own on one thread ([`isolated`]), so the
//! trainings use all cores and stay reproducible.

pub mod bundled;
pub mod isolated;
pub mod settings;

pub use isolated::in_own_process;

use burn::tensor::Device;
use stoke_recipes::OptimizerSpec;

/// The CPU device of this build (Flex by default, else NdArray).
pub fn cpu() -> Device {
    stoke_optim::Backend::default_cpu()
        .expect("a CPU backend is compiled in")
        .device()
        .expect("the CPU device starts")
}

/// Stoke's optimizer `name` with learning rate `lr` and its default settings: the one place the
/// tests build an optimizer description.
pub fn optimizer(name: &str, lr: f64) -> OptimizerSpec {
    OptimizerSpec::named(name, lr).expect("a stoke optimizer and a valid learning rate")
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("stoke-tests-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the temp dir is writable");
    dir
}
