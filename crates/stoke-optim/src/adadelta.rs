//! AdaDelta: RMSProp whose numerator is a running RMS of past updates, so the step has the units
//! of the parameter and needs no learning rate (η = 1.0 is the usual choice).
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, decay `ρ`:
//!
//! ```text
//! E[g²]  ← ρ·E[g²] + (1−ρ)·g²                       E[g²]₀ = 0
//! Δ      = √(E[Δx²] + ε) / √(E[g²] + ε) · g          E[Δx²]₀ = 0
//! E[Δx²] ← ρ·E[Δx²] + (1−ρ)·Δ²
//! w      ← w − η·Δ
//! ```
//!
//! This is exactly `torch.optim.Adadelta` (ε inside both roots; η multiplies Δ).
//!
//! | stoke | PyTorch `Adadelta` | Keras `Adadelta` |
//! |---|---|---|
//! | `rho` | `rho` (0.9) | `rho` (0.95) |
//! | `epsilon` | `eps` (1e-6) | `epsilon` (1e-7) |
//! | `weight_decay` (coupled L2) | `weight_decay` | — |
//! | learning rate | `lr` (1.0) | `learning_rate` (0.001) |

use burn::config::Config;
use burn::optim::LearningRate;

use crate::arith::Arith;
use crate::error::{ConfigError, Rules};
use crate::host::{self, Lanes, specialize};
use crate::path::Rule;
use crate::state::{Slots, filled};

/// Configuration of [`AdaDelta`].
#[derive(Config, Debug, PartialEq)]
pub struct AdaDeltaConfig {
    /// ρ, how much of each running average is kept each step. In `[0, 1)`.
    #[config(default = 0.9)]
    pub rho: f64,
    /// ε, inside both square roots. `> 0`.
    #[config(default = 1e-6)]
    pub epsilon: f64,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl AdaDeltaConfig {
    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("AdaDeltaConfig");
        r.unit_interval("rho", self.rho)?;
        r.positive("epsilon", self.epsilon)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

crate::optimizer! {
    /// AdaDelta; see the [module docs](self) for the equations.
    AdaDelta(AdaDeltaConfig);
    /// The state of one parameter: [`AdaDeltaAverages`].
    AdaDeltaState
}

/// `E[g²]` and `E[Δx²]` of one parameter (tensors), of its CPU buffers, or of one coordinate.
#[derive(Clone, Debug)]
pub struct AdaDeltaAverages<X> {
    /// `E[g²]`.
    pub square_avg: X,
    /// `E[Δx²]`.
    pub acc_delta: X,
}

impl<X> Slots<X> for AdaDeltaAverages<X> {
    const NAMES: [&'static str; 3] = ["square_avg", "acc_delta", ""];

    fn into_slots(self) -> [Option<X>; 3] {
        [Some(self.square_avg), Some(self.acc_delta), None]
    }

    fn from_slots([square_avg, acc_delta, _]: [Option<X>; 3]) -> Self {
        let (square_avg, acc_delta) = (filled(square_avg), filled(acc_delta));
        AdaDeltaAverages {
            square_avg,
            acc_delta,
        }
    }

    fn filled_slots() -> [bool; 3] {
        [true, true, false]
    }
}

/// The options and `f32` constants of one step.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub struct Constants {
    decay: bool,
    /// wd, ρ, 1 − ρ, ε, η
    wd: f32,
    rho: f32,
    keep: f32,
    eps: f32,
    eta: f32,
}

impl Rule for AdaDelta {
    const COUNTS_STEPS: bool = false;
    type Constants = Constants;
    type State<X: Clone + Send + Sync + 'static> = AdaDeltaAverages<X>;

    /// The constants of a step at learning rate `η`.
    fn constants(&self, lr: LearningRate, _: u64) -> Constants {
        let c = &self.config;
        Constants {
            decay: c.weight_decay != 0.0,
            wd: c.weight_decay as f32,
            rho: c.rho as f32,
            keep: (1.0 - c.rho) as f32,
            eps: c.epsilon as f32,
            eta: lr as f32,
        }
    }

    /// The state before the first step: both averages 0.
    #[inline(always)]
    fn fresh<X: Arith>(_: &Constants, w: &X) -> AdaDeltaAverages<X> {
        AdaDeltaAverages {
            square_avg: w.zero_like(),
            acc_delta: w.zero_like(),
        }
    }

    /// The update of the [module docs](self).
    #[inline(always)]
    fn update<X: Arith>(
        k: &Constants,
        w: X,
        mut g: X,
        s: AdaDeltaAverages<X>,
    ) -> (X, AdaDeltaAverages<X>) {
        if k.decay {
            // g ← g + wd·w
            g = g + w.clone() * k.wd;
        }
        // E[g²] ← ρ·E[g²] + (1−ρ)·g²
        let square_avg = s.square_avg * k.rho + g.clone().square() * k.keep;
        // Δ = √(E[Δx²] + ε) / √(E[g²] + ε) · g
        let delta = (s.acc_delta.clone() + k.eps).sqrt() / (square_avg.clone() + k.eps).sqrt() * g;
        // E[Δx²] ← ρ·E[Δx²] + (1−ρ)·Δ²
        let acc_delta = s.acc_delta * k.rho + delta.clone().square() * k.keep;
        // w ← w − η·Δ
        let w = w - delta * k.eta;
        let s = AdaDeltaAverages {
            square_avg,
            acc_delta,
        };
        (w, s)
    }

    fn kernel(k: &Constants, l: Lanes<'_>) {
        specialize!(kernel[k.decay](k, l))
    }

    fn knobs(&self) -> (bool, f32) {
        (self.fused, self.grad_scale.get())
    }
}

/// [`update`] over one chunk of CPU buffers, with or without weight decay.
#[inline(always)]
fn kernel<const DECAY: bool>(k: &Constants, l: Lanes<'_>) {
    let k = &Constants { decay: DECAY, ..*k };
    host::each::<AdaDelta>(k, l);
}
