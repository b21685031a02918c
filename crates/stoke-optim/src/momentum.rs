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
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

use crate::error::{ConfigError, Rules};
use crate::forms::MomentumForm;
use crate::host::{Lanes, specialize, update};
use crate::state::{put, take};

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

/// Gradient descent with momentum; see the [module docs](self) for the equations.
#[derive(Clone, Debug)]
pub struct Momentum {
    config: MomentumConfig,
    fused: bool,
}

crate::constructors!(MomentumConfig, Momentum);

/// The velocity `v` of one parameter.
#[derive(Clone, Debug)]
pub struct MomentumState<const D: usize> {
    /// `v`: in units of a step for [`MomentumForm::Classic`], of a gradient for
    /// [`MomentumForm::PyTorch`].
    pub velocity: Tensor<D>,
}

impl<const D: usize> RecordState for MomentumState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        put(out, prefix, "velocity", &self.velocity);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            velocity: take(src, prefix, "velocity", device)?,
        })
    }
}

impl Momentum {
    /// The tensor-op form of the step, for every device.
    fn step_tensors<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        mut g: Tensor<D>,
        state: Option<MomentumState<D>>,
    ) -> (Tensor<D>, Option<MomentumState<D>>) {
        let c = &self.config;
        if c.weight_decay != 0.0 {
            // g ← g + wd·w
            g = g.add(w.clone().mul_scalar(c.weight_decay));
        }
        if c.momentum == 0.0 {
            // w ← w − η·g
            return (w.sub(g.mul_scalar(lr)), None);
        }
        let (gamma, keep) = (c.momentum, 1.0 - c.dampening);
        match c.form {
            MomentumForm::Classic => {
                // v ← γ·v + (1−d)·η·g
                let step = g.clone().mul_scalar(keep * lr);
                let v = match state {
                    Some(s) => s.velocity.mul_scalar(gamma).add(step),
                    None => step,
                };
                let w = if c.nesterov {
                    // w ← w − (γ·v + η·g)
                    w.sub(v.clone().mul_scalar(gamma).add(g.mul_scalar(lr)))
                } else {
                    // w ← w − v
                    w.sub(v.clone())
                };
                (w, Some(MomentumState { velocity: v }))
            }
            MomentumForm::PyTorch => {
                // v ← γ·v + (1−d)·g, first step v = g
                let v = match state {
                    Some(s) => s.velocity.mul_scalar(gamma).add(g.clone().mul_scalar(keep)),
                    None => g.clone(),
                };
                let direction = if c.nesterov {
                    // g + γ·v
                    g.add(v.clone().mul_scalar(gamma))
                } else {
                    v.clone()
                };
                // w ← w − η·direction
                (
                    w.sub(direction.mul_scalar(lr)),
                    Some(MomentumState { velocity: v }),
                )
            }
        }
    }

    /// The same step as one in-place pass over CPU buffers (see `host.rs`): the same `f32`
    /// operations in the same order as [`step_tensors`](Self::step_tensors), per coordinate.
    pub(crate) fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<MomentumState<D>>,
        rows: Option<&[u32]>,
    ) -> (Tensor<D>, Option<MomentumState<D>>) {
        let c = &self.config;
        let k = MomentumCoefs {
            wd: c.weight_decay as f32,
            eta: lr as f32,
            gamma: c.momentum as f32,
            scale: match c.form {
                MomentumForm::Classic => ((1.0 - c.dampening) * lr) as f32,
                MomentumForm::PyTorch => (1.0 - c.dampening) as f32,
            },
        };
        let decay = c.weight_decay != 0.0;
        if c.momentum == 0.0 {
            let (w, _) = update(w, g, Vec::new(), rows, |l: Lanes<'_>| {
                specialize!(sgd_chunk[decay](&k, l))
            });
            return (w, None);
        }
        // A zero velocity gives the classic form's first step exactly; PyTorch's first step
        // (v = g, no dampening) is its own loop.
        let (v, first) = match state {
            Some(s) => (s.velocity, false),
            None => (w.zeros_like(), true),
        };
        let classic = c.form == MomentumForm::Classic;
        let pytorch_first = !classic && first;
        let nesterov = c.nesterov;
        let (w, mut v) = update(
            w,
            g,
            vec![v],
            rows,
            |l: Lanes<'_>| specialize!(momentum_chunk[decay, classic, nesterov, pytorch_first](&k, l)),
        );
        let velocity = v.pop().expect("v");
        (w, Some(MomentumState { velocity }))
    }
}

/// The `f32` constants of one step, each rounded from `f64` as the tensor ops round them.
struct MomentumCoefs {
    wd: f32,
    eta: f32,
    gamma: f32,
    /// `(1−d)·η` (classic) or `1−d` (PyTorch).
    scale: f32,
}

/// One chunk of plain gradient descent: `w ← w − η·g`.
#[inline(always)]
fn sgd_chunk<const DECAY: bool>(k: &MomentumCoefs, l: Lanes<'_>) {
    let n = l.w.len();
    let (w, g) = (&mut l.w[..n], &l.g[..n]);
    for i in 0..n {
        let gi = if DECAY { g[i] + w[i] * k.wd } else { g[i] };
        w[i] = w[i] - gi * k.eta;
    }
}

/// One chunk of the fused momentum step; the options are const so each combination is a loop
/// without branches.
#[inline(always)]
fn momentum_chunk<
    const DECAY: bool,
    const CLASSIC: bool,
    const NESTEROV: bool,
    const FIRST: bool,
>(
    k: &MomentumCoefs,
    l: Lanes<'_>,
) {
    let n = l.w.len();
    let [v, _, _] = l.s;
    let (w, g, v) = (&mut l.w[..n], &l.g[..n], &mut v[..n]);
    for i in 0..n {
        // g ← g + wd·w
        let gi = if DECAY { g[i] + w[i] * k.wd } else { g[i] };
        if CLASSIC {
            // v ← γ·v + (1−d)·η·g;  w ← w − v  or  w − (γ·v + η·g)
            let vi = v[i] * k.gamma + gi * k.scale;
            v[i] = vi;
            w[i] = if NESTEROV {
                w[i] - (vi * k.gamma + gi * k.eta)
            } else {
                w[i] - vi
            };
        } else {
            // v ← γ·v + (1−d)·g (first step v = g);  w ← w − η·v  or  w − η·(g + γ·v)
            let vi = if FIRST {
                gi
            } else {
                v[i] * k.gamma + gi * k.scale
            };
            v[i] = vi;
            let direction = if NESTEROV { gi + vi * k.gamma } else { vi };
            w[i] = w[i] - direction * k.eta;
        }
    }
}

impl Optimizer for Momentum {
    type State<const D: usize> = MomentumState<D>;

    crate::host::fused_step!();

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        MomentumState {
            velocity: state.velocity.to_device(device),
        }
    }
}
