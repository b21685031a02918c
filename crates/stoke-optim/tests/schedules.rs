//! Learning-rate schedules against `torch.optim.lr_scheduler`, step by step, on trajectories
//! recorded by `scripts/torch_schedules.py`; their state saved and restored mid-run; their
//! description read, written and rejected.

use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use stoke_optim::schedule::{Anneal, PlateauMode, ThresholdMode};
use stoke_optim::{
    OneCycleConfig, OptimizerSpec, PlateauConfig, Schedule, ScheduleError, Scheduler,
};

#[derive(Deserialize)]
struct Fixture {
    one_cycle: Vec<Case>,
    stepwise: Vec<Case>,
    plateau: Vec<Case>,
}

/// One recorded run: `config` in stoke's names, the rate of each step (or after each report).
#[derive(Deserialize)]
struct Case {
    name: String,
    config: Map<String, Value>,
    torch: String,
    lrs: Vec<f64>,
    #[serde(default)]
    lr: f64,
    #[serde(default)]
    steps: usize,
    #[serde(default)]
    metrics: Vec<f64>,
}

fn fixture() -> Fixture {
    let path = format!(
        "{}/tests/fixtures/schedules.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Relative error at most 1e-12 (the rates are f64 scalars computed in another order).
fn close(got: f64, want: f64, what: &str) {
    let err = (got - want).abs() / want.abs();
    assert!(
        err <= 1e-12,
        "{what}: {got} vs torch {want} (relative error {err:e})"
    );
}

/// The fixture's config as a schedule's flat map (`kind` plus fields), without the `drop` keys.
fn schedule(kind: &str, case: &Case, drop: &[&str]) -> Schedule {
    let mut map = case.config.clone();
    map.retain(|k, _| !drop.contains(&k.as_str()));
    map.insert("kind".into(), kind.into());
    Schedule::from_map(map).unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

fn stepwise(s: Scheduler) -> stoke_optim::StepwiseLr {
    match s {
        Scheduler::Stepwise(s) => s,
        Scheduler::Plateau(_) => panic!("a stepwise schedule"),
    }
}

#[test]
fn one_cycle_matches_torch_one_cycle_lr() {
    let cases = fixture().one_cycle;
    assert!(cases.len() >= 4, "too few one-cycle cases");
    for case in &cases {
        let max_lr = case.config["max_lr"].as_f64().unwrap();
        let total = case.config["total_steps"].as_u64().unwrap() as usize;
        let s = schedule("one-cycle", case, &["max_lr"]);
        // Built for a longer run: the cycle's own total_steps must win.
        let mut built = stepwise(s.build(max_lr, total + 50).unwrap());
        // The same scheduler inside Burn's `ModuleLrScheduler`, as `Learner::new` wraps it.
        let Schedule::OneCycle { cycle, .. } = &s else {
            panic!("{s:?}")
        };
        let mut in_burn = ModuleLrScheduler::new(cycle.init(max_lr, total).unwrap());
        for (t, &want) in case.lrs.iter().enumerate() {
            let what = format!("{} ({}) step {t}", case.name, case.torch);
            close(built.step(), want, &what);
            close(in_burn.step().base(), want, &what);
        }
        // Past the cycle the rate holds at its end, max_lr / (div_factor · final_div_factor).
        let end = *case.lrs.last().unwrap();
        close(built.step(), end, &case.name);
    }
}

#[test]
fn step_exponential_and_cosine_match_torch_schedulers() {
    let cases = fixture().stepwise;
    assert!(cases.len() >= 4, "too few stepwise cases");
    for case in &cases {
        let s = Schedule::from_map(case.config.clone()).unwrap();
        let mut built = stepwise(s.build(case.lr, case.steps).unwrap());
        assert_eq!(case.lrs.len(), case.steps);
        for (t, &want) in case.lrs.iter().enumerate() {
            close(
                built.step(),
                want,
                &format!("{} ({}) step {t}", case.name, case.torch),
            );
        }
    }
}

#[test]
fn plateau_matches_torch_reduce_lr_on_plateau() {
    let cases = fixture().plateau;
    assert!(cases.len() >= 6, "too few plateau cases");
    for case in &cases {
        let initial = case.config["initial_lr"].as_f64().unwrap();
        let s = schedule("plateau", case, &["initial_lr"]);
        let mut built = s.build(initial, 1000).unwrap();
        assert!(built.needs_metric());
        let mut in_use = initial;
        for (epoch, (&metric, &want)) in case.metrics.iter().zip(&case.lrs).enumerate() {
            let what = format!("{} ({}) epoch {epoch}", case.name, case.torch);
            // Every step of the epoch runs at the rate set after the previous report.
            for _ in 0..3 {
                assert_eq!(built.step().to_bits(), in_use.to_bits(), "{what}");
            }
            built.report(metric);
            in_use = built.step();
            close(in_use, want, &what);
        }
    }
}

/// Every kind, with settings that move the rate in the first few steps or reports.
fn every_kind() -> Vec<(Schedule, Vec<f64>)> {
    let metrics = fixture().plateau[1].metrics.clone();
    let cosine = Schedule::Cosine {
        warmup_steps: 5,
        min_lr: 1e-3,
    };
    let plateau = PlateauConfig::new()
        .with_factor(0.5)
        .with_patience(1)
        .with_threshold(0.05)
        .with_threshold_mode(ThresholdMode::Abs)
        .with_cooldown(2);
    vec![
        (Schedule::Constant, vec![]),
        (
            Schedule::Step {
                step_size: 3,
                gamma: 0.5,
            },
            vec![],
        ),
        (Schedule::Exponential { gamma: 0.9 }, vec![]),
        (cosine, vec![]),
        (
            Schedule::OneCycle {
                total_steps: None,
                cycle: OneCycleConfig::new().with_three_phase(true),
            },
            vec![],
        ),
        (Schedule::Plateau(plateau), metrics),
    ]
}

/// `n` rates, reporting `metrics[i]` (if any) after the `i`-th.
fn run(s: &mut Scheduler, from: usize, n: usize, metrics: &[f64]) -> Vec<u64> {
    (from..from + n)
        .map(|i| {
            let lr = s.step();
            if let Some(&m) = metrics.get(i) {
                s.report(m);
            }
            lr.to_bits()
        })
        .collect()
}

#[test]
fn state_saved_mid_run_restores_bit_identical_continuations() {
    const STEPS: usize = 30;
    for (schedule, metrics) in every_kind() {
        let build = || schedule.build(0.1, STEPS).unwrap();
        let whole = run(&mut build(), 0, STEPS, &metrics);
        for cut in [1, 4, 7, 12, 19] {
            let mut first = build();
            assert_eq!(run(&mut first, 0, cut, &metrics), whole[..cut]);
            // Through burnpack bytes, as a checkpoint stores it.
            let bytes = first.to_record().into_bytes().unwrap();
            let mut resumed = build();
            resumed
                .load_record(LrSchedulerRecord::from_bytes(bytes).unwrap())
                .unwrap();
            let rest = run(&mut resumed, cut, STEPS - cut, &metrics);
            assert_eq!(rest, whole[cut..], "{} resumed at {cut}", schedule.label());
        }
        if schedule != Schedule::Constant {
            // Without the record the continuation differs: the test sees a lost state.
            let fresh = run(&mut build(), 12, STEPS - 12, &metrics);
            assert_ne!(
                fresh,
                whole[12..],
                "{}: state never matters?",
                schedule.label()
            );
        }
    }
}

#[test]
fn plateau_state_restores_every_counter() {
    // Cooldown 2, patience 1: at some cut the best, the bad-epoch count and the cooldown left
    // are each non-trivial, and a restore that dropped any of them would diverge there.
    let metrics = fixture().plateau[1].metrics.clone();
    let (schedule, _) = every_kind().pop().unwrap();
    let build = || schedule.build(0.1, 0).unwrap();
    let whole = run(&mut build(), 0, metrics.len(), &metrics);
    for cut in 0..metrics.len() {
        let mut first = build();
        run(&mut first, 0, cut, &metrics);
        let record = first.to_record();
        for key in ["lr", "best", "bad_epochs", "cooldown_left"] {
            assert!(record.scalar::<f64>(key).is_some() || record.scalar::<u64>(key).is_some());
        }
        let mut resumed = build();
        resumed.load_record(record).unwrap();
        assert_eq!(
            run(&mut resumed, cut, metrics.len() - cut, &metrics),
            whole[cut..]
        );
    }
    // A record of another scheduler is refused, naming what it lacks.
    let one_cycle = OneCycleConfig::new().init(0.1, 100).unwrap().to_record();
    let err = build().load_record(one_cycle).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ReduceLrOnPlateau record has no 'lr' (is it the record of another scheduler?)"
    );
}

#[test]
fn schedules_round_trip_through_the_map_serde_toml_and_shorthand() {
    for (schedule, _) in every_kind() {
        assert_eq!(Schedule::from_map(schedule.to_map()).unwrap(), schedule);
        let spec = OptimizerSpec::named("adam", 0.01)
            .unwrap()
            .with_schedule(schedule.clone());
        assert_eq!(OptimizerSpec::from_map(spec.to_map()).unwrap(), spec);
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<OptimizerSpec>(&json).unwrap(), spec);
        let toml = toml::to_string(&spec).unwrap();
        assert_eq!(
            toml::from_str::<OptimizerSpec>(&toml).unwrap(),
            spec,
            "{toml}"
        );
    }
    let recipe = r#"
        name = "momentum"
        lr = 0.05
        schedule = { kind = "one-cycle", total_steps = 1000, pct_start = 0.25, anneal_strategy = "linear" }
    "#;
    let spec: OptimizerSpec = toml::from_str(recipe).unwrap();
    let cycle = OneCycleConfig::new()
        .with_pct_start(0.25)
        .with_anneal_strategy(Anneal::Linear);
    assert_eq!(
        spec.schedule,
        Schedule::OneCycle {
            total_steps: Some(1000),
            cycle
        }
    );
    assert_eq!(
        spec.label(),
        "momentum(lr=0.05, schedule=one-cycle(anneal_strategy=linear, pct_start=0.25, total_steps=1000))"
    );
    // The shorthand (numbers read as floats, step counts still whole) and the TOML agree.
    let short: OptimizerSpec = "momentum:lr=0.05,schedule=one-cycle,schedule.total_steps=1e3,\
                                schedule.pct_start=0.25,schedule.anneal_strategy=linear"
        .parse()
        .unwrap();
    assert_eq!(short, spec);
    let plateau: OptimizerSpec =
        "sgd:lr=0.1,schedule=plateau,schedule.mode=max,schedule.patience=3"
            .parse()
            .unwrap();
    let want = PlateauConfig::new()
        .with_mode(PlateauMode::Max)
        .with_patience(3);
    assert_eq!(plateau.schedule, Schedule::Plateau(want));
    assert_eq!(
        plateau.label(),
        "sgd(lr=0.1, schedule=plateau(mode=max, patience=3))"
    );
    // A schedule given as a map, with a dotted key laid over it.
    let mut map = spec.to_map();
    map.insert("schedule.pct_start".into(), json!(0.4));
    let over = OptimizerSpec::from_map(map).unwrap();
    let Schedule::OneCycle { cycle, .. } = over.schedule else {
        panic!("{over:?}")
    };
    assert_eq!(cycle.pct_start, 0.4);
    // Constant needs nothing and writes nothing.
    let plain = OptimizerSpec::named("adam", 0.01).unwrap();
    assert_eq!(plain.schedule, Schedule::Constant);
    assert!(!plain.to_map().contains_key("schedule"));
    assert_eq!(plain.label(), "adam(lr=0.01)");
    let constant: OptimizerSpec = "adam:lr=0.01,schedule=constant".parse().unwrap();
    assert_eq!(constant, plain);
}

fn parse_err(s: &str) -> String {
    s.parse::<OptimizerSpec>().unwrap_err().to_string()
}

fn build_err(s: &str, steps: usize) -> String {
    let spec: OptimizerSpec = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
    spec.scheduler(steps).unwrap_err().to_string()
}

#[test]
fn invalid_schedules_are_rejected_naming_the_field_and_rule() {
    let cases = [
        (
            "sgd:lr=0.1,schedule=cosin",
            "unknown schedule 'cosin'; known schedules: constant, step, exponential, cosine, one-cycle, plateau",
        ),
        (
            "sgd:lr=0.1,schedule=cosine,schedule.warmup=5",
            "schedule cosine: unknown field 'warmup'; known fields: warmup_steps, min_lr",
        ),
        (
            "sgd:lr=0.1,schedule=constant,schedule.gamma=0.5",
            "schedule constant: unknown field 'gamma'; known fields: none",
        ),
        (
            "sgd:lr=0.1,schedule.warmup_steps=5",
            "schedule needs a kind",
        ),
        (
            "sgd:lr=0.1,schedule=step",
            "schedule step needs 'step_size'",
        ),
        (
            "sgd:lr=0.1,schedule=exponential",
            "schedule exponential needs 'gamma'",
        ),
        (
            "sgd:lr=0.1,schedule=step,schedule.step_size=2.5",
            "schedule step: step_size = 2.5: invalid type",
        ),
        (
            "sgd:lr=0.1,schedule=cosine,schedule.warmup_steps=-3",
            "schedule cosine: warmup_steps = -3: invalid value",
        ),
        (
            "sgd:lr=0.1,schedule=plateau,schedule.mode=lowest",
            "schedule plateau: mode = \"lowest\": unknown variant `lowest`, expected `min` or `max`",
        ),
        (
            "sgd:lr=0.1,schedule=one-cycle,schedule.three_phase=2",
            "schedule one-cycle: three_phase = 2",
        ),
        (
            "sgd:lr=0.1,schedule=step,schedule.step_size=0",
            "Schedule::Step.step_size = 0: must be >= 1",
        ),
        (
            "sgd:lr=0.1,schedule=step,schedule.step_size=5,schedule.gamma=1",
            "Schedule::Step.gamma = 1: must be in (0, 1)",
        ),
        (
            "sgd:lr=0.1,schedule=exponential,schedule.gamma=0",
            "Schedule::Exponential.gamma = 0: must be in (0, 1)",
        ),
        (
            "sgd:lr=0.1,schedule=cosine,schedule.min_lr=0.2",
            "Schedule::Cosine.min_lr = 0.2: must be <= lr",
        ),
        (
            "sgd:lr=0.1,schedule=cosine,schedule.min_lr=-1",
            "Schedule::Cosine.min_lr = -1: must be finite and >= 0",
        ),
        (
            "sgd:lr=0.1,schedule=one-cycle,schedule.pct_start=1",
            "OneCycleConfig.pct_start = 1: must be in (0, 1)",
        ),
        (
            "sgd:lr=0.1,schedule=one-cycle,schedule.div_factor=0",
            "OneCycleConfig.div_factor = 0: must be finite and > 0",
        ),
        (
            "sgd:lr=0.1,schedule=one-cycle,schedule.total_steps=3",
            "OneCycleConfig.total_steps = 3: must be > 1/pct_start",
        ),
        (
            "sgd:lr=0.1,schedule=one-cycle,schedule.total_steps=100,schedule.three_phase=true,schedule.pct_start=0.6",
            "OneCycleConfig.pct_start = 0.6: with three_phase, must be < (total_steps + 1)/(2·total_steps)",
        ),
        (
            "sgd:lr=0.1,schedule=plateau,schedule.factor=1",
            "PlateauConfig.factor = 1: must be in (0, 1)",
        ),
        (
            "sgd:lr=0.1,schedule=plateau,schedule.threshold=-0.1",
            "PlateauConfig.threshold = -0.1: must be finite and >= 0",
        ),
        (
            "sgd:lr=0.1,schedule=plateau,schedule.eps=-1",
            "PlateauConfig.eps = -1: must be finite and >= 0",
        ),
    ];
    for (text, want) in cases {
        let msg = parse_err(text);
        assert!(
            msg.starts_with("optimizer sgd: ") && msg.contains(want),
            "{text}:\n  {msg}\n  wants {want}"
        );
    }
    // Rules that need the run's length are checked when the run's schedule is built.
    let msg = build_err("sgd:lr=0.1,schedule=cosine,schedule.warmup_steps=100", 100);
    assert!(
        msg.contains(
            "Schedule::Cosine.warmup_steps = 100 (in a run of 100 steps): must be < the run's steps"
        ),
        "{msg}"
    );
    let msg = build_err("sgd:lr=0.1,schedule=one-cycle", 3);
    assert!(
        msg.contains("OneCycleConfig.total_steps = 3: must be > 1/pct_start"),
        "{msg}"
    );
    // The same rules guard the schedulers built directly.
    let e = OneCycleConfig::new().init(0.0, 100).unwrap_err();
    assert_eq!(
        e.to_string(),
        "OneCycleConfig.max_lr = 0: must be finite and > 0"
    );
    let e = PlateauConfig::new().init(f64::NAN).unwrap_err();
    assert_eq!(e.field, "initial_lr");
    // A schedule that is not a name or a map.
    let e = Schedule::from_value(json!(3)).unwrap_err();
    assert!(matches!(e, ScheduleError::NoKind { .. }), "{e}");
}

#[test]
fn learner_sees_one_cycle_as_a_burn_scheduler_and_plateau_only_as_a_loop_piece() {
    // Burn's `Learner::new` takes `impl Into<ModuleLrScheduler>`, which every `LrScheduler` is.
    fn takes(_: impl Into<ModuleLrScheduler>) {}
    let spec: OptimizerSpec = "adam:lr=0.01,schedule=cosine".parse().unwrap();
    takes(stepwise(spec.scheduler(10).unwrap()));
    takes(OneCycleConfig::new().init(0.01, 10).unwrap());
    let spec: OptimizerSpec = "adam:lr=0.01,schedule=plateau".parse().unwrap();
    let s = spec.scheduler(10).unwrap();
    assert!(matches!(s, Scheduler::Plateau(_)) && s.needs_metric());
}
