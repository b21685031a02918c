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

/// An optimizer's per-parameter state as a struct of up to three buffers of `X`: the tensors of
/// one parameter, its CPU buffers, or the `f32` numbers of one coordinate. The implementation is
/// the one place that says which buffer sits in which slot; absent buffers (options that keep no
/// such state) are `None`.
pub(crate) trait Slots<X>: Sized {
    /// The buffers, slot by slot.
    fn into_slots(self) -> [Option<X>; 3];

    /// The state from [`into_slots`](Self::into_slots)'s slots.
    fn from_slots(slots: [Option<X>; 3]) -> Self;

    /// The same state over another kind of buffer.
    #[inline(always)]
    fn convert<Y, S: Slots<Y>>(self, mut f: impl FnMut(X) -> Y) -> S {
        S::from_slots(self.into_slots().map(|slot| slot.map(&mut f)))
    }

    /// Which slots hold a buffer.
    #[inline(always)]
    fn layout(self) -> [bool; 3] {
        self.into_slots().map(|slot| slot.is_some())
    }
}

/// The buffer in a slot that [`Slots::into_slots`] always fills.
#[inline(always)]
pub(crate) fn filled<X>(slot: Option<X>) -> X {
    // Internal invariant: `from_slots` only ever receives what the same type's `into_slots` (or
    // `layout`) gave, and that fills this slot.
    slot.expect("a state slot its own type always fills")
}

/// A state with no buffers (plain gradient descent).
impl<X> Slots<X> for () {
    fn into_slots(self) -> [Option<X>; 3] {
        [None, None, None]
    }

    fn from_slots(_: [Option<X>; 3]) -> Self {}
}
