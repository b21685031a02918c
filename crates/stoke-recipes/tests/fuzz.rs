//! Property-based tests (proptest) of the three readers of files a user hands to stoke: the
//! CSV/TSV/JSONL loader, the recipe TOML, and the saved-classifier loader.
//!
//! Each input is either arbitrary bytes or a valid file with a few hostile edits (a flipped
//! bit, an inserted or deleted byte, a truncation, a duplicated line, a syntax character, a
//! number replaced by an extreme one). The property: the reader never panics, and either
//! succeeds with a result that holds together or returns an error that names the file (and,
//! for a row of a data file, its line). Each test runs [`CASES`] cases from a fixed seed, so
//! a CI run is bounded (seconds) and repeatable, and prints how many cases ran and how they
//! ended.

use std::cell::Cell;
use std::path::PathBuf;

use burn::prelude::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use stoke_recipes::{Overrides, Recipe};
use stoke_text::data::{Format, LoadOptions, load_file};
use stoke_text::model::TextClassifierConfig;
use stoke_text::saved::SavedClassifier;
use stoke_text::tokenizer::{Tokenizer, TokenizerConfig};

/// Cases per property in CI; `STOKE_FUZZ_CASES=N` runs N instead (a longer search by hand).
const CASES: u32 = 1024;

/// A runner of [`CASES`] cases from the fixed seed `seed`, persisting nothing.
fn runner(seed: u8) -> TestRunner {
    let cases = std::env::var("STOKE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

/// Runs `test` on `strategy`; panics with proptest's minimal failing input if a case fails.
fn check<S: Strategy>(
    name: &str,
    seed: u8,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let ran = Cell::new(0u32);
    let result = runner(seed).run(&strategy, |input| {
        ran.set(ran.get() + 1);
        test(input)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    println!("{name}: {} cases ran", ran.get());
}

/// One hostile edit of a file's bytes; positions are taken modulo the length.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Token(usize, usize),
    Number(usize, usize),
    DupLine(usize),
}

/// Syntax characters of CSV, TSV, JSON and TOML, and bytes that are not UTF-8.
const TOKENS: [&[u8]; 22] = [
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\t",
    b"{",
    b"}",
    b"[",
    b"]",
    b"=",
    b":",
    b"\\",
    b"#",
    b"'",
    b"\0",
    b"\xff",
    b"\xc3",
    "\u{feff}".as_bytes(),
    b"null",
    b"[[runs]]",
    b"label = \"x\"",
    b"\"\": 1",
];

/// Numbers that break ranges: zero, negative, huge, not finite, past `u64`.
const NUMBERS: [&str; 9] = [
    "0",
    "-1",
    "1e309",
    "nan",
    "inf",
    "18446744073709551616",
    "4294967296",
    "1000000000000",
    "0.5",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Edit::Flip(p, 1 << b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Insert(p, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Edit::Token(p, t)),
        (any::<usize>(), 0..NUMBERS.len()).prop_map(|(p, n)| Edit::Number(p, n)),
        any::<usize>().prop_map(Edit::DupLine),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let at = |p: usize| if b.is_empty() { 0 } else { p % b.len() };
        match *e {
            Edit::Flip(p, bit) if !b.is_empty() => {
                let i = at(p);
                b[i] ^= bit;
            }
            Edit::Insert(p, byte) => {
                let i = at(p);
                b.insert(i, byte);
            }
            Edit::Delete(p) if !b.is_empty() => {
                let i = at(p);
                b.remove(i);
            }
            Edit::Truncate(p) => {
                let i = at(p);
                b.truncate(i);
            }
            Edit::Token(p, t) => {
                let i = at(p);
                b.splice(i..i, TOKENS[t].iter().copied());
            }
            Edit::Number(p, n) => {
                // The run of number characters at or after `p` becomes NUMBERS[n].
                let start = (at(p)..b.len()).find(|&i| b[i].is_ascii_digit());
                if let Some(s) = start {
                    let len = b[s..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit() || b".eE+-".contains(c))
                        .count();
                    b.splice(s..s + len, NUMBERS[n].bytes());
                }
            }
            Edit::DupLine(p) => {
                let i = at(p);
                let start = b[..i]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |j| j + 1);
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |j| i + j + 1);
                let line: Vec<u8> = b[start..end].to_vec();
                b.splice(end..end, line);
            }
            _ => {}
        }
    }
    b
}

/// A valid file with 1 to 4 edits, or 0 to 400 arbitrary bytes.
fn hostile(seeds: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (0..seeds.len(), prop::collection::vec(edit(), 1..5))
            .prop_map(move |(s, edits)| apply(seeds[s].to_vec(), &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..400),
    ]
}

/// A fresh directory for one test's files.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stoke-fuzz-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const DATA: [&[u8]; 4] = [
    b"id,text,label\n1,\"hello, world\",pos\n2,\"say \"\"hi\"\"\",neg\n3,fine,pos\n",
    b"label\ttext\n1\tgood film\n0\tbad plot\n10\tagain\n",
    b"{\"text\": \"good\", \"label\": \"pos\"}\n{\"text\": \"bad\", \"label\": \"neg\"}\n",
    b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b \\u00e9\", \"label\": 2}\n",
];

#[test]
fn the_data_loader_never_panics_and_names_file_and_line() {
    let dir = scratch("data");
    let n = Cell::new(0usize);
    let (ok, failed) = (Cell::new(0), Cell::new(0));
    let formats = [Format::Csv, Format::Tsv, Format::Jsonl];
    let strategy = (hostile(&DATA), 0..3usize, any::<bool>(), any::<bool>());
    check("data loader", 1, strategy, |(bytes, f, skip, header)| {
        n.set(n.get() + 1);
        let ext = ["csv", "tsv", "jsonl"][f];
        let path = dir.join(format!("case-{}.{ext}", n.get()));
        std::fs::write(&path, &bytes).unwrap();
        let opts = LoadOptions::default()
            .with_format(formats[f])
            .with_skip_invalid(skip)
            .with_header(header);
        let lines = bytes.split(|&c| c == b'\n').count();
        match load_file(&path, &opts) {
            Ok(loaded) => {
                ok.set(ok.get() + 1);
                let t = &loaded.texts;
                prop_assert!(!t.examples.is_empty());
                prop_assert!(t.examples.len() <= lines);
                for e in &t.examples {
                    prop_assert!(
                        e.label < t.classes.len(),
                        "label {} of {:?}",
                        e.label,
                        t.classes
                    );
                    prop_assert!(!e.text.trim().is_empty(), "empty text kept");
                }
            }
            Err(e) => {
                failed.set(failed.get() + 1);
                let msg = e.to_string();
                prop_assert!(
                    msg.starts_with(&path.display().to_string()),
                    "does not name the file: {msg}"
                );
                prop_assert!(!msg.contains('\n'), "not one line: {msg}");
                if let Some(line) = e.line() {
                    prop_assert!(line >= 1 && line <= lines, "line {line} of {lines}: {msg}");
                    prop_assert!(msg.contains(&format!("line {line}")), "{msg}");
                }
            }
        }
        std::fs::remove_file(&path).unwrap();
        Ok(())
    });
    println!("data loader: {} loaded, {} refused", ok.get(), failed.get());
    std::fs::remove_dir_all(&dir).ok();
}

const RECIPES: [&[u8]; 8] = [
    include_bytes!("../recipes/optimizers.toml"),
    include_bytes!("../recipes/learning-rate.toml"),
    include_bytes!("../recipes/momentum.toml"),
    include_bytes!("../recipes/batch-size.toml"),
    include_bytes!("../recipes/batchnorm.toml"),
    include_bytes!("../recipes/dropout.toml"),
    include_bytes!("../recipes/l2.toml"),
    include_bytes!("../recipes/overfitting.toml"),
];

#[test]
fn the_recipe_parser_never_panics() {
    let (ok, failed) = (Cell::new(0), Cell::new(0));
    check("recipe TOML", 2, hostile(&RECIPES), |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        match Recipe::from_toml(&text, "fuzz.toml") {
            Ok(recipe) => {
                ok.set(ok.get() + 1);
                // What a run does next with a parsed recipe: without overrides, every run is
                // valid (parsing checked them).
                let runs = recipe.runs(&Overrides::default());
                prop_assert!(
                    runs.is_ok(),
                    "parsed, but its runs are not: {:?}",
                    runs.err()
                );
                for run in runs.iter().flatten() {
                    prop_assert!(run.settings.validate().is_ok());
                    let _ = run.settings.bundled();
                }
            }
            Err(e) => {
                failed.set(failed.get() + 1);
                prop_assert!(!e.to_string().is_empty());
            }
        }
        Ok(())
    });
    println!("recipe TOML: {} parsed, {} refused", ok.get(), failed.get());
}

/// Gives a module's parameters the ids 1, 2, … in visiting order (fresh ones are random), so the
/// saved files, and with them every case, are the same bytes on every run.
struct FixedIds(u64);

impl burn::module::ModuleMapper for FixedIds {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        let (_, value, mapper) = param.consume();
        self.0 += 1;
        burn::module::Param::from_mapped_value(self.0.into(), value, mapper)
    }
}

/// The files of a small saved classifier (vocabulary tokenizer, one hidden block), by name.
fn saved_files() -> Vec<(&'static str, Vec<u8>)> {
    let device = Device::flex();
    device.seed(5);
    let mut tokenizer = Tokenizer::new(TokenizerConfig::vocabulary(1, 50)).unwrap();
    tokenizer.fit(["good film", "bad film", "a good plot"]);
    // No BatchNorm: its running statistics carry ids of their own, which no mapper sets.
    let config = TextClassifierConfig::new(tokenizer.num_ids(), 2)
        .with_embed_dim(4)
        .with_hidden(3)
        .with_batch_norm(false);
    let dir = scratch("saved-base").join("model");
    SavedClassifier {
        model: config.init(&device).map(&mut FixedIds(0)),
        tokenizer,
        classes: vec!["neg".into(), "pos".into()],
        config,
        temperature: Default::default(),
    }
    .save(&dir)
    .unwrap();
    let files = [
        "model.bpk",
        "config.json",
        "tokenizer.json",
        "classes.json",
        "calibration.json",
        "checksums.json",
    ];
    let out = files
        .iter()
        .map(|&f| (f, std::fs::read(dir.join(f)).unwrap()))
        .collect();
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    out
}

#[test]
fn the_saved_classifier_loader_never_panics() {
    let files = saved_files();
    let root = scratch("saved");
    let n = Cell::new(0usize);
    let (ok, failed) = (Cell::new(0), Cell::new(0));
    let strategy = (
        0..files.len(),
        prop::collection::vec(edit(), 1..4),
        any::<bool>(),
    );
    check("saved classifier", 3, strategy, |(which, edits, hashed)| {
        n.set(n.get() + 1);
        let dir = root.join(format!("case-{}", n.get()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, (name, bytes)) in files.iter().enumerate() {
            if *name == "checksums.json" && !hashed && i != which {
                continue;
            }
            let bytes = if i == which {
                apply(bytes.clone(), &edits)
            } else {
                bytes.clone()
            };
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        match SavedClassifier::load(&dir, &Device::flex()) {
            Ok(loaded) => {
                ok.set(ok.get() + 1);
                let p = loaded.predict(&["good film", ""]);
                prop_assert_eq!(p.len(), 2);
            }
            Err(e) => {
                failed.set(failed.get() + 1);
                let msg = e.to_string();
                prop_assert!(!msg.contains('\n'), "not one line: {msg}");
                prop_assert!(msg.starts_with(&dir.display().to_string()), "{msg}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
        Ok(())
    });
    println!(
        "saved classifier: {} loaded, {} refused",
        ok.get(),
        failed.get()
    );
    std::fs::remove_dir_all(&root).ok();
}

/// A Linear layer after three Adam steps, Adam's saved state of it, and the saved state of a
/// row-sparse Adam on a `[6, 3]` table after two steps.
fn optimizer_states() -> (burn::nn::Linear, Vec<u8>, Vec<u8>) {
    use burn::optim::GradientsParams;
    let device = Device::flex();
    let ad = device.clone().autodiff();
    ad.seed(7);
    let mut model: burn::nn::Linear = burn::nn::LinearConfig::new(3, 2)
        .init(&ad)
        .map(&mut FixedIds(0));
    let mut optim = stoke_optim::AdamConfig::new().init();
    for _ in 0..3 {
        let loss = model
            .forward(Tensor::<2>::ones([4, 3], &ad))
            .powi_scalar(2)
            .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(0.01, model, grads);
    }
    let module_state = in_name_order(optim.into_bytes().unwrap());
    let mut rows = stoke_optim::RowOptimizer::new(stoke_optim::AdamConfig::new().build());
    let mut table = Tensor::<2>::ones([6, 3], &device);
    for ids in [[0u32, 2], [2, 5]] {
        table = rows
            .step(0.01, table, &ids, Tensor::ones([2, 3], &device))
            .unwrap();
    }
    (model, module_state, rows.to_bytes().unwrap().to_vec())
}

/// The same burnpack file with its tensors in name order (`ModuleOptimizer` writes them in a
/// hash map's order, which changes from run to run).
fn in_name_order(bytes: burn::tensor::Bytes) -> Vec<u8> {
    use burn::store::burn_pack::{Reader, Tensor as PackTensor, Writer};
    let reader = Reader::from_bytes(bytes).unwrap();
    let (scalars, metadata) = (reader.scalars().clone(), reader.metadata().clone());
    let tensors = reader.into_tensors().unwrap().into_iter().map(|t| {
        let (name, dtype, shape, param, data) = t.into_parts().unwrap();
        PackTensor::new(name, dtype, shape, param, data)
    });
    let mut writer = Writer::new(tensors.collect());
    for (k, v) in &scalars {
        writer = writer.with_scalar(k, *v);
    }
    for (k, v) in &metadata {
        writer = writer.with_metadata(k, v);
    }
    writer.into_bytes().unwrap().to_vec()
}

#[test]
fn optimizer_state_loading_never_panics() {
    use burn::optim::GradientsParams;
    use burn::tensor::Bytes;
    let (model, module_state, table_state) = optimizer_states();
    let device = Device::flex();
    let (ok, failed) = (Cell::new(0), Cell::new(0));
    let seeds: [Vec<u8>; 2] = [module_state, table_state];
    let strategy = (0..2usize, prop::collection::vec(edit(), 1..4));
    check("optimizer state", 4, strategy, |(which, edits)| {
        let bytes = Bytes::from_bytes_vec(apply(seeds[which].clone(), &edits));
        let outcome = if which == 0 {
            // Checked, then loaded and stepped: a state that passes the check must step.
            let adam = stoke_optim::AdamConfig::new().init();
            stoke_optim::state::load_checked(adam, &model, bytes)
                .map(|mut optim| {
                    let mut g = GradientsParams::new();
                    g.register(model.weight.id, Tensor::<2>::ones([3, 2], &device));
                    let _ = optim.step(0.01, model.clone(), g);
                })
                .map_err(|e| e.to_string())
        } else {
            let mut rows = stoke_optim::RowOptimizer::new(stoke_optim::AdamConfig::new().build());
            match rows.load_bytes(bytes, &device) {
                Ok(()) => {
                    let table = Tensor::<2>::ones([6, 3], &device);
                    let g = Tensor::<2>::ones([1, 3], &device);
                    // A state of another table is refused by the step, with an error.
                    let _ = rows.step(0.01, table, &[1], g);
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        };
        match outcome {
            Ok(()) => ok.set(ok.get() + 1),
            Err(msg) => {
                failed.set(failed.get() + 1);
                prop_assert!(!msg.is_empty() && !msg.contains('\n'), "{msg}");
            }
        }
        Ok(())
    });
    println!(
        "optimizer state: {} loaded, {} refused",
        ok.get(),
        failed.get()
    );
}
