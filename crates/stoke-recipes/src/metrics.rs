//! Metrics in long format — one row per (run, epoch, iteration, split, metric) — and the
//! per-configuration summary (mean ± std over seeds).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::RecipeError;

/// One measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The run id (`config-seedN`).
    pub run: String,
    /// The configuration's label.
    pub config: String,
    /// The run's seed.
    pub seed: u64,
    /// Epoch (1-based; 0 = before training).
    pub epoch: usize,
    /// Global iteration (optimizer steps so far) when the value was taken.
    pub iteration: usize,
    /// `train`, `valid` or `test`.
    pub split: String,
    /// `loss`, `accuracy`, `lr`, `wall_time` (seconds of training so far), `examples_per_sec`.
    pub metric: String,
    /// The value.
    pub value: f64,
}

/// Writes records as CSV with a header.
pub fn write_csv(path: &Path, records: &[Record]) -> Result<(), RecipeError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        w.serialize(r).expect("records serialise");
    }
    let bytes = w.into_inner().expect("in-memory writer");
    crate::error::write_atomic(path, &bytes)
}

/// Reads records written by [`write_csv`].
pub fn read_csv(path: &Path) -> Result<Vec<Record>, RecipeError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| RecipeError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    r.deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| RecipeError::Parse {
                path: path.display().to_string(),
                message: format!("line {}: {e}", i + 2),
            })
        })
        .collect()
}

/// Mean and sample standard deviation (0 for a single value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl MeanStd {
    /// Over `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Self {
            mean,
            std: var.sqrt(),
            n,
        })
    }

    /// `0.812 ± 0.004`.
    pub fn show(&self, digits: usize) -> String {
        if self.n > 1 {
            format!("{:.*} ± {:.*}", digits, self.mean, digits, self.std)
        } else {
            format!("{:.*}", digits, self.mean)
        }
    }
}

/// The value of `metric` on `split` at the last epoch of each run, grouped by configuration.
pub fn final_values(records: &[Record], split: &str, metric: &str) -> BTreeMap<String, Vec<f64>> {
    let mut last: BTreeMap<(String, String), (usize, f64)> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.split == split && r.metric == metric && r.epoch > 0)
    {
        let e = last
            .entry((r.config.clone(), r.run.clone()))
            .or_insert((0, f64::NAN));
        if r.epoch >= e.0 {
            *e = (r.epoch, r.value);
        }
    }
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for ((config, _), (_, v)) in last {
        out.entry(config).or_default().push(v);
    }
    out
}

/// The mean over seeds of `metric` on `split` per epoch, per configuration: `(epoch, mean, std)`.
pub fn curves(
    records: &[Record],
    split: &str,
    metric: &str,
) -> BTreeMap<String, Vec<(f64, MeanStd)>> {
    let mut by: BTreeMap<String, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.split == split && r.metric == metric)
    {
        by.entry(r.config.clone())
            .or_default()
            .entry(r.epoch)
            .or_default()
            .push(r.value);
    }
    by.into_iter()
        .map(|(c, epochs)| {
            let points = epochs
                .into_iter()
                .filter_map(|(e, v)| MeanStd::of(&v).map(|m| (e as f64, m)))
                .collect();
            (c, points)
        })
        .collect()
}
