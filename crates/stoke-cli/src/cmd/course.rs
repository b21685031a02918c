//! `stoke course`: the course as one self-contained, explorable page.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use stoke_course::{CourseOptions, Lang};

use crate::args::Common;
use crate::output;

#[derive(Args, Debug, Default)]
pub struct CourseArgs {
    /// Output directory; the page is course.html inside it (default: out/course).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The page's language: th (Thai, the course's) or en.
    #[arg(long, default_value = "th")]
    pub lang: String,
    /// Recipe outputs to draw the L2 and overfitting curves from (DIR/l2/metrics.csv,
    /// DIR/overfitting/metrics.csv), e.g. out.
    #[arg(long)]
    pub runs: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// What `stoke course --json` prints.
#[derive(Serialize)]
struct Written<'a> {
    bytes: usize,
    lang: &'a str,
    page: &'a PathBuf,
    presets: usize,
    recipes: usize,
}

pub fn run(a: CourseArgs) -> Result<()> {
    let lang: Lang = a.lang.parse()?;
    let defaults = CourseOptions::default();
    let opts = CourseOptions {
        out: a.out.unwrap_or(defaults.out),
        lang,
        runs: a.runs,
        ..defaults
    };
    let s = stoke_course::write_course(&opts)?;
    if a.common.json {
        return output::json(&Written {
            bytes: s.bytes,
            lang: lang.tag(),
            page: &s.path,
            presets: s.presets,
            recipes: s.recipes,
        });
    }
    output::line(&format!(
        "course page: {} ({} KB, {} race presets, {} recipes' curves)",
        s.path.display(),
        s.bytes / 1024,
        s.presets,
        s.recipes
    ));
    Ok(())
}
