//! The interactive surfaces page in a real browser: headless Chromium loads the generated file,
//! the page must report no script errors and nothing on the console, and changing α (through
//! the URL hash the page reads its opening values from) must change the drawn path — in the
//! page's own checksums and in the screenshot pixels.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`), at `/usr/bin/chromium` or named by
//! `STOKE_CHROMIUM`. Without it the test prints a skip message and passes, unless `CI` is set,
//! where it fails: CI must install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stoke_surfaces::{PageGrid, write_page};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STOKE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

struct Output {
    stdout: String,
    stderr: String,
}

/// Runs headless Chromium on `url` with a fresh profile and the given extra flags; fails the
/// test if it does not finish within 90 s.
fn run_chromium(bin: &Path, work: &Path, tag: &str, url: &str, extra: &[String]) -> Output {
    let profile = work.join(format!("profile-{tag}"));
    let _ = std::fs::remove_dir_all(&profile);
    let (out_path, err_path) = (
        work.join(format!("{tag}.out")),
        work.join(format!("{tag}.err")),
    );
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out_path).unwrap())
    .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Output {
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// The JSON the page writes into its hidden `<pre id="status" hidden>`, from `--dump-dom`
/// output.
fn status_of(dom: &str) -> serde_json::Value {
    const OPEN: &str = "<pre id=\"status\" hidden=\"\">";
    let start = dom
        .find(OPEN)
        .unwrap_or_else(|| panic!("no hidden status element in the dumped DOM:\n{dom:.2000}"))
        + OPEN.len();
    let end = start + dom[start..].find("</pre>").expect("status element closes");
    let text = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("status is not JSON ({e}): {text}"))
}

/// Console lines Chromium logged for the page (any console output from the page is a fault:
/// the page itself never logs).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

fn pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().expect("image fits in memory")];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn page_loads_cleanly_and_alpha_changes_the_drawn_path() {
    let Some(bin) = chromium() else {
        if in_ci() {
            panic!(
                "CI is set but Chromium was not found at /usr/bin/chromium (or STOKE_CHROMIUM); \
                 CI must `apt-get install -y chromium` before running this test"
            );
        }
        eprintln!(
            "SKIPPED surfaces_browser: no Chromium at /usr/bin/chromium (set STOKE_CHROMIUM or install `chromium`)"
        );
        return;
    };
    let t0 = Instant::now();
    let work = std::env::temp_dir().join(format!("stoke-surfaces-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let page = write_page(&work.join("surfaces.html"), &PageGrid::default()).unwrap();
    println!(
        "page: {} bytes, generated in {:.2} s",
        page.bytes, page.seconds
    );
    let url = |hash: &str| format!("file://{}{hash}", page.path.display());

    // Opening values without a hash: the quadratic, momentum, α = 0.003, β = 0.
    let plain = run_chromium(&bin, &work, "plain", &url(""), &["--dump-dom".into()]);
    let s = status_of(&plain.stdout);
    assert_eq!(s["ok"], true, "page status: {s}");
    assert_eq!(s["surface"], "quadratic", "{s}");
    assert_eq!(s["optimizer"], "momentum", "{s}");
    assert!((s["alpha"].as_f64().unwrap() - 0.003).abs() < 1e-12, "{s}");
    assert_eq!(s["second"].as_f64(), Some(0.0), "{s}");
    assert!(
        console_lines(&plain.stderr).is_empty(),
        "console: {:?}",
        console_lines(&plain.stderr)
    );

    // Two step sizes, everything else equal.
    let hash_a = "#surface=quadratic&optimizer=momentum&alpha=0.003&momentum=0";
    let hash_b = "#surface=quadratic&optimizer=momentum&alpha=0.012&momentum=0";
    let mut statuses = Vec::new();
    for (tag, hash) in [("a", hash_a), ("b", hash_b)] {
        let out = run_chromium(&bin, &work, tag, &url(hash), &["--dump-dom".into()]);
        let s = status_of(&out.stdout);
        assert_eq!(s["ok"], true, "{hash}: {s}");
        assert_eq!(s["errors"].as_array().map(Vec::len), Some(0), "{hash}: {s}");
        let console = console_lines(&out.stderr);
        assert!(console.is_empty(), "{hash}: console output {console:?}");
        statuses.push(s);
    }
    let (a, b) = (&statuses[0], &statuses[1]);
    assert!((a["alpha"].as_f64().unwrap() - 0.003).abs() < 1e-12, "{a}");
    assert!((b["alpha"].as_f64().unwrap() - 0.012).abs() < 1e-12, "{b}");
    assert_ne!(
        a["checksum"], b["checksum"],
        "the path must change with α: {a} / {b}"
    );
    assert_ne!(
        a["pixels"], b["pixels"],
        "the canvas must change with α: {a} / {b}"
    );

    // And on screen: two screenshots differ.
    let mut shots = Vec::new();
    for (tag, hash) in [("shot-a", hash_a), ("shot-b", hash_b)] {
        let png = work.join(format!("{tag}.png"));
        let out = run_chromium(
            &bin,
            &work,
            tag,
            &url(hash),
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1100,760".into(),
                "--hide-scrollbars".into(),
            ],
        );
        assert!(
            png.exists(),
            "no screenshot for {hash}; stderr:\n{}",
            out.stderr
        );
        shots.push(pixels(&png));
    }
    let ((wa, ha, pa), (wb, hb, pb)) = (&shots[0], &shots[1]);
    assert_eq!((wa, ha), (wb, hb));
    let channels = pa.len() / (*wa as usize * *ha as usize);
    let differing = pa
        .chunks(channels)
        .zip(pb.chunks(channels))
        .filter(|(x, y)| x != y)
        .count();
    println!(
        "screenshots {wa}×{ha}: {differing} pixels differ; browser test took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        differing > 200,
        "only {differing} pixels differ between α = 0.003 and 0.012"
    );
    let _ = std::fs::remove_dir_all(&work);
}
