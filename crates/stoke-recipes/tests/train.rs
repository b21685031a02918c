//! The training loop: resume after an interruption gives the same final weights as an
//! uninterrupted run; divergence stops with epoch and iteration named and keeps the last good
//! checkpoint; the same seed gives the same numbers bit for bit.

use std::path::PathBuf;

use burn::module::Module;
use stoke_optim::Backend;
use stoke_recipes::data::prepare;
use stoke_recipes::metrics::{Metric, Split};
use stoke_recipes::recipe::{BatchSize, Injection, Settings};
use stoke_recipes::train::{RunStatus, Silent, TrainOptions, train};
use stoke_recipes::{OptimizerSpec, RunSpec};
use stoke_text::model::ModelShape;
use stoke_text::tokenizer::TokenizerConfig;

fn spec(optimizer: OptimizerSpec, epochs: usize) -> RunSpec {
    let model = ModelShape {
        embed_dim: 16,
        hidden: 32,
        dropout: 0.3,
        ..Default::default()
    };
    let tokenizer = TokenizerConfig::hashing(4096);
    RunSpec {
        config: "t".into(),
        seed: 5,
        settings: Settings {
            dataset: "sentiment-uci".into(),
            data: None,
            epochs,
            batch_size: BatchSize::Size(16),
            optimizer,
            l2: 1e-4,
            model,
            tokenizer,
            train_subset: Some(160),
            record_iterations: false,
            embedding: Default::default(),
            inject_nonfinite: Vec::new(),
            early_stopping: None,
            devices: Vec::new(),
        },
    }
}

fn dir(name: &str) -> PathBuf {
    let d = dir_path(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every float parameter and buffer of the model, as bits (record bytes also hold the random
/// parameter ids, so they differ between two identical models).
fn weights(m: &stoke_text::model::TextClassifier) -> Vec<u32> {
    struct Collect(Vec<u32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(
            &mut self,
            p: &burn::module::Param<burn::tensor::Tensor<D>>,
        ) {
            let d = p.val().into_data().convert::<f32>();
            self.0
                .extend(d.as_slice::<f32>().unwrap().iter().map(|x| x.to_bits()));
        }
    }
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    assert!(!c.0.is_empty());
    c.0
}

/// Burn's CPU random generator is shared by the whole process: runs in parallel test threads
/// would interleave their draws, so these tests train one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Training on the CPU backend, silently, with optional checkpoints, resume and a stop epoch.
fn options(
    checkpoint_dir: Option<PathBuf>,
    resume: bool,
    stop_after_epoch: Option<usize>,
) -> TrainOptions<'static> {
    TrainOptions {
        device: cpu(),
        checkpoint_dir,
        resume,
        stop_after_epoch,
        progress: &Silent,
    }
}

fn cpu() -> burn::tensor::Device {
    Backend::default_cpu().unwrap().device().unwrap()
}

#[test]
fn resuming_an_interrupted_run_ends_with_the_same_weights() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = spec(OptimizerSpec::named("adam", 0.01).unwrap(), 4);
    resume_matches(&s, "resume");
}

#[test]
fn resuming_a_sparse_run_restores_the_table_optimizer_too() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = spec(OptimizerSpec::named("adam", 0.01).unwrap(), 4);
    s.settings.embedding = stoke_recipes::step::EmbeddingUpdate::Sparse;
    resume_matches(&s, "resume-sparse");
    let names: Vec<String> = std::fs::read_dir(dir_path("resume-sparse"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.contains(&"table-optim-4.bpk".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"table-optim-3.bpk".to_string()),
        "{names:?}"
    );
}

/// Schedules and the transforms keep their state across a checkpoint: the one-cycle's position,
/// the plateau's counters and rate, the weights' averages (in the optimizer's state). With
/// accumulation, a window never spans the checkpoint (each epoch flushes its last one).
#[test]
fn resuming_keeps_the_schedule_and_the_transforms() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (name, text) in [
        ("one-cycle", "adam:lr=0.02,schedule=one-cycle,clip_norm=0.5"),
        (
            "plateau",
            "momentum:lr=0.2,schedule=plateau,schedule.patience=0,schedule.factor=0.5,ema=0.9",
        ),
        ("accumulate", "sgd:lr=0.5,accumulate=3,skip_nonfinite=true"),
    ] {
        let s = spec(text.parse::<OptimizerSpec>().unwrap(), 4);
        resume_matches(&s, &format!("resume-{name}"));
    }
}

/// The learning rate the records show follows the schedule: one-cycle rises then falls.
#[test]
fn the_recorded_learning_rate_follows_the_schedule() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = spec("adam:lr=0.02,schedule=one-cycle".parse().unwrap(), 4);
    let data = prepare(&s.settings).unwrap();
    let r = train(&s, &data, &options(None, false, None)).unwrap();
    let lrs: Vec<f64> = r
        .result
        .records
        .iter()
        .filter(|x| x.metric == Metric::Lr)
        .map(|x| x.value)
        .collect();
    assert_eq!(lrs.len(), 4);
    // Warm-up over the first 30% of the steps from 0.02/25, then annealing to 0.02/25/1e4.
    assert!(lrs[0] > 0.02 / 25.0 && lrs[0] <= 0.02, "{lrs:?}");
    assert!(lrs[3] < lrs[1] && lrs[3] < 1e-4, "{lrs:?}");
}

fn dir_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("stoke-train-{}-{name}", std::process::id()))
}

/// Stops `s` after epoch 2 of 4, resumes it, and compares with an uninterrupted run.
fn resume_matches(s: &RunSpec, name: &str) {
    let s = s.clone();
    let data = prepare(&s.settings).unwrap();
    let straight = train(&s, &data, &options(None, false, None)).unwrap();

    let ck = dir(name);
    let first = train(&s, &data, &options(Some(ck.clone()), false, Some(2))).unwrap();
    assert_eq!(first.result.status, RunStatus::Interrupted { epoch: 2 });
    assert_ne!(
        weights(&first.model),
        weights(&straight.model),
        "stopped half-way"
    );
    let resumed = train(&s, &data, &options(Some(ck.clone()), true, None)).unwrap();
    assert_eq!(resumed.result.status, RunStatus::Completed);
    assert_eq!(
        weights(&resumed.model),
        weights(&straight.model),
        "resumed run must end with identical weights"
    );
    let values = |r: &stoke_recipes::train::RunResult| -> Vec<(String, u64)> {
        r.records
            .iter()
            .filter(|x| x.metric != Metric::WallTime && x.metric != Metric::ExamplesPerSec)
            .map(|x| {
                (
                    format!("{} {} {}", x.epoch, x.split, x.metric),
                    x.value.to_bits(),
                )
            })
            .collect()
    };
    assert_eq!(values(&resumed.result), values(&straight.result));
    // Only the last checkpoint is kept, and no temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&ck)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.contains(&"model-4.bpk".to_string()) && !names.contains(&"model-3.bpk".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn same_seed_same_numbers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = spec(OptimizerSpec::named("momentum", 0.05).unwrap(), 2);
    let data = prepare(&s.settings).unwrap();
    let run = || train(&s, &data, &options(None, false, None)).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(weights(&a.model), weights(&b.model));
    let mut other = s.clone();
    other.seed = 6;
    let c = train(&other, &data, &options(None, false, None)).unwrap();
    assert_ne!(
        weights(&a.model),
        weights(&c.model),
        "another seed gives other weights"
    );
}

#[test]
fn divergence_stops_with_epoch_and_iteration_and_keeps_the_last_good_checkpoint() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // SGD with η = 1e6 on cross-entropy: the first steps blow the weights past f32's range.
    let mut s = spec(OptimizerSpec::named("sgd", 1e6).unwrap(), 5);
    s.settings.model.dropout = 0.0;
    s.settings.model.batch_norm = false;
    let data = prepare(&s.settings).unwrap();
    let ck = dir("diverge");
    let r = train(&s, &data, &options(Some(ck.clone()), false, None)).unwrap();
    let RunStatus::Diverged {
        epoch,
        iteration,
        message,
    } = &r.result.status
    else {
        panic!("expected divergence, got {:?}", r.result.status);
    };
    assert!(
        message.contains(&format!("epoch {epoch}"))
            && message.contains(&format!("iteration {iteration}")),
        "{message}"
    );
    assert!(*epoch <= 5 && *iteration >= 1);
    if *epoch > 1 {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ck.join("state.json")).unwrap()).unwrap();
        assert_eq!(
            state["epoch"].as_u64().unwrap() as usize,
            epoch - 1,
            "last good checkpoint kept"
        );
    } else {
        assert!(
            !ck.join("state.json").exists(),
            "no epoch ended: no checkpoint"
        );
    }
    assert!(
        r.result.records.iter().all(|x| x.split != Split::Test),
        "no test score for a diverged run"
    );
}

/// The README's promise for a run that diverges after some good epochs: the checkpoint of the
/// last good epoch is kept, not replaced by the diverged one, and loads. Epoch 3's 2nd gradient
/// is made NaN (`inject_nonfinite`), so its 3rd loss is the first non-finite value.
#[test]
fn a_run_diverging_in_a_later_epoch_keeps_the_last_good_checkpoint() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = spec(OptimizerSpec::named("adam", 0.01).unwrap(), 5);
    s.settings.inject_nonfinite = vec![Injection {
        epoch: 3,
        iteration: 2,
    }];
    let data = prepare(&s.settings).unwrap();
    let ck = dir("diverge-later");
    let r = train(&s, &data, &options(Some(ck.clone()), false, None)).unwrap();
    let same_stop = |status: &RunStatus| match status {
        RunStatus::Diverged {
            epoch, iteration, ..
        } => (*epoch, *iteration) == (3, 3),
        _ => false,
    };
    assert!(
        same_stop(&r.result.status),
        "{:?}, expected epoch 3, iteration 3",
        r.result.status
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ck.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"], 2, "last good checkpoint kept");
    // Its weights are those of the run stopped after epoch 2.
    let good = train(&s, &data, &options(None, false, Some(2))).unwrap();
    let record = burn::store::ModuleRecord::load(ck.join("model-2.bpk")).unwrap();
    let kept = good.config.try_init(&cpu()).unwrap().load_record(record);
    assert_eq!(
        weights(&kept),
        weights(&good.model),
        "model-2.bpk is epoch 2's"
    );
    // And it loads where it matters: a resume continues from epoch 2, with its records, and
    // meets the same NaN at the same step.
    let resumed = train(&s, &data, &options(Some(ck.clone()), true, None)).unwrap();
    assert!(
        same_stop(&resumed.result.status),
        "{:?}",
        resumed.result.status
    );
    let bits = |r: &stoke_recipes::train::RunResult| -> Vec<(usize, u64)> {
        r.records
            .iter()
            .filter(|x| x.metric != Metric::WallTime && x.metric != Metric::ExamplesPerSec)
            .map(|x| (x.epoch, x.value.to_bits()))
            .collect()
    };
    assert_eq!(bits(&resumed.result), bits(&r.result));
}

/// A NaN that reaches the weights at an epoch's last step shows first in that epoch's
/// validation loss (every training loss of the epoch was computed before it): the run stops
/// there, and epoch 1's checkpoint — not one of NaN weights — is the last good one, and loads.
#[test]
fn weights_gone_bad_at_an_epochs_last_step_are_not_checkpointed() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = spec(OptimizerSpec::named("adam", 0.01).unwrap(), 4);
    // 160 texts in batches of 16: iteration 10 is epoch 2's last.
    s.settings.inject_nonfinite = vec![Injection {
        epoch: 2,
        iteration: 10,
    }];
    let data = prepare(&s.settings).unwrap();
    let ck = dir("diverge-at-epoch-end");
    let r = train(&s, &data, &options(Some(ck.clone()), false, None)).unwrap();
    let RunStatus::Diverged { epoch, message, .. } = &r.result.status else {
        panic!("expected divergence, got {:?}", r.result.status);
    };
    assert_eq!(*epoch, 2, "{message}");
    assert!(
        message.contains("last good checkpoint is epoch 1"),
        "{message}"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ck.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"], 1, "last good checkpoint kept");
    assert!(
        r.result
            .records
            .iter()
            .all(|x| x.value.is_finite() || x.epoch == 0)
    );
    let resumed = train(&s, &data, &options(Some(ck.clone()), true, None)).unwrap();
    assert_eq!(resumed.result.status, r.result.status);
}

/// `inject_nonfinite` makes one gradient NaN at the 3rd batch of epoch 2 (160 texts in batches
/// of 16: 10 per epoch). With `skip_nonfinite` the run completes, that one step skipped and
/// counted; without it the NaN reaches the weights, so the next batch's loss (iteration 4) is
/// the first non-finite value and the run stops there.
#[test]
fn injected_nonfinite_gradients_are_skipped_and_counted_or_stop_the_run() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let injected = |text: &str| {
        let mut s = spec(text.parse::<OptimizerSpec>().unwrap(), 3);
        s.settings.inject_nonfinite = vec![Injection {
            epoch: 2,
            iteration: 3,
        }];
        s
    };
    let s = injected("sgd:lr=0.05,skip_nonfinite=true");
    let data = prepare(&s.settings).unwrap();
    let r = train(&s, &data, &options(None, false, None))
        .unwrap()
        .result;
    assert_eq!(r.status, RunStatus::Completed);
    let skipped: Vec<(usize, usize, f64)> = r
        .records
        .iter()
        .filter(|x| x.metric == Metric::SkippedSteps)
        .map(|x| (x.epoch, x.iteration, x.value))
        .collect();
    // Steps so far at each epoch's end: 10, 10 + 9 (one skipped), 19 + 10.
    assert_eq!(skipped, vec![(1, 10, 0.0), (2, 19, 1.0), (3, 29, 0.0)]);

    let s = injected("sgd:lr=0.05");
    let r = train(&s, &data, &options(None, false, None))
        .unwrap()
        .result;
    let RunStatus::Diverged {
        epoch,
        iteration,
        message,
    } = &r.status
    else {
        panic!("expected the run to stop, got {:?}", r.status);
    };
    assert_eq!((*epoch, *iteration), (2, 4), "{message}");
    assert!(message.contains("epoch 2, iteration 4"), "{message}");
    assert!(r.records.iter().all(|x| x.metric != Metric::SkippedSteps));

    let mut s = injected("sgd:lr=0.05,skip_nonfinite=true");
    s.settings.inject_nonfinite[0].iteration = 11;
    let e = train(&s, &data, &options(None, false, None))
        .err()
        .expect("iteration 11 of 10 is rejected")
        .to_string();
    assert!(
        e.contains("inject_nonfinite.iteration = 11") && e.contains("10 iterations"),
        "{e}"
    );
}

#[test]
fn early_stopping_keeps_the_best_epoch_and_resumes_to_the_same_end() {
    use stoke_recipes::early_stopping::{EarlyStopping, Monitor};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Adam at η 0.05 on 160 texts overfits within a few epochs: the validation loss turns up.
    let mut s = spec(OptimizerSpec::named("adam", 0.05).unwrap(), 12);
    s.settings.early_stopping = Some(EarlyStopping {
        patience: 2,
        monitor: Monitor::ValidLoss,
    });
    let data = prepare(&s.settings).unwrap();
    let straight = train(&s, &data, &options(None, false, None)).unwrap();
    let valid_loss: Vec<(usize, f64)> = straight
        .result
        .records
        .iter()
        .filter(|r| r.split == Split::Valid && r.metric == Metric::Loss && r.epoch >= 1)
        .map(|r| (r.epoch, r.value))
        .collect();
    // The best epoch by hand: the lowest validation loss; the run stops `patience` epochs later.
    let &(best, best_loss) = valid_loss
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let last = valid_loss.last().unwrap().0;
    assert!(last < 12, "never stopped: {valid_loss:?}");
    assert_eq!(straight.result.best_epoch, Some(best), "{valid_loss:?}");
    assert_eq!(last, best + 2, "{valid_loss:?}");
    // The kept model is the best epoch's: evaluated again, it gives that epoch's recorded loss.
    let (again, _) = stoke_recipes::train::evaluate(&straight.model, &data.valid, &cpu());
    assert_eq!(again.to_bits(), best_loss.to_bits());
    // Interrupted after the best epoch (so the best weights come from the checkpoint) and
    // resumed: the same end, bit for bit.
    let ck = dir("early-stop");
    let first = train(&s, &data, &options(Some(ck.clone()), false, Some(best + 1))).unwrap();
    assert_eq!(
        first.result.status,
        RunStatus::Interrupted { epoch: best + 1 }
    );
    let resumed = train(&s, &data, &options(Some(ck.clone()), true, None)).unwrap();
    assert_eq!(resumed.result.best_epoch, Some(best));
    assert_eq!(weights(&resumed.model), weights(&straight.model));
    let bests: Vec<String> = std::fs::read_dir(&ck)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("best-"))
        .collect();
    assert_eq!(bests, [format!("best-{best}.bpk")]);
    std::fs::remove_dir_all(&ck).ok();
}

/// NaNs injected before and after the interruption (epochs 2 and 3 of 4; the run stops after
/// epoch 2) are skipped in the resumed run exactly as in the uninterrupted one: the same weights
/// and records, the skipped-step counts per epoch included.
#[test]
fn a_resumed_run_skips_the_injected_steps_as_an_uninterrupted_one() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = spec("adam:lr=0.01,skip_nonfinite=true".parse().unwrap(), 4);
    s.settings.inject_nonfinite = vec![
        Injection {
            epoch: 2,
            iteration: 5,
        },
        Injection {
            epoch: 3,
            iteration: 1,
        },
    ];
    resume_matches(&s, "resume-injected");
}
