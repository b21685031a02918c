//! The accuracy bar on the three bundled data sets (a short Adam run each).
//!
//! Thresholds from the issue: sentiment-uci ≥ 0.80, spam-assassin ≥ 0.97, langid ≥ 0.93
//! test accuracy (reference: tf-idf word + char n-grams with logistic regression reaches
//! 0.84 on sentiment-uci).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::cpu;
use stoke_text::batch::encode_all;
use stoke_text::data::{Bundled, load_bundled};
use stoke_text::model::TextClassifierConfig;
use stoke_text::tokenizer::{Tokenizer, TokenizerConfig};
use stoke_text::train::{TrainOptions, evaluate, train};

/// Trains on the bundled training split and returns (best valid accuracy, test accuracy).
pub fn run(which: Bundled, model: impl Fn(TextClassifierConfig) -> TextClassifierConfig, opts: TrainOptions) -> (f64, f64) {
    let start = Instant::now();
    let splits = load_bundled(which).unwrap();
    let tokenizer = Tokenizer::new(TokenizerConfig::default()).unwrap();
    let train_items = Arc::new(encode_all(&tokenizer, &splits.train));
    let valid_items = Arc::new(encode_all(&tokenizer, &splits.valid));
    let test_items = Arc::new(encode_all(&tokenizer, &splits.test));
    let prep = start.elapsed().as_secs_f64();
    let config = model(TextClassifierConfig::new(tokenizer.num_ids(), splits.train.classes.len()));
    let (m, reports) = train(&config, train_items, Some(valid_items), &opts, &cpu()).unwrap();
    let test = evaluate(&m, &test_items, 512).accuracy;
    for r in &reports {
        eprintln!(
            "{which}: epoch {} loss {:.4} valid {:.4} ({} it, {:.1}s)",
            r.epoch, r.train_loss, r.valid_accuracy.unwrap_or(0.0), r.iterations, r.seconds
        );
    }
    let valid = reports.last().and_then(|r| r.valid_accuracy).unwrap_or(0.0);
    eprintln!("{which}: valid {valid:.4} test {test:.4} (data+tokenize {prep:.1}s, total {:.1}s)", start.elapsed().as_secs_f64());
    (valid, test)
}

#[test]
fn sentiment_uci_reaches_080() {
    let (_, test) = run(
        Bundled::SentimentUci,
        |c| c.with_embed_dim(32).with_hidden(32),
        TrainOptions { epochs: 6, batch_size: 32, learning_rate: 5e-3, seed: 1, drop_last: false },
    );
    assert!(test >= 0.80, "sentiment-uci test accuracy {test}");
}

#[test]
fn spam_assassin_reaches_097() {
    let (_, test) = run(
        Bundled::SpamAssassin,
        |c| c.with_embed_dim(32).with_hidden(32),
        TrainOptions { epochs: 4, batch_size: 64, learning_rate: 5e-3, seed: 1, drop_last: false },
    );
    assert!(test >= 0.97, "spam-assassin test accuracy {test}");
}

#[test]
fn langid_reaches_093() {
    let (_, test) = run(
        Bundled::Langid,
        |c| c.with_embed_dim(32).with_hidden(128),
        TrainOptions { epochs: 2, batch_size: 256, learning_rate: 1e-2, seed: 1, drop_last: false },
    );
    assert!(test >= 0.93, "langid test accuracy {test}");
}
