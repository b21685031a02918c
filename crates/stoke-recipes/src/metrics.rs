//! Metrics in long format — one row per (run, epoch, iteration, split, metric) — and the
//! per-configuration summary (mean ± std over seeds).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::RecipeError;

/// The part of the data a value was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training split (also the home of training-process values: `lr`, `wall_time`, …).
    Train,
    /// The validation split.
    Valid,
    /// The test split (scored once, after the last epoch).
    Test,
}

/// What a value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean cross-entropy (plus the L2 penalty on the training split).
    Loss,
    /// Fraction of texts classified correctly.
    Accuracy,
    /// The learning rate η.
    Lr,
    /// Seconds of training so far.
    WallTime,
    /// Training texts per second over the epoch.
    ExamplesPerSec,
    /// Steps skipped in the epoch for non-finite gradients (recorded with `skip_nonfinite`).
    SkippedSteps,
}

/// `$ty`'s `Display` writes the name that `metrics.csv` uses.
macro_rules! display_as_csv {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// The name in `metrics.csv`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),*
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

display_as_csv!(Split { Train => "train", Valid => "valid", Test => "test" });
display_as_csv!(Metric {
    Loss => "loss",
    Accuracy => "accuracy",
    Lr => "lr",
    WallTime => "wall_time",
    ExamplesPerSec => "examples_per_sec",
    SkippedSteps => "skipped_steps",
});

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
    /// The split it was measured on.
    pub split: Split,
    /// What it measures.
    pub metric: Metric,
    /// The value.
    pub value: f64,
}

/// Writes records as CSV with a header.
pub fn write_csv(path: &Path, records: &[Record]) -> Result<(), RecipeError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        // Internal invariant: a record is flat strings and numbers, which the csv writer
        // cannot fail on while it writes into memory.
        w.serialize(r).expect("records serialise");
    }
    let bytes = w.into_inner().expect("in-memory writer");
    crate::error::write_atomic(path, &bytes)
}

/// Reads records written by [`write_csv`].
pub fn read_csv(path: &Path) -> Result<Vec<Record>, RecipeError> {
    let failed = |line, source| RecipeError::Csv {
        path: path.to_path_buf(),
        line,
        source,
    };
    let mut r = csv::Reader::from_path(path).map_err(|e| failed(None, e))?;
    r.deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| failed(Some(i + 2), e)))
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
pub fn final_values(
    records: &[Record],
    split: Split,
    metric: Metric,
) -> BTreeMap<String, Vec<f64>> {
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
    split: Split,
    metric: Metric,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The long format of the README: one header, then `run,config,seed,epoch,iteration,split,
    /// metric,value` with splits and metrics in lower snake case.
    #[test]
    fn csv_rows_are_the_documented_long_format() {
        let record = |split, metric, value| Record {
            run: "a-seed1".into(),
            config: "a".into(),
            seed: 1,
            epoch: 2,
            iteration: 30,
            split,
            metric,
            value,
        };
        let records = vec![
            record(Split::Train, Metric::ExamplesPerSec, 512.5),
            record(Split::Valid, Metric::Accuracy, 0.75),
            record(Split::Test, Metric::Loss, 0.25),
            record(Split::Train, Metric::WallTime, 1.5),
            record(Split::Train, Metric::Lr, 0.01),
        ];
        let dir = std::env::temp_dir().join(format!("stoke-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics.csv");
        write_csv(&path, &records).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "run,config,seed,epoch,iteration,split,metric,value\n\
             a-seed1,a,1,2,30,train,examples_per_sec,512.5\n\
             a-seed1,a,1,2,30,valid,accuracy,0.75\n\
             a-seed1,a,1,2,30,test,loss,0.25\n\
             a-seed1,a,1,2,30,train,wall_time,1.5\n\
             a-seed1,a,1,2,30,train,lr,0.01\n"
        );
        assert_eq!(read_csv(&path).unwrap(), records);
        assert_eq!(
            format!("{} {}", Split::Valid, Metric::ExamplesPerSec),
            "valid examples_per_sec"
        );
        std::fs::write(
            &path,
            "run,config,seed,epoch,iteration,split,metric,value\n\
             a-seed1,a,1,2,30,train,loss,0.5\n\
             a-seed1,a,1,2,30,training,loss,0.5\n",
        )
        .unwrap();
        let e = read_csv(&path).unwrap_err();
        assert!(
            matches!(&e, RecipeError::Csv { line: Some(3), .. })
                && e.to_string().contains("line 3"),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some_and(|s| s.is::<csv::Error>()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
