//! Early stopping with the best epoch's weights kept (Keras' `EarlyStopping(monitor, patience,
//! restore_best_weights=True)`): after each epoch, the monitored validation score is compared
//! with the best so far; the run stops once `patience` epochs in a row have not improved on it,
//! and its model is the best epoch's.
//!
//! ```text
//! best(E) = argbest_{1 ≤ e ≤ E} score(e)          (the earliest epoch among equals)
//! stop after epoch E  ⇔  E − best(E) ≥ patience
//! ```
//!
//! `score` is the validation loss (lower is better) or the validation accuracy (higher is
//! better; ties broken by the lower validation loss). Both are read from the run's own records,
//! so a resumed run knows its best epoch from its checkpoint's records alone.
//!
//! | here | Keras | PyTorch Lightning |
//! |---|---|---|
//! | `monitor = "valid_loss"` / `"valid_accuracy"` | `monitor="val_loss"` / `"val_accuracy"` | `EarlyStopping(monitor=…)` |
//! | `patience` | `patience` | `patience` |
//! | the best epoch's weights are the result | `restore_best_weights=True` | `ModelCheckpoint(save_top_k=1)` |

use serde::{Deserialize, Serialize};

use crate::metrics::{Metric, Record, Split};

/// What early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// The validation loss (lower is better).
    #[default]
    ValidLoss,
    /// The validation accuracy (higher is better; ties: lower validation loss).
    ValidAccuracy,
}

/// Stop once the monitored score has not improved for `patience` epochs; keep the best epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (at least 1).
    #[serde(default = "default_patience")]
    pub patience: usize,
    /// The score watched.
    #[serde(default)]
    pub monitor: Monitor,
}

fn default_patience() -> usize {
    2
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            patience: default_patience(),
            monitor: Monitor::default(),
        }
    }
}

impl EarlyStopping {
    /// The best epoch (≥ 1) among `run`'s validation records, if any epoch has finished.
    pub fn best_epoch(&self, records: &[Record], run: &str) -> Option<usize> {
        let value = |epoch: usize, metric: Metric| {
            records
                .iter()
                .find(|r| {
                    r.run == run
                        && r.epoch == epoch
                        && r.split == Split::Valid
                        && r.metric == metric
                })
                .map(|r| r.value)
        };
        let mut epochs: Vec<usize> = records
            .iter()
            .filter(|r| r.run == run && r.split == Split::Valid && r.epoch >= 1)
            .map(|r| r.epoch)
            .collect();
        epochs.sort_unstable();
        epochs.dedup();
        // (larger is better) key per epoch; NaN scores never win
        let key = |e: usize| -> Option<(f64, f64)> {
            let loss = value(e, Metric::Loss)?;
            let k = match self.monitor {
                Monitor::ValidLoss => (-loss, 0.0),
                Monitor::ValidAccuracy => (value(e, Metric::Accuracy)?, -loss),
            };
            (k.0.is_finite() && k.1.is_finite()).then_some(k)
        };
        let mut best: Option<(usize, (f64, f64))> = None;
        for e in epochs {
            if let Some(k) = key(e)
                && best.is_none_or(|(_, b)| k > b)
            {
                best = Some((e, k));
            }
        }
        best.map(|(e, _)| e)
    }

    /// Whether the run stops after `epoch`, given its best epoch so far.
    pub fn stops_after(&self, epoch: usize, best: Option<usize>) -> bool {
        best.is_some_and(|b| epoch.saturating_sub(b) >= self.patience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(valid: &[(f64, f64)]) -> Vec<Record> {
        let mut out = Vec::new();
        for (i, &(loss, acc)) in valid.iter().enumerate() {
            for (metric, value) in [(Metric::Loss, loss), (Metric::Accuracy, acc)] {
                out.push(Record {
                    run: "r".into(),
                    config: "c".into(),
                    seed: 1,
                    epoch: i,
                    iteration: 0,
                    split: Split::Valid,
                    metric,
                    value,
                });
            }
        }
        out
    }

    #[test]
    fn the_best_epoch_and_the_stop_follow_the_monitor() {
        // epoch:        0 (untrained)  1          2          3          4
        let r = records(&[
            (0.2, 0.9),
            (0.60, 0.70),
            (0.50, 0.80),
            (0.55, 0.80),
            (0.58, 0.82),
        ]);
        let loss = EarlyStopping {
            patience: 2,
            monitor: Monitor::ValidLoss,
        };
        // epoch 0 is never a candidate; the loss is lowest at epoch 2
        assert_eq!(loss.best_epoch(&r, "r"), Some(2));
        assert!(!loss.stops_after(3, Some(2)));
        assert!(loss.stops_after(4, Some(2)));
        let acc = EarlyStopping {
            patience: 2,
            monitor: Monitor::ValidAccuracy,
        };
        assert_eq!(acc.best_epoch(&r, "r"), Some(4));
        // a tie in accuracy (epochs 2 and 3: 0.80) goes to the lower loss
        assert_eq!(acc.best_epoch(&r[..8], "r"), Some(2));
        assert_eq!(acc.best_epoch(&r, "other run"), None);
        assert!(!acc.stops_after(9, None));
    }

    #[test]
    fn a_nan_epoch_never_wins() {
        let r = records(&[(0.7, 0.5), (f64::NAN, f64::NAN), (0.65, 0.6)]);
        assert_eq!(EarlyStopping::default().best_epoch(&r, "r"), Some(2));
    }
}
