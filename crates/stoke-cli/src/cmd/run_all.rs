//! `stoke run all`: every built-in recipe, the loss surfaces and the course page into one
//! directory, and an `index.html` that links each recipe's report and plots and says, from the
//! recipe's own numbers, whether its claim held.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use stoke_course::{CourseOptions, Lang};
use stoke_recipes::recipe::builtin_names;
use stoke_recipes::runner::Outputs;
use stoke_recipes::verdict::Holds;

use super::run::{RunArgs, recipe_outputs};
use super::surfaces::{self, SurfacesArgs};
use crate::output;

pub fn run(a: &RunArgs) -> Result<()> {
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("out"));
    let mut done: Vec<Outputs> = Vec::new();
    // A recipe that fails is reported in the index and at the end; the others still run.
    let mut failed: Vec<(&str, String)> = Vec::new();
    for name in builtin_names() {
        let one = RunArgs {
            recipe: name.to_string(),
            out: Some(out.join(name)),
            ..a.clone()
        };
        match recipe_outputs(&one) {
            Ok(Some(o)) => {
                output::line(&format!("{name}: {}", o.summary.finding));
                done.push(o);
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("{name}: {e:#}");
                failed.push((name, format!("{e:#}")));
            }
        }
    }
    let mut quiet = a.common.clone();
    quiet.json = false;
    surfaces::run(SurfacesArgs {
        seed: a.seed,
        out: Some(out.join("surfaces")),
        common: quiet,
        ..Default::default()
    })?;
    let course = stoke_course::write_course(&CourseOptions {
        out: out.join("course"),
        lang: Lang::default(),
        runs: Some(out.clone()),
        ..CourseOptions::default()
    })?;
    let index = out.join("index.html");
    write_atomic(
        &index,
        index_html(&out, &done, &failed, &course.path).as_bytes(),
    )?;
    output::line(&format!("index: {}", index.display()));
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|(n, _)| *n).collect();
        bail!(
            "{} of {} recipes failed: {} (see above; the index lists the others)",
            failed.len(),
            builtin_names().len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// `path` relative to `base` when it lies inside it (the index links within its directory).
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The index: one row per recipe (title, claim, verdict and its evidence, report and plots),
/// then the surfaces and course pages.
fn index_html(out: &Path, done: &[Outputs], failed: &[(&str, String)], course: &Path) -> String {
    let mut rows = String::new();
    for (name, error) in failed {
        let _ = write!(
            rows,
            "<tr data-recipe=\"{name}\" data-holds=\"failed\"><td>{name}</td><td></td>\
             <td>✗ failed: {error}</td><td></td></tr>\n",
            name = escape(name),
            error = escape(error),
        );
    }
    for o in done {
        let s = &o.summary;
        let (mark, word) = match s.verdict.as_ref().map(|v| v.holds) {
            Some(Holds::Yes) => ("✓", "holds"),
            Some(Holds::Partly) => ("≈", "holds partly"),
            Some(Holds::No) => ("✗", "does not hold"),
            None => ("?", "not judged"),
        };
        let evidence = s.verdict.as_ref().map_or("", |v| v.evidence.as_str());
        let plots: Vec<String> = o
            .plots
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
            .map(|p| {
                let name = p
                    .file_stem()
                    .map_or(String::new(), |n| n.to_string_lossy().into());
                format!(
                    "<a href=\"{}\">{}</a>",
                    escape(&relative(p, out)),
                    escape(&name)
                )
            })
            .collect();
        let _ = write!(
            rows,
            "<tr data-recipe=\"{name}\" data-holds=\"{word}\"><td><a href=\"{report}\">{title}</a></td>\
             <td>{claim}</td><td title=\"{word}\">{mark} {word}<br><small>{evidence}</small></td>\
             <td>{plots}</td></tr>\n",
            name = escape(&s.recipe),
            report = escape(&relative(&o.report_md, out)),
            title = escape(&s.title),
            claim = escape(&s.claim),
            evidence = escape(evidence),
            plots = plots.join(" · "),
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stoke: the course's \
         experiments</title><style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}\
         td{{vertical-align:top;padding:.4em;border-top:1px solid #ccc}}small{{color:#444}}</style>\
         </head><body>\n<h1>The course's experiments</h1>\n<p><a href=\"{course}\">The course page</a> \
         (optimizers racing on surfaces, mini-batching, BatchNorm, Dropout, L2) · \
         <a href=\"surfaces/surfaces.html\">Loss surfaces</a></p>\n<table>\n<tr><th>recipe</th>\
         <th>claim</th><th>did it hold? (from the recipe's own numbers)</th><th>plots</th></tr>\n\
         {rows}</table>\n</body></html>\n",
        course = escape(&relative(course, out)),
    )
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}
