//! AdaGrad: per-coordinate step sizes that shrink with the sum of all squared gradients so far.
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, step `t = 1, 2, …`:
//!
//! ```text
//! S ← S + g²                              S₀ = initial_accumulator
//! ηₜ = η / (1 + (t−1)·lr_decay)
//! w ← w − ηₜ·g / √(S + ε)                 (EpsilonPlacement::InsideSqrt: the course, Keras)
//! w ← w − ηₜ·g / (√S + ε)                 (EpsilonPlacement::OutsideSqrt: PyTorch)
//! ```
//!
//! The course's slide writes the sum up to step `t−1`; here, as in PyTorch, Keras and TensorFlow,
//! the accumulator already includes the current gradient when it divides it. That also keeps the
//! first step finite when `S₀ = 0` and ε is tiny: its size is `η·g/|g| = η` per coordinate.
//!
//! | stoke | PyTorch `Adagrad` | Keras `Adagrad` |
//! |---|---|---|
//! | `epsilon` | `eps` (1e-10), outside the root | `epsilon` (1e-7), inside the root |
//! | `initial_accumulator` | `initial_accumulator_value` (0) | `initial_accumulator_value` (0.1) |
//! | `lr_decay` | `lr_decay` | — |
//! | `weight_decay` (coupled L2) | `weight_decay` | — |

use burn::config::Config;
use burn::optim::LearningRate;

use crate::arith::Arith;
use crate::error::{ConfigError, Rules};
use crate::forms::{EpsilonPlacement, denominator};
use crate::host::{self, Lanes, specialize};
use crate::path::Rule;
use crate::state::{Slots, filled};

/// Configuration of [`AdaGrad`].
#[derive(Config, Debug, PartialEq)]
pub struct AdaGradConfig {
    /// ε, keeps the denominator away from zero. `> 0`.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Inside the square root (course, Keras) or outside (PyTorch).
    #[config(default = "EpsilonPlacement::InsideSqrt")]
    pub epsilon_placement: EpsilonPlacement,
    /// `S₀`, the accumulator's starting value. `≥ 0`.
    #[config(default = 0.0)]
    pub initial_accumulator: f64,
    /// Learning-rate decay per step, as PyTorch's `lr_decay`. `≥ 0`.
    #[config(default = 0.0)]
    pub lr_decay: f64,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl AdaGradConfig {
    /// `torch.optim.Adagrad`'s defaults: ε = 1e-10 outside the root, `S₀ = 0`.
    pub fn pytorch() -> Self {
        Self::new()
            .with_epsilon(1e-10)
            .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
            .with_initial_accumulator(0.0)
    }

    /// Keras' defaults: ε = 1e-7 inside the root, `S₀ = 0.1`.
    pub fn keras() -> Self {
        Self::new()
            .with_epsilon(1e-7)
            .with_epsilon_placement(EpsilonPlacement::InsideSqrt)
            .with_initial_accumulator(0.1)
    }

    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("AdaGradConfig");
        r.positive("epsilon", self.epsilon)?;
        r.non_negative("initial_accumulator", self.initial_accumulator)?;
        r.non_negative("lr_decay", self.lr_decay)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

crate::optimizer! {
    /// AdaGrad; see the [module docs](self) for the equations.
    AdaGrad(AdaGradConfig);
    /// The state of one parameter: [`AdaGradSum`] and the step count `t`.
    AdaGradState
}

/// `S` of one parameter (a tensor), of its CPU buffer, or of one coordinate.
#[derive(Clone, Debug)]
pub struct AdaGradSum<X> {
    /// `S`, the sum of squared gradients (plus `S₀`).
    pub sum: X,
}

impl<X> Slots<X> for AdaGradSum<X> {
    const NAMES: [&'static str; 3] = ["sum", "", ""];

    fn into_slots(self) -> [Option<X>; 3] {
        [Some(self.sum), None, None]
    }

    fn from_slots([sum, _, _]: [Option<X>; 3]) -> Self {
        AdaGradSum { sum: filled(sum) }
    }

    fn filled_slots() -> [bool; 3] {
        [true, false, false]
    }
}

/// The options and `f32` constants of one step `t`.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub struct Constants {
    decay: bool,
    inside: bool,
    /// wd
    wd: f32,
    /// ε
    eps: f32,
    /// S₀
    initial: f32,
    /// ηₜ = η / (1 + (t−1)·lr_decay)
    eta: f32,
}

impl Rule for AdaGrad {
    const COUNTS_STEPS: bool = true;
    type Constants = Constants;
    type State<X: Clone + Send + Sync + 'static> = AdaGradSum<X>;

    /// The constants of step `t` at learning rate `η`.
    fn constants(&self, lr: LearningRate, t: u64) -> Constants {
        let c = &self.config;
        Constants {
            decay: c.weight_decay != 0.0,
            inside: c.epsilon_placement == EpsilonPlacement::InsideSqrt,
            wd: c.weight_decay as f32,
            eps: c.epsilon as f32,
            initial: c.initial_accumulator as f32,
            // ηₜ = η / (1 + (t−1)·lr_decay)
            eta: (lr / (1.0 + (t - 1) as f64 * c.lr_decay)) as f32,
        }
    }

    /// The state before the first step: `S₀` everywhere.
    #[inline(always)]
    fn fresh<X: Arith>(k: &Constants, w: &X) -> AdaGradSum<X> {
        AdaGradSum {
            sum: w.zero_like() + k.initial,
        }
    }

    /// The update of the [module docs](self).
    #[inline(always)]
    fn update<X: Arith>(k: &Constants, w: X, mut g: X, s: AdaGradSum<X>) -> (X, AdaGradSum<X>) {
        if k.decay {
            // g ← g + wd·w
            g = g + w.clone() * k.wd;
        }
        // S ← S + g²
        let sum = s.sum + g.clone().square();
        // w ← w − ηₜ·g / √(S + ε)   or   w − ηₜ·g / (√S + ε)
        let w = w - g / denominator(k.inside, sum.clone(), k.eps) * k.eta;
        (w, AdaGradSum { sum })
    }

    fn kernel(k: &Constants, l: Lanes<'_>) {
        specialize!(kernel[k.decay, k.inside](k, l))
    }

    fn knobs(&self) -> (bool, f32) {
        (self.fused, self.grad_scale.get())
    }
}

/// [`update`] over one chunk of CPU buffers, for one combination of options.
#[inline(always)]
fn kernel<const DECAY: bool, const INSIDE: bool>(k: &Constants, l: Lanes<'_>) {
    let k = &Constants {
        decay: DECAY,
        inside: INSIDE,
        ..*k
    };
    host::each::<AdaGrad>(k, l);
}
