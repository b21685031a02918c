//! Settings exploration on the validation split (ignored; run by hand).
//!
//! `explore` trains one of the accuracy tests' setups with fields replaced from environment
//! variables and prints the validation accuracy after every epoch (and the final test accuracy,
//! to report, not to choose by):
//!
//! ```text
//! STOKE_DS=spam STOKE_LR=0.005 STOKE_EPOCHS=8 cargo test --workspace --all-features \
//!     --test training explore::explore -- --ignored --nocapture
//! ```
//!
//! `STOKE_DS` is `sentiment`, `spam` or `langid`; the others are `STOKE_OPT`, `STOKE_LR`,
//! `STOKE_L2`, `STOKE_EMBEDDING` (`dense`/`sparse`), `STOKE_EPOCHS`, `STOKE_BS`, `STOKE_SEED`,
//! `STOKE_TOK` (a `TokenizerConfig` as JSON) and, for the model, `STOKE_EMBED`, `STOKE_HIDDEN`,
//! `STOKE_NHIDDEN`, `STOKE_DROPOUT`, `STOKE_BN`.
//!
//! Both run in their own process on one thread, as the accuracy tests do, so their numbers are
//! the tests' numbers.
//!
//! `compare_tokenizers` trains all three setups with each candidate tokenizer and prints a table
//! of validation accuracies (the table in crates/stoke-text/RESULTS.md).

use stoke_tests::bundled::{Setup, run};
use stoke_tests::{in_own_process, optimizer, settings};
use stoke_text::model::ModelShape;
use stoke_text::tokenizer::{Features, TokenizerConfig};

fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} does not parse"))
    })
}

/// The setup `STOKE_DS` names, before the environment's replacements.
fn base() -> Setup {
    match std::env::var("STOKE_DS").as_deref() {
        Ok("sentiment") | Err(_) => settings::sentiment(),
        Ok("spam") => settings::spam(),
        Ok("langid") => settings::langid(),
        Ok(other) => panic!("STOKE_DS={other}: expected sentiment, spam or langid"),
    }
}

/// `model` with the environment's model fields laid over it.
fn model(mut c: ModelShape) -> ModelShape {
    c.embed_dim = var("STOKE_EMBED").unwrap_or(c.embed_dim);
    c.hidden = var("STOKE_HIDDEN").unwrap_or(c.hidden);
    c.n_hidden = var("STOKE_NHIDDEN").unwrap_or(c.n_hidden);
    c.dropout = var("STOKE_DROPOUT").unwrap_or(c.dropout);
    c.batch_norm = var("STOKE_BN").unwrap_or(c.batch_norm);
    c
}

#[test]
#[ignore]
fn explore() {
    in_own_process(module_path!(), "explore", || {
        let b = base();
        let name = var::<String>("STOKE_OPT").unwrap_or(b.optimizer.name().to_string());
        let optimizer = optimizer(&name, var("STOKE_LR").unwrap_or(b.optimizer.lr));
        let setup = Setup {
            tokenizer: std::env::var("STOKE_TOK")
                .map(|j| serde_json::from_str(&j).expect("STOKE_TOK is a TokenizerConfig"))
                .unwrap_or(b.tokenizer.clone()),
            model: model(b.model.clone()),
            optimizer,
            l2: var("STOKE_L2").unwrap_or(b.l2),
            embedding: var::<String>("STOKE_EMBEDDING")
                .map(|e| e.parse().expect("dense or sparse"))
                .unwrap_or(b.embedding),
            epochs: var("STOKE_EPOCHS").unwrap_or(b.epochs),
            batch_size: var("STOKE_BS").unwrap_or(b.batch_size),
            seed: var("STOKE_SEED").unwrap_or(b.seed),
            ..b
        };
        eprintln!("{setup:?}");
        let r = run(&setup);
        let best = r
            .valid_by_epoch
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(e, a)| format!("epoch {} ({a:.4})", e + 1));
        eprintln!(
            "RESULT valid {:.4} (best {}) test {:.4} seconds {:.1}",
            r.valid,
            best.unwrap_or_default(),
            r.test,
            r.seconds
        );
    });
}

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
    in_own_process(module_path!(), "compare_tokenizers", || {
        let mut rows = Vec::new();
        for (name, tokenizer) in candidates() {
            let [s, p, l] =
                [settings::sentiment(), settings::spam(), settings::langid()].map(|setup| {
                    run(&Setup {
                        tokenizer: tokenizer.clone(),
                        ..setup
                    })
                });
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
    });
}
