//! `stoke data-summary`: rows, classes, balance and text lengths of a data file or bundled set.

use anyhow::Result;
use stoke_text::data::summarize;

use crate::args::data::{DataArgs, load_texts};
use crate::output;

pub fn run(a: DataArgs) -> Result<()> {
    let summary = summarize(&load_texts(a.data(), &a.columns, None)?);
    if a.common.json {
        output::json(&summary)
    } else {
        output::line(&summary.to_string());
        Ok(())
    }
}
