//! The accuracy bar on the three bundled data sets (a short Adam run each, default
//! tokenizer).
//!
//! Thresholds from the issue: sentiment-uci ≥ 0.80, spam-assassin ≥ 0.97, langid ≥ 0.93
//! test accuracy (reference: tf-idf word + char n-grams with logistic regression reaches
//! 0.84 on sentiment-uci).

mod common;

use common::run_bundled;
use stoke_text::data::Bundled;
use stoke_text::tokenizer::TokenizerConfig;

use settings::*;

/// Burn's CPU random generator is shared by the whole process, so trainings that run at the
/// same time interleave their draws. One at a time keeps every run reproducible.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[path = "settings.rs"]
mod settings;

#[test]
fn sentiment_uci_reaches_080() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run_bundled(
        Bundled::SentimentUci,
        TokenizerConfig::default(),
        sentiment_model,
        sentiment_opts(),
    );
    assert!(r.test >= 0.80, "sentiment-uci test accuracy {}", r.test);
}

#[test]
fn spam_assassin_reaches_097() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run_bundled(
        Bundled::SpamAssassin,
        TokenizerConfig::default(),
        spam_model,
        spam_opts(),
    );
    assert!(r.test >= 0.97, "spam-assassin test accuracy {}", r.test);
}

#[test]
fn langid_reaches_093() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run_bundled(
        Bundled::Langid,
        TokenizerConfig::default(),
        langid_model,
        langid_opts(),
    );
    assert!(r.test >= 0.93, "langid test accuracy {}", r.test);
}
