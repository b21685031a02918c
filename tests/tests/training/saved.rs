//! Save / load of a model trained by the engine: one directory, identical predictions after
//! loading.

use std::sync::Arc;

use burn::module::Module;
use stoke_recipes::data::Prepared;
use stoke_tests::bundled::{Setup, train_on};
use stoke_tests::{cpu, in_own_process, optimizer, temp_dir};
use stoke_text::batch::encode_all;
use stoke_text::data::{Example, LabelledTexts};
use stoke_text::model::ModelShape;
use stoke_text::saved::{SaveError, SavedClassifier};
use stoke_text::tokenizer::{Tokenizer, TokenizerConfig};

fn toy() -> LabelledTexts {
    let pos = [
        "good film",
        "great fun",
        "lovely and good",
        "great great",
        "really good",
    ];
    let neg = [
        "bad film",
        "awful plot",
        "boring and bad",
        "awful awful",
        "really bad",
    ];
    let mut examples = Vec::new();
    for (p, n) in pos.iter().zip(neg) {
        examples.push(Example {
            text: p.to_string(),
            label: 1,
        });
        examples.push(Example {
            text: n.to_string(),
            label: 0,
        });
    }
    LabelledTexts {
        name: "toy".into(),
        classes: vec!["neg".into(), "pos".into()],
        examples,
    }
}

fn trained(vocab: bool) -> SavedClassifier {
    let data = toy();
    let tokenizer_config = if vocab {
        TokenizerConfig::vocabulary(1, 1000)
    } else {
        TokenizerConfig::hashing(512)
    };
    let mut tokenizer = Tokenizer::new(tokenizer_config.clone()).unwrap();
    tokenizer.fit(data.examples.iter().map(|e| e.text.as_str()));
    let prepared = Prepared {
        name: data.name.clone(),
        classes: data.classes.clone(),
        train: Arc::new(encode_all(&tokenizer, &data)),
        valid: Arc::new(Vec::new()),
        test: Arc::new(Vec::new()),
        tokenizer: tokenizer.clone(),
    };
    let setup = Setup {
        model: ModelShape {
            embed_dim: 8,
            hidden: 8,
            ..ModelShape::default()
        },
        optimizer: optimizer("adam", 0.02),
        epochs: 30,
        batch_size: 4,
        seed: 3,
        ..Setup::hand_made(tokenizer_config)
    };
    let trained = train_on(&setup, &prepared);
    SavedClassifier {
        model: trained.model.valid(),
        tokenizer,
        classes: data.classes,
        config: trained.config,
        temperature: Default::default(),
    }
}

#[test]
fn round_trip_gives_identical_predictions() {
    in_own_process(
        module_path!(),
        "round_trip_gives_identical_predictions",
        || {
            for vocab in [false, true] {
                let saved = trained(vocab);
                let texts = ["good fun", "awful film", "", "unseen words only"];
                let before = saved.predict(&texts);
                assert_eq!(before[0].label, "pos");
                assert_eq!(before[1].label, "neg");
                let dir = temp_dir("saved").join("clf");
                saved.save(&dir).unwrap();
                for f in ["model.bpk", "config.json", "tokenizer.json", "classes.json"] {
                    assert!(dir.join(f).is_file(), "{f} missing");
                }
                let loaded = SavedClassifier::load(&dir, &cpu()).unwrap();
                assert_eq!(loaded.classes, saved.classes);
                assert_eq!(loaded.tokenizer, saved.tokenizer);
                assert_eq!(loaded.config, saved.config);
                let after = loaded.predict(&texts);
                assert_eq!(before, after, "predictions changed after loading");
                for p in &after {
                    let total: f32 = p.probabilities.iter().map(|(_, q)| q).sum();
                    assert!((total - 1.0).abs() < 1e-5);
                }
                // Saving again over the same directory replaces it (no stray temp directories).
                saved.save(&dir).unwrap();
                let siblings = std::fs::read_dir(dir.parent().unwrap()).unwrap().count();
                assert_eq!(siblings, 1);
            }
        },
    );
}

#[test]
fn load_errors_name_the_file() {
    in_own_process(module_path!(), "load_errors_name_the_file", || {
        let dir = temp_dir("saved-bad").join("clf");
        let e = SavedClassifier::load(&dir, &cpu()).unwrap_err();
        assert!(
            matches!(e, SaveError::Io { .. }) && e.to_string().contains("config.json"),
            "{e}"
        );
        let saved = trained(false);
        // Without checksums.json (a classifier saved before it existed) each file's content is
        // checked; with it, any edit is refused first (stoke-text's hostile-file test).
        let unhashed = |dir: &std::path::Path| {
            saved.save(dir).unwrap();
            std::fs::remove_file(dir.join("checksums.json")).unwrap();
        };
        unhashed(&dir);
        std::fs::write(dir.join("classes.json"), "[\"only-one\"]").unwrap();
        let e = SavedClassifier::load(&dir, &cpu()).unwrap_err();
        assert!(
            matches!(e, SaveError::Inconsistent { .. }) && e.to_string().contains("classes.json"),
            "{e}"
        );
        std::fs::write(dir.join("classes.json"), "{not json").unwrap();
        let e = SavedClassifier::load(&dir, &cpu()).unwrap_err();
        assert!(
            matches!(e, SaveError::Json { .. }) && e.to_string().contains("classes.json"),
            "{e}"
        );
        unhashed(&dir);
        std::fs::write(dir.join("model.bpk"), b"garbage").unwrap();
        let e = SavedClassifier::load(&dir, &cpu()).unwrap_err();
        assert!(
            matches!(e, SaveError::Weights { .. }) && e.to_string().contains("model.bpk"),
            "{e}"
        );
    });
}

/// A model saved before `embed_init_std` existed (its config.json has no such field) still
/// loads, predicts the same, and records the `N(0, 1)` table it was initialised with.
#[test]
fn a_config_without_embed_init_std_still_loads() {
    in_own_process(
        module_path!(),
        "a_config_without_embed_init_std_still_loads",
        || {
            let saved = trained(false);
            let texts = ["good fun", "awful film"];
            let dir = temp_dir("saved-old").join("clf");
            saved.save(&dir).unwrap();
            let path = dir.join("config.json");
            let mut config: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(
                config
                    .as_object_mut()
                    .unwrap()
                    .remove("embed_init_std")
                    .is_some()
            );
            std::fs::write(&path, config.to_string()).unwrap();
            // an old directory has no checksums.json either
            std::fs::remove_file(dir.join("checksums.json")).unwrap();
            let loaded = SavedClassifier::load(&dir, &cpu()).unwrap();
            assert_eq!(loaded.config.embed_init_std, 1.0);
            assert_eq!(loaded.predict(&texts), saved.predict(&texts));
        },
    );
}
