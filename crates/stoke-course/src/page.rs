//! The page itself: the template with its `{{key}}` texts filled in for the language and the
//! computed data embedded as JSON, written atomically (temp file + rename).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::error::CourseError;
use crate::lang::Lang;
use crate::{batchnorm, curves, dropout, minibatch, race};

/// The template; `__COURSE_DATA__` is replaced by the embedded JSON.
const TEMPLATE: &str = include_str!("course.html");

/// Largest page [`write_course`] writes (the budget is 5 MB).
pub const MAX_COURSE_BYTES: usize = 5_000_000;

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseOptions {
    /// Output directory; the page is `course.html` inside it.
    pub out: PathBuf,
    /// Its language.
    pub lang: Lang,
    /// A directory of recipe outputs (`DIR/l2/metrics.csv`, `DIR/overfitting/metrics.csv`) for
    /// section 5; without it the section says how to produce them.
    pub runs: Option<PathBuf>,
    /// Seed of the mini-batch order and the Dropout masks.
    pub seed: u64,
}

impl Default for CourseOptions {
    fn default() -> Self {
        Self {
            out: PathBuf::from("out/course"),
            lang: Lang::default(),
            runs: None,
            seed: 1,
        }
    }
}

/// What [`write_course`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseSummary {
    /// The page.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// Race presets embedded.
    pub presets: usize,
    /// Recipes whose curves section 5 draws.
    pub recipes: usize,
}

/// Everything the page shows, computed by stoke's code.
pub fn course_data(opts: &CourseOptions) -> Result<Value, CourseError> {
    let presets = race::presets();
    let text: Map<String, Value> = opts
        .lang
        .texts()
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    Ok(json!({
        "lang": opts.lang.tag(),
        "text": text,
        "race": race::races(&presets)?,
        "minibatch": minibatch::minibatch(opts.seed),
        "batchnorm": batchnorm::batchnorm()?,
        "dropout": dropout::dropout(opts.seed)?,
        "curves": curves::curves(opts.runs.as_deref())?,
    }))
}

/// The page's HTML for `data` in `lang`.
pub fn render(lang: Lang, data: &Value) -> String {
    let mut html = TEMPLATE.replace("__LANG__", lang.tag());
    for (key, value) in lang.texts() {
        html = html.replace(&format!("{{{{{key}}}}}"), &escape(value));
    }
    // `</` cannot end the script element early once escaped
    let json = data.to_string().replace("</", "<\\/");
    html.replace("__COURSE_DATA__", &json)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Computes every section and writes `course.html` into `opts.out`.
pub fn write_course(opts: &CourseOptions) -> Result<CourseSummary, CourseError> {
    let data = course_data(opts)?;
    let html = render(opts.lang, &data);
    let path = opts.out.join("course.html");
    if html.len() > MAX_COURSE_BYTES {
        return Err(CourseError::TooLarge(html.len()));
    }
    write_atomically(&path, html.as_bytes())?;
    Ok(CourseSummary {
        path,
        bytes: html.len(),
        presets: data["race"]["presets"].as_array().map_or(0, Vec::len),
        recipes: data["curves"].as_array().map_or(0, Vec::len),
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CourseError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CourseError::Io { path: p, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension("html.tmp");
    fs::write(&tmp, bytes).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_in_both_languages() {
        for lang in [Lang::Th, Lang::En] {
            let html = render(lang, &json!({}));
            assert!(!html.contains("{{"), "{lang}: an unfilled placeholder");
            assert!(html.contains(&format!("<html lang=\"{}\">", lang.tag())));
            assert!(!html.contains("__COURSE_DATA__") && !html.contains("__LANG__"));
        }
    }

    /// Every control is a form element with a label naming it (or a button with its text), so
    /// it is reachable with Tab and announced.
    #[test]
    fn every_control_is_labelled() {
        let mut controls = 0;
        for tag in ["<input id=\"", "<select id=\""] {
            for (i, _) in TEMPLATE.match_indices(tag) {
                let id = &TEMPLATE[i + tag.len()..];
                let id = &id[..id.find('"').unwrap()];
                assert!(
                    TEMPLATE.contains(&format!("<label for=\"{id}\">")),
                    "no label for #{id}"
                );
                controls += 1;
            }
        }
        assert_eq!(controls, 6, "preset, scrub, racer, rows, batch, rate");
        for (i, _) in TEMPLATE.match_indices("<button id=") {
            let rest = &TEMPLATE[i..];
            let text = &rest[rest.find('>').unwrap() + 1..rest.find("</button>").unwrap()];
            assert!(text.starts_with("{{"), "a button without text: {text}");
        }
    }
}
