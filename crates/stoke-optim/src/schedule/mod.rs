//! Learning-rate schedules: how `η` moves over a run.
//!
//! With base rate `η` (the spec's `lr`), optimizer step `t = 0, 1, …` of a run of `N` steps:
//!
//! ```text
//! constant      η_t = η
//! step          η_t = η·γ^⌊t/step_size⌋
//! exponential   η_t = η·γ^t
//! cosine        t < W:  η_t = η·(t + 1)/(W + 1)                         W = warmup_steps
//!               t ≥ W:  η_t = η_min + (η − η_min)·(1 + cos(π·(t − W)/(N − W)))/2
//! one-cycle     η₀ = η/d → η → η₀/f over T = total_steps (default N)    see [one_cycle]
//! plateau       η, cut to max(γ·η, min_lr) after `patience` epochs
//!               without improvement of the validation metric              see [plateau]
//! ```
//!
//! Step, exponential and cosine are Burn's own schedulers (`StepLrScheduler`,
//! `ExponentialLrScheduler`, and `LinearLrScheduler` then `CosineAnnealingLrScheduler` chained by
//! `SequentialLrScheduler`); one-cycle ([`OneCycleLr`]) and plateau ([`ReduceLrOnPlateau`]) are
//! stoke's. Every schedule but plateau is a Burn `LrScheduler` ([`StepwiseLr`]) and works in
//! Burn's `Learner`; plateau needs the validation metric and works in a hand-written loop.
//!
//! | stoke | PyTorch `torch.optim.lr_scheduler` | optax | Keras `optimizers.schedules` |
//! |---|---|---|---|
//! | `constant` | — (no scheduler) | `constant_schedule(η)` | a float `learning_rate` |
//! | `step` (`step_size`, `gamma` 0.1) | `StepLR(step_size, gamma=0.1)` | `exponential_decay(η, transition_steps=step_size, decay_rate=gamma, staircase=True)` | `ExponentialDecay(η, decay_steps=step_size, decay_rate=gamma, staircase=True)` |
//! | `exponential` (`gamma`) | `ExponentialLR(gamma)` | `exponential_decay(η, transition_steps=1, decay_rate=gamma)` | `ExponentialDecay(η, decay_steps=1, decay_rate=gamma)` |
//! | `cosine` (`warmup_steps` 0, `min_lr` 0) | `SequentialLR([LinearLR(start_factor=1/(W+1), total_iters=W), CosineAnnealingLR(T_max=N−W, eta_min=min_lr)], milestones=[W])`; without warm-up `CosineAnnealingLR(T_max=N)` | `warmup_cosine_decay_schedule(η/(W+1), η, W, N, min_lr)`; without warm-up `cosine_decay_schedule(η, N, alpha=min_lr/η)` | `CosineDecay(η, decay_steps=N, alpha=min_lr/η)` (its warm-up starts at its own `initial_learning_rate`) |
//! | `one-cycle` | `OneCycleLR` | `cosine_onecycle_schedule` / `linear_onecycle_schedule` | — |
//! | `plateau` | `ReduceLROnPlateau` | `contrib.reduce_on_plateau` | `callbacks.ReduceLROnPlateau` |
//!
//! `t` counts optimizer steps, as Burn's `Learner` steps its scheduler; PyTorch's schedulers
//! count `scheduler.step()` calls, which scripts often make once per epoch.
//!
//! The text form is a flat map with `kind` (see [`Schedule::from_map`]); beside an optimizer
//! it is the spec's `schedule` field.

mod error;
mod map;
pub mod one_cycle;
pub mod plateau;
mod scheduler;

pub use error::{ScheduleError, ScheduleStateError};
pub use one_cycle::{Anneal, OneCycleConfig, OneCycleLr};
pub use plateau::{PlateauConfig, PlateauMode, ReduceLrOnPlateau, ThresholdMode};
pub use scheduler::{Scheduler, StepwiseLr};

use crate::error::{ConfigError, Rules};

/// How the learning rate moves over a run; the spec's `lr` is its base (the start, or
/// one-cycle's peak). See the [module docs](self) for each kind's formula.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Schedule {
    /// `constant`: `η` throughout.
    #[default]
    Constant,
    /// `step`: `η·γ^⌊t/step_size⌋`.
    Step {
        /// Steps between two cuts; `>= 1`.
        step_size: usize,
        /// `γ`, the multiplier at each cut; in `(0, 1)` (default 0.1).
        gamma: f64,
    },
    /// `exponential`: `η·γ^t`.
    Exponential {
        /// `γ`, the multiplier per step; in `(0, 1)`.
        gamma: f64,
    },
    /// `cosine`: an optional linear warm-up, then half a cosine from `η` to `min_lr` over the
    /// rest of the run.
    Cosine {
        /// `W`, steps of linear warm-up (default 0); fewer than the run's steps.
        warmup_steps: usize,
        /// The rate at the end of the run (default 0); in `[0, η]`.
        min_lr: f64,
    },
    /// `one-cycle`: up from `η/div_factor` to `η`, then down (see [`one_cycle`]).
    OneCycle {
        /// The cycle's length; `None` (the default) for the whole run.
        total_steps: Option<usize>,
        /// Its shape.
        cycle: OneCycleConfig,
    },
    /// `plateau`: cut `η` when the validation metric stalls (see [`plateau`]).
    Plateau(PlateauConfig),
}

impl Schedule {
    /// Every kind's name, as the text form spells it: `constant`, `step`, `exponential`,
    /// `cosine`, `one-cycle`, `plateau`.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        map::kinds()
    }

    /// The kind's name, e.g. `"one-cycle"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Step { .. } => "step",
            Self::Exponential { .. } => "exponential",
            Self::Cosine { .. } => "cosine",
            Self::OneCycle { .. } => "one-cycle",
            Self::Plateau(_) => "plateau",
        }
    }

    /// Checks every field against base rate `lr`, and against the run's length where it is
    /// known (`steps`).
    fn check(&self, lr: f64, steps: Option<usize>) -> Result<(), ScheduleError> {
        self.rules(lr, steps)
            .map_err(|source| ScheduleError::Invalid {
                kind: self.kind(),
                source,
            })
    }

    fn rules(&self, lr: f64, steps: Option<usize>) -> Result<(), ConfigError> {
        let gamma = |config, g: f64| {
            Rules::new(config).require(g > 0.0 && g < 1.0, "gamma", g, "must be in (0, 1)")
        };
        match self {
            Self::Constant => Ok(()),
            Self::Step {
                step_size,
                gamma: g,
            } => {
                let r = Rules::new("Schedule::Step");
                r.require(*step_size >= 1, "step_size", step_size, "must be >= 1")?;
                gamma("Schedule::Step", *g)
            }
            Self::Exponential { gamma: g } => gamma("Schedule::Exponential", *g),
            Self::Cosine {
                warmup_steps,
                min_lr,
            } => cosine_rules(lr, *warmup_steps, *min_lr, steps),
            Self::OneCycle { total_steps, cycle } => match total_steps.or(steps) {
                Some(t) => cycle.validate_for(lr, t),
                None => cycle.validate(),
            },
            Self::Plateau(c) => c.validate(),
        }
    }

    /// Checks every field that does not depend on the run's length, for base rate `lr`.
    pub fn validate(&self, lr: f64) -> Result<(), ScheduleError> {
        self.check(lr, None)
    }

    /// The running schedule for a run of `steps` optimizer steps at base rate `lr` (the length
    /// of cosine, and of one-cycle without `total_steps`), or the first rule broken.
    pub fn build(&self, lr: f64, steps: usize) -> Result<Scheduler, ScheduleError> {
        self.check(lr, Some(steps))?;
        let kind = self.kind();
        let burn = |message| ScheduleError::Burn { kind, message };
        let invalid = |source| ScheduleError::Invalid { kind, source };
        let stepwise = match self {
            Self::Constant => StepwiseLr::new(lr),
            Self::Step { step_size, gamma } => {
                scheduler::step(lr, *step_size, *gamma).map_err(burn)?
            }
            Self::Exponential { gamma } => scheduler::exponential(lr, *gamma).map_err(burn)?,
            Self::Cosine {
                warmup_steps,
                min_lr,
            } => scheduler::cosine(lr, *warmup_steps, *min_lr, steps).map_err(burn)?,
            Self::OneCycle { total_steps, cycle } => StepwiseLr::new(
                cycle
                    .init(lr, total_steps.unwrap_or(steps))
                    .map_err(invalid)?,
            ),
            Self::Plateau(c) => return Ok(Scheduler::Plateau(c.init(lr).map_err(invalid)?)),
        };
        Ok(Scheduler::Stepwise(stepwise))
    }
}

/// `min_lr ∈ [0, η]`, and a warm-up that leaves the cosine at least one step.
fn cosine_rules(
    lr: f64,
    warmup: usize,
    min_lr: f64,
    steps: Option<usize>,
) -> Result<(), ConfigError> {
    let r = Rules::new("Schedule::Cosine");
    r.non_negative("min_lr", min_lr)?;
    r.require(min_lr <= lr, "min_lr", min_lr, "must be <= lr")?;
    match steps {
        Some(n) => r.require(
            warmup < n,
            "warmup_steps",
            format!("{warmup} (in a run of {n} steps)"),
            "must be < the run's steps",
        ),
        None => Ok(()),
    }
}
