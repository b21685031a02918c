//! Reduce-on-plateau: cut the learning rate when a validation metric stops improving —
//! `torch.optim.lr_scheduler.ReduceLROnPlateau`.
//!
//! With rate `η`, `factor` `γ`, `threshold` `θ`, after each epoch's metric `a`:
//!
//! ```text
//! better(a):   min, rel:  a < best·(1 − θ)      min, abs:  a < best − θ
//!              max, rel:  a > best·(1 + θ)      max, abs:  a > best + θ
//! best₀ = +∞ (min) or −∞ (max);   bad₀ = cool₀ = 0
//!
//! report(a):
//!   if better(a):  best ← a, bad ← 0      else  bad ← bad + 1
//!   if cool > 0:   cool ← cool − 1, bad ← 0
//!   if bad > patience:
//!       η' = max(γ·η, min_lr)
//!       if η − η' > eps:  η ← η'
//!       cool ← cooldown, bad ← 0
//! ```
//!
//! The new `η` is the rate of every optimizer step of the next epoch. A metric that is NaN is
//! never better, so it counts as a bad epoch (as in PyTorch).
//!
//! | stoke | PyTorch `ReduceLROnPlateau` | Keras `ReduceLROnPlateau` |
//! |---|---|---|
//! | `mode` (`min`) | `mode` (`'min'`) | `mode` (`'auto'`) |
//! | `factor` (0.1) | `factor` (0.1) | `factor` (0.1) |
//! | `patience` (10) | `patience` (10) | `patience` (10) |
//! | `threshold` (1e-4) | `threshold` (1e-4) | `min_delta` (1e-4, absolute) |
//! | `threshold_mode` (`rel`) | `threshold_mode` (`'rel'`) | — (always `abs`) |
//! | `cooldown` (0) | `cooldown` (0) | `cooldown` (0) |
//! | `min_lr` (0) | `min_lr` (0) | `min_lr` (0) |
//! | `eps` (1e-8) | `eps` (1e-8) | — |
//! | `report(metric)` | `step(metrics)` | `monitor` (`'val_loss'`) |
//!
//! optax's counterpart is `contrib.reduce_on_plateau`.
//!
//! # Not a Burn `LrScheduler`
//!
//! Burn's [`LrScheduler::step`](burn::optim::lr_scheduler::LrScheduler::step) takes no
//! argument, and Burn's `Learner` calls it once per optimizer step, before the step, with no
//! access to the validation metrics (its `lr_step()` passes none). A plateau schedule needs the
//! epoch's validation metric, so it cannot be an `LrScheduler` inside Burn's `Learner`, and
//! [`ReduceLrOnPlateau`] does not implement the trait. Use it in a hand-written loop: take
//! [`lr`](ReduceLrOnPlateau::lr) for each optimizer step, and call
//! [`report`](ReduceLrOnPlateau::report) with the validation metric after each epoch (with the
//! `Learner`, that takes a custom training strategy that owns the validation loop).

use burn::config::Config;
use burn::optim::LearningRate;
use burn::optim::lr_scheduler::LrSchedulerRecord;
use serde::{Deserialize, Serialize};

use super::ScheduleStateError;
use crate::error::{ConfigError, Rules};

/// Whether a lower or a higher metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PlateauMode {
    /// A loss: lower is better.
    #[default]
    Min,
    /// An accuracy: higher is better.
    Max,
}

/// How far past the best a metric must go to count as better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdMode {
    /// By a fraction `θ` of the best: `best·(1 ∓ θ)`.
    #[default]
    Rel,
    /// By `θ` itself: `best ∓ θ`.
    Abs,
}

/// Configuration of [`ReduceLrOnPlateau`]; [`init`](Self::init) gives it a starting rate.
#[derive(Config, Debug, PartialEq)]
pub struct PlateauConfig {
    /// Whether a lower (`min`) or higher (`max`) metric is better.
    #[config(default = "PlateauMode::Min")]
    pub mode: PlateauMode,
    /// `γ`, the rate's multiplier on a plateau. In `(0, 1)`.
    #[config(default = 0.1)]
    pub factor: f64,
    /// How many epochs without improvement are tolerated; the next one cuts the rate.
    #[config(default = 10)]
    pub patience: usize,
    /// `θ`, the least improvement that counts. Finite and `>= 0`.
    #[config(default = 1e-4)]
    pub threshold: f64,
    /// Whether `θ` is relative to the best or absolute.
    #[config(default = "ThresholdMode::Rel")]
    pub threshold_mode: ThresholdMode,
    /// How many epochs after a cut are not counted as bad.
    #[config(default = 0)]
    pub cooldown: usize,
    /// The rate is never cut below this. Finite and `>= 0`.
    #[config(default = 0.0)]
    pub min_lr: f64,
    /// A cut smaller than this is skipped. Finite and `>= 0`.
    #[config(default = 1e-8)]
    pub eps: f64,
}

impl PlateauConfig {
    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("PlateauConfig");
        let f = self.factor;
        r.require(f > 0.0 && f < 1.0, "factor", f, "must be in (0, 1)")?;
        r.non_negative("threshold", self.threshold)?;
        r.non_negative("min_lr", self.min_lr)?;
        r.non_negative("eps", self.eps)
    }

    /// The scheduler, starting at rate `initial_lr`, or the first rule broken.
    pub fn init(&self, initial_lr: f64) -> Result<ReduceLrOnPlateau, ConfigError> {
        self.validate()?;
        Rules::new("ReduceLrOnPlateau").positive("initial_lr", initial_lr)?;
        let best = match self.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        Ok(ReduceLrOnPlateau {
            config: self.clone(),
            lr: initial_lr,
            best,
            bad_epochs: 0,
            cooldown_left: 0,
        })
    }
}

/// The reduce-on-plateau scheduler; see the [module docs](self) for the equations and why it
/// is not a Burn `LrScheduler`. Build it with [`PlateauConfig::init`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceLrOnPlateau {
    config: PlateauConfig,
    lr: LearningRate,
    best: f64,
    bad_epochs: usize,
    cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    /// The current rate: the rate of every optimizer step until the next report.
    pub fn lr(&self) -> LearningRate {
        self.lr
    }

    /// The best metric so far (`±∞` before the first report).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Takes the metric of the epoch just finished and gives the rate for the next one.
    pub fn report(&mut self, metric: f64) -> LearningRate {
        if self.is_better(metric) {
            self.best = metric;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > self.config.patience {
            let cut = (self.lr * self.config.factor).max(self.config.min_lr);
            if self.lr - cut > self.config.eps {
                self.lr = cut;
            }
            self.cooldown_left = self.config.cooldown;
            self.bad_epochs = 0;
        }
        self.lr
    }

    fn is_better(&self, a: f64) -> bool {
        let (best, theta) = (self.best, self.config.threshold);
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - theta),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - theta,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (1.0 + theta),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + theta,
        }
    }

    /// The state — rate, best metric, bad epochs, cooldown left — as Burn's scheduler record
    /// (scalars that save to burnpack bit for bit).
    pub fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new()
            .with_scalar("lr", self.lr)
            .with_scalar("best", self.best)
            .with_scalar("bad_epochs", self.bad_epochs as u64)
            .with_scalar("cooldown_left", self.cooldown_left as u64)
    }

    /// Restores the state saved by [`to_record`](Self::to_record), or names the scalar the
    /// record lacks (the scheduler is then unchanged).
    pub fn load_record(&mut self, record: &LrSchedulerRecord) -> Result<(), ScheduleStateError> {
        let missing = |key| ScheduleStateError {
            scheduler: "ReduceLrOnPlateau",
            key,
        };
        let float = |key| record.scalar::<f64>(key).ok_or(missing(key));
        let count = |key| record.scalar::<u64>(key).ok_or(missing(key));
        let (lr, best) = (float("lr")?, float("best")?);
        let (bad, cool) = (count("bad_epochs")?, count("cooldown_left")?);
        // Counts saved from a usize fit a usize.
        (self.lr, self.best) = (lr, best);
        (self.bad_epochs, self.cooldown_left) = (bad as usize, cool as usize);
        Ok(())
    }
}
