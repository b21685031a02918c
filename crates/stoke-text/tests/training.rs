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

#[path = "settings.rs"]
mod settings;

#[test]
fn sentiment_uci_reaches_080() {
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
    let r = run_bundled(
        Bundled::Langid,
        TokenizerConfig::default(),
        langid_model,
        langid_opts(),
    );
    assert!(r.test >= 0.93, "langid test accuracy {}", r.test);
}
