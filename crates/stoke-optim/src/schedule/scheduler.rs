//! The running schedule of one training run: a rate per optimizer step, or a rate that moves
//! with the validation metric.

use std::fmt;

use burn::optim::LearningRate;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};

use super::{ReduceLrOnPlateau, ScheduleStateError};

/// A schedule that gives a rate for every optimizer step — every kind but plateau. It is a
/// Burn [`LrScheduler`], so it also drops into Burn's `Learner`
/// (`Learner::new(model, optim, stepwise)`), which calls [`step`](LrScheduler::step) once per
/// optimizer step, before the step.
#[derive(Clone)]
pub struct StepwiseLr(Box<dyn LrScheduler>);

impl StepwiseLr {
    /// Any Burn scheduler, e.g. [`OneCycleLr`](super::OneCycleLr) or a plain `f64`.
    pub fn new(scheduler: impl LrScheduler + 'static) -> Self {
        Self(Box::new(scheduler))
    }

    /// Burn's scheduler `factor` (a multiplier starting at 1) times the rate `lr`.
    fn scaled(lr: LearningRate, factor: ModuleLrScheduler) -> Self {
        Self::new(Scaled { lr, factor })
    }
}

impl fmt::Debug for StepwiseLr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StepwiseLr(..)")
    }
}

impl LrScheduler for StepwiseLr {
    fn step(&mut self) -> LearningRate {
        self.0.step()
    }

    fn to_record(&self) -> LrSchedulerRecord {
        self.0.to_record()
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        self.0.load_record(record)
    }
}

/// `η · factor_t`: Burn's schedulers run on the multiplier, because their configs refuse a
/// starting rate above 1 (`initial_lr` must be in `(0, 1]`) and a course's η may be larger.
#[derive(Clone)]
struct Scaled {
    lr: LearningRate,
    factor: ModuleLrScheduler,
}

impl LrScheduler for Scaled {
    fn step(&mut self) -> LearningRate {
        self.lr * self.factor.step().base()
    }

    fn to_record(&self) -> LrSchedulerRecord {
        self.factor.to_record()
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        self.factor = self.factor.clone().load_record(record);
    }
}

/// `η·γ^⌊t/step_size⌋` with Burn's `StepLrScheduler`.
pub(super) fn step(lr: f64, step_size: usize, gamma: f64) -> Result<StepwiseLr, String> {
    let factor = StepLrSchedulerConfig::new(1.0, step_size)
        .with_gamma(gamma)
        .init()?;
    Ok(StepwiseLr::scaled(lr, factor))
}

/// `η·γ^t` with Burn's `ExponentialLrScheduler`.
pub(super) fn exponential(lr: f64, gamma: f64) -> Result<StepwiseLr, String> {
    let factor = ExponentialLrSchedulerConfig::new(1.0, gamma).init()?;
    Ok(StepwiseLr::scaled(lr, factor))
}

/// `warmup` steps of Burn's `LinearLrScheduler` from `η/(W+1)` towards `η`, then Burn's
/// `CosineAnnealingLrScheduler` from `η` to `min_lr` over the remaining `steps − W`, chained by
/// Burn's `SequentialLrScheduler`.
pub(super) fn cosine(
    lr: f64,
    warmup: usize,
    min_lr: f64,
    steps: usize,
) -> Result<StepwiseLr, String> {
    let decay = CosineAnnealingLrSchedulerConfig::new(1.0, steps.saturating_sub(warmup))
        .with_min_lr(min_lr / lr);
    let factor = if warmup == 0 {
        decay.init()?
    } else {
        let rise = LinearLrSchedulerConfig::new(1.0 / (warmup + 1) as f64, 1.0, warmup);
        SequentialLrSchedulerConfig::new(vec![rise.into(), decay.into()], vec![warmup]).init()?
    };
    Ok(StepwiseLr::scaled(lr, factor))
}

/// The schedule of one run, built by [`Schedule::build`](super::Schedule::build).
///
/// A training loop asks [`step`](Self::step) for the rate of each optimizer step and hands each
/// epoch's validation metric to [`report`](Self::report); the state saves with
/// [`to_record`](Self::to_record) and restores with [`load_record`](Self::load_record).
#[derive(Debug, Clone)]
pub enum Scheduler {
    /// A rate per optimizer step; also usable as Burn's `LrScheduler`.
    Stepwise(StepwiseLr),
    /// A rate that changes only after a reported metric (not an `LrScheduler`; see
    /// [`plateau`](super::plateau)).
    Plateau(ReduceLrOnPlateau),
}

impl Scheduler {
    /// The rate of the next optimizer step; a stepwise schedule moves on by one step.
    pub fn step(&mut self) -> LearningRate {
        match self {
            Self::Stepwise(s) => s.step(),
            Self::Plateau(p) => p.lr(),
        }
    }

    /// After an epoch: a plateau schedule takes its validation metric (lower or higher is
    /// better as its `mode` says); a stepwise schedule ignores it.
    pub fn report(&mut self, metric: f64) {
        if let Self::Plateau(p) = self {
            p.report(metric);
        }
    }

    /// Whether [`report`](Self::report) matters: the loop must compute a validation metric.
    pub fn needs_metric(&self) -> bool {
        matches!(self, Self::Plateau(_))
    }

    /// The schedule's position or counters, as Burn's scheduler record.
    pub fn to_record(&self) -> LrSchedulerRecord {
        match self {
            Self::Stepwise(s) => s.to_record(),
            Self::Plateau(p) => p.to_record(),
        }
    }

    /// Restores the state saved by [`to_record`](Self::to_record). A plateau schedule names
    /// the scalar a foreign record lacks; a stepwise one, as Burn's schedulers do, keeps its
    /// state where the record has none.
    pub fn load_record(&mut self, record: LrSchedulerRecord) -> Result<(), ScheduleStateError> {
        match self {
            Self::Stepwise(s) => {
                s.load_record(record);
                Ok(())
            }
            Self::Plateau(p) => p.load_record(&record),
        }
    }
}
