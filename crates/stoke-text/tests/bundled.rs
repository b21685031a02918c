//! The bundled data sets: sizes and classes as documented in data/*/PROVENANCE.md, and the
//! fixed 80/10/10 stratified split.

use stoke_text::data::{Bundled, Splits, load_bundled, summarize};

fn check_split(s: &Splits, total: usize) {
    let (tr, va, te) = (s.train.len(), s.valid.len(), s.test.len());
    assert_eq!(tr + va + te, total);
    let counts = [
        s.train.class_counts(),
        s.valid.class_counts(),
        s.test.class_counts(),
    ];
    for c in 0..s.train.classes.len() {
        let n = counts[0][c] + counts[1][c] + counts[2][c];
        // round(0.1 · n) each for valid and test, the rest for train.
        let tenth = (n as f64 * 0.1).round() as usize;
        assert_eq!((counts[1][c], counts[2][c]), (tenth, tenth), "class {c}");
    }
    assert_eq!(s.valid.classes, s.train.classes);
}

#[test]
fn sentiment_uci() {
    let s = load_bundled(Bundled::SentimentUci).unwrap();
    // 3 files × 1,000 sentences (the three trailing empty entries are the documented
    // artefact and are skipped), 500 per class per file.
    check_split(&s, 3000);
    assert_eq!(s.train.classes, vec!["negative", "positive"]);
    assert_eq!(s.train.class_counts(), vec![1200, 1200]);
    assert_eq!(s.test.class_counts(), vec![150, 150]);
    assert!(s.train.examples.iter().all(|e| !e.text.trim().is_empty()));
}

#[test]
fn langid() {
    let s = load_bundled(Bundled::Langid).unwrap();
    check_split(&s, 74_141);
    assert_eq!(s.train.classes.len(), 75);
    let all: Vec<usize> = (0..75)
        .map(|c| s.train.class_counts()[c] + s.valid.class_counts()[c] + s.test.class_counts()[c])
        .collect();
    let of = |name: &str| all[s.train.classes.iter().position(|c| c == name).unwrap()];
    // 1,000 sentences per language, except Chinese (729) and Japanese (412).
    assert_eq!(of("chinese"), 729);
    assert_eq!(of("japanese"), 412);
    assert_eq!(of("thai"), 1000);
    assert_eq!(all.iter().filter(|&&n| n == 1000).count(), 73);
}

#[test]
fn spam_assassin() {
    let s = load_bundled(Bundled::SpamAssassin).unwrap();
    check_split(&s, 6046);
    assert_eq!(s.train.classes, vec!["ham", "spam"]);
    let total: Vec<usize> = (0..2)
        .map(|c| s.train.class_counts()[c] + s.valid.class_counts()[c] + s.test.class_counts()[c])
        .collect();
    assert_eq!(total, vec![4150, 1896]);
    // Only Subject and From are kept from the headers.
    for e in s.train.examples.iter().take(200) {
        assert!(e.text.starts_with("Subject: "));
        let head = e.text.split("\n\n").next().unwrap();
        assert!(
            !head.contains("Received:") && !head.contains("Return-Path:"),
            "{head}"
        );
    }
}

#[test]
fn split_is_fixed() {
    let a = load_bundled(Bundled::SentimentUci).unwrap();
    let b = load_bundled(Bundled::SentimentUci).unwrap();
    assert_eq!(a, b);
    // Regression pin of the split (computed once with BUNDLED_SPLIT_SEED; it must never
    // change, on any machine): FNV-1a over the test texts.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for e in &a.test.examples {
        for &byte in e.text.as_bytes().iter().chain(&[0u8]) {
            h ^= byte as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    let pinned = std::env::var("STOKE_PRINT_PIN").is_ok();
    if pinned {
        eprintln!("sentiment test split fingerprint: {h:#x}");
    }
    assert_eq!(h, SENTIMENT_TEST_FINGERPRINT, "the bundled split changed");
}

const SENTIMENT_TEST_FINGERPRINT: u64 = 4_967_090_767_247_340_331;

#[test]
fn summaries() {
    let s = load_bundled(Bundled::SentimentUci).unwrap();
    let sum = summarize(&s.train);
    assert_eq!(sum.rows, 2400);
    assert!((sum.imbalance_ratio - 1.0).abs() < 1e-12);
    assert!(
        sum.length_chars.p5 <= sum.length_chars.p50 && sum.length_chars.p50 <= sum.length_chars.p95
    );
}
