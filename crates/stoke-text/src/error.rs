//! Errors of settings that break a rule.

/// A setting that breaks its rule, found when a model or tokenizer config is validated.
///
/// The message names the field, the offending value and the rule, e.g.
/// `dropout = 1.5: must be in [0, 1)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: {rule}")]
pub struct InvalidSetting {
    /// The field as a config file names it, e.g. `"dropout"` or `"features.buckets"`.
    pub field: &'static str,
    /// The rejected value, as written by `Display`.
    pub value: String,
    /// The rule the value breaks.
    pub rule: &'static str,
}

impl InvalidSetting {
    pub(crate) fn new(field: &'static str, value: impl ToString, rule: &'static str) -> Self {
        Self {
            field,
            value: value.to_string(),
            rule,
        }
    }
}

/// `Ok` when `ok` holds, else the error for `field = value` breaking `rule`.
pub(crate) fn require(
    ok: bool,
    field: &'static str,
    value: impl ToString,
    rule: &'static str,
) -> Result<(), InvalidSetting> {
    if ok {
        Ok(())
    } else {
        Err(InvalidSetting::new(field, value, rule))
    }
}

/// `text` with its control characters escaped (`\n` for a newline), so that a message quoting
/// user input (a column name, a label, a parser's quote of a file) stays one line.
pub(crate) fn one_line(text: &impl std::fmt::Display) -> String {
    text.to_string()
        .chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}
