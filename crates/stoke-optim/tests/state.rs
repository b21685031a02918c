//! Optimizer state saves and restores exactly: 10 steps, save, load into a fresh optimizer,
//! 10 more steps gives bit-for-bit the parameters of 20 uninterrupted steps (CPU backends).

mod common;

use burn::optim::ModuleOptimizer;
use burn::store::burn_pack::{Reader, Tensor as PackTensor, Writer};
use burn::tensor::{Bytes, Tensor};
use common::{Pair, cpu_devices, fixture};
use stoke_optim::state::{check_saved, load_checked};
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, EpsilonPlacement, MomentumConfig, MomentumForm,
    RmsPropConfig,
};

fn configs() -> Vec<(&'static str, Box<dyn Fn() -> ModuleOptimizer>)> {
    vec![
        (
            "momentum classic nesterov",
            Box::new(|| MomentumConfig::new().with_nesterov(true).init()),
        ),
        (
            "momentum pytorch",
            Box::new(|| {
                MomentumConfig::new()
                    .with_form(MomentumForm::PyTorch)
                    .with_weight_decay(0.01)
                    .init()
            }),
        ),
        (
            "rmsprop centered momentum",
            Box::new(|| {
                RmsPropConfig::new()
                    .with_centered(true)
                    .with_momentum(0.5)
                    .init()
            }),
        ),
        (
            "rmsprop pytorch",
            Box::new(|| RmsPropConfig::pytorch().init()),
        ),
        (
            "adagrad lr_decay",
            Box::new(|| {
                AdaGradConfig::new()
                    .with_lr_decay(0.1)
                    .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
                    .init()
            }),
        ),
        (
            "adam amsgrad",
            Box::new(|| AdamConfig::new().with_amsgrad(true).init()),
        ),
        ("adamw", Box::new(|| AdamConfig::adamw().init())),
        ("adadelta", Box::new(|| AdaDeltaConfig::new().init())),
    ]
}

fn bits(p: &Pair) -> (Vec<u32>, Vec<u32>) {
    let v = p.values();
    let f = |x: &[f64]| x.iter().map(|&x| (x as f32).to_bits()).collect();
    (f(&v.w), f(&v.b))
}

#[test]
fn saved_and_restored_state_continues_bit_for_bit() {
    let fx = fixture("adam");
    let case = &fx.cases[0];
    for (backend, device) in cpu_devices() {
        for (name, make) in configs() {
            let lr = 0.01;
            let mut straight = make();
            let mut a = Pair::new(&case.init, &device);
            for g in &case.grads[..20] {
                a = a.step(&mut straight, lr, g);
            }

            let mut first = make();
            let mut b = Pair::new(&case.init, &device);
            for g in &case.grads[..10] {
                b = b.step(&mut first, lr, g);
            }
            let bytes = first.into_bytes().expect("save optimizer");
            drop(first);
            let mut resumed = make().from_bytes(bytes).expect("load optimizer");
            for g in &case.grads[10..20] {
                b = b.step(&mut resumed, lr, g);
            }
            assert_eq!(bits(&a), bits(&b), "{backend} {name}: resumed run differs");

            // And the state matters: dropping it at step 10 changes the result.
            let mut before = make();
            let mut c = Pair::new(&case.init, &device);
            for g in &case.grads[..10] {
                c = c.step(&mut before, lr, g);
            }
            let mut fresh = make();
            for g in &case.grads[10..20] {
                c = c.step(&mut fresh, lr, g);
            }
            assert_ne!(bits(&a), bits(&c), "{backend} {name}: state had no effect");
        }
    }
}

#[test]
fn optimizer_state_round_trips_through_a_file() {
    let fx = fixture("rmsprop");
    let case = &fx.cases[0];
    let (_, device) = cpu_devices().remove(0);
    let dir = std::env::temp_dir().join(format!("stoke-optim-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("optim.bpk");
    let make = || {
        RmsPropConfig::new()
            .with_centered(true)
            .with_momentum(0.3)
            .init()
    };
    let mut optim = make();
    let mut p = Pair::new(&case.init, &device);
    for g in &case.grads[..5] {
        p = p.step(&mut optim, 0.01, g);
    }
    optim.save(&path).unwrap();
    let mut restored = make().load(&path).unwrap();
    // Same parameter ids, so the restored state applies: continue both and compare bits.
    let mut q = Pair {
        w: burn::module::Param::initialized(p.w.id, p.w.val()),
        b: burn::module::Param::initialized(p.b.id, p.b.val()),
    };
    for g in &case.grads[5..10] {
        p = p.step(&mut optim, 0.01, g);
        q = q.step(&mut restored, 0.01, g);
    }
    assert_eq!(
        bits(&p),
        bits(&q),
        "state loaded from {} continues exactly",
        path.display()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `optim` stepped three times from `start` (same parameter ids each call), and its state.
fn trained(mut optim: ModuleOptimizer, start: &Pair, grads: &[common::Named]) -> (Pair, Bytes) {
    let mut p = start.clone();
    for g in &grads[..3] {
        p = p.step(&mut optim, 0.01, g);
    }
    let bytes = optim.into_bytes().expect("save optimizer");
    (p, bytes)
}

fn refused(optim: ModuleOptimizer, module: &Pair, bytes: &Bytes) -> String {
    check_saved(&optim, module, bytes).unwrap_err().to_string()
}

#[test]
fn a_state_of_another_optimizer_model_or_size_or_a_damaged_one_is_refused() {
    let fx = fixture("adam");
    let case = &fx.cases[0];
    let (_, device) = cpu_devices().remove(0);
    let start = Pair::new(&case.init, &device);
    let adam = || AdamConfig::new().init();
    let (pair, adam_state) = trained(adam(), &start, &case.grads);
    let (_, momentum_state) = trained(MomentumConfig::new().init(), &start, &case.grads);

    // The right optimizer and model: accepted, and it continues.
    check_saved(&adam(), &pair, &adam_state).unwrap();
    let mut resumed = load_checked(adam(), &pair, adam_state.clone()).unwrap();
    let _ = pair.clone().step(&mut resumed, 0.01, &case.grads[3]);
    // A stateless optimizer's empty state into a stateless one: nothing to check.
    let (_, sgd_state) = trained(MomentumConfig::sgd().init(), &start, &case.grads);
    check_saved(&MomentumConfig::sgd().init(), &pair, &sgd_state).unwrap();

    // Another optimizer, either way round.
    let msg = refused(MomentumConfig::new().init(), &pair, &adam_state);
    assert!(
        msg.starts_with("parameter `")
            && msg.ends_with(
                "`exp_avg` is not part of this optimizer's state (a state saved by another optimizer?)"
            ),
        "{msg}"
    );
    let msg = refused(adam(), &pair, &momentum_state);
    assert!(
        msg.ends_with(
            "`velocity` is not part of this optimizer's state (a state saved by another optimizer?)"
        ),
        "{msg}"
    );
    // The empty state of a stateless optimizer into one that keeps a state.
    assert_eq!(
        refused(adam(), &pair, &sgd_state),
        "it holds no state, but this optimizer keeps a state for every parameter it steps"
    );
    // Another model size: the same parameter ids, `w` of 5 × 4 instead of 3 × 4.
    let ad = device.clone().autodiff();
    let bigger = Pair {
        w: burn::module::Param::initialized(pair.w.id, Tensor::<2>::zeros([5, 4], &ad)),
        b: burn::module::Param::initialized(pair.b.id, pair.b.val()),
    };
    assert_eq!(
        refused(adam(), &bigger, &adam_state),
        "parameter `w`: `exp_avg` is [3, 4], but the parameter is [5, 4] (a state saved for another model size?)"
    );
    // Another model (other parameter ids).
    let other = Pair::new(&case.init, &device);
    let msg = refused(adam(), &other, &adam_state);
    assert!(
        msg.starts_with("it holds a state for parameter id ")
            && msg.ends_with("which this model does not have (a state saved for another model?)"),
        "{msg}"
    );
    // A tensor without its parameter id (Burn's own loader panics on it; found by the fuzz
    // test at 20 000 cases).
    let reader = Reader::from_bytes(adam_state.clone()).unwrap();
    let scalars = reader.scalars().clone();
    let tensors = reader
        .into_tensors()
        .unwrap()
        .into_iter()
        .map(|t| {
            let (name, dtype, shape, _, bytes) = t.into_parts().unwrap();
            PackTensor::new(name, dtype, shape, None, bytes)
        })
        .collect();
    let mut writer = Writer::new(tensors);
    for (k, v) in &scalars {
        writer = writer.with_scalar(k, *v);
    }
    let msg = refused(adam(), &pair, &writer.into_bytes().unwrap());
    assert!(
        msg.contains("carries parameter id None, not the one its name starts with"),
        "{msg}"
    );
    // Truncated, and a damaged header.
    let truncated = Bytes::from_bytes_vec(adam_state[..adam_state.len() - 7].to_vec());
    let msg = refused(adam(), &pair, &truncated);
    assert!(
        msg.starts_with("not a valid burnpack optimizer state: "),
        "{msg}"
    );
    let mut flipped = adam_state.to_vec();
    flipped[0] ^= 0x20;
    let msg = refused(adam(), &pair, &Bytes::from_bytes_vec(flipped));
    assert!(
        msg.starts_with("not a valid burnpack optimizer state: "),
        "{msg}"
    );
}

/// Burn's own `from_bytes` keeps a state of another shape; the next step stops with a message
/// naming the checked load instead of a bare index panic deep in the kernel.
#[test]
#[should_panic(expected = "load saved states with stoke_optim::state::load_checked")]
fn an_unchecked_state_of_another_shape_stops_the_step_naming_the_checked_load() {
    let fx = fixture("adam");
    let case = &fx.cases[0];
    let (_, device) = cpu_devices().remove(0);
    let start = Pair::new(&case.init, &device);
    let (pair, adam_state) = trained(AdamConfig::new().init(), &start, &case.grads);
    let ad = device.clone().autodiff();
    let bigger = Pair {
        w: burn::module::Param::initialized(pair.w.id, Tensor::<2>::zeros([5, 4], &ad)),
        b: burn::module::Param::initialized(pair.b.id, pair.b.val()),
    };
    let mut optim = AdamConfig::new().init().from_bytes(adam_state).unwrap();
    let mut g = burn::optim::GradientsParams::new();
    g.register(bigger.w.id, Tensor::<2>::ones([5, 4], &device));
    let _ = optim.step(0.01, bigger, g);
}
