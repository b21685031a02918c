//! Section 5: the `l2` and `overfitting` recipes' curves, read from their `metrics.csv` (long
//! format `run,config,seed,epoch,iteration,split,metric,value`) when a runs directory is given:
//! per config and split, the loss at each epoch averaged over the rows (seeds) recorded for it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::CourseError;

/// The recipes whose curves the section draws.
pub const RECIPES: [&str; 2] = ["l2", "overfitting"];

/// Per recipe found under `runs`: `{recipe, curves: [{config, split, epochs, loss}]}`; recipes
/// without a `metrics.csv` are left out. A file that is there but malformed is an error naming
/// the file and line.
pub fn curves(runs: Option<&Path>) -> Result<Vec<Value>, CourseError> {
    let Some(dir) = runs else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for recipe in RECIPES {
        let path = dir.join(recipe).join("metrics.csv");
        if path.is_file() {
            out.push(json!({ "recipe": recipe, "curves": read(&path)? }));
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<Value>, CourseError> {
    let bad = |line: usize, message: String| CourseError::Metrics {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(0, e.to_string()))?;
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(1, format!("no column '{name}'")))
    };
    let (config, epoch, split, metric, value) = (
        col("config")?,
        col("epoch")?,
        col("split")?,
        col("metric")?,
        col("value")?,
    );
    // (config, split) → epoch → (sum, count)
    let mut sums: BTreeMap<(String, String), BTreeMap<u64, (f64, usize)>> = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = record.map_err(|e| bad(line, e.to_string()))?;
        if r.get(metric) != Some("loss") {
            continue;
        }
        let field = |c: usize, name: &str| {
            r.get(c)
                .ok_or_else(|| bad(line, format!("no {name} value")))
        };
        let e: u64 = field(epoch, "epoch")?
            .parse()
            .map_err(|_| bad(line, "epoch must be a whole number".into()))?;
        let v: f64 = field(value, "value")?
            .parse()
            .map_err(|_| bad(line, "value must be a number".into()))?;
        let key = (
            field(config, "config")?.to_string(),
            field(split, "split")?.to_string(),
        );
        let slot = sums.entry(key).or_default().entry(e).or_insert((0.0, 0));
        slot.0 += v;
        slot.1 += 1;
    }
    Ok(sums
        .into_iter()
        .map(|((config, split), epochs)| {
            let (e, l): (Vec<u64>, Vec<f64>) = epochs
                .into_iter()
                .map(|(e, (s, n))| (e, s / n as f64))
                .unzip();
            json!({ "config": config, "split": split, "epochs": e, "loss": l })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_averaged_per_config_split_and_epoch_and_bad_lines_named() {
        let dir = std::env::temp_dir().join(format!("stoke-course-curves-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("l2")).unwrap();
        let head = "run,config,seed,epoch,iteration,split,metric,value\n";
        let rows = "a,beta=0,1,1,,train,loss,0.5\n\
                    b,beta=0,2,1,,train,loss,0.7\n\
                    a,beta=0,1,1,,train,accuracy,0.9\n\
                    a,beta=0,1,2,,valid,loss,0.4\n";
        std::fs::write(dir.join("l2/metrics.csv"), format!("{head}{rows}")).unwrap();
        let c = curves(Some(&dir)).unwrap();
        assert_eq!(c.len(), 1, "overfitting is absent, so left out");
        let list = c[0]["curves"].as_array().unwrap();
        // (0.5 + 0.7)/2 = 0.6 at epoch 1 of the training split; accuracy ignored
        assert_eq!(list[0]["split"], "train");
        assert_eq!(list[0]["epochs"], json!([1]));
        assert!((list[0]["loss"][0].as_f64().unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(list[1]["split"], "valid");
        std::fs::write(
            dir.join("l2/metrics.csv"),
            format!("{head}a,beta=0,1,one,,train,loss,0.5\n"),
        )
        .unwrap();
        let e = curves(Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("metrics.csv:2: epoch"), "{e}");
        assert!(curves(None).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
