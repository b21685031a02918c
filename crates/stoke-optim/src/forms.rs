//! The two conventions that the course and PyTorch/Keras disagree on.

use serde::{Deserialize, Serialize};

/// Where ε goes in an adaptive denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum EpsilonPlacement {
    /// `g / √(S + ε)` — the course's slides and Keras.
    #[default]
    InsideSqrt,
    /// `g / (√S + ε)` — PyTorch.
    OutsideSqrt,
}

impl EpsilonPlacement {
    /// The denominator `√(s + ε)` or `√s + ε` for an accumulator `s`.
    pub(crate) fn denominator<const D: usize>(
        self,
        s: burn::tensor::Tensor<D>,
        epsilon: f64,
    ) -> burn::tensor::Tensor<D> {
        match self {
            EpsilonPlacement::InsideSqrt => s.add_scalar(epsilon).sqrt(),
            EpsilonPlacement::OutsideSqrt => s.sqrt().add_scalar(epsilon),
        }
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
