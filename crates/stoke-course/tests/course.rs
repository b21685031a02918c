//! The course page in headless Chromium: it loads without script errors or console output in
//! Thai and English, play advances the iteration and redraws the paths, a three-optimizer
//! race draws three paths in three colours, a single step moves exactly one step and the
//! state the page shows equals stoke's own trace of that optimizer, and the BatchNorm table
//! equals what Burn's BatchNorm computes here. Screenshots are saved under the test's temp dir.
//!
//! Needs Debian's `chromium` (or `STOKE_CHROMIUM`); without it the test is skipped, unless `CI`
//! is set, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::nn::BatchNormConfig;
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use stoke_course::{CourseOptions, Lang, batchnorm, race, write_course};

fn browser() -> Option<PathBuf> {
    std::env::var_os("STOKE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.exists()))
}

/// What one headless run gives: the hidden test state and the console lines.
struct Visit {
    state: Value,
    console: Vec<String>,
}

/// Loads `page#hash` with a fresh profile, lets its timers run for 2 s of virtual time, and
/// either dumps the DOM or saves a screenshot to `shot`.
fn visit(bin: &Path, page: &Path, hash: &str, shot: Option<&Path>) -> Visit {
    let dir = page.parent().unwrap();
    let profile = dir.join(format!("profile-{}", hash.len() + shot.map_or(0, |_| 1000)));
    let mut cmd = Command::new("timeout");
    cmd.arg("90").arg(bin).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=2000",
    ]);
    cmd.arg(format!("--user-data-dir={}", profile.display()));
    match shot {
        Some(png) => cmd.args([
            format!("--screenshot={}", png.display()),
            format!(
                "--window-size=1200,{}",
                if hash.contains('=') { 2600 } else { 900 }
            ),
        ]),
        None => cmd.args(["--dump-dom"]),
    };
    let out = cmd
        .arg(format!("file://{}{hash}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    let state = match dom.find("<pre id=\"test-state\" hidden=\"\">") {
        Some(i) => {
            let rest = &dom[i..];
            let (a, b) = (rest.find('>').unwrap() + 1, rest.find("</pre>").unwrap());
            let mut text = rest[a..b].to_string();
            for (entity, c) in [
                ("&quot;", "\""),
                ("&lt;", "<"),
                ("&gt;", ">"),
                ("&amp;", "&"),
            ] {
                text = text.replace(entity, c);
            }
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("test state ({e}): {text}"))
        }
        None if shot.is_some() => Value::Null,
        None => panic!("no hidden test state in the DOM of {hash}:\n{:.1500}", dom),
    };
    Visit { state, console }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_course_page_works_in_a_browser_in_both_languages() {
    let Some(bin) = browser() else {
        assert!(std::env::var("CI").is_err(), "CI must install chromium");
        eprintln!("SKIPPED course browser test: no chromium");
        return;
    };
    let work = std::env::temp_dir().join(format!("stoke-course-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut pages = Vec::new();
    let mut first = Value::Null;
    for lang in [Lang::Th, Lang::En] {
        let opts = CourseOptions {
            out: work.join(lang.tag()),
            lang,
            ..CourseOptions::default()
        };
        let s = write_course(&opts).unwrap();
        assert!(s.bytes < 5_000_000, "{} bytes", s.bytes);
        let html = std::fs::read_to_string(&s.path).unwrap();
        assert!(html.contains(&format!("<html lang=\"{}\">", lang.tag())));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network"
        );
        let v = visit(&bin, &s.path, "", None);
        first = v.state.clone();
        assert_eq!(v.state["ok"], true, "{lang}: {}", v.state);
        assert_eq!(v.state["lang"], lang.tag());
        assert!(v.console.is_empty(), "{lang}: console {:?}", v.console);
        // the whole page in Thai; each section in English
        let shots: &[(&str, &str)] = match lang {
            Lang::Th => &[("page", "#preset=momentum-rmsprop&at=120")],
            _ => &[
                ("race", "#preset=step-size&at=80"),
                ("minibatch", "#minibatch"),
                ("batchnorm", "#batchnorm"),
                ("dropout", "#dropout"),
            ],
        };
        for (name, hash) in shots {
            let png = work.join(format!("course-{lang}-{name}.png"));
            visit(&bin, &s.path, hash, Some(&png));
            assert!(png.exists(), "screenshot {}", png.display());
            println!("screenshot: {}", png.display());
        }
        pages.push(s.path);
    }
    let page = &pages[1];

    // Play advances the counter and redraws the paths.
    let v = visit(&bin, page, "#preset=momentum-rmsprop&do=play", None).state;
    assert!(f(&v["after"]) > f(&v["before"]), "play: {v}");
    assert_ne!(v["checksum_after"], v["checksum_before"], "{v}");

    // Every preset loads its setting (all its racers drawn at its last step), and the keys
    // work: → → → ← is iteration 2, space plays, r resets.
    let v = visit(&bin, page, "#do=tour", None).state;
    let tour = v["tour"].as_array().unwrap();
    let presets = race::presets();
    assert_eq!(tour.len(), presets.len(), "{v}");
    for (t, p) in tour.iter().zip(&presets) {
        assert_eq!(t["name"], p.name.as_str(), "{t}");
        assert_eq!(t["title"], p.title.as_str(), "{t}");
        assert_eq!(f(&t["iteration"]), p.steps as f64, "{t}");
        assert_eq!(f(&t["racers"]), p.racers.len() as f64, "{t}");
        assert_eq!(t["paths_drawn"], t["racers"], "{t}");
    }
    assert_eq!(f(&v["keys"]["after_right3_left1"]), 2.0, "{v}");
    assert_eq!(v["keys"]["playing_after_space"], true, "{v}");
    assert_eq!(f(&v["keys"]["after_r"]), 0.0, "{v}");

    // A race of three optimizers draws three paths in three colours.
    let v = visit(&bin, page, "#preset=step-size&at=30", None).state;
    assert_eq!((f(&v["racers"]), f(&v["paths_drawn"])), (3.0, 3.0), "{v}");
    let colors: std::collections::BTreeSet<_> = v["colors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(colors.len(), 3, "{v}");

    // One step from 10 shows iteration 11, and its values are stoke's trace at 11: the point,
    // the gradient and rate of the next step, and the state after 11 steps.
    let preset = race::presets()
        .into_iter()
        .find(|p| p.name == "rosenbrock")
        .unwrap();
    let device = stoke_surfaces::cpu_device().unwrap();
    // momentum (v) and Adam (m, v, step count, m̂, v̂)
    for (i, racer) in preset
        .racers
        .iter()
        .enumerate()
        .filter(|(i, _)| [1, 3].contains(i))
    {
        let v = visit(
            &bin,
            page,
            &format!("#preset=rosenbrock&racer={i}&at=10&do=step"),
            None,
        )
        .state;
        assert_eq!((f(&v["before"]), f(&v["after"])), (10.0, 11.0), "{v}");
        let (points, trace) = stoke_surfaces::trace_from(
            preset.surface,
            preset.surface.start(),
            racer,
            preset.steps,
            preset.seed,
            &device,
        )
        .unwrap();
        let shown = &v["state"]["values"];
        let close = |name: &str, want: [f64; 2]| {
            for c in 0..2 {
                let got = f(&shown[name][c]);
                assert!(
                    (got - want[c]).abs() <= 1e-6 * want[c].abs().max(1e-12),
                    "{racer} {name}[{c}]: page {got}, stoke {}",
                    want[c]
                );
            }
        };
        close("w", points[11]);
        close("g", trace[11].gradient);
        close("lr", [trace[11].lr; 2]);
        for (name, value) in &trace[10].state {
            close(name, *value);
        }
        assert_eq!(
            shown.as_object().unwrap().len(),
            3 + trace[10].state.len() + usize::from(racer.spec.name() == "adam") * 2,
            "every state buffer shown: {v}"
        );
    }

    // The BatchNorm table is what Burn's BatchNorm (training mode) computes from the column.
    let v = first;
    let bn = BatchNormConfig::new(2).init(&device.clone().autodiff());
    let n = batchnorm::COLUMN.len();
    let x = Tensor::<2>::from_data(
        TensorData::new(batchnorm::input(), [n, 2]),
        &device.autodiff(),
    );
    let y: Vec<f64> = bn.forward(x).into_data().try_into_vec_as().unwrap();
    let table = v["batchnorm"]["table"].as_array().unwrap();
    assert_eq!(table.len(), n);
    for (r, row) in table.iter().enumerate() {
        for c in 0..2 {
            assert!(
                (f(&row[c]) - y[2 * r + c]).abs() < 1e-6,
                "row {r} col {c}: {row}"
            );
        }
    }
    // Hand derivation (stoke-text's batchnorm test): μ = 0.583636, s = 0.307937,
    // σ = 0.293607, so (0.99 − μ)/s = 1.3196 (the slide's 1.32) and BatchNorm's 1.3840.
    assert!(
        (f(&v["batchnorm"]["first_sample"]) - 1.3196).abs() < 1e-3,
        "{v}"
    );
    assert!(
        (f(&v["batchnorm"]["first_biased"]) - 1.3840).abs() < 1e-3,
        "{v}"
    );
    // 15 rows in batches of 3: 5 iterations.
    assert_eq!(f(&v["minibatch"]["iterations"]), 5.0, "{v}");
    println!("artifacts under {}", work.display());
}
