//! Data set summaries for the CLI.

use serde::Serialize;

use super::LabelledTexts;

/// Count and share of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassSummary {
    /// Class name.
    pub name: String,
    /// Number of examples.
    pub count: usize,
    /// `count / rows`.
    pub fraction: f64,
}

/// Text length percentiles, in Unicode scalar values (`str::chars().count()`).
///
/// Nearest-rank definition: for `n` sorted lengths `x_1 ≤ … ≤ x_n`, the `p`-th
/// percentile is `x_k` with `k = ⌈p/100 · n⌉` (and `k = 1` when that is 0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LengthPercentiles {
    /// Shortest text.
    pub min: usize,
    /// 5th percentile.
    pub p5: usize,
    /// Median (50th percentile).
    pub p50: usize,
    /// 95th percentile.
    pub p95: usize,
    /// Longest text.
    pub max: usize,
}

/// Rows, class balance and text lengths of a data set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Data set name.
    pub name: String,
    /// Number of examples.
    pub rows: usize,
    /// Per-class counts, in class order.
    pub classes: Vec<ClassSummary>,
    /// Size of the largest class divided by the smallest (1.0 = balanced; infinite when a
    /// class has no example).
    pub imbalance_ratio: f64,
    /// Fraction of the largest class: the accuracy of always predicting it.
    pub majority_fraction: f64,
    /// Text length percentiles in characters.
    pub length_chars: LengthPercentiles,
}

/// The `p`-th nearest-rank percentile of sorted values (see [`LengthPercentiles`]).
fn nearest_rank(sorted: &[usize], p: f64) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    let k = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[k.clamp(1, sorted.len()) - 1]
}

/// Summarises a data set.
pub fn summarize(texts: &LabelledTexts) -> Summary {
    let rows = texts.len();
    let counts = texts.class_counts();
    let classes: Vec<ClassSummary> = texts
        .classes
        .iter()
        .zip(&counts)
        .map(|(name, &count)| ClassSummary {
            name: name.clone(),
            count,
            fraction: if rows == 0 {
                0.0
            } else {
                count as f64 / rows as f64
            },
        })
        .collect();
    let max = counts.iter().copied().max().unwrap_or(0);
    let min = counts.iter().copied().min().unwrap_or(0);
    let imbalance_ratio = if min == 0 {
        f64::INFINITY
    } else {
        max as f64 / min as f64
    };
    let mut lengths: Vec<usize> = texts
        .examples
        .iter()
        .map(|e| e.text.chars().count())
        .collect();
    lengths.sort_unstable();
    Summary {
        name: texts.name.clone(),
        rows,
        classes,
        imbalance_ratio,
        majority_fraction: if rows == 0 {
            0.0
        } else {
            max as f64 / rows as f64
        },
        length_chars: LengthPercentiles {
            min: lengths.first().copied().unwrap_or(0),
            p5: nearest_rank(&lengths, 5.0),
            p50: nearest_rank(&lengths, 50.0),
            p95: nearest_rank(&lengths, 95.0),
            max: lengths.last().copied().unwrap_or(0),
        },
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "data set: {}", self.name)?;
        writeln!(f, "rows:     {}", self.rows)?;
        writeln!(
            f,
            "classes:  {} (largest/smallest = {:.2}, majority baseline = {:.3})",
            self.classes.len(),
            self.imbalance_ratio,
            self.majority_fraction
        )?;
        let width = self
            .classes
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        for c in &self.classes {
            writeln!(
                f,
                "  {:<width$}  {:>7}  {:>6.2}%",
                c.name,
                c.count,
                100.0 * c.fraction
            )?;
        }
        let l = &self.length_chars;
        write!(
            f,
            "text length (chars): min {} / p5 {} / p50 {} / p95 {} / max {}",
            l.min, l.p5, l.p50, l.p95, l.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Example;

    #[test]
    fn percentiles_by_nearest_rank() {
        // Lengths 1..=20: p5 -> k = ceil(0.05*20) = 1 -> 1; p50 -> k = 10 -> 10;
        // p95 -> k = 19 -> 19; max 20.
        let texts = LabelledTexts {
            name: "t".into(),
            classes: vec!["a".into(), "b".into()],
            examples: (1..=20)
                .map(|n| Example {
                    text: "x".repeat(n),
                    label: usize::from(n > 15),
                })
                .collect(),
        };
        let s = summarize(&texts);
        assert_eq!(s.rows, 20);
        assert_eq!(
            (
                s.length_chars.p5,
                s.length_chars.p50,
                s.length_chars.p95,
                s.length_chars.max
            ),
            (1, 10, 19, 20)
        );
        assert_eq!(s.classes[0].count, 15);
        assert_eq!(s.classes[1].count, 5);
        assert!((s.imbalance_ratio - 3.0).abs() < 1e-12);
        assert!((s.majority_fraction - 0.75).abs() < 1e-12);
        let shown = s.to_string();
        assert!(
            shown.contains("rows:     20") && shown.contains("p95 19"),
            "{shown}"
        );
    }
}
