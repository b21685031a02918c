//! RMSProp: divide each gradient by a running root-mean-square of its recent values.
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, decay `γ`:
//!
//! ```text
//! E ← γ·E + (1−γ)·g²                        E₀ = 0        (the slide writes (1−γ)g² + γE)
//! ḡ ← γ·ḡ + (1−γ)·g,   V = E − ḡ²            only when centered, else V = E
//! u = g / √(V + ε)       (EpsilonPlacement::InsideSqrt: the course, Keras)
//! u = g / (√V + ε)       (EpsilonPlacement::OutsideSqrt: PyTorch)
//! b ← μ·b + u,  w ← w − η·b                  when momentum μ > 0   (b₀ = 0)
//! w ← w − η·u                                otherwise
//! ```
//!
//! | stoke | PyTorch `RMSprop` | Keras `RMSprop` |
//! |---|---|---|
//! | `decay` (γ) | `alpha` (0.99) | `rho` (0.9) |
//! | `epsilon` | `eps` (1e-8), outside the root | `epsilon` (1e-7), inside the root |
//! | `centered` | `centered` | `centered` |
//! | `momentum` | `momentum` | `momentum` |
//! | `weight_decay` (coupled L2) | `weight_decay` | — |
//!
//! [`RmsPropConfig::pytorch`] and [`RmsPropConfig::keras`] set the library defaults. Burn's own
//! `RmsPropConfig` defaults to momentum 0.9 and ε = 1e-5 outside the root.

use burn::config::Config;
use burn::optim::LearningRate;

use crate::arith::Arith;
use crate::error::{ConfigError, Rules};
use crate::forms::{EpsilonPlacement, denominator};
use crate::host::{self, Lanes, specialize};
use crate::path::Rule;
use crate::state::{Slots, filled};

/// Configuration of [`RmsProp`].
#[derive(Config, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// γ, how much of the running mean square is kept each step. In `[0, 1)`.
    #[config(default = 0.9)]
    pub decay: f64,
    /// ε, keeps the denominator away from zero. `> 0`.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Inside the square root (course, Keras) or outside (PyTorch).
    #[config(default = "EpsilonPlacement::InsideSqrt")]
    pub epsilon_placement: EpsilonPlacement,
    /// Divide by the running variance `E − ḡ²` instead of the mean square `E`.
    #[config(default = false)]
    pub centered: bool,
    /// μ, momentum on the normalised step. In `[0, 1)`.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl RmsPropConfig {
    /// `torch.optim.RMSprop`'s defaults: γ = 0.99, ε = 1e-8 outside the root.
    pub fn pytorch() -> Self {
        Self::new()
            .with_decay(0.99)
            .with_epsilon(1e-8)
            .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
    }

    /// Keras' defaults: γ (`rho`) = 0.9, ε = 1e-7 inside the root.
    pub fn keras() -> Self {
        Self::new()
            .with_decay(0.9)
            .with_epsilon(1e-7)
            .with_epsilon_placement(EpsilonPlacement::InsideSqrt)
    }

    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("RmsPropConfig");
        r.unit_interval("decay", self.decay)?;
        r.positive("epsilon", self.epsilon)?;
        r.unit_interval("momentum", self.momentum)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

crate::optimizer! {
    /// RMSProp; see the [module docs](self) for the equations.
    RmsProp(RmsPropConfig);
    /// The state of one parameter: [`RmsPropAverages`].
    RmsPropState
}

/// `E`, `ḡ` and `b` of one parameter (tensors), of its CPU buffers, or of one coordinate.
#[derive(Clone, Debug)]
pub struct RmsPropAverages<X> {
    /// `E`, the running mean of `g²`.
    pub square_avg: X,
    /// `ḡ`, the running mean of `g` (centered only).
    pub grad_avg: Option<X>,
    /// `b`, the momentum buffer (momentum > 0 only).
    pub momentum_buffer: Option<X>,
}

impl<X> Slots<X> for RmsPropAverages<X> {
    const NAMES: [&'static str; 3] = ["square_avg", "grad_avg", "momentum_buffer"];

    fn into_slots(self) -> [Option<X>; 3] {
        [Some(self.square_avg), self.grad_avg, self.momentum_buffer]
    }

    fn from_slots([square_avg, grad_avg, momentum_buffer]: [Option<X>; 3]) -> Self {
        let square_avg = filled(square_avg);
        RmsPropAverages {
            square_avg,
            grad_avg,
            momentum_buffer,
        }
    }

    fn filled_slots() -> [bool; 3] {
        [true, false, false]
    }
}

/// The options and `f32` constants of one step.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub struct Constants {
    decay: bool,
    centered: bool,
    momentum: bool,
    inside: bool,
    /// wd, γ, 1 − γ, ε, μ, η
    wd: f32,
    gamma: f32,
    keep: f32,
    eps: f32,
    mu: f32,
    eta: f32,
}

impl Rule for RmsProp {
    const COUNTS_STEPS: bool = false;
    type Constants = Constants;
    type State<X: Clone + Send + Sync + 'static> = RmsPropAverages<X>;

    /// The constants of a step at learning rate `η`.
    fn constants(&self, lr: LearningRate, _: u64) -> Constants {
        let c = &self.config;
        Constants {
            decay: c.weight_decay != 0.0,
            centered: c.centered,
            momentum: c.momentum > 0.0,
            inside: c.epsilon_placement == EpsilonPlacement::InsideSqrt,
            wd: c.weight_decay as f32,
            gamma: c.decay as f32,
            keep: (1.0 - c.decay) as f32,
            eps: c.epsilon as f32,
            mu: c.momentum as f32,
            eta: lr as f32,
        }
    }

    /// The state before the first step: `E₀ = 0` (and `ḡ₀ = 0`, `b₀ = 0` when used).
    #[inline(always)]
    fn fresh<X: Arith>(k: &Constants, w: &X) -> RmsPropAverages<X> {
        RmsPropAverages {
            square_avg: w.zero_like(),
            grad_avg: k.centered.then(|| w.zero_like()),
            momentum_buffer: k.momentum.then(|| w.zero_like()),
        }
    }

    /// The update of the [module docs](self).
    #[inline(always)]
    fn update<X: Arith>(
        k: &Constants,
        w: X,
        mut g: X,
        s: RmsPropAverages<X>,
    ) -> (X, RmsPropAverages<X>) {
        if k.decay {
            // g ← g + wd·w
            g = g + w.clone() * k.wd;
        }
        // E ← γ·E + (1−γ)·g²
        let square_avg = s.square_avg * k.gamma + g.clone().square() * k.keep;
        // ḡ ← γ·ḡ + (1−γ)·g and V = E − ḡ² when centered, else V = E
        let grad_avg = s.grad_avg.map(|avg| avg * k.gamma + g.clone() * k.keep);
        let variance = match &grad_avg {
            Some(avg) => square_avg.clone() - avg.clone().square(),
            None => square_avg.clone(),
        };
        // u = g / √(V + ε)  or  g / (√V + ε)
        let u = g / denominator(k.inside, variance, k.eps);
        // b ← μ·b + u, when momentum μ > 0
        let buffer = s.momentum_buffer.map(|b| b * k.mu + u.clone());
        // w ← w − η·b  or  w − η·u
        let w = w - buffer.clone().unwrap_or(u) * k.eta;
        let s = RmsPropAverages {
            square_avg,
            grad_avg,
            momentum_buffer: buffer,
        };
        (w, s)
    }

    fn kernel(k: &Constants, l: Lanes<'_>) {
        specialize!(kernel[k.decay, k.centered, k.momentum, k.inside](k, l))
    }

    fn knobs(&self) -> (bool, f32) {
        (self.fused, self.grad_scale.get())
    }
}

/// [`update`] over one chunk of CPU buffers, for one combination of options.
#[inline(always)]
fn kernel<const DECAY: bool, const CENTERED: bool, const MOMENTUM: bool, const INSIDE: bool>(
    k: &Constants,
    l: Lanes<'_>,
) {
    let k = &Constants {
        decay: DECAY,
        centered: CENTERED,
        momentum: MOMENTUM,
        inside: INSIDE,
        ..*k
    };
    host::each::<RmsProp>(k, l);
}
