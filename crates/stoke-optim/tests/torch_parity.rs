//! Every optimizer against `torch.optim`, step by step, on trajectories recorded by
//! `scripts/torch_reference.py` (float64) — on every backend compiled into the test build.

mod common;

use common::{config, devices, fixture, replay};
use stoke_optim::{AdaDeltaConfig, AdaGradConfig, AdamConfig, MomentumConfig, RmsPropConfig};

fn check(name: &str, make: impl Fn(&serde_json::Value) -> burn::optim::ModuleOptimizer) {
    let fixture = fixture(name);
    assert!(fixture.cases.len() >= 3, "{name}: too few cases");
    assert!(fixture.steps >= 30);
    for (backend, device) in devices() {
        for case in &fixture.cases {
            replay(case, make(&case.config), &device, backend.name());
        }
    }
}

#[test]
fn momentum_in_pytorch_form_matches_torch_sgd() {
    check("momentum", |c| config(MomentumConfig::new(), c).init());
}

#[test]
fn rmsprop_with_epsilon_outside_matches_torch_rmsprop() {
    check("rmsprop", |c| config(RmsPropConfig::new(), c).init());
}

#[test]
fn adagrad_with_epsilon_outside_matches_torch_adagrad() {
    check("adagrad", |c| config(AdaGradConfig::new(), c).init());
}

#[test]
fn adam_matches_torch_adam_and_adamw() {
    check("adam", |c| config(AdamConfig::new(), c).init());
}

#[test]
fn adadelta_matches_torch_adadelta() {
    check("adadelta", |c| config(AdaDeltaConfig::new(), c).init());
}

#[test]
fn presets_carry_the_libraries_defaults() {
    let torch_rms = RmsPropConfig::pytorch();
    assert_eq!((torch_rms.decay, torch_rms.epsilon), (0.99, 1e-8));
    let keras_rms = RmsPropConfig::keras();
    assert_eq!((keras_rms.decay, keras_rms.epsilon), (0.9, 1e-7));
    let torch_ada = AdaGradConfig::pytorch();
    assert_eq!(
        (torch_ada.epsilon, torch_ada.initial_accumulator),
        (1e-10, 0.0)
    );
    let keras_ada = AdaGradConfig::keras();
    assert_eq!(
        (keras_ada.epsilon, keras_ada.initial_accumulator),
        (1e-7, 0.1)
    );
    assert_ne!(torch_rms.epsilon_placement, keras_rms.epsilon_placement);
}
