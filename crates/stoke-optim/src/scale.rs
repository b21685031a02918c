//! A gradient scale that a training loop sets once per step and the optimizers it built apply
//! inside their fused pass: the global-norm clip factor `min(1, c/‖g‖)` and an accumulation's
//! `1/n` cost no extra pass over the gradients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The factor `s` every step of the optimizers holding this handle applies to its gradient,
/// `g ← s·g`, before anything else (as `torch.nn.utils.clip_grad_norm_` scales `.grad` before
/// `optimizer.step()`). Clones share the value; 1 by default.
///
/// Set it between steps, not during one: the optimizers read it once per parameter step.
#[derive(Clone, Debug)]
pub struct GradScale(Arc<AtomicU32>);

impl GradScale {
    /// A new handle at `s = 1`.
    pub fn new() -> Self {
        Self(Arc::new(AtomicU32::new(1.0f32.to_bits())))
    }

    /// Sets `s` for the following steps.
    pub fn set(&self, s: f32) {
        self.0.store(s.to_bits(), Ordering::Relaxed);
    }

    /// The current `s`.
    pub fn get(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Whether `other` is the same handle (not only the same value).
    pub fn shares(&self, other: &GradScale) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for GradScale {
    fn default() -> Self {
        Self::new()
    }
}
