//! What the commands print on stdout: result lines and JSON, nothing else (progress bars and
//! warnings go to stderr).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// One line of results.
pub fn line(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
}

/// `value` as indented JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    line(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `value` as JSON on one line.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    line(&serde_json::to_string(value)?);
    Ok(())
}

/// `value` as JSON on one line when `json`, else as `text` prints it.
pub fn json_line_or<T: Serialize>(json: bool, value: &T, text: impl FnOnce(&T)) -> Result<()> {
    if json {
        json_line(value)
    } else {
        text(value);
        Ok(())
    }
}
