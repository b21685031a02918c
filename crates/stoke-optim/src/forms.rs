//! The two conventions that the course and PyTorch/Keras disagree on.

use serde::{Deserialize, Serialize};

use crate::arith::Arith;

/// Where ε goes in an adaptive denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum EpsilonPlacement {
    /// `g / √(S + ε)` — the course's slides and Keras.
    #[default]
    InsideSqrt,
    /// `g / (√S + ε)` — PyTorch.
    OutsideSqrt,
}

/// The denominator `√(s + ε)` (`inside`) or `√s + ε` for an accumulator `s`: one coordinate or a
/// whole tensor.
#[inline(always)]
pub(crate) fn denominator<X: Arith>(inside: bool, s: X, eps: f32) -> X {
    if inside {
        (s + eps).sqrt()
    } else {
        s.sqrt() + eps
    }
}

/// Which of the two momentum formulations [`Momentum`](crate::Momentum) follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MomentumForm {
    /// The course's (and Keras') form: the learning rate is inside the velocity,
    /// `v ← γv + η·g; w ← w − v`.
    #[default]
    Classic,
    /// `torch.optim.SGD`'s form: the learning rate multiplies the velocity,
    /// `v ← γv + (1−d)·g; w ← w − η·v`.
    PyTorch,
}
