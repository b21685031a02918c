//! One-cycle: the learning rate rises from a low start to its peak, then anneals far below the
//! start (Smith & Topin, "Super-Convergence", 2017) — `torch.optim.lr_scheduler.OneCycleLR`.
//!
//! With peak `η_max`, `T` steps, `p = pct_start`, `d = div_factor`, `f = final_div_factor`:
//!
//! ```text
//! η₀ = η_max / d                          the start
//! η_end = η₀ / f                          the end
//!
//! phases (k = 1, 2[, 3]), each from a to b, ending at step e_k (a real number), e₀ = 0:
//!   two-phase:    e₁ = p·T − 1: η₀ → η_max,   e₂ = T − 1: η_max → η_end
//!   three-phase:  e₁ = p·T − 1: η₀ → η_max,   e₂ = 2p·T − 2: η_max → η₀,   e₃ = T − 1: η₀ → η_end
//!
//! the rate of step t = 0, 1, …, T − 1 lies in the first phase k with t ≤ e_k:
//!   s = (t − e_{k−1}) / (e_k − e_{k−1})
//!   cos:     η_t = b + (a − b)·(1 + cos(π·s))/2
//!   linear:  η_t = a + (b − a)·s
//!
//! t ≥ T:    η_t = η_end
//! ```
//!
//! Step `t` is the `t`-th call of [`LrScheduler::step`], which gives the rate of the `t`-th
//! optimizer step (Burn's `Learner` calls it once per optimizer step, before the step).
//!
//! | stoke | PyTorch `OneCycleLR` | fastai `fit_one_cycle` | optax |
//! |---|---|---|---|
//! | `max_lr` (the spec's `lr`) | `max_lr` | `lr_max` | `peak_value` |
//! | `total_steps` | `total_steps` (or `epochs·steps_per_epoch`) | epochs × batches | `transition_steps` |
//! | `pct_start` (0.3) | `pct_start` (0.3) | `pct_start` (0.25) | `pct_start` (0.3) |
//! | `anneal_strategy` (`cos`) | `anneal_strategy` (`'cos'`) | cosine | `cosine_onecycle_schedule` (two-phase cosine) |
//! | `div_factor` (25) | `div_factor` (25) | `div` (25) | `div_factor` (25) |
//! | `final_div_factor` (1e4) | `final_div_factor` (1e4) | `div_final` (1e5) | `final_div_factor` (1e4) |
//! | `three_phase` (false) | `three_phase` (false) | — | `linear_onecycle_schedule` is three-phase linear, its last phase from `pct_final` (0.85) |
//! | — (rate only) | `cycle_momentum` (true), `base_momentum`, `max_momentum` | `moms` | — |
//!
//! Keras has no one-cycle schedule (`keras.optimizers.schedules` stops at cosine decay with warm-up).
//!
//! Differences from PyTorch: only the learning rate cycles (as `cycle_momentum=False`); and past
//! `T` steps the rate stays at `η_end`, where PyTorch extrapolates the last phase for one more
//! step and then raises an error. Configs whose phases would be empty or out of order (for which
//! PyTorch divides by zero or never reaches the end) are rejected.

use std::f64::consts::PI;

use burn::config::Config;
use burn::optim::LearningRate;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use serde::{Deserialize, Serialize};

use super::ScheduleStateError;
use crate::error::{ConfigError, Rules};

/// How a one-cycle phase goes from its start to its end rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Anneal {
    /// Half a cosine: `b + (a − b)·(1 + cos(π·s))/2`.
    #[default]
    Cos,
    /// A straight line: `a + (b − a)·s`.
    Linear,
}

/// The shape of a one-cycle schedule; [`init`](Self::init) gives it a peak and a length.
#[derive(Config, Debug, PartialEq)]
pub struct OneCycleConfig {
    /// `p`, the fraction of the steps spent rising to the peak. In `(0, 1)`.
    #[config(default = 0.3)]
    pub pct_start: f64,
    /// How each phase moves between its rates.
    #[config(default = "Anneal::Cos")]
    pub anneal_strategy: Anneal,
    /// `d`: the start rate is `η_max / d`. `> 0`.
    #[config(default = 25.0)]
    pub div_factor: f64,
    /// `f`: the end rate is `η_max / (d·f)`. `> 0`.
    #[config(default = 1e4)]
    pub final_div_factor: f64,
    /// Come back down to the start rate before the final anneal (the paper's form), instead of
    /// annealing from the peak straight to the end (fastai's and PyTorch's default).
    #[config(default = false)]
    pub three_phase: bool,
}

impl OneCycleConfig {
    /// Checks the shape's fields; [`init`](Self::init) also checks the peak and the length.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("OneCycleConfig");
        let p = self.pct_start;
        r.require(p > 0.0 && p < 1.0, "pct_start", p, "must be in (0, 1)")?;
        r.positive("div_factor", self.div_factor)?;
        r.positive("final_div_factor", self.final_div_factor)
    }

    /// Checks every field for a cycle of `total_steps` steps peaking at `max_lr`: each phase
    /// must take at least one step, in order.
    pub fn validate_for(&self, max_lr: f64, total_steps: usize) -> Result<(), ConfigError> {
        self.validate()?;
        let r = Rules::new("OneCycleConfig");
        r.positive("max_lr", max_lr)?;
        let (p, t) = (self.pct_start, total_steps as f64);
        r.require(
            p * t > 1.0,
            "total_steps",
            total_steps,
            "must be > 1/pct_start (the rise to max_lr needs a step)",
        )?;
        r.require(
            !self.three_phase || 2.0 * p * t < t + 1.0,
            "pct_start",
            p,
            "with three_phase, must be < (total_steps + 1)/(2·total_steps), about 0.5",
        )
    }

    /// The scheduler of a cycle of `total_steps` steps peaking at `max_lr`, or the first rule
    /// broken.
    pub fn init(&self, max_lr: f64, total_steps: usize) -> Result<OneCycleLr, ConfigError> {
        self.validate_for(max_lr, total_steps)?;
        let start = max_lr / self.div_factor;
        let end = start / self.final_div_factor;
        let (p, t) = (self.pct_start, total_steps as f64);
        let rise = Phase::new(p * t - 1.0, start, max_lr);
        let phases = if self.three_phase {
            vec![
                rise,
                Phase::new(2.0 * p * t - 2.0, max_lr, start),
                Phase::new(t - 1.0, start, end),
            ]
        } else {
            vec![rise, Phase::new(t - 1.0, max_lr, end)]
        };
        Ok(OneCycleLr {
            phases,
            anneal: self.anneal_strategy,
            total_steps,
            end,
            step: 0,
        })
    }
}

/// One phase of the cycle: from rate `from` to rate `to`, ending at step `end`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Phase {
    end: f64,
    from: f64,
    to: f64,
}

impl Phase {
    fn new(end: f64, from: f64, to: f64) -> Self {
        Self { end, from, to }
    }
}

/// The one-cycle scheduler; see the [module docs](self) for the equations. Build it with
/// [`OneCycleConfig::init`].
#[derive(Debug, Clone, PartialEq)]
pub struct OneCycleLr {
    phases: Vec<Phase>,
    anneal: Anneal,
    total_steps: usize,
    end: f64,
    /// How many rates have been handed out: the `t` of the next one.
    step: usize,
}

impl OneCycleLr {
    /// The rate of step `t`, without moving the schedule.
    pub fn lr_at(&self, t: usize) -> LearningRate {
        if t >= self.total_steps {
            return self.end;
        }
        let t = t as f64;
        let mut start = 0.0;
        let last = self.phases.len() - 1;
        for (k, phase) in self.phases.iter().enumerate() {
            if t <= phase.end || k == last {
                let s = (t - start) / (phase.end - start);
                let (a, b) = (phase.from, phase.to);
                return match self.anneal {
                    Anneal::Cos => b + (a - b) * (1.0 + (PI * s).cos()) / 2.0,
                    Anneal::Linear => a + (b - a) * s,
                };
            }
            start = phase.end;
        }
        unreachable!("the last phase takes every step")
    }

    /// How many steps the schedule has taken (the `t` of the next rate).
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    /// Restores the position saved by [`to_record`](LrScheduler::to_record), or says why the
    /// record is not one of this scheduler's (the schedule is then unchanged).
    pub fn try_load_record(
        &mut self,
        record: &LrSchedulerRecord,
    ) -> Result<(), ScheduleStateError> {
        let step: u64 = record.scalar("step").ok_or(ScheduleStateError {
            scheduler: "OneCycleLr",
            key: "step",
        })?;
        // A count saved from a usize fits a usize.
        self.step = step as usize;
        Ok(())
    }
}

impl LrScheduler for OneCycleLr {
    fn step(&mut self) -> LearningRate {
        let lr = self.lr_at(self.step);
        self.step = self.step.saturating_add(1);
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("step", self.step as u64)
    }

    /// As Burn's own schedulers do, a record without this scheduler's position leaves it
    /// unchanged; [`try_load_record`](OneCycleLr::try_load_record) says so instead.
    fn load_record(&mut self, record: LrSchedulerRecord) {
        let _ = self.try_load_record(&record);
    }
}
