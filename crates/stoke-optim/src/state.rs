//! Small helpers for the hand-written [`RecordState`](burn::optim::RecordState) impls.
//!
//! Burn's `#[derive(RecordState)]` expands to paths that only resolve inside `burn-optim`, so each
//! state here flattens itself with these three functions instead.

use burn::optim::{StateSink, StateSource};
use burn::store::burn_pack::Scalar;
use burn::tensor::{Device, Tensor};

pub(crate) fn put<const D: usize>(out: &mut StateSink, prefix: &str, leaf: &str, t: &Tensor<D>) {
    out.push_tensor(prefix, leaf, t.to_data());
}

pub(crate) fn take<const D: usize>(
    src: &mut StateSource,
    prefix: &str,
    leaf: &str,
    device: &Device,
) -> Option<Tensor<D>> {
    Some(Tensor::from_data(src.take_tensor(prefix, leaf)?, device))
}

pub(crate) fn put_step(out: &mut StateSink, prefix: &str, step: u64) {
    out.push_scalar(prefix, "step", Scalar::from(step));
}

pub(crate) fn take_step(src: &mut StateSource, prefix: &str) -> Option<u64> {
    u64::try_from(src.take_scalar(prefix, "step")?).ok()
}

/// Moves an optional state tensor to `device`.
pub(crate) fn move_opt<const D: usize>(t: Option<Tensor<D>>, device: &Device) -> Option<Tensor<D>> {
    t.map(|t| t.to_device(device))
}
