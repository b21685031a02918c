//! Progress bars (indicatif) for recipes and runs, drawn on stderr only when it is a terminal
//! and `--quiet` is not given, so stdout carries nothing but results.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use stoke_recipes::RunSpec;
use stoke_recipes::metrics::{Metric, Record, Split};
use stoke_recipes::train::{Progress, RunResult, RunStatus};

/// Optimizer steps of `run` on `train_examples` training texts: epochs × ⌈N / B⌉.
pub fn iterations(run: &RunSpec, train_examples: usize) -> u64 {
    let batch = run.settings.batch_size.resolve(train_examples);
    (run.settings.epochs * train_examples.div_ceil(batch)) as u64
}

/// Bars for one recipe: a total bar and one per active run.
pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    runs: Mutex<HashMap<String, ProgressBar>>,
    quiet: bool,
}

impl Bars {
    /// `total` iterations across all runs; hidden when quiet or stderr is not a terminal.
    pub fn new(total: u64, quiet: bool) -> Self {
        let quiet = quiet || !std::io::stderr().is_terminal();
        let multi = if quiet {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        } else {
            MultiProgress::new()
        };
        let total = multi.add(ProgressBar::new(total));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:40.cyan/blue}] {percent:>3}% eta {eta}  {msg}",
            )
            // Internal invariant: a constant template, shown by every run of the CLI tests.
            .expect("valid template")
            .progress_chars("=> "),
        );
        total.set_prefix("recipe");
        total.enable_steady_tick(Duration::from_millis(250));
        Self {
            multi,
            total,
            runs: Mutex::new(HashMap::new()),
            quiet,
        }
    }

    /// Ends the display.
    pub fn finish(&self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }

    /// A line above the bars (only when the bars are shown).
    pub fn println(&self, line: &str) {
        if !self.quiet {
            let _ = self.multi.println(line);
        }
    }

    fn bar(&self, id: &str) -> Option<ProgressBar> {
        // Internal invariant (every `runs.lock()`): nothing panics while holding it, so it is
        // never poisoned.
        self.runs.lock().unwrap().get(id).cloned()
    }
}

impl Progress for Bars {
    fn started(&self, run: &RunSpec, total: usize, done: usize) {
        let bar = self.multi.add(ProgressBar::new(total as u64));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:40.green/white}] {pos}/{len} eta {eta}  {msg}",
            )
            // Internal invariant: a constant template, shown by every run of the CLI tests.
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("seed {}", run.seed));
        bar.set_message(run.config.clone());
        bar.set_position(done as u64);
        self.total.inc(done as u64);
        self.runs.lock().unwrap().insert(run.id(), bar);
    }

    fn iteration(&self, run: &RunSpec, _loss: f64) {
        if let Some(b) = self.bar(&run.id()) {
            b.inc(1);
        }
        self.total.inc(1);
    }

    fn epoch(&self, run: &RunSpec, epoch: usize, records: &[Record]) {
        let get = |split: Split, metric: Metric| {
            records
                .iter()
                .find(|r| r.split == split && r.metric == metric)
                .map_or(f64::NAN, |r| r.value)
        };
        if let Some(b) = self.bar(&run.id()) {
            b.set_message(format!(
                "{}  epoch {epoch}: train loss {:.4}, valid acc {:.3}",
                run.config,
                get(Split::Train, Metric::Loss),
                get(Split::Valid, Metric::Accuracy)
            ));
        }
    }
}

impl Bars {
    /// A run ended: its bar goes away.
    pub fn done(&self, run: &RunSpec) {
        if let Some(b) = self.runs.lock().unwrap().remove(&run.id()) {
            b.finish_and_clear();
        }
    }

    /// Says so on stderr when `result` is a diverged run: above the bars on a terminal.
    pub fn report_divergence(&self, result: &RunResult) {
        if let RunStatus::Diverged { message, .. } = &result.status {
            if std::io::stderr().is_terminal() {
                self.println(&format!("diverged: {message}"));
            } else {
                eprintln!("diverged: {message}");
            }
        }
    }
}
