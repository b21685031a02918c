//! The per-configuration summary of a recipe (`summary.json`) and the one-sentence finding the
//! report states, computed from the measured numbers.

use serde::{Deserialize, Serialize};

use crate::metrics::{MeanStd, Metric, Record, Split};
use crate::recipe::{Recipe, RecipeKind};
use crate::train::{RunResult, RunStatus};
use crate::verdict::Verdict;

/// One configuration's results over its seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigSummary {
    pub label: String,
    pub optimizer: String,
    pub batch_size: String,
    pub runs: usize,
    pub diverged: Vec<String>,
    pub iterations_per_epoch: usize,
    pub epochs: usize,
    pub final_train_loss: Option<MeanStd>,
    pub final_train_accuracy: Option<MeanStd>,
    pub final_valid_loss: Option<MeanStd>,
    pub final_valid_accuracy: Option<MeanStd>,
    pub best_valid_accuracy: Option<MeanStd>,
    /// Epoch with the lowest mean validation loss.
    pub best_valid_loss_epoch: Option<usize>,
    pub test_accuracy: Option<MeanStd>,
    pub wall_time: Option<MeanStd>,
    pub examples_per_sec: Option<MeanStd>,
    /// Steps skipped for non-finite gradients, over all runs (`skip_nonfinite`).
    #[serde(default)]
    pub skipped_steps: usize,
}

/// A recipe's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub recipe: String,
    pub title: String,
    pub claim: String,
    pub kind: RecipeKind,
    pub configs: Vec<ConfigSummary>,
    /// What the measured numbers show, in one sentence.
    pub finding: String,
    /// Whether the claim held, from the same numbers (none for a custom recipe).
    #[serde(default)]
    pub verdict: Option<Verdict>,
}

/// One value per run (in run order) from its `split`/`metric` records after epoch 0, as `pick`
/// chooses it; runs it gives nothing for are left out.
fn per_run(
    records: &[&Record],
    split: Split,
    metric: Metric,
    pick: impl Fn(&[&Record]) -> Option<f64>,
) -> Vec<f64> {
    let mut runs: Vec<&str> = records.iter().map(|r| r.run.as_str()).collect();
    runs.sort();
    runs.dedup();
    runs.iter()
        .filter_map(|run| {
            let mine: Vec<&Record> = records
                .iter()
                .copied()
                .filter(|r| r.run == *run && r.split == split && r.metric == metric && r.epoch > 0)
                .collect();
            pick(&mine)
        })
        .collect()
}

/// Each run's last value, when finite.
fn last_of(records: &[&Record], split: Split, metric: Metric) -> Vec<f64> {
    per_run(records, split, metric, |rs| {
        rs.iter()
            .max_by_key(|r| (r.epoch, r.iteration))
            .map(|r| r.value)
            .filter(|v| v.is_finite())
    })
}

/// Each run's largest finite value.
fn best_of(records: &[&Record], split: Split, metric: Metric) -> Vec<f64> {
    per_run(records, split, metric, |rs| {
        rs.iter()
            .map(|r| r.value)
            .filter(|v| v.is_finite())
            .reduce(f64::max)
    })
}

impl Summary {
    /// Summarises `results` (whose records are `records`) in the recipe's configuration order.
    pub fn new(recipe: &Recipe, results: &[RunResult], records: &[Record]) -> Self {
        let mut labels: Vec<String> = Vec::new();
        for r in results {
            if !labels.contains(&r.spec.config) {
                labels.push(r.spec.config.clone());
            }
        }
        let configs = labels
            .iter()
            .map(|label| {
                let runs: Vec<&RunResult> =
                    results.iter().filter(|r| &r.spec.config == label).collect();
                let recs: Vec<&Record> = records.iter().filter(|r| &r.config == label).collect();
                let first = runs[0];
                let epoch_loss = crate::metrics::curves(
                    &recs.iter().map(|r| (*r).clone()).collect::<Vec<_>>(),
                    Split::Valid,
                    Metric::Loss,
                );
                let best_valid_loss_epoch = epoch_loss.get(label).and_then(|pts| {
                    pts.iter()
                        .filter(|(e, m)| *e > 0.0 && m.mean.is_finite())
                        .min_by(|a, b| a.1.mean.total_cmp(&b.1.mean))
                        .map(|(e, _)| *e as usize)
                });
                ConfigSummary {
                    label: label.clone(),
                    optimizer: first.spec.settings.optimizer.label(),
                    batch_size: first.spec.settings.batch_size.label(),
                    runs: runs.len(),
                    diverged: runs
                        .iter()
                        .filter_map(|r| match &r.status {
                            RunStatus::Diverged { message, .. } => Some(message.clone()),
                            _ => None,
                        })
                        .collect(),
                    iterations_per_epoch: first.iterations_per_epoch,
                    epochs: first.spec.settings.epochs,
                    final_train_loss: MeanStd::of(&last_of(&recs, Split::Train, Metric::Loss)),
                    final_train_accuracy: MeanStd::of(&last_of(
                        &recs,
                        Split::Train,
                        Metric::Accuracy,
                    )),
                    final_valid_loss: MeanStd::of(&last_of(&recs, Split::Valid, Metric::Loss)),
                    final_valid_accuracy: MeanStd::of(&last_of(
                        &recs,
                        Split::Valid,
                        Metric::Accuracy,
                    )),
                    best_valid_accuracy: MeanStd::of(&best_of(
                        &recs,
                        Split::Valid,
                        Metric::Accuracy,
                    )),
                    best_valid_loss_epoch,
                    test_accuracy: MeanStd::of(&last_of(&recs, Split::Test, Metric::Accuracy)),
                    wall_time: MeanStd::of(&last_of(&recs, Split::Train, Metric::WallTime)),
                    examples_per_sec: MeanStd::of(&last_of(
                        &recs,
                        Split::Train,
                        Metric::ExamplesPerSec,
                    )),
                    skipped_steps: recs
                        .iter()
                        .filter(|r| r.metric == Metric::SkippedSteps)
                        .map(|r| r.value as usize)
                        .sum(),
                }
            })
            .collect::<Vec<_>>();
        let finding = finding(recipe.kind, &configs);
        Summary {
            recipe: recipe.name.clone(),
            title: recipe.title.clone(),
            claim: recipe.claim.clone(),
            kind: recipe.kind,
            configs,
            finding,
            verdict: crate::verdict::verdict(recipe.kind, results),
        }
    }
}

fn mean(m: &Option<MeanStd>) -> f64 {
    m.map_or(f64::NAN, |m| m.mean)
}

fn show(m: &Option<MeanStd>) -> String {
    m.map_or("n/a".into(), |m| m.show(3))
}

/// The configurations that did not diverge, ranked by final validation accuracy (best first).
fn ranked(configs: &[ConfigSummary]) -> Vec<&ConfigSummary> {
    let mut ok: Vec<&ConfigSummary> = configs
        .iter()
        .filter(|c| c.diverged.len() < c.runs && c.final_valid_accuracy.is_some())
        .collect();
    ok.sort_by(|a, b| mean(&b.final_valid_accuracy).total_cmp(&mean(&a.final_valid_accuracy)));
    ok
}

fn diverged_clause(configs: &[ConfigSummary]) -> String {
    let d: Vec<String> = configs
        .iter()
        .filter(|c| !c.diverged.is_empty())
        .map(|c| {
            format!(
                "{} diverged in {} of {} runs",
                c.label,
                c.diverged.len(),
                c.runs
            )
        })
        .collect();
    if d.is_empty() {
        String::new()
    } else {
        format!(" {}.", d.join("; "))
    }
}

fn gap(c: &ConfigSummary) -> f64 {
    mean(&c.final_train_accuracy) - mean(&c.final_valid_accuracy)
}

/// One sentence stating what the numbers show, by recipe kind.
pub fn finding(kind: RecipeKind, configs: &[ConfigSummary]) -> String {
    let ranked = ranked(configs);
    let div = diverged_clause(configs);
    let (Some(best), Some(worst)) = (ranked.first(), ranked.last()) else {
        return format!("No configuration finished without diverging.{div}");
    };
    let epochs = best.epochs;
    match kind {
        RecipeKind::BatchSize => {
            let parts: Vec<String> = configs
                .iter()
                .map(|c| {
                    format!(
                        "batch {} ({} iterations/epoch) reached train loss {} in {} s",
                        c.batch_size,
                        c.iterations_per_epoch,
                        show(&c.final_train_loss),
                        c.wall_time
                            .map_or("n/a".into(), |w| format!("{:.1}", w.mean))
                    )
                })
                .collect();
            format!("After {epochs} epochs, {}.{div}", parts.join("; "))
        }
        RecipeKind::Dropout | RecipeKind::L2 | RecipeKind::Overfitting => {
            let widest = configs
                .iter()
                .filter(|c| c.final_train_accuracy.is_some())
                .max_by(|a, b| gap(a).total_cmp(&gap(b)))
                .unwrap_or(best);
            let narrowest = configs
                .iter()
                .filter(|c| c.final_train_accuracy.is_some())
                .min_by(|a, b| gap(a).total_cmp(&gap(b)))
                .unwrap_or(best);
            let rise = |c: &ConfigSummary| match c.best_valid_loss_epoch {
                Some(e) if e < c.epochs => format!(
                    " (its validation loss was lowest at epoch {e} of {})",
                    c.epochs
                ),
                _ => String::new(),
            };
            format!(
                "{} overfits most: train accuracy {} vs validation {}{}; {} the least: train {} vs validation {}; \
                 the best validation accuracy is {} with {}.{div}",
                widest.label,
                show(&widest.final_train_accuracy),
                show(&widest.final_valid_accuracy),
                rise(widest),
                narrowest.label,
                show(&narrowest.final_train_accuracy),
                show(&narrowest.final_valid_accuracy),
                show(&best.final_valid_accuracy),
                best.label,
            )
        }
        RecipeKind::LearningRate => {
            let parts: Vec<String> = configs
                .iter()
                .map(|c| {
                    if c.diverged.len() == c.runs {
                        format!("{} diverged", c.label)
                    } else {
                        format!(
                            "{} ended at train loss {}",
                            c.label,
                            show(&c.final_train_loss)
                        )
                    }
                })
                .collect();
            format!(
                "{}; the best validation accuracy after {epochs} epochs is {} with {}.",
                parts.join(", "),
                show(&best.final_valid_accuracy),
                best.label
            )
        }
        _ => format!(
            "After {epochs} epochs, {} reached the highest validation accuracy ({}, train loss {}) and {} the lowest ({}, train loss {}).{div}",
            best.label,
            show(&best.final_valid_accuracy),
            show(&best.final_train_loss),
            worst.label,
            show(&worst.final_valid_accuracy),
            show(&worst.final_train_loss),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration that finished with `valid` validation and `train` training accuracy.
    fn config(label: &str, valid: f64, train: f64) -> ConfigSummary {
        let m = |mean| {
            Some(MeanStd {
                mean,
                std: 0.0,
                n: 1,
            })
        };
        ConfigSummary {
            label: label.into(),
            optimizer: "sgd(lr=0.1)".into(),
            batch_size: "32".into(),
            runs: 1,
            diverged: Vec::new(),
            iterations_per_epoch: 10,
            epochs: 3,
            final_train_loss: m(1.0 - train),
            final_train_accuracy: m(train),
            final_valid_loss: m(1.0 - valid),
            final_valid_accuracy: m(valid),
            best_valid_accuracy: m(valid),
            best_valid_loss_epoch: Some(3),
            test_accuracy: m(valid),
            wall_time: m(1.0),
            examples_per_sec: m(100.0),
            skipped_steps: 0,
        }
    }

    /// The best configuration is in the middle and the worst last, so a finding that reads the
    /// first (or last) configuration instead of ranking them names the wrong ones.
    #[test]
    fn the_finding_names_the_really_best_and_worst_configurations() {
        let configs = [
            config("middling", 0.70, 0.8),
            config("best", 0.90, 0.9),
            config("worst", 0.55, 0.6),
            config("good", 0.80, 0.85),
        ];
        let f = finding(RecipeKind::Optimizers, &configs);
        assert!(
            f.contains("best reached the highest validation accuracy (0.900")
                && f.contains("and worst the lowest (0.550"),
            "{f}"
        );
        let f = finding(RecipeKind::LearningRate, &configs);
        assert!(f.ends_with("is 0.900 with best."), "{f}");
        // Dropout's gaps (train − valid): middling 0.10, best 0.00, worst 0.05, good 0.05.
        let f = finding(RecipeKind::Dropout, &configs);
        assert!(
            f.starts_with("middling overfits most") && f.contains("best the least"),
            "{f}"
        );
        // A configuration that diverged in every run is ranked out, and named as diverged.
        let mut gone = configs.clone();
        gone[1].diverged = vec!["best-seed1: loss became NaN".into()];
        let f = finding(RecipeKind::Optimizers, &gone);
        assert!(
            f.contains("good reached the highest") && f.contains("best diverged in 1 of 1 runs"),
            "{f}"
        );
    }
}
