//! `stoke eval`: accuracy and macro F1 of a saved classifier on labelled data.

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;
use stoke_text::metrics::ConfusionMatrix;

use crate::args::data::{DataArgs, ModelArgs, load_texts};
use crate::output;

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
}

/// What `stoke eval --json` prints.
#[derive(Serialize)]
struct Evaluation {
    accuracy: f64,
    macro_f1: f64,
    rows: usize,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let saved = a.model.load(&a.data.common.backend()?.device()?)?;
    let d = &a.data;
    let texts = load_texts(&d.data, &d.columns, Some(saved.classes.clone()))?;
    // Bundled data carry their own class order; map by name.
    let class_of = |label: &String| saved.classes.iter().position(|c| c == label);
    if let Some(c) = texts.classes.iter().find(|c| class_of(c).is_none()) {
        bail!(
            "{}: label '{c}' is not one of the model's classes ({})",
            d.data,
            saved.classes.join(", ")
        );
    }
    let strs: Vec<&str> = texts.examples.iter().map(|e| e.text.as_str()).collect();
    let predicted: Vec<usize> = saved.predict(&strs).iter().map(|p| p.index).collect();
    let truth: Vec<usize> = texts
        .examples
        .iter()
        .map(|e| class_of(&texts.classes[e.label]).expect("checked above"))
        .collect();
    let cm = ConfusionMatrix::new(&truth, &predicted, saved.classes.len());
    let result = Evaluation {
        accuracy: cm.accuracy(),
        macro_f1: cm.macro_f1(),
        rows: truth.len(),
    };
    if d.common.json {
        output::json(&result)
    } else {
        output::line(&format!(
            "rows {}, accuracy {:.4}, macro F1 {:.4}",
            result.rows, result.accuracy, result.macro_f1
        ));
        Ok(())
    }
}
