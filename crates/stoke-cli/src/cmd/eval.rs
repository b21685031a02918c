//! `stoke eval`: a saved classifier on labelled data, reported as scikit-learn's
//! `classification_report` does (per-class precision / recall / F1 / support, macro and weighted
//! averages, accuracy) plus log loss, expected calibration error, top-k accuracy and the
//! confusion matrix.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use stoke_plot::ConfusionFigure;
use stoke_text::evaluation::{ECE_BINS, Evaluation};

use crate::args::data::{DataArgs, ModelArgs, load_texts};
use crate::output;

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
    /// Also report top-k accuracy: the true class among the k most probable.
    #[arg(long, value_name = "K")]
    top_k: Option<usize>,
    /// Write `evaluation.json` and the confusion matrix (`confusion.svg`, `confusion.png`) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let saved = a.model.load(&a.data.common.backend()?.device()?)?;
    let d = &a.data;
    let texts = load_texts(d.data(), &d.columns, Some(saved.classes.clone()))?;
    // Bundled data carry their own class order; map by name.
    let class_of = |label: &String| saved.classes.iter().position(|c| c == label);
    let truth = texts
        .examples
        .iter()
        .map(|e| {
            let label = &texts.classes[e.label];
            class_of(label).with_context(|| {
                format!(
                    "{}: label '{label}' is not one of the model's classes ({})",
                    d.data(),
                    saved.classes.join(", ")
                )
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    if truth.is_empty() {
        bail!("{}: no labelled rows to evaluate", d.data());
    }
    let strs: Vec<&str> = texts.examples.iter().map(|e| e.text.as_str()).collect();
    let probabilities: Vec<Vec<f64>> = saved
        .predict(&strs)
        .iter()
        .map(|p| p.probabilities.iter().map(|(_, v)| f64::from(*v)).collect())
        .collect();
    let e = Evaluation::new(&truth, &probabilities, &saved.classes, a.top_k)
        .with_context(|| d.data().to_string())?;
    if let Some(dir) = &a.out {
        write_outputs(dir, &e, &saved.classes)?;
    }
    if d.common.json {
        output::json(&e)
    } else {
        output::line(&report(&e, &saved.classes));
        Ok(())
    }
}

/// `evaluation.json` and the confusion-matrix figure, each written whole or not at all.
fn write_outputs(dir: &std::path::Path, e: &Evaluation, classes: &[String]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join("evaluation.json");
    let tmp = dir.join(".evaluation.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(e)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &json).with_context(|| format!("writing {}", json.display()))?;
    let figure = ConfusionFigure {
        classes: classes.to_vec(),
        counts: e.confusion.counts.clone(),
    };
    stoke_plot::save(&figure, &dir.join("confusion"))?;
    Ok(())
}

/// The text report: the classification report's table, the probability scores, the matrix.
fn report(e: &Evaluation, classes: &[String]) -> String {
    let w = classes
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max(12);
    let mut s = format!("{:>w$}  precision     recall   f1-score    support\n", "");
    for r in &e.per_class {
        let c = &r.scores;
        s += &format!(
            "{:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}\n",
            r.class, c.precision, c.recall, c.f1, c.support
        );
    }
    s += &format!(
        "\n{:>w$}  {:>9}  {:>9}  {:>9.4}  {:>9}\n",
        "accuracy", "", "", e.accuracy, e.rows
    );
    for (name, avg) in [
        ("macro avg", &e.macro_avg),
        ("weighted avg", &e.weighted_avg),
    ] {
        s += &format!(
            "{:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}\n",
            name, avg.precision, avg.recall, avg.f1, e.rows
        );
    }
    s += &format!(
        "\nlog loss {:.4}   expected calibration error {:.4} ({ECE_BINS} bins)\n",
        e.log_loss, e.ece
    );
    if let Some(t) = &e.top_k {
        s += &format!("top-{} accuracy {:.4}\n", t.k, t.accuracy);
    }
    s += "\nconfusion matrix (rows: true class, columns: predicted)\n";
    let cw = classes
        .iter()
        .map(|c| c.chars().count())
        .chain(
            e.confusion
                .counts
                .iter()
                .flatten()
                .map(|n| n.to_string().len()),
        )
        .max()
        .unwrap_or(1);
    s += &format!("{:>w$}", "");
    for c in classes {
        s += &format!("  {c:>cw$}");
    }
    for (c, row) in classes.iter().zip(&e.confusion.counts) {
        s += &format!("\n{c:>w$}");
        for n in row {
            s += &format!("  {n:>cw$}");
        }
    }
    s
}
