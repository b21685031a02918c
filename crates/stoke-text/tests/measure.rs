//! Tokenizer comparison on the three bundled validation sets (not run by default; it takes
//! several minutes). Run with
//! `cargo test -p stoke-text --all-features --test measure -- --ignored --nocapture`.
//! The table is recorded in crates/stoke-text/RESULTS.md.

mod common;

use common::run_bundled;
use stoke_text::data::Bundled;
use stoke_text::tokenizer::{Features, TokenizerConfig};

#[path = "settings.rs"]
mod settings;
use settings::*;

fn candidates() -> Vec<(&'static str, TokenizerConfig)> {
    let base = TokenizerConfig::default();
    vec![
        ("hash 2^17, words 1+2, chars 2-5 (default)", base.clone()),
        ("hash 2^17, words 1+2", base.clone().without_char_ngrams()),
        (
            "hash 2^17, words 1, chars 2-5",
            base.clone().with_word_bigrams(false),
        ),
        (
            "hash 2^17, words 1+2, chars 1-4",
            base.clone().with_char_ngrams(1, 4),
        ),
        (
            "hash 2^15, words 1+2, chars 2-5",
            base.clone()
                .with_features(Features::Hashing { buckets: 1 << 15 }),
        ),
        (
            "vocab min 2 max 2^17, words 1+2, chars 2-5",
            base.clone().with_features(Features::Vocabulary {
                min_count: 2,
                max_size: 1 << 17,
            }),
        ),
    ]
}

#[test]
#[ignore]
fn compare_tokenizers() {
    let mut rows = Vec::new();
    for (name, tok) in candidates() {
        let s = run_bundled(
            Bundled::SentimentUci,
            tok.clone(),
            sentiment_model,
            sentiment_opts(),
        );
        let p = run_bundled(Bundled::SpamAssassin, tok.clone(), spam_model, spam_opts());
        let l = run_bundled(Bundled::Langid, tok.clone(), langid_model, langid_opts());
        let line = format!(
            "| {name} | {:.4} | {:.4} | {:.4} | {:.4} | {:.0} s |",
            s.valid,
            p.valid,
            l.valid,
            (s.valid + p.valid + l.valid) / 3.0,
            s.seconds + p.seconds + l.seconds
        );
        eprintln!("{line}");
        rows.push(line);
    }
    eprintln!("| tokenizer | sentiment-uci | spam-assassin | langid | mean | time |");
    eprintln!("|---|---|---|---|---|---|");
    for r in rows {
        eprintln!("{r}");
    }
}
