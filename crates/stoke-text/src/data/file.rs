//! Loading user files: CSV, TSV and JSONL, optionally gzip-compressed.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DataError, Example, LabelledTexts, RowError};
use crate::error::one_line;

/// How many skipped line numbers [`SkipReport`] keeps.
pub const SKIP_REPORT_LINES: usize = 10;

/// File format of user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// Comma-separated values with RFC 4180 quoting (`"a, b"`, `""` for a quote).
    Csv,
    /// Tab-separated values, no quoting: a field runs to the next tab or line end.
    Tsv,
    /// One JSON object per line (JSON Lines / NDJSON).
    Jsonl,
}

impl Format {
    /// The format implied by a file name: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`, each
    /// optionally followed by `.gz`. Case-insensitive.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            other => Err(format!(
                "unknown format \"{other}\" (known: csv, tsv, jsonl)"
            )),
        }
    }
}

/// Options for [`load_file`]. `LoadOptions::default()` reads columns / keys `text` and
/// `label`, expects a header line in CSV/TSV, detects the format from the extension and
/// stops at the first invalid row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadOptions {
    /// Format; detected from the file name when `None`. Gzip is always detected from the
    /// content (the magic bytes `1f 8b`), whatever the name.
    pub format: Option<Format>,
    /// Column name (CSV/TSV with header), 0-based column index (without header) or JSON key
    /// of the text.
    pub text_field: String,
    /// Column name, index or JSON key of the label. Labels may be strings or integers.
    pub label_field: String,
    /// Skip invalid rows instead of failing; they are counted in [`Loaded::skipped`].
    pub skip_invalid: bool,
    /// Whether the first CSV/TSV record is a header (ignored for JSONL).
    pub has_header: bool,
    /// The class list to map labels onto (e.g. the classes a model was trained on). A label
    /// outside it is an [`DataError::UnknownLabel`]. When `None`, the classes are the labels
    /// found in the file: sorted numerically if all are integers, otherwise as strings.
    pub classes: Option<Vec<String>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: None,
            text_field: "text".into(),
            label_field: "label".into(),
            skip_invalid: false,
            has_header: true,
            classes: None,
        }
    }
}

impl LoadOptions {
    /// Sets the format explicitly.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
    /// Sets the text column / key.
    pub fn with_text_field(mut self, field: impl Into<String>) -> Self {
        self.text_field = field.into();
        self
    }
    /// Sets the label column / key.
    pub fn with_label_field(mut self, field: impl Into<String>) -> Self {
        self.label_field = field.into();
        self
    }
    /// Skips invalid rows (and reports them) instead of failing.
    pub fn with_skip_invalid(mut self, skip: bool) -> Self {
        self.skip_invalid = skip;
        self
    }
    /// Whether CSV/TSV files start with a header line.
    pub fn with_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }
    /// Maps labels onto a known class list (labels outside it are errors).
    pub fn with_classes(mut self, classes: Vec<String>) -> Self {
        self.classes = Some(classes);
        self
    }
}

/// Rows skipped because of [`LoadOptions::skip_invalid`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipReport {
    /// How many rows were skipped.
    pub count: usize,
    /// The first (at most [`SKIP_REPORT_LINES`]) skipped line numbers, 1-based.
    pub first_lines: Vec<usize>,
    /// The error message of each of those first rows.
    pub first_errors: Vec<String>,
}

/// The result of [`load_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The valid rows.
    pub texts: LabelledTexts,
    /// What was skipped (all zero unless `skip_invalid`).
    pub skipped: SkipReport,
}

/// A label as written in the file.
#[derive(Clone, Debug)]
enum RawLabel {
    Int(i64),
    Str(String),
}

impl RawLabel {
    fn name(&self) -> String {
        match self {
            RawLabel::Int(i) => i.to_string(),
            RawLabel::Str(s) => s.clone(),
        }
    }
}

struct Row {
    line: usize,
    text: String,
    label: RawLabel,
}

/// Collects rows, or fails / skips on errors depending on the options.
struct Sink {
    skip: bool,
    rows: Vec<Row>,
    skipped: SkipReport,
    /// The first skipped row's error.
    first: Option<DataError>,
}

impl Sink {
    fn fail(&mut self, err: DataError) -> Result<(), DataError> {
        if !self.skip {
            return Err(err);
        }
        self.skipped.count += 1;
        if self.skipped.first_lines.len() < SKIP_REPORT_LINES {
            self.skipped.first_lines.push(err.line().unwrap_or(0));
            self.skipped.first_errors.push(err.to_string());
        }
        self.first.get_or_insert(err);
        Ok(())
    }
}

/// Loads labelled texts from a CSV, TSV or JSONL file (optionally gzip-compressed).
///
/// Bad input never panics: see [`DataError`] for what is reported. An empty file, or one
/// with a header but no data, is [`DataError::Empty`]; with `skip_invalid`, a file whose
/// rows were all invalid is [`DataError::Malformed`] naming the first bad line.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Loaded, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = maybe_gunzip(path, raw)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let format = match opts.format {
        Some(f) => f,
        None => Format::from_path(path).ok_or_else(|| DataError::UnknownFormat {
            path: path.to_path_buf(),
        })?,
    };
    let mut sink = Sink {
        skip: opts.skip_invalid,
        rows: Vec::new(),
        skipped: SkipReport::default(),
        first: None,
    };
    match format {
        Format::Csv => read_delimited(path, &bytes, b',', true, opts, &mut sink)?,
        Format::Tsv => read_delimited(path, &bytes, b'\t', false, opts, &mut sink)?,
        Format::Jsonl => read_jsonl(path, &bytes, opts, &mut sink)?,
    }
    finish(path, opts, sink)
}

/// Decompresses gzip content (detected by the magic bytes `1f 8b`, not by the name).
pub(crate) fn maybe_gunzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn parse_label_str(s: &str) -> RawLabel {
    let t = s.trim();
    match t.parse::<i64>() {
        Ok(i) => RawLabel::Int(i),
        Err(_) => RawLabel::Str(t.to_string()),
    }
}

fn read_delimited(
    path: &Path,
    bytes: &[u8],
    delimiter: u8,
    quoting: bool,
    opts: &LoadOptions,
    sink: &mut Sink,
) -> Result<(), DataError> {
    let p = || path.to_path_buf();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let mut width: Option<usize> = None;
    let (text_col, label_col) = if opts.has_header {
        let header = match records.next() {
            None => return Err(DataError::Empty { path: p() }),
            Some(Err(e)) => {
                return Err(DataError::Malformed {
                    path: p(),
                    line: 1,
                    source: e.into(),
                });
            }
            Some(Ok(h)) => h,
        };
        let line = header.position().map(|q| q.line() as usize).unwrap_or(1);
        let mut names = Vec::with_capacity(header.len());
        for (i, f) in header.iter().enumerate() {
            let name = std::str::from_utf8(f).map_err(|_| DataError::InvalidUtf8 {
                path: p(),
                line,
                field: Some(format!("header column {i}")),
            })?;
            names.push(name.trim().trim_start_matches('\u{feff}').to_string());
        }
        let find = |field: &str| {
            names
                .iter()
                .position(|n| n == field)
                .ok_or_else(|| DataError::MissingColumn {
                    path: p(),
                    line,
                    field: field.to_string(),
                    columns: one_line(&names.join(", ")),
                })
        };
        width = Some(names.len());
        (find(&opts.text_field)?, find(&opts.label_field)?)
    } else {
        let index = |field: &str| {
            field.trim().parse::<usize>().map_err(|_| DataError::Options {
                path: p(),
                message: format!(
                    "without a header line, columns are chosen by 0-based index, but \"{field}\" is not a number"
                ),
            })
        };
        (index(&opts.text_field)?, index(&opts.label_field)?)
    };
    let needed = text_col.max(label_col) + 1;
    let mut line = 1;
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let l = e.position().map(|q| q.line() as usize).unwrap_or(line);
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                sink.fail(DataError::Malformed {
                    path: p(),
                    line: l,
                    source: e.into(),
                })?;
                if fatal {
                    break;
                }
                continue;
            }
        };
        line = rec
            .position()
            .map(|q| q.line() as usize)
            .unwrap_or(line + 1);
        let expected = *width.get_or_insert(rec.len());
        if rec.len() != expected {
            sink.fail(DataError::Malformed {
                path: p(),
                line,
                source: RowError::FieldCount {
                    expected,
                    found: rec.len(),
                },
            })?;
            continue;
        }
        if rec.len() < needed {
            let field = if rec.len() <= text_col {
                &opts.text_field
            } else {
                &opts.label_field
            };
            sink.fail(DataError::MissingField {
                path: p(),
                line,
                field: field.clone(),
            })?;
            continue;
        }
        let text = match std::str::from_utf8(&rec[text_col]) {
            Ok(t) => t,
            Err(_) => {
                sink.fail(DataError::InvalidUtf8 {
                    path: p(),
                    line,
                    field: Some(opts.text_field.clone()),
                })?;
                continue;
            }
        };
        let label = match std::str::from_utf8(&rec[label_col]) {
            Ok(t) => t,
            Err(_) => {
                sink.fail(DataError::InvalidUtf8 {
                    path: p(),
                    line,
                    field: Some(opts.label_field.clone()),
                })?;
                continue;
            }
        };
        if text.trim().is_empty() {
            sink.fail(DataError::EmptyText {
                path: p(),
                line,
                field: opts.text_field.clone(),
            })?;
            continue;
        }
        if label.trim().is_empty() {
            sink.fail(DataError::BadLabel {
                path: p(),
                line,
                field: opts.label_field.clone(),
                value: "\"\"".into(),
                reason: "the label is empty".into(),
            })?;
            continue;
        }
        sink.rows.push(Row {
            line,
            text: text.to_string(),
            label: parse_label_str(label),
        });
    }
    Ok(())
}

fn read_jsonl(
    path: &Path,
    bytes: &[u8],
    opts: &LoadOptions,
    sink: &mut Sink,
) -> Result<(), DataError> {
    let p = || path.to_path_buf();
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // Whitespace-only lines at the very end are the file's trailing newline(s), not rows.
    let last = lines
        .iter()
        .rposition(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
        .map_or(0, |i| i + 1);
    for (i, raw) in lines[..last].iter().enumerate() {
        let line = i + 1;
        let Ok(s) = std::str::from_utf8(raw) else {
            sink.fail(DataError::InvalidUtf8 {
                path: p(),
                line,
                field: None,
            })?;
            continue;
        };
        let s = s.strip_prefix('\u{feff}').unwrap_or(s).trim();
        if s.is_empty() {
            sink.fail(DataError::Malformed {
                path: p(),
                line,
                source: RowError::BlankLine,
            })?;
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(s) {
            Ok(v) => v,
            Err(e) => {
                sink.fail(DataError::Malformed {
                    path: p(),
                    line,
                    source: e.into(),
                })?;
                continue;
            }
        };
        let Some(obj) = value.as_object() else {
            sink.fail(DataError::Malformed {
                path: p(),
                line,
                source: RowError::NotAnObject,
            })?;
            continue;
        };
        match json_row(path, line, obj, opts) {
            Ok(row) => sink.rows.push(row),
            Err(e) => sink.fail(e)?,
        }
    }
    Ok(())
}

/// Reads text and label from one JSON object (shared with the bundled loaders).
fn json_row(
    path: &Path,
    line: usize,
    obj: &serde_json::Map<String, serde_json::Value>,
    opts: &LoadOptions,
) -> Result<Row, DataError> {
    let p = || path.to_path_buf();
    let text = match obj.get(&opts.text_field) {
        None => {
            return Err(DataError::MissingField {
                path: p(),
                line,
                field: opts.text_field.clone(),
            });
        }
        Some(serde_json::Value::String(s)) => s,
        Some(other) => {
            return Err(DataError::Malformed {
                path: p(),
                line,
                source: RowError::NotAString {
                    field: opts.text_field.clone(),
                    found: other.clone(),
                },
            });
        }
    };
    if text.trim().is_empty() {
        return Err(DataError::EmptyText {
            path: p(),
            line,
            field: opts.text_field.clone(),
        });
    }
    let bad = |value: &serde_json::Value, reason: &str| DataError::BadLabel {
        path: p(),
        line,
        field: opts.label_field.clone(),
        value: value.to_string(),
        reason: reason.into(),
    };
    let label = match obj.get(&opts.label_field) {
        None => {
            return Err(DataError::MissingField {
                path: p(),
                line,
                field: opts.label_field.clone(),
            });
        }
        Some(v @ serde_json::Value::String(s)) if s.trim().is_empty() => {
            return Err(bad(v, "the label is empty"));
        }
        Some(serde_json::Value::String(s)) => RawLabel::Str(s.trim().to_string()),
        Some(v @ serde_json::Value::Number(n)) => match n.as_i64() {
            Some(i) => RawLabel::Int(i),
            None => return Err(bad(v, "labels must be strings or integers")),
        },
        Some(v) => return Err(bad(v, "labels must be strings or integers")),
    };
    Ok(Row {
        line,
        text: text.clone(),
        label,
    })
}

/// Maps raw labels to class indices and builds the result.
fn finish(path: &Path, opts: &LoadOptions, mut sink: Sink) -> Result<Loaded, DataError> {
    if sink.rows.is_empty() {
        if let Some(first) = sink.first.take() {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                line: sink.skipped.first_lines[0],
                source: RowError::AllInvalid {
                    count: sink.skipped.count,
                    first: Box::new(first),
                },
            });
        }
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let classes: Vec<String> = match &opts.classes {
        Some(c) => c.clone(),
        None => {
            if sink
                .rows
                .iter()
                .all(|r| matches!(r.label, RawLabel::Int(_)))
            {
                let ints: BTreeSet<i64> = sink
                    .rows
                    .iter()
                    .map(|r| match r.label {
                        RawLabel::Int(i) => i,
                        RawLabel::Str(_) => unreachable!("checked above"),
                    })
                    .collect();
                ints.into_iter().map(|i| i.to_string()).collect()
            } else {
                let names: BTreeSet<String> = sink.rows.iter().map(|r| r.label.name()).collect();
                names.into_iter().collect()
            }
        }
    };
    let index: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let rows = std::mem::take(&mut sink.rows);
    let mut examples = Vec::with_capacity(rows.len());
    for row in rows {
        let name = row.label.name();
        match index.get(name.as_str()) {
            Some(&label) => examples.push(Example {
                text: row.text,
                label,
            }),
            None => sink.fail(DataError::UnknownLabel {
                path: path.to_path_buf(),
                line: row.line,
                field: opts.label_field.clone(),
                label: one_line(&name),
                known: one_line(&classes.join(", ")),
            })?,
        }
    }
    if examples.is_empty() {
        return finish(path, opts, sink);
    }
    let name = file_stem(path);
    Ok(Loaded {
        texts: LabelledTexts {
            name,
            classes,
            examples,
        },
        skipped: sink.skipped,
    })
}

fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let name = name.strip_suffix(".gz").unwrap_or(&name).to_string();
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

/// Used by the bundled loaders, which have no path on disk.
pub(crate) fn bundled_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<bundled:{name}>"))
}
