//! `stoke predict`: classify texts with a saved classifier.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;

use crate::args::Common;
use crate::args::data::ModelArgs;
use crate::output;

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Texts to classify; none: read one per line from stdin.
    texts: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// One line of `stoke predict --json`.
#[derive(Serialize)]
struct Prediction<'a> {
    label: &'a str,
    /// Widened to f64 as written (`0.9123456716537476`, not `0.9123457`).
    probabilities: BTreeMap<&'a str, f64>,
    text: &'a str,
}

pub fn run(a: PredictArgs) -> Result<()> {
    let saved = a.model.load(&a.common.backend()?.device()?)?;
    let texts: Vec<String> = if a.texts.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("reading stdin")?
    } else {
        a.texts
    };
    let strs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (t, p) in texts.iter().zip(saved.predict(&strs)) {
        if a.common.json {
            output::json_line(&Prediction {
                label: &p.label,
                probabilities: p
                    .probabilities
                    .iter()
                    .map(|(c, v)| (c.as_str(), f64::from(*v)))
                    .collect(),
                text: t,
            })?;
        } else {
            let prob = p.probabilities.get(p.index).map_or(f32::NAN, |x| x.1);
            output::line(&format!("{}\t{:.3}\t{}", p.label, prob, t));
        }
    }
    Ok(())
}
