//! Every example runs (not only builds) and prints what it promises. `cargo test` builds the
//! examples next to this test's own binary (`target/<profile>/examples/`).

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> String {
    // target/<profile>/deps/run-<hash> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().join("examples");
    let out = Command::new(dir.join(name))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e} (in {})", dir.display()));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The first number after `key` in `text`.
fn number_after(text: &str, key: &str) -> f64 {
    let rest = &text[text
        .find(key)
        .unwrap_or_else(|| panic!("no '{key}' in:\n{text}"))
        + key.len()..];
    let num: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse()
        .unwrap_or_else(|_| panic!("no number after '{key}' in:\n{text}"))
}

#[test]
fn manual_loop_trains_every_optimizer() {
    let out = example("manual_loop");
    for name in ["SGD", "Momentum", "RMSProp", "AdaGrad", "Adam", "AdaDelta"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in:\n{out}"));
        // two spirals of 100 points each: better than the 50% of guessing
        assert!(number_after(line, "train accuracy") > 50.0, "{line}");
    }
}

#[test]
fn learner_trains_with_a_stoke_optimizer() {
    let out = example("learner");
    // an untrained network is near 50% on the two spirals
    assert!(number_after(&out, "train accuracy") > 60.0, "{out}");
}

#[test]
fn param_groups_decays_weights_but_not_biases() {
    let out = example("param_groups");
    assert!(number_after(&out, "largest bias change:") > 0.0, "{out}");
}
