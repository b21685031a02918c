//! # stoke-bench
//!
//! The measurements behind `stoke bench` and `docs/performance.md`, kept out of the libraries
//! they measure:
//!
//! * [`optim`]: one optimizer step over a realistic parameter set, stoke's fused pass and its
//!   tensor-op path next to Burn's built-in optimizers and the memory-bandwidth floor, measured
//!   in alternation in one process;
//! * [`train`]: examples per second and peak memory of the text classifier per optimizer, dense
//!   and row-sparse.

pub mod optim;
pub mod train;
