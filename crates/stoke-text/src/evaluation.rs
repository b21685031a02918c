//! A classifier's evaluation on labelled rows, as a practitioner reads it: scikit-learn's
//! `classification_report` (per-class precision / recall / F1 / support, macro and weighted
//! averages, accuracy), the confusion matrix, log loss, expected calibration error and top-k
//! accuracy.
//!
//! With `n` rows, true classes `y_i`, predicted probabilities `p_ik` and arg-max predictions
//! `ŷ_i`:
//!
//! ```text
//! log loss  = −(1/n) Σ_i ln max(p_{i,y_i}, 10⁻¹⁵)
//! top-k     = (1/n) Σ_i [y_i is among the k classes of largest p_ik]
//! ECE       = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)|,   B_b = { i : c_i ∈ ((b−1)/M, b/M] }
//!             c_i = max_k p_ik (the confidence), acc = fraction of B_b with ŷ_i = y_i,
//!             conf = mean c_i over B_b, M = 15 bins (c_i = 0 falls in the first)
//! weighted  = Σ_k (support_k / n) · score_k;   macro = (1/K) Σ_k score_k
//! ```
//!
//! | here | scikit-learn | fastText `test-label` |
//! |---|---|---|
//! | `per_class[k].precision`, `.recall`, `.f1`, `.support` | `classification_report` rows | `F1-Score`, `Precision`, `Recall` per `__label__` |
//! | `macro_avg`, `weighted_avg` | `macro avg`, `weighted avg` | — |
//! | `log_loss` | `log_loss(y, p)` (its clip is `eps` of the dtype; here `10⁻¹⁵`) | — |
//! | `top_k` | `top_k_accuracy_score(y, p, k=k)` | `test FILE k` (P@k is per prediction) |
//! | `ece` | — (Guo et al. 2017, 15 equal-width bins) | — |

use serde::Serialize;

use crate::metrics::{ClassScores, ConfusionMatrix};

/// Number of equal-width confidence bins of [`Evaluation::ece`].
pub const ECE_BINS: usize = 15;

/// The smallest probability [`Evaluation::log_loss`] takes the logarithm of.
pub const LOG_LOSS_FLOOR: f64 = 1e-15;

/// Inputs that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    /// No rows.
    #[error("nothing to evaluate: no labelled rows")]
    Empty,
    /// `truth` and `probabilities` differ in length.
    #[error("{truth} true labels but {predicted} probability rows")]
    Lengths {
        /// Labels given.
        truth: usize,
        /// Probability rows given.
        predicted: usize,
    },
    /// A probability row has the wrong number of classes.
    #[error("row {row}: {got} probabilities for {classes} classes")]
    Width {
        /// The row's index.
        row: usize,
        /// Its length.
        got: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A label is not a class index.
    #[error("row {row}: class index {label} but only {classes} classes")]
    Label {
        /// The row's index.
        row: usize,
        /// The label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// `k` of top-k accuracy is 0 or more than the number of classes.
    #[error("top-k: k = {k} must be in 1..={classes}")]
    TopK {
        /// The k asked for.
        k: usize,
        /// The number of classes.
        classes: usize,
    },
}

/// Precision, recall and F1 averaged over classes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Averages {
    /// Mean precision.
    pub precision: f64,
    /// Mean recall.
    pub recall: f64,
    /// Mean F1.
    pub f1: f64,
}

/// One class's row of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassRow {
    /// The class name.
    pub class: String,
    /// Its scores.
    #[serde(flatten)]
    pub scores: ClassScores,
}

/// Top-k accuracy for one `k`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopK {
    /// How many of the most probable classes count.
    pub k: usize,
    /// Fraction of rows whose true class is among them.
    pub accuracy: f64,
}

/// One calibration bin: rows whose confidence falls in `(lower, upper]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Lower edge (exclusive, except the first bin's 0).
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Rows in the bin.
    pub rows: usize,
    /// Their accuracy (0 when empty).
    pub accuracy: f64,
    /// Their mean confidence (0 when empty).
    pub confidence: f64,
}

/// Everything `stoke eval` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Rows evaluated.
    pub rows: usize,
    /// Fraction of rows whose arg-max class is the true one.
    pub accuracy: f64,
    /// One row per class, in the model's class order.
    pub per_class: Vec<ClassRow>,
    /// Unweighted mean over classes.
    pub macro_avg: Averages,
    /// Mean over classes weighted by support.
    pub weighted_avg: Averages,
    /// Mean negative log-probability of the true class.
    pub log_loss: f64,
    /// Expected calibration error over [`ECE_BINS`] bins.
    pub ece: f64,
    /// The bins behind `ece` (a reliability diagram's data).
    pub calibration: Vec<CalibrationBin>,
    /// Top-k accuracy, when asked for.
    pub top_k: Option<TopK>,
    /// `counts[true][predicted]`, classes in `per_class` order.
    pub confusion: ConfusionMatrix,
}

/// Arg-max of a row (the first of equal maxima, as `numpy.argmax`).
fn argmax(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold(0, |best, (i, &p)| if p > row[best] { i } else { best })
}

impl Evaluation {
    /// Evaluates probability rows `probabilities[i][k]` against true class indices `truth`,
    /// for the classes named `classes`; `top_k` adds top-k accuracy.
    pub fn new(
        truth: &[usize],
        probabilities: &[Vec<f64>],
        classes: &[String],
        top_k: Option<usize>,
    ) -> Result<Self, EvaluationError> {
        let (n, k) = (truth.len(), classes.len());
        if probabilities.len() != n {
            return Err(EvaluationError::Lengths {
                truth: n,
                predicted: probabilities.len(),
            });
        }
        if n == 0 {
            return Err(EvaluationError::Empty);
        }
        for (row, (&label, p)) in truth.iter().zip(probabilities).enumerate() {
            if p.len() != k {
                return Err(EvaluationError::Width {
                    row,
                    got: p.len(),
                    classes: k,
                });
            }
            if label >= k {
                return Err(EvaluationError::Label {
                    row,
                    label,
                    classes: k,
                });
            }
        }
        if let Some(t) = top_k
            && !(1..=k).contains(&t)
        {
            return Err(EvaluationError::TopK { k: t, classes: k });
        }
        let predicted: Vec<usize> = probabilities.iter().map(|p| argmax(p)).collect();
        let confusion = ConfusionMatrix::new(truth, &predicted, k);
        let scores = confusion.per_class();
        let average = |weight: &dyn Fn(&ClassScores) -> f64| {
            let total: f64 = scores.iter().map(weight).sum();
            let mean = |score: fn(&ClassScores) -> f64| {
                scores.iter().map(|s| weight(s) * score(s)).sum::<f64>() / total
            };
            Averages {
                precision: mean(|s| s.precision),
                recall: mean(|s| s.recall),
                f1: mean(|s| s.f1),
            }
        };
        let macro_avg = average(&|_| 1.0);
        let weighted_avg = average(&|s| s.support as f64);
        // −(1/n) Σ ln max(p_{i,y_i}, 10⁻¹⁵)
        let log_loss = -truth
            .iter()
            .zip(probabilities)
            .map(|(&y, p)| p[y].max(LOG_LOSS_FLOOR).ln())
            .sum::<f64>()
            / n as f64;
        let calibration = calibration_bins(truth, probabilities, &predicted);
        // Σ_b (|B_b|/n) |acc(B_b) − conf(B_b)|
        let ece = calibration
            .iter()
            .map(|b| b.rows as f64 / n as f64 * (b.accuracy - b.confidence).abs())
            .sum();
        let top_k = top_k.map(|t| TopK {
            k: t,
            accuracy: top_k_accuracy(truth, probabilities, t),
        });
        Ok(Evaluation {
            rows: n,
            accuracy: confusion.accuracy(),
            per_class: classes
                .iter()
                .zip(scores.iter())
                .map(|(c, s)| ClassRow {
                    class: c.clone(),
                    scores: s.clone(),
                })
                .collect(),
            macro_avg,
            weighted_avg,
            log_loss,
            ece,
            calibration,
            top_k,
            confusion,
        })
    }
}

/// The [`ECE_BINS`] equal-width bins of the confidence `c_i = max_k p_ik`.
fn calibration_bins(
    truth: &[usize],
    probabilities: &[Vec<f64>],
    predicted: &[usize],
) -> Vec<CalibrationBin> {
    let m = ECE_BINS;
    // (rows, correct, Σ confidence) per bin
    let mut acc = vec![(0usize, 0usize, 0.0f64); m];
    for ((&y, p), &yhat) in truth.iter().zip(probabilities).zip(predicted) {
        let c = p[yhat];
        // bin b (0-based) holds c ∈ (b/M, (b+1)/M]; c = 0 goes to the first
        let b = ((c * m as f64).ceil() as usize).clamp(1, m) - 1;
        acc[b].0 += 1;
        acc[b].1 += usize::from(y == yhat);
        acc[b].2 += c;
    }
    acc.iter()
        .enumerate()
        .map(|(b, &(rows, correct, conf))| {
            let of = |x: f64| if rows == 0 { 0.0 } else { x / rows as f64 };
            CalibrationBin {
                lower: b as f64 / m as f64,
                upper: (b + 1) as f64 / m as f64,
                rows,
                accuracy: of(correct as f64),
                confidence: of(conf),
            }
        })
        .collect()
}

/// Fraction of rows whose true class has fewer than `k` classes strictly more probable.
fn top_k_accuracy(truth: &[usize], probabilities: &[Vec<f64>], k: usize) -> f64 {
    let hits = truth
        .iter()
        .zip(probabilities)
        .filter(|(y, p)| p.iter().filter(|&&q| q > p[**y]).count() < k)
        .count();
    hits as f64 / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|i| format!("c{i}")).collect()
    }

    /// Six rows, three classes. The figures in the comments were computed by scikit-learn 1.9
    /// (`classification_report(..., output_dict=True)`, `log_loss`, `top_k_accuracy_score`) and
    /// the ECE by hand, independently of this file.
    fn six() -> (Vec<usize>, Vec<Vec<f64>>) {
        let truth = vec![0, 0, 0, 1, 1, 2];
        let p = vec![
            vec![0.7, 0.2, 0.1],   // → 0 ✓ conf 0.7
            vec![0.5, 0.3, 0.2],   // → 0 ✓ conf 0.5
            vec![0.3, 0.6, 0.1],   // → 1 ✗ conf 0.6
            vec![0.1, 0.8, 0.1],   // → 1 ✓ conf 0.8
            vec![0.2, 0.35, 0.45], // → 2 ✗ conf 0.45
            vec![0.05, 0.05, 0.9], // → 2 ✓ conf 0.9
        ];
        (truth, p)
    }

    #[test]
    fn report_matches_scikit_learn() {
        let (truth, p) = six();
        let e = Evaluation::new(&truth, &p, &names(3), Some(2)).unwrap();
        // classification_report: c0 P 1.0 R 0.6667 F1 0.8 (3); c1 P 0.5 R 0.5 F1 0.5 (2);
        // c2 P 0.5 R 1.0 F1 0.6667 (1); accuracy 0.6667;
        // macro avg P 0.6667 R 0.7222 F1 0.6556; weighted avg P 0.75 R 0.6667 F1 0.6778
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4;
        assert!(close(e.accuracy, 4.0 / 6.0));
        assert!(close(e.per_class[0].scores.f1, 0.8));
        assert_eq!(e.per_class[0].scores.support, 3);
        assert!(close(e.macro_avg.precision, 0.6667));
        assert!(close(e.macro_avg.recall, 0.7222));
        assert!(close(e.macro_avg.f1, 0.6556));
        assert!(close(e.weighted_avg.precision, 0.75));
        assert!(close(e.weighted_avg.recall, 0.6667));
        assert!(close(e.weighted_avg.f1, 0.6778));
        // log_loss(truth, p) = −(ln .7 + ln .5 + ln .3 + ln .8 + ln .35 + ln .9)/6 = 0.605354
        assert!(close(e.log_loss, 0.605354), "{}", e.log_loss);
        // top_k_accuracy_score(truth, p, k=2) = 1.0: the two misses (rows 2 and 4) have the true
        // class second.
        assert_eq!(
            e.top_k,
            Some(TopK {
                k: 2,
                accuracy: 1.0
            })
        );
        // ECE by hand, bins of width 1/15: 0.45 → bin 7 (0.4, 0.4667], 0.5 → bin 8
        // (0.4667, 0.5333], 0.6 → bin 9, 0.7 → bin 11 (0.6667, 0.7333], 0.8 → bin 12,
        // 0.9 → bin 14 (0.8667, 0.9333]: one row per bin, so
        // ECE = (1/6)(|0−.45| + |1−.5| + |0−.6| + |1−.7| + |1−.8| + |1−.9|) = 2.15/6
        assert!(close(e.ece, 2.15 / 6.0), "{}", e.ece);
        assert_eq!(e.calibration.iter().map(|b| b.rows).sum::<usize>(), 6);
        assert_eq!(e.calibration[7].rows, 1);
    }

    #[test]
    fn top_1_is_accuracy_and_ties_count_for_the_true_class() {
        let (truth, p) = six();
        let e = Evaluation::new(&truth, &p, &names(3), Some(1)).unwrap();
        assert_eq!(e.top_k.unwrap().accuracy, e.accuracy);
        // A tie between the true class and another: both are "among the top 1".
        let e = Evaluation::new(&[1], &[vec![0.5, 0.5]], &names(2), Some(1)).unwrap();
        assert_eq!(e.top_k.unwrap().accuracy, 1.0);
    }

    #[test]
    fn a_confident_wrong_row_costs_log_loss_up_to_the_floor() {
        // p_true = 0 → −ln 10⁻¹⁵ = 34.539
        let e = Evaluation::new(&[0], &[vec![0.0, 1.0]], &names(2), None).unwrap();
        assert!((e.log_loss - 34.5388).abs() < 1e-3);
        // conf 1.0 in the last bin, accuracy 0 → ECE 1
        assert_eq!(e.ece, 1.0);
        assert_eq!(e.calibration[ECE_BINS - 1].rows, 1);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let c = names(2);
        assert_eq!(
            Evaluation::new(&[], &[], &c, None),
            Err(EvaluationError::Empty)
        );
        assert!(matches!(
            Evaluation::new(&[0], &[], &c, None),
            Err(EvaluationError::Lengths { .. })
        ));
        assert!(matches!(
            Evaluation::new(&[0], &[vec![1.0]], &c, None),
            Err(EvaluationError::Width { row: 0, .. })
        ));
        assert!(matches!(
            Evaluation::new(&[2], &[vec![0.5, 0.5]], &c, None),
            Err(EvaluationError::Label { label: 2, .. })
        ));
        assert!(matches!(
            Evaluation::new(&[0], &[vec![0.5, 0.5]], &c, Some(3)),
            Err(EvaluationError::TopK { k: 3, .. })
        ));
    }
}
