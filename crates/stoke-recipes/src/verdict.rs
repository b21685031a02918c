//! Whether a recipe's claim held, read from its own numbers.
//!
//! Each [`RecipeKind`] splits its claim into checks (one per compared configuration, or one per
//! part of the sentence), each a comparison of the recipe's measured values; the margin over
//! seeds is counted seed by seed (a run that diverged is worse than any run that did not):
//!
//! ```text
//! holds          every check passes
//! holds partly   some pass
//! does not hold  none passes
//! ```
//!
//! The roles of the configurations (the baseline, the diverging one, …) are read from their
//! settings, never from their order or labels: SGD for `optimizers`, the constant rate for
//! `schedules`, the smallest γ for `momentum`, and so on. A [`RecipeKind::Custom`] recipe has no
//! verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stoke_optim::Schedule;

use crate::metrics::{Metric, Split};
use crate::recipe::{BatchSize, RecipeKind, Settings};
use crate::train::{RunResult, RunStatus};

/// How much of a claim held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Holds {
    /// Every check passed.
    Yes,
    /// Some checks passed.
    Partly,
    /// No check passed.
    No,
}

/// A claim's verdict: how much held, and the numbers that say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub holds: Holds,
    /// One sentence beginning "holds", "holds partly" or "does not hold", with each check's
    /// numbers and its margin over seeds.
    pub evidence: String,
}

/// One check of a claim.
struct Check {
    ok: bool,
    text: String,
}

/// The checks of one claim, and what they count (`"optimizers"`, `"parts of the claim"`).
struct Checks {
    noun: &'static str,
    checks: Vec<Check>,
}

impl Checks {
    fn new(noun: &'static str) -> Self {
        Self {
            noun,
            checks: Vec::new(),
        }
    }

    fn push(&mut self, ok: bool, text: String) {
        self.checks.push(Check { ok, text });
    }

    fn verdict(self) -> Option<Verdict> {
        let n = self.checks.len();
        if n == 0 {
            return None;
        }
        let k = self.checks.iter().filter(|c| c.ok).count();
        let (holds, verb) = match k {
            _ if k == n => (Holds::Yes, "holds"),
            0 => (Holds::No, "does not hold"),
            _ => (Holds::Partly, "holds partly"),
        };
        let parts: Vec<String> = self
            .checks
            .iter()
            .map(|c| format!("{} {}", if c.ok { "yes:" } else { "no:" }, c.text))
            .collect();
        Some(Verdict {
            holds,
            evidence: format!("{verb} for {k} of {n} {}: {}.", self.noun, parts.join("; ")),
        })
    }
}

/// One configuration: its label, settings and runs (one per seed).
struct Config<'a> {
    label: &'a str,
    settings: &'a Settings,
    runs: Vec<&'a RunResult>,
}

impl Config<'_> {
    fn diverged(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| matches!(r.status, RunStatus::Diverged { .. }))
            .count()
    }

    /// Each seed's last finite `split`/`metric` value after epoch 0 (`None`: none, or diverged).
    fn last(&self, split: Split, metric: Metric) -> BTreeMap<u64, Option<f64>> {
        self.runs
            .iter()
            .map(|r| (r.spec.seed, last(r, split, metric)))
            .collect()
    }

    /// The mean over seeds of [`last`](Self::last), over the seeds that have one.
    fn mean_last(&self, split: Split, metric: Metric) -> Option<f64> {
        mean(self.last(split, metric).values().flatten().copied())
    }

    /// Per epoch ≥ 1, the mean over seeds of each run's last value in that epoch.
    fn epoch_means(&self, split: Split, metric: Metric) -> BTreeMap<usize, f64> {
        let mut by: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for r in &self.runs {
            let mut mine: BTreeMap<usize, f64> = BTreeMap::new();
            for x in r
                .records
                .iter()
                .filter(|x| x.split == split && x.metric == metric && x.epoch > 0)
            {
                mine.insert(x.epoch, x.value);
            }
            for (e, v) in mine {
                by.entry(e).or_default().push(v);
            }
        }
        by.into_iter()
            .filter_map(|(e, v)| mean(v.into_iter()).map(|m| (e, m)))
            .collect()
    }

    /// The untrained model's loss: the mean over seeds of the epoch-0 validation loss.
    fn start_loss(&self) -> Option<f64> {
        mean(self.runs.iter().filter_map(|r| {
            r.records
                .iter()
                .find(|x| x.split == Split::Valid && x.metric == Metric::Loss && x.epoch == 0)
                .map(|x| x.value)
        }))
    }

    /// How many runs' validation losses (epochs 1, 2, …) satisfy `test`.
    fn runs_whose_valid_loss(&self, test: impl Fn(&[f64]) -> bool) -> usize {
        self.runs
            .iter()
            .filter(|r| {
                let v: Vec<f64> = r
                    .records
                    .iter()
                    .filter(|x| x.split == Split::Valid && x.metric == Metric::Loss && x.epoch > 0)
                    .map(|x| x.value)
                    .collect();
                test(&v)
            })
            .count()
    }

    fn optimizer_field(&self, field: &str) -> f64 {
        let fields = self.settings.optimizer.optimizer.fields();
        fields.get(field).and_then(|v| v.as_f64()).unwrap_or(0.0)
    }

    fn gap(&self) -> Option<f64> {
        Some(
            self.mean_last(Split::Train, Metric::Accuracy)?
                - self.mean_last(Split::Valid, Metric::Accuracy)?,
        )
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// A run's last finite `split`/`metric` value after epoch 0; `None` for a diverged run.
fn last(r: &RunResult, split: Split, metric: Metric) -> Option<f64> {
    if matches!(r.status, RunStatus::Diverged { .. }) {
        return None;
    }
    r.records
        .iter()
        .rev()
        .find(|x| x.split == split && x.metric == metric && x.epoch > 0)
        .map(|x| x.value)
        .filter(|v| v.is_finite())
}

/// Seeds on which `a` is better than `b` (lower when `lower`), and the seeds `b` has: a missing
/// or diverged value loses to any value.
fn wins(a: &Config, b: &Config, split: Split, metric: Metric, lower: bool) -> (usize, usize) {
    let (a, b) = (a.last(split, metric), b.last(split, metric));
    let won = b
        .iter()
        .filter(|(seed, vb)| match (a.get(seed).copied().flatten(), **vb) {
            (Some(x), Some(y)) => (x < y) == lower && x != y,
            (Some(_), None) => true,
            _ => false,
        })
        .count();
    (won, b.len())
}

fn show(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.3}"))
}

/// `a` ends with a lower training loss than `base` on every seed.
fn lower_loss_than(checks: &mut Checks, a: &Config, base: &Config) {
    let (won, n) = wins(a, base, Split::Train, Metric::Loss, true);
    let (x, y) = (
        a.mean_last(Split::Train, Metric::Loss),
        base.mean_last(Split::Train, Metric::Loss),
    );
    checks.push(
        won == n && n > 0,
        format!(
            "{} final train loss {} vs {} for {} (lower on {won} of {n} seeds)",
            a.label,
            show(x),
            show(y),
            base.label
        ),
    );
}

fn diverges(checks: &mut Checks, c: &Config) {
    let (d, n) = (c.diverged(), c.runs.len());
    checks.push(d == n, format!("{} diverged in {d} of {n} runs", c.label));
}

/// Every run of `c` finished, below the untrained model's loss (its epoch-0 validation loss).
fn trains(checks: &mut Checks, c: &Config) {
    let (d, n) = (c.diverged(), c.runs.len());
    let start = c.start_loss();
    let end = c.mean_last(Split::Train, Metric::Loss);
    checks.push(
        d == 0 && end.zip(start).is_some_and(|(e, s)| e < s),
        format!(
            "{} trains ({} of {n} runs finished; train loss {} from {})",
            c.label,
            n - d,
            show(end),
            show(start)
        ),
    );
}

/// The configurations of `results`, in their order.
fn configs(results: &[RunResult]) -> Vec<Config<'_>> {
    let mut out: Vec<Config> = Vec::new();
    for r in results {
        match out.iter_mut().find(|c| c.label == r.spec.config) {
            Some(c) => c.runs.push(r),
            None => out.push(Config {
                label: &r.spec.config,
                settings: &r.spec.settings,
                runs: vec![r],
            }),
        }
    }
    out
}

/// The verdict of a recipe of `kind` on its `results`; `None` for a custom recipe, or when its
/// configurations do not have the roles its kind checks.
pub fn verdict(kind: RecipeKind, results: &[RunResult]) -> Option<Verdict> {
    let all = configs(results);
    let by = |f: &dyn Fn(&Config) -> f64| {
        let mut v: Vec<&Config> = all.iter().collect();
        v.sort_by(|a, b| f(a).total_cmp(&f(b)));
        v
    };
    match kind {
        RecipeKind::Custom => None,
        RecipeKind::Optimizers => kinds::optimizers(&all),
        RecipeKind::Schedules => {
            let mut checks = Checks::new("schedules");
            let constant = all
                .iter()
                .find(|c| c.settings.optimizer.schedule == Schedule::Constant)?;
            for c in all.iter().filter(|c| !std::ptr::eq(*c, constant)) {
                lower_loss_than(&mut checks, c, constant);
            }
            checks.verdict()
        }
        RecipeKind::Momentum => {
            let sorted = by(&|c| c.optimizer_field("momentum"));
            let (base, top) = (sorted.first()?, sorted.last()?);
            let mut checks = Checks::new("parts of the claim");
            for c in &sorted[1..sorted.len() - 1] {
                lower_loss_than(&mut checks, c, base);
            }
            diverges(&mut checks, top);
            checks.verdict()
        }
        RecipeKind::LearningRate => kinds::learning_rate(&by(&|c| c.settings.optimizer.lr)),
        RecipeKind::BatchSize => kinds::batch_size(&all),
        RecipeKind::Batchnorm => kinds::batchnorm(&all),
        RecipeKind::Dropout => kinds::dropout(&by(&|c| c.settings.model.dropout)),
        RecipeKind::L2 => kinds::l2(&all),
        RecipeKind::Overfitting => kinds::overfitting(&all),
        RecipeKind::Clipping => kinds::clipping(&all),
    }
}

mod kinds;

#[cfg(test)]
mod tests;
