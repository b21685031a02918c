//! What can go wrong with a schedule: its description (read or checked) and its saved state.

use crate::ConfigError;

/// A schedule description that cannot be read or does not hold. Every message starts with
/// `schedule KIND:` and names the field.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// `schedule` is neither a kind name nor a map with a `kind`.
    #[error(
        "schedule needs a kind (schedule = \"cosine\" or {{ kind = \"cosine\", … }}); found {found}"
    )]
    NoKind {
        /// What stood there instead.
        found: String,
    },
    /// Not a schedule kind.
    #[error("unknown schedule '{kind}'; known schedules: {known}")]
    UnknownKind {
        /// What was asked for.
        kind: String,
        /// The known kinds, comma-separated.
        known: String,
    },
    /// Not a field of this kind.
    #[error("schedule {kind}: unknown field '{field}'; known fields: {known}")]
    UnknownField {
        /// The schedule's kind.
        kind: &'static str,
        /// The field given.
        field: String,
        /// The kind's fields, comma-separated (`none` for `constant`).
        known: String,
    },
    /// A field this kind cannot do without.
    #[error("schedule {kind} needs '{field}'")]
    Missing {
        /// The schedule's kind.
        kind: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A value of the wrong type for its field.
    #[error("schedule {kind}: {field} = {value}: {source}")]
    BadValue {
        /// The schedule's kind.
        kind: &'static str,
        /// The field.
        field: String,
        /// The value given.
        value: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A field value out of its range.
    #[error("schedule {kind}: {source}")]
    Invalid {
        /// The schedule's kind.
        kind: &'static str,
        /// The field, value and rule.
        #[source]
        source: ConfigError,
    },
    /// One of Burn's schedulers refused its config (stoke checks every rule first, so this
    /// names a rule stoke has missed).
    #[error("schedule {kind}: Burn's scheduler refused it: {message}")]
    Burn {
        /// The schedule's kind.
        kind: &'static str,
        /// Burn's message.
        message: String,
    },
}

/// A scheduler record that does not hold this scheduler's state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{scheduler} record has no '{key}' (is it the record of another scheduler?)")]
pub struct ScheduleStateError {
    /// The scheduler loading the record, e.g. `"ReduceLrOnPlateau"`.
    pub scheduler: &'static str,
    /// The scalar it needs.
    pub key: &'static str,
}
