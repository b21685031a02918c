//! The training engine on real and hand-made data. One test binary, so that libtest spreads
//! every training over all cores (each in its own process, see `stoke_tests::isolated`);
//! cargo runs test binaries one after another.

mod accuracy;
mod determinism;
mod devices;
mod explore;
mod saved;
mod sparse;
