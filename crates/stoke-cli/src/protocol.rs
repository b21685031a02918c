//! How a `stoke run-one` child reports a run's progress to the `stoke run --jobs N` parent: one
//! [`Event`] per line of the child's stdout, as JSON tagged by `event`:
//!
//! ```text
//! {"event":"started","total":12,"done":0}
//! {"event":"iteration","loss":0.25}
//! {"event":"epoch","epoch":1,"records":[...]}
//! ```
//!
//! The child writes them through [`Emitter`]; the parent reads each line with [`Event::parse`]
//! (a line that is not an event is an error naming it) and hands it on with [`Event::report`].

use std::io::Write;

use serde::{Deserialize, Serialize};
use stoke_recipes::RunSpec;
use stoke_recipes::metrics::Record;
use stoke_recipes::train::Progress;

/// One step of a run's progress: the calls of [`Progress`], as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run starts (or resumes) with `total` iterations in all, `done` of them done already.
    Started { total: usize, done: usize },
    /// One optimizer step is done; its training loss.
    Iteration { loss: f64 },
    /// Epoch `epoch` is done; its records.
    Epoch { epoch: usize, records: Vec<Record> },
}

/// A line of a child's output that is not an [`Event`].
#[derive(Debug, thiserror::Error)]
#[error("line {number} of its output is not a progress event: {text}")]
pub struct BadEvent {
    /// The line's number, from 1.
    pub number: usize,
    /// The line as written.
    pub text: String,
    #[source]
    source: serde_json::Error,
}

impl Event {
    /// Reads `text`, line `number` (from 1) of a child's output.
    pub fn parse(text: &str, number: usize) -> Result<Self, BadEvent> {
        serde_json::from_str(text).map_err(|source| BadEvent {
            number,
            text: text.to_string(),
            source,
        })
    }

    /// The event as one line of JSON, without the newline.
    pub fn to_line(&self) -> String {
        // Internal invariant: an event is strings, integers and floats (NaN is written as
        // null), none of which serde_json can fail on.
        serde_json::to_string(self).expect("events serialise")
    }

    /// Makes the `progress` call this event stands for, for `run`.
    pub fn report(&self, run: &RunSpec, progress: &dyn Progress) {
        match self {
            Event::Started { total, done } => progress.started(run, *total, *done),
            Event::Iteration { loss } => progress.iteration(run, *loss),
            Event::Epoch { epoch, records } => progress.epoch(run, *epoch, records),
        }
    }
}

/// Writes a run's progress as [`Event`] lines on stdout, for the parent (the child's side).
pub struct Emitter;

impl Emitter {
    fn emit(event: Event) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", event.to_line());
        let _ = out.flush();
    }
}

impl Progress for Emitter {
    fn started(&self, _run: &RunSpec, total: usize, done: usize) {
        Self::emit(Event::Started { total, done });
    }
    fn iteration(&self, _run: &RunSpec, loss: f64) {
        Self::emit(Event::Iteration { loss });
    }
    fn epoch(&self, _run: &RunSpec, epoch: usize, records: &[Record]) {
        Self::emit(Event::Epoch {
            epoch,
            records: records.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Event;
    use stoke_recipes::metrics::{Metric, Record, Split};

    #[test]
    fn events_survive_the_line_they_travel_as() {
        let record = Record {
            run: "adam-seed1".into(),
            config: "adam".into(),
            seed: 1,
            epoch: 2,
            iteration: 6,
            split: Split::Valid,
            metric: Metric::Accuracy,
            value: 0.75,
        };
        let events = [
            Event::Started { total: 12, done: 3 },
            Event::Iteration { loss: 0.25 },
            Event::Epoch {
                epoch: 2,
                records: vec![record],
            },
        ];
        for (i, e) in events.into_iter().enumerate() {
            assert_eq!(Event::parse(&e.to_line(), i + 1).unwrap(), e);
        }
        // The wire format, written by hand.
        assert_eq!(
            Event::Started { total: 12, done: 3 }.to_line(),
            r#"{"event":"started","total":12,"done":3}"#
        );
    }

    #[test]
    fn a_line_that_is_not_an_event_is_an_error_naming_it() {
        for bad in [
            "Compiling shaders...",
            r#"{"event":"started","total":12}"#,
            r#"{"event":"started","total":"12","done":0}"#,
            r#"{"event":"finished"}"#,
            r#"{"total":12,"done":0}"#,
        ] {
            let err = Event::parse(bad, 7).expect_err(bad);
            assert_eq!((err.number, err.text.as_str()), (7, bad));
            assert!(err.to_string().starts_with("line 7 "), "{err}");
            assert!(err.to_string().ends_with(bad), "{err}");
        }
    }
}
