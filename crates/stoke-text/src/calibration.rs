//! Temperature scaling (Guo et al., 2017): one scalar `T > 0` divides the logits before the
//! softmax, fitted on held-out (validation) rows to minimise their log loss. The arg-max, and
//! with it the accuracy, is unchanged; only how sure the probabilities are moves.
//!
//! ```text
//! p_ik(T) = softmax(z_i / T)_k
//! T*      = argmin_T  L(1/T),   L(a) = (1/n) Σ_i [ log Σ_k exp(a·z_ik) − a·z_{i,y_i} ]
//! L'(a)   = (1/n) Σ_i [ E_{p_i(a)}[z_i] − z_{i,y_i} ]          (mean predicted − true logit)
//! L''(a)  = (1/n) Σ_i Var_{p_i(a)}[z_i] ≥ 0                    (L is convex in a = 1/T)
//! ```
//!
//! So `L'` is non-decreasing in `a` and its root is found by bisection on `ln a`, in
//! `[10⁻³, 10³]`.
//!
//! | here | Guo et al.'s PyTorch `ModelWithTemperature` | netcal |
//! |---|---|---|
//! | [`Temperature::fit`] | LBFGS on `nn.Parameter(T)` over validation logits | `TemperatureScaling().fit` |

use serde::{Deserialize, Serialize};

/// Bounds of `a = 1/T` searched by [`Temperature::fit`].
const A_RANGE: (f64, f64) = (1e-3, 1e3);

/// The temperature `T` of `softmax(z / T)`; 1 is the model's own probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Temperature(pub f64);

impl Default for Temperature {
    fn default() -> Self {
        Temperature(1.0)
    }
}

/// `(log Σ_k exp(a z_k), E_p[z])` of one row at `a` (`p = softmax(a z)`), computed stably.
fn row_moments(z: &[f64], a: f64) -> (f64, f64) {
    let m = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(a * v));
    let w: Vec<f64> = z.iter().map(|&v| (a * v - m).exp()).collect();
    let s: f64 = w.iter().sum();
    let mean = z.iter().zip(&w).map(|(v, w)| v * w).sum::<f64>() / s;
    (m + s.ln(), mean)
}

impl Temperature {
    /// The `T` that minimises the log loss of `softmax(z / T)` on rows `logits` with true
    /// classes `labels` (rows with a label out of range are ignored; no rows gives `T = 1`).
    pub fn fit(logits: &[Vec<f64>], labels: &[usize]) -> Self {
        let rows: Vec<(&Vec<f64>, usize)> = logits
            .iter()
            .zip(labels)
            .filter(|(z, y)| **y < z.len())
            .map(|(z, y)| (z, *y))
            .collect();
        if rows.is_empty() {
            return Temperature::default();
        }
        // L'(a) = mean over rows of (E_p[z] − z_y)
        let slope = |a: f64| {
            rows.iter()
                .map(|(z, y)| row_moments(z, a).1 - z[*y])
                .sum::<f64>()
                / rows.len() as f64
        };
        let (mut lo, mut hi) = (A_RANGE.0.ln(), A_RANGE.1.ln());
        if slope(lo.exp()) >= 0.0 {
            return Temperature(1.0 / lo.exp());
        }
        if slope(hi.exp()) <= 0.0 {
            return Temperature(1.0 / hi.exp());
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if slope(mid.exp()) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Temperature(1.0 / (0.5 * (lo + hi)).exp())
    }

    /// Mean log loss `(1/n) Σ_i −log softmax(z_i / T)_{y_i}` of rows at this temperature.
    pub fn log_loss(self, logits: &[Vec<f64>], labels: &[usize]) -> f64 {
        let a = 1.0 / self.0;
        let n = logits.len().min(labels.len()).max(1);
        logits
            .iter()
            .zip(labels)
            .map(|(z, &y)| row_moments(z, a).0 - a * z[y])
            .sum::<f64>()
            / n as f64
    }

    /// `softmax(z / T)` of one row.
    pub fn probabilities(self, z: &[f64]) -> Vec<f64> {
        let (lse, _) = row_moments(z, 1.0 / self.0);
        z.iter().map(|&v| (v / self.0 - lse).exp()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_classes_fit_the_closed_form() {
        // Two classes, logits (s, 0) for every row, a fraction q of rows labelled 0: the log loss
        // is minimised where sigmoid(a·s) = q, i.e. a = ln(q/(1−q)) / s. With s = 10, q = 0.75:
        // a = ln 3 / 10 = 0.109861, T = 9.10239.
        let logits: Vec<Vec<f64>> = (0..4).map(|_| vec![10.0, 0.0]).collect();
        let labels = [0, 0, 0, 1];
        let t = Temperature::fit(&logits, &labels);
        assert!((t.0 - 10.0 / 3f64.ln()).abs() < 1e-9, "{t:?}");
        let p = t.probabilities(&logits[0]);
        assert!((p[0] - 0.75).abs() < 1e-9 && (p[0] + p[1] - 1.0).abs() < 1e-12);
        // the fitted T lowers the log loss from the model's own (T = 1): 10.0000454/4 + …
        assert!(t.log_loss(&logits, &labels) < Temperature(1.0).log_loss(&logits, &labels));
    }

    #[test]
    fn the_log_loss_is_lowest_at_the_fitted_temperature() {
        let logits = vec![
            vec![2.0, -1.0, 0.5],
            vec![0.1, 1.2, -0.3],
            vec![-2.0, 0.0, 3.0],
            vec![1.5, 1.4, -1.0],
            vec![0.0, 2.5, 0.2],
        ];
        let labels = [0, 1, 2, 1, 0];
        let t = Temperature::fit(&logits, &labels);
        let best = t.log_loss(&logits, &labels);
        for f in [0.9, 0.99, 1.01, 1.1] {
            assert!(
                Temperature(t.0 * f).log_loss(&logits, &labels) > best,
                "{f}"
            );
        }
    }

    #[test]
    fn perfectly_separated_rows_sharpen_to_the_bound() {
        // Every row right with a margin: the loss keeps falling as T → 0; the fit stops at the
        // bound a = 10³.
        let t = Temperature::fit(&[vec![1.0, 0.0], vec![0.0, 1.0]], &[0, 1]);
        assert!((t.0 - 1e-3).abs() < 1e-12, "{t:?}");
        assert_eq!(Temperature::fit(&[], &[]), Temperature(1.0));
    }
}
