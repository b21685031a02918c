//! Training on several devices through Burn's engine (`stoke_recipes::learner`).
//!
//! Without a GPU, two devices are two wgpu devices on Mesa's lavapipe: `wgpu:cpu` and
//! `wgpu:default` are different device ids to Burn (two compute servers), even when both are
//! the one software adapter. The reference for "2 devices × batch b" is an independent run: one
//! device with batch 2b.

use stoke_optim::DeviceName;
use stoke_recipes::data::{Prepared, prepare};
use stoke_recipes::metrics::{Metric, Split};
use stoke_recipes::recipe::Settings;
use stoke_recipes::train::{RunStatus, TrainOptions, Trained, train};
use stoke_recipes::{RecipeError, RunSpec};
use stoke_tests::bundled::{Setup, on_cpu, settings};
use stoke_tests::{in_own_process, optimizer};
use stoke_text::model::ModelShape;
use stoke_text::tokenizer::TokenizerConfig;

/// 161 texts of sentiment-uci (an odd number: the last step of 2 devices is 0 + 1 texts), a
/// small model without dropout or BatchNorm, Adam with L2.
fn small(devices: &[&str], batch: usize, epochs: usize) -> Settings {
    let setup = Setup {
        model: ModelShape {
            embed_dim: 16,
            hidden: 16,
            dropout: 0.0,
            batch_norm: false,
            ..ModelShape::default()
        },
        l2: 1e-4,
        epochs,
        batch_size: batch,
        ..Setup::hand_made(TokenizerConfig::hashing(4096))
    };
    Settings {
        train_subset: Some(161),
        devices: devices.iter().map(|d| d.parse().unwrap()).collect(),
        ..settings(&setup)
    }
}

fn run(settings: &Settings, data: &Prepared) -> Result<Trained, RecipeError> {
    let spec = RunSpec {
        config: "devices".into(),
        seed: 3,
        settings: settings.clone(),
    };
    train(&spec, data, &on_cpu())
}

fn value(t: &Trained, epoch: usize, split: Split, metric: Metric) -> f64 {
    t.result
        .records
        .iter()
        .find(|r| r.epoch == epoch && r.split == split && r.metric == metric)
        .unwrap_or_else(|| panic!("epoch {epoch} {split:?} {metric:?}"))
        .value
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// The settings with plain SGD: its step is proportional to the gradient, so a gradient summed
/// over the devices instead of averaged shows (Adam's step is nearly scale-free and hides it).
fn sgd(mut s: Settings) -> Settings {
    s.optimizer = optimizer("sgd", 0.5);
    s
}

/// The largest relative difference of the train and validation losses of epochs `1..=epochs`,
/// and the largest validation-accuracy difference, between two runs.
fn differences(a: &Trained, b: &Trained, epochs: usize) -> (f64, f64) {
    let (mut loss, mut accuracy) = (0.0f64, 0.0f64);
    for epoch in 1..=epochs {
        for split in [Split::Train, Split::Valid] {
            let x = value(a, epoch, split, Metric::Loss);
            loss = loss.max(relative(value(b, epoch, split, Metric::Loss), x));
        }
        let x = value(a, epoch, Split::Valid, Metric::Accuracy);
        accuracy = accuracy.max((value(b, epoch, Split::Valid, Metric::Accuracy) - x).abs());
    }
    (loss, accuracy)
}

/// The metrics.csv rows of a run, values aside.
fn rows(t: &Trained) -> Vec<(usize, usize, Split, Metric)> {
    let r = t.result.records.iter();
    r.map(|r| (r.epoch, r.iteration, r.split, r.metric))
        .collect()
}

#[test]
fn one_device_through_the_engine_follows_the_own_loop() {
    in_own_process(
        module_path!(),
        "one_device_through_the_engine_follows_the_own_loop",
        || {
            let own = small(&[], 16, 2);
            let data = prepare(&own).unwrap();
            let a = run(&own, &data).unwrap();
            let b = run(&small(&["flex"], 16, 2), &data).unwrap();
            let (loss, accuracy) = differences(&a, &b, 2);
            assert!(loss < 1e-5, "loss {loss:.2e} relative");
            assert!(accuracy <= 0.01, "accuracy {accuracy}");
            assert_eq!(rows(&a), rows(&b));
        },
    );
}

#[test]
fn a_nonfinite_loss_stops_the_run_naming_epoch_and_iteration() {
    in_own_process(
        module_path!(),
        "a_nonfinite_loss_stops_the_run_naming_epoch_and_iteration",
        || {
            let mut s = small(&["flex"], 16, 2);
            s.optimizer = optimizer("sgd", 1e30);
            let data = prepare(&s).unwrap();
            let t = run(&s, &data).unwrap();
            match &t.result.status {
                RunStatus::Diverged {
                    epoch: 1,
                    iteration: 2,
                    message,
                } => {
                    assert!(message.contains("epoch 1, iteration 2"), "{message}")
                }
                other => panic!("{other:?}"),
            }
        },
    );
}

#[test]
fn a_resumed_run_ends_as_an_uninterrupted_one() {
    in_own_process(
        module_path!(),
        "a_resumed_run_ends_as_an_uninterrupted_one",
        || {
            let s = small(&["flex"], 16, 3);
            let data = prepare(&s).unwrap();
            let spec = RunSpec {
                config: "devices".into(),
                seed: 3,
                settings: s,
            };
            let dir = stoke_tests::temp_dir("devices-resume");
            let options = |resume, stop_after_epoch| TrainOptions {
                checkpoint_dir: Some(dir.clone()),
                resume,
                stop_after_epoch,
                ..on_cpu()
            };
            let straight = train(&spec, &data, &on_cpu()).unwrap();
            let first = train(&spec, &data, &options(false, Some(1))).unwrap();
            assert_eq!(first.result.status, RunStatus::Interrupted { epoch: 1 });
            let resumed = train(&spec, &data, &options(true, None)).unwrap();
            assert_eq!(resumed.result.status, RunStatus::Completed);
            let values = |t: &Trained| -> Vec<(usize, Split, Metric, f64)> {
                let r = t.result.records.iter();
                let r =
                    r.filter(|r| !matches!(r.metric, Metric::WallTime | Metric::ExamplesPerSec));
                r.map(|r| (r.epoch, r.split, r.metric, r.value)).collect()
            };
            let (a, b) = (values(&resumed), values(&straight));
            assert_eq!(a.len(), b.len(), "resumed {a:?}, straight {b:?}");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(
                    x.3.to_bits(),
                    y.3.to_bits(),
                    "resumed {x:?}, straight {y:?}"
                );
            }
            let (a, b) = (bits(&resumed), bits(&straight));
            let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
            assert_eq!(differ, 0, "{differ} of {} weights differ", a.len());
            let names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert!(names.contains(&"log-3.json".into()), "{names:?}");
            assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        },
    );
}

#[test]
fn the_devices_and_the_settings_must_fit_together() {
    let data = prepare(&small(&[], 16, 1)).unwrap();
    let err = |s: Settings| run(&s, &data).err().expect("refused").to_string();
    let e = err(small(&["flex", "flex"], 16, 1));
    assert!(e.contains("devices") && e.contains("twice"), "{e}");
    let e = err(small(&["flex", "wgpu:cpu"], 16, 1));
    assert!(e.contains("one backend"), "{e}");
    if cfg!(feature = "wgpu") {
        let e = err(small(&["wgpu:cpu", "wgpu:default"], 15, 1));
        let fits = e.contains("batch_size") && e.contains("multiple of the 2 devices");
        assert!(fits, "{e}");
    }
    let mut s = small(&["flex"], 16, 1);
    s.optimizer.transforms.skip_nonfinite = true;
    let e = err(s);
    assert!(e.contains("optimizer.skip_nonfinite"), "{e}");
    assert!("wgpu:gpu".parse::<DeviceName>().is_err());
}

/// The weights of a trained model, as bits.
fn bits(t: &Trained) -> Vec<u32> {
    let w = t
        .model
        .linear_weights()
        .into_iter()
        .chain([t.model.embedding_weight()]);
    w.flat_map(|w| {
        w.into_data()
            .iter::<f32>()
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    })
    .collect()
}

/// Early stopping through the engine: the own loop's rule (the best epoch is the one of lowest
/// validation loss, the run stops `patience` epochs later) and the best epoch's weights as the
/// result, also when the run is interrupted after the best epoch and resumed.
#[test]
fn early_stopping_through_the_engine_keeps_the_best_epoch_as_the_own_loop_does() {
    in_own_process(
        module_path!(),
        "early_stopping_through_the_engine_keeps_the_best_epoch_as_the_own_loop_does",
        || {
            use stoke_recipes::early_stopping::{EarlyStopping, Monitor};
            // Adam at η 0.05 on 161 texts overfits within a few epochs.
            let stopping = |devices: &[&str]| {
                let mut s = small(devices, 16, 12);
                s.optimizer = optimizer("adam", 0.05);
                s.early_stopping = Some(EarlyStopping {
                    patience: 2,
                    monitor: Monitor::ValidLoss,
                });
                s
            };
            let own = stopping(&[]);
            let data = prepare(&own).unwrap();
            let a = run(&own, &data).unwrap();
            let engine = stopping(&["flex"]);
            let b = run(&engine, &data).unwrap();
            let valid_loss: Vec<(usize, f64)> = b
                .result
                .records
                .iter()
                .filter(|r| r.split == Split::Valid && r.metric == Metric::Loss && r.epoch >= 1)
                .map(|r| (r.epoch, r.value))
                .collect();
            // By hand: the lowest validation loss, and the stop `patience` epochs after it.
            let &(best, best_loss) = valid_loss
                .iter()
                .min_by(|x, y| x.1.total_cmp(&y.1))
                .unwrap();
            let last = valid_loss.last().unwrap().0;
            assert!(last < 12, "never stopped: {valid_loss:?}");
            assert_eq!(last, best + 2, "{valid_loss:?}");
            assert_eq!(b.result.best_epoch, Some(best), "{valid_loss:?}");
            assert_eq!(
                a.result.best_epoch,
                Some(best),
                "the own loop: {:?}",
                a.result.best_epoch
            );
            assert_eq!(rows(&a), rows(&b));
            // The result is the best epoch's weights: evaluated again, they give its loss.
            let (again, _) =
                stoke_recipes::train::evaluate(&b.model, &data.valid, &on_cpu().device);
            assert!(
                relative(again, best_loss) < 1e-6,
                "{again} against {best_loss}"
            );
            let test = |t: &Trained| value(t, last, Split::Test, Metric::Loss);
            assert!(
                relative(test(&b), test(&a)) < 1e-5,
                "{} against {}",
                test(&b),
                test(&a)
            );
            // Interrupted after the best epoch and resumed: the same end, bit for bit.
            let spec = RunSpec {
                config: "devices".into(),
                seed: 3,
                settings: engine,
            };
            let dir = stoke_tests::temp_dir("devices-early");
            let options = |resume, stop_after_epoch| TrainOptions {
                checkpoint_dir: Some(dir.clone()),
                resume,
                stop_after_epoch,
                ..on_cpu()
            };
            let first = train(&spec, &data, &options(false, Some(best + 1))).unwrap();
            assert_eq!(
                first.result.status,
                RunStatus::Interrupted { epoch: best + 1 }
            );
            let resumed = train(&spec, &data, &options(true, None)).unwrap();
            assert_eq!(resumed.result.best_epoch, Some(best));
            let differ = bits(&resumed)
                .iter()
                .zip(&bits(&b))
                .filter(|(x, y)| x != y)
                .count();
            assert_eq!(differ, 0, "{differ} weights differ after the resume");
            let bests: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with("best-"))
                .collect();
            assert_eq!(bests, [format!("best-{best}.bpk")]);
            std::fs::remove_dir_all(&dir).ok();
        },
    );
}

/// `clip_norm` through the engine clips the gathered gradients by their global norm before the
/// step, as the own loop clips its batch's.
#[test]
fn clip_norm_through_the_engine_clips_as_the_own_loop_does() {
    in_own_process(
        module_path!(),
        "clip_norm_through_the_engine_clips_as_the_own_loop_does",
        || {
            let clipped = |devices: &[&str]| {
                let mut s = sgd(small(devices, 16, 2));
                s.optimizer.transforms.clip_norm = Some(0.05);
                s
            };
            let own = clipped(&[]);
            let data = prepare(&own).unwrap();
            let a = run(&own, &data).unwrap();
            let b = run(&clipped(&["flex"]), &data).unwrap();
            let plain = run(&sgd(small(&["flex"], 16, 2)), &data).unwrap();
            let (on, _) = differences(&a, &plain, 2);
            assert!(on > 1e-3, "clip_norm 0.05 changed nothing: {on:.2e}");
            let (loss, accuracy) = differences(&a, &b, 2);
            assert!(loss < 1e-5, "loss {loss:.2e} relative");
            assert!(accuracy <= 0.01, "accuracy {accuracy}");
        },
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn two_devices_with_batch_b_take_the_steps_of_one_device_with_batch_2b() {
    in_own_process(
        module_path!(),
        "two_devices_with_batch_b_take_the_steps_of_one_device_with_batch_2b",
        || {
            let one = sgd(small(&["wgpu:cpu"], 16, 2));
            let data = prepare(&one).unwrap();
            let a = run(&one, &data).unwrap();
            let b = run(&sgd(small(&["wgpu:cpu", "wgpu:default"], 16, 2)), &data).unwrap();
            let (loss, accuracy) = differences(&a, &b, 2);
            eprintln!("1 vs 2 devices: loss {loss:.1e} relative, accuracy {accuracy} apart");
            assert!(loss < 1e-4, "loss {loss:.2e} relative");
            assert!(accuracy <= 0.01, "accuracy {accuracy}");
            assert_eq!(rows(&a), rows(&b));
            // With dropout too: each device's masks are keyed by the step and its rows' place
            // in the step's whole batch, so the two devices draw the one device's masks.
            let drop = |mut s: Settings| {
                s.model.dropout = 0.3;
                sgd(s)
            };
            let c = run(&drop(small(&["wgpu:cpu"], 16, 2)), &data).unwrap();
            let d = run(&drop(small(&["wgpu:cpu", "wgpu:default"], 16, 2)), &data).unwrap();
            let (on, _) = differences(&a, &c, 2);
            assert!(on > 1e-3, "dropout 0.3 changed nothing: {on:.2e}");
            let (loss, accuracy) = differences(&c, &d, 2);
            eprintln!(
                "with dropout, 1 vs 2 devices: loss {loss:.1e} relative, accuracy {accuracy}"
            );
            assert!(loss < 1e-4, "with dropout: loss {loss:.2e} relative");
            assert!(accuracy <= 0.01, "with dropout: accuracy {accuracy}");
            let speed = |t: &Trained| value(t, 2, Split::Train, Metric::ExamplesPerSec);
            eprintln!(
                "throughput, epoch 2: 1 device {:.0} texts/s, 2 devices {:.0} texts/s",
                speed(&a),
                speed(&b)
            );
        },
    );
}

/// BatchNorm normalises each device's `b` texts with their own statistics: two devices are then
/// a different experiment from one device with batch `2b`; this shows that it differs.
#[cfg(feature = "wgpu")]
#[test]
fn with_batchnorm_two_devices_normalise_their_own_halves() {
    in_own_process(
        module_path!(),
        "with_batchnorm_two_devices_normalise_their_own_halves",
        || {
            let norm = |mut s: Settings| {
                s.model.batch_norm = true;
                sgd(s)
            };
            let one = norm(small(&["wgpu:cpu"], 16, 1));
            let data = prepare(&one).unwrap();
            let a = run(&one, &data).unwrap();
            let b = run(&norm(small(&["wgpu:cpu", "wgpu:default"], 16, 1)), &data).unwrap();
            let (loss, _) = differences(&a, &b, 1);
            eprintln!("with BatchNorm, 1 vs 2 devices: loss {loss:.1e} relative");
            assert!(
                loss > 1e-3,
                "BatchNorm over b or 2b texts should differ: {loss:.2e}"
            );
        },
    );
}
