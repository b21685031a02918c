//! `stoke split`: write the train / valid / test parts that `stoke train` uses for a data file
//! or bundled set, as JSON lines, so other tools (scikit-learn, fastText) can be scored on the
//! very same rows.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use stoke_text::data::LabelledTexts;

use crate::args::data::{DataArgs, recipe_data};
use crate::output;

#[derive(Args, Debug)]
pub struct SplitArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Directory for train.jsonl, valid.jsonl and test.jsonl (`{"text": …, "label": …}` per line).
    #[arg(long)]
    out: PathBuf,
}

/// One line of a written part.
#[derive(Serialize)]
struct Row<'a> {
    text: &'a str,
    label: &'a str,
}

/// What `stoke split --json` prints: the rows written per part.
#[derive(Serialize)]
struct Written {
    train: usize,
    valid: usize,
    test: usize,
    classes: Vec<String>,
}

pub fn run(a: SplitArgs) -> Result<()> {
    let (dataset, file) = recipe_data(a.data.data(), &a.data.columns);
    let splits = match (dataset, &file) {
        (Some(name), _) => stoke_text::data::load_bundled(name.parse()?)?,
        (None, Some(file)) => stoke_recipes::data::split_file(file)?,
        (None, None) => unreachable!("recipe_data gives a bundled name or a file"),
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    for (name, part) in [
        ("train", &splits.train),
        ("valid", &splits.valid),
        ("test", &splits.test),
    ] {
        write_part(&a.out.join(format!("{name}.jsonl")), part)?;
    }
    let written = Written {
        train: splits.train.len(),
        valid: splits.valid.len(),
        test: splits.test.len(),
        classes: splits.train.classes.clone(),
    };
    if a.data.common.json {
        output::json(&written)
    } else {
        output::line(&format!(
            "{}: train {}, valid {}, test {} rows -> {}",
            a.data.data(),
            written.train,
            written.valid,
            written.test,
            a.out.display()
        ));
        Ok(())
    }
}

/// Writes `part` to `path` through a temporary file and a rename.
fn write_part(path: &Path, part: &LabelledTexts) -> Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?,
    );
    for e in &part.examples {
        let row = Row {
            text: &e.text,
            label: &part.classes[e.label],
        };
        serde_json::to_writer(&mut w, &row)?;
        w.write_all(b"\n")?;
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
