//! Gradient descent with momentum (heavy ball), in the course's form and in PyTorch's.
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, momentum `γ` and
//! dampening `d`:
//!
//! | form | velocity | update | Nesterov update |
//! |---|---|---|---|
//! | [`MomentumForm::Classic`] (course, Keras) | `v ← γ·v + (1−d)·η·g`, `v₀ = 0` | `w ← w − v` | `w ← w − (γ·v + η·g)` |
//! | [`MomentumForm::PyTorch`] (`torch.optim.SGD`) | `v ← γ·v + (1−d)·g`, first step `v = g` | `w ← w − η·v` | `w ← w − η·(g + γ·v)` |
//!
//! At a constant `η` and `d = 0` the two forms give the same trajectory (the classic velocity is
//! `η` times PyTorch's). They differ when `η` changes: the classic velocity remembers the old
//! step sizes, PyTorch's rescales the whole remembered velocity by the new `η`. PyTorch also
//! skips dampening on the first step.
//!
//! With `γ = 0` this is plain (stochastic) gradient descent, `w ← w − η·g`, and keeps no state.
//!
//! | stoke | PyTorch `SGD` | Keras `SGD` |
//! |---|---|---|
//! | `momentum` | `momentum` | `momentum` |
//! | `dampening` | `dampening` | — (0) |
//! | `nesterov` | `nesterov` | `nesterov` |
//! | `weight_decay` (coupled L2) | `weight_decay` | — (use a regularizer) |

use burn::config::Config;
use burn::optim::LearningRate;

use crate::arith::Arith;
use crate::error::{ConfigError, Rules};
use crate::forms::MomentumForm;
use crate::host::{self, Lanes, specialize};
use crate::path::Rule;
use crate::state::Slots;

/// Configuration of [`Momentum`].
#[derive(Config, Debug, PartialEq)]
pub struct MomentumConfig {
    /// γ, the fraction of the velocity kept from one step to the next. In `[0, 1)`.
    #[config(default = 0.9)]
    pub momentum: f64,
    /// d, the fraction of the new gradient dropped from the velocity. In `[0, 1]`.
    #[config(default = 0.0)]
    pub dampening: f64,
    /// Use Nesterov's look-ahead update. Needs `momentum > 0` and `dampening = 0`.
    #[config(default = false)]
    pub nesterov: bool,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Where the learning rate enters; see the module docs.
    #[config(default = "MomentumForm::Classic")]
    pub form: MomentumForm,
}

impl MomentumConfig {
    /// Plain gradient descent: `w ← w − η·g` (momentum 0).
    pub fn sgd() -> Self {
        Self::new().with_momentum(0.0)
    }

    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("MomentumConfig");
        r.unit_interval("momentum", self.momentum)?;
        r.closed_unit_interval("dampening", self.dampening)?;
        r.non_negative("weight_decay", self.weight_decay)?;
        r.require(
            !self.nesterov || self.momentum > 0.0,
            "nesterov",
            self.nesterov,
            "Nesterov momentum needs momentum > 0",
        )?;
        r.require(
            !self.nesterov || self.dampening == 0.0,
            "nesterov",
            self.nesterov,
            "Nesterov momentum needs dampening = 0",
        )
    }
}

crate::optimizer! {
    /// Gradient descent with momentum; see the [module docs](self) for the equations.
    Momentum(MomentumConfig);
    /// The state of one parameter: [`MomentumVelocity`] (none for plain gradient descent).
    MomentumState
}

/// `v` of one parameter (a tensor), of its CPU buffer, or of one coordinate; none at `γ = 0`.
#[derive(Clone, Debug)]
pub struct MomentumVelocity<X> {
    /// `v`: in units of a step for [`MomentumForm::Classic`], of a gradient for
    /// [`MomentumForm::PyTorch`].
    pub velocity: Option<X>,
}

impl<X> Slots<X> for MomentumVelocity<X> {
    const NAMES: [&'static str; 3] = ["velocity", "", ""];

    fn into_slots(self) -> [Option<X>; 3] {
        [self.velocity, None, None]
    }

    fn from_slots([velocity, _, _]: [Option<X>; 3]) -> Self {
        MomentumVelocity { velocity }
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
    /// `γ = 0`: plain gradient descent, no velocity.
    sgd: bool,
    classic: bool,
    nesterov: bool,
    /// PyTorch form, first step: `v = g`.
    first: bool,
    /// wd, η, γ
    wd: f32,
    eta: f32,
    gamma: f32,
    /// `(1−d)·η` (classic) or `1−d` (PyTorch).
    scale: f32,
}

impl Rule for Momentum {
    const COUNTS_STEPS: bool = false;
    type Constants = Constants;
    type State<X: Clone + Send + Sync + 'static> = MomentumVelocity<X>;

    /// The constants of a step at learning rate `η`; `t = 1`: no velocity yet.
    fn constants(&self, lr: LearningRate, t: u64) -> Constants {
        let c = &self.config;
        let classic = c.form == MomentumForm::Classic;
        Constants {
            decay: c.weight_decay != 0.0,
            sgd: c.momentum == 0.0,
            classic,
            nesterov: c.nesterov,
            first: t == 1 && !classic,
            wd: c.weight_decay as f32,
            eta: lr as f32,
            gamma: c.momentum as f32,
            scale: match c.form {
                MomentumForm::Classic => ((1.0 - c.dampening) * lr) as f32,
                MomentumForm::PyTorch => (1.0 - c.dampening) as f32,
            },
        }
    }

    /// The state before the first step: `v₀ = 0` (none at `γ = 0`).
    #[inline(always)]
    fn fresh<X: Arith>(k: &Constants, w: &X) -> MomentumVelocity<X> {
        MomentumVelocity {
            velocity: (!k.sgd).then(|| w.zero_like()),
        }
    }

    /// The update of the [module docs](self).
    #[inline(always)]
    fn update<X: Arith>(
        k: &Constants,
        w: X,
        mut g: X,
        s: MomentumVelocity<X>,
    ) -> (X, MomentumVelocity<X>) {
        if k.decay {
            // g ← g + wd·w
            g = g + w.clone() * k.wd;
        }
        let Some(v) = s.velocity else {
            // w ← w − η·g
            return (w - g * k.eta, MomentumVelocity { velocity: None });
        };
        if k.classic {
            // v ← γ·v + (1−d)·η·g
            let v = v * k.gamma + g.clone() * k.scale;
            let w = if k.nesterov {
                // w ← w − (γ·v + η·g)
                w - (v.clone() * k.gamma + g * k.eta)
            } else {
                // w ← w − v
                w - v.clone()
            };
            (w, MomentumVelocity { velocity: Some(v) })
        } else {
            // v ← γ·v + (1−d)·g, first step v = g
            let v = if k.first {
                g.clone()
            } else {
                v * k.gamma + g.clone() * k.scale
            };
            // g + γ·v (Nesterov) or v
            let direction = if k.nesterov {
                g + v.clone() * k.gamma
            } else {
                v.clone()
            };
            // w ← w − η·direction
            (
                w - direction * k.eta,
                MomentumVelocity { velocity: Some(v) },
            )
        }
    }

    fn kernel(k: &Constants, l: Lanes<'_>) {
        specialize!(kernel[k.decay, k.sgd, k.classic, k.nesterov, k.first](k, l))
    }

    fn knobs(&self) -> (bool, f32) {
        (self.fused, self.grad_scale.get())
    }
}

/// [`update`] over one chunk of CPU buffers, for one combination of options.
#[inline(always)]
fn kernel<
    const DECAY: bool,
    const SGD: bool,
    const CLASSIC: bool,
    const NESTEROV: bool,
    const FIRST: bool,
>(
    k: &Constants,
    l: Lanes<'_>,
) {
    let k = &Constants {
        decay: DECAY,
        sgd: SGD,
        classic: CLASSIC,
        nesterov: NESTEROV,
        first: FIRST,
        ..*k
    };
    host::each::<Momentum>(k, l);
}
