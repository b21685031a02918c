//! Accuracy, confusion matrix and per-class precision / recall / F1.

use burn::prelude::*;
use serde::Serialize;

/// Fraction of rows whose arg-max logit equals the label: `(1/B) Σ_b [argmax_k z_bk = y_b]`.
/// 0.0 for an empty batch.
pub fn accuracy(logits: &Tensor<2>, labels: &Tensor<1, Int>) -> f64 {
    let n = labels.dims()[0];
    if n == 0 {
        return 0.0;
    }
    let pred = logits.clone().argmax(1).reshape([n]);
    let correct: i64 = pred.equal(labels.clone()).int().sum().into_scalar::<i64>();
    correct as f64 / n as f64
}

/// Arg-max class of each row of `logits`.
pub fn predictions(logits: &Tensor<2>) -> Vec<usize> {
    let n = logits.dims()[0];
    let data = logits.clone().argmax(1).reshape([n]).into_data();
    data.iter::<i64>().map(|v| v as usize).collect()
}

/// Confusion matrix: `counts[true][predicted]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    /// `counts[t][p]` = rows of true class `t` predicted as `p`.
    pub counts: Vec<Vec<usize>>,
}

/// Precision, recall and F1 of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassScores {
    /// `TP / (TP + FP)` (0 when nothing was predicted as the class).
    pub precision: f64,
    /// `TP / (TP + FN)` (0 when the class has no rows).
    pub recall: f64,
    /// `2PR / (P + R)` (0 when `P + R = 0`).
    pub f1: f64,
    /// Rows of the class (`TP + FN`).
    pub support: usize,
}

impl ConfusionMatrix {
    /// Builds the matrix from true and predicted class indices (pairs with an index
    /// `>= n_classes` are ignored).
    pub fn new(labels: &[usize], predicted: &[usize], n_classes: usize) -> Self {
        let mut counts = vec![vec![0; n_classes]; n_classes];
        for (&t, &p) in labels.iter().zip(predicted) {
            if t < n_classes && p < n_classes {
                counts[t][p] += 1;
            }
        }
        ConfusionMatrix { counts }
    }

    /// Total rows.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// `Σ_k counts[k][k] / total`.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let diag: usize = (0..self.counts.len()).map(|k| self.counts[k][k]).sum();
        diag as f64 / total as f64
    }

    /// Precision, recall, F1 and support of each class.
    pub fn per_class(&self) -> Vec<ClassScores> {
        let n = self.counts.len();
        (0..n)
            .map(|k| {
                let tp = self.counts[k][k] as f64;
                let support: usize = self.counts[k].iter().sum();
                let predicted: usize = (0..n).map(|t| self.counts[t][k]).sum();
                let precision = if predicted == 0 {
                    0.0
                } else {
                    tp / predicted as f64
                };
                let recall = if support == 0 {
                    0.0
                } else {
                    tp / support as f64
                };
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// Unweighted mean of the per-class F1 scores.
    pub fn macro_f1(&self) -> f64 {
        let s = self.per_class();
        if s.is_empty() {
            0.0
        } else {
            s.iter().map(|c| c.f1).sum::<f64>() / s.len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_f1_by_hand() {
        // true:      0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2
        // class 0: TP 2, FP 0, FN 1 -> P 1, R 2/3, F1 = 2·(2/3)/(5/3) = 0.8
        // class 1: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
        // class 2: TP 1, FP 1, FN 0 -> P 1/2, R 1, F1 = 2·(1/2)/(3/2) = 2/3
        let m = ConfusionMatrix::new(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 3);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        let s = m.per_class();
        assert!((s[0].f1 - 0.8).abs() < 1e-12);
        assert!((s[1].f1 - 0.5).abs() < 1e-12);
        assert!((s[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.macro_f1() - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }
}
