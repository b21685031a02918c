//! Settings exploration driven by environment variables (not run by default):
//! `STOKE_DS=sentiment-uci STOKE_EPOCHS=4 ... cargo test --test explore -- --ignored --nocapture`.
//! `STOKE_TOK` takes a TokenizerConfig as JSON.

mod common;

use common::run_bundled;
use stoke_text::data::Bundled;
use stoke_text::model::TextClassifierConfig;
use stoke_text::tokenizer::TokenizerConfig;
use stoke_text::train::TrainOptions;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore]
fn explore() {
    let ds: Bundled = env("STOKE_DS", "sentiment-uci".to_string())
        .parse()
        .unwrap();
    let tok: TokenizerConfig = match std::env::var("STOKE_TOK") {
        Ok(j) => serde_json::from_str(&j).unwrap(),
        Err(_) => TokenizerConfig::default(),
    };
    let model = |c: TextClassifierConfig| {
        c.with_embed_dim(env("STOKE_EMBED", 32))
            .with_hidden(env("STOKE_HIDDEN", 32))
            .with_n_hidden(env("STOKE_NHIDDEN", 1))
            .with_dropout(env("STOKE_DROPOUT", 0.2))
            .with_batch_norm(env("STOKE_BN", true))
    };
    let opts = TrainOptions {
        epochs: env("STOKE_EPOCHS", 4),
        batch_size: env("STOKE_BS", 64),
        learning_rate: env("STOKE_LR", 5e-3),
        seed: env("STOKE_SEED", 1),
        drop_last: false,
        keep_best: env("STOKE_KEEP_BEST", true),
    };
    eprintln!("{ds} {tok:?} {opts:?}");
    let r = run_bundled(ds, tok, model, opts);
    eprintln!(
        "RESULT valid {:.4} test {:.4} seconds {:.1}",
        r.valid, r.test, r.seconds
    );
}
