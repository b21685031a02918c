//! An optimizer's per-parameter state: its buffers as typed slots ([`Slots`]), and the one
//! [`ParamState`] every stoke optimizer keeps, saves ([`RecordState`]) and moves between devices.
//!
//! Burn's `#[derive(RecordState)]` expands to paths that only resolve inside `burn-optim`, so the
//! state flattens itself here, by the names each optimizer gives its slots (the names PyTorch's
//! `state_dict` uses, so saved states stay readable across versions).

use std::fmt;

use burn::optim::{RecordState, StateSink, StateSource};
use burn::store::burn_pack::Scalar;
use burn::tensor::{Device, Tensor};

use crate::path::Rule;

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

/// An optimizer's per-parameter state as a struct of up to three buffers of `X`: the tensors of
/// one parameter, its CPU buffers, or the `f32` numbers of one coordinate. The implementation is
/// the one place that says which buffer sits in which slot; absent buffers (options that keep no
/// such state) are `None`.
pub trait Slots<X>: Sized {
    /// The name of each slot in a saved state (unused slots: `""`).
    const NAMES: [&'static str; 3];

    /// The buffers, slot by slot.
    fn into_slots(self) -> [Option<X>; 3];

    /// The state from [`into_slots`](Self::into_slots)'s slots.
    fn from_slots(slots: [Option<X>; 3]) -> Self;

    /// The same state over another kind of buffer.
    #[inline(always)]
    fn convert<Y, S: Slots<Y>>(self, mut f: impl FnMut(X) -> Y) -> S {
        S::from_slots(self.into_slots().map(|slot| slot.map(&mut f)))
    }

    /// The state from saved slots, or `None` when a slot this type always fills is missing.
    fn try_from_slots(slots: [Option<X>; 3]) -> Option<Self> {
        let filled = Self::filled_slots();
        let complete = slots
            .iter()
            .zip(filled)
            .all(|(slot, must)| !must || slot.is_some());
        complete.then(|| Self::from_slots(slots))
    }

    /// Which slots [`from_slots`](Self::from_slots) needs filled.
    fn filled_slots() -> [bool; 3];

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

/// A state with no buffers.
impl<X> Slots<X> for () {
    const NAMES: [&'static str; 3] = ["", "", ""];

    fn into_slots(self) -> [Option<X>; 3] {
        [None, None, None]
    }

    fn from_slots(_: [Option<X>; 3]) -> Self {}

    fn filled_slots() -> [bool; 3] {
        [false; 3]
    }
}

/// The state of one parameter under a stoke optimizer `R`: its buffers (`R`'s slots, e.g.
/// [`AdamMoments`](crate::adam::AdamMoments)) and `t`, the number of steps taken.
pub struct ParamState<R: Rule, const D: usize> {
    /// The optimizer's buffers of this parameter.
    pub buffers: R::State<Tensor<D>>,
    /// `t`, the number of steps taken (saved for the optimizers whose update reads it).
    pub step: u64,
}

impl<R: Rule, const D: usize> Clone for ParamState<R, D>
where
    R::State<Tensor<D>>: Clone,
{
    fn clone(&self) -> Self {
        Self {
            buffers: self.buffers.clone(),
            step: self.step,
        }
    }
}

impl<R: Rule, const D: usize> fmt::Debug for ParamState<R, D>
where
    R::State<Tensor<D>>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamState")
            .field("buffers", &self.buffers)
            .field("step", &self.step)
            .finish()
    }
}

impl<R: Rule, const D: usize> ParamState<R, D> {
    /// The same state on `device`.
    pub(crate) fn to_device(self, device: &Device) -> Self {
        Self {
            buffers: self.buffers.convert(|t: Tensor<D>| t.to_device(device)),
            step: self.step,
        }
    }
}

impl<R: Rule + 'static, const D: usize> RecordState for ParamState<R, D>
where
    R::State<Tensor<D>>: Clone + Send + Sync + 'static,
{
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let names = <R::State<Tensor<D>> as Slots<Tensor<D>>>::NAMES;
        for (name, slot) in names.into_iter().zip(self.buffers.clone().into_slots()) {
            if let Some(t) = slot {
                put(out, prefix, name, &t);
            }
        }
        if R::COUNTS_STEPS {
            put_step(out, prefix, self.step);
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let names = <R::State<Tensor<D>> as Slots<Tensor<D>>>::NAMES;
        let slots = names.map(|name| match name {
            "" => None,
            name => take(src, prefix, name, device),
        });
        let step = match R::COUNTS_STEPS {
            true => take_step(src, prefix)?,
            // Not saved: a saved state has taken at least one step, which is all such an
            // optimizer reads of it (PyTorch-form momentum's first step).
            false => 1,
        };
        let buffers = <R::State<Tensor<D>> as Slots<Tensor<D>>>::try_from_slots(slots)?;
        Some(Self { buffers, step })
    }
}
