//! Invalid hyper-parameters are rejected when a config is validated or built, with the field
//! and the rule in the message.

use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, ConfigError, MomentumConfig, MomentumForm,
    RmsPropConfig,
};

fn expect(result: Result<(), ConfigError>, field: &str, rule: &str) {
    let err = result.expect_err("must be rejected");
    assert_eq!(err.field, field, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(field) && msg.contains(rule), "{msg}");
}

#[test]
fn defaults_are_valid_and_match_the_documented_values() {
    let m = MomentumConfig::new();
    assert_eq!(
        (m.momentum, m.dampening, m.nesterov, m.weight_decay, m.form),
        (0.9, 0.0, false, 0.0, MomentumForm::Classic)
    );
    let r = RmsPropConfig::new();
    assert_eq!(
        (r.decay, r.epsilon, r.centered, r.momentum),
        (0.9, 1e-8, false, 0.0)
    );
    let a = AdaGradConfig::new();
    assert_eq!(
        (a.epsilon, a.initial_accumulator, a.lr_decay),
        (1e-8, 0.0, 0.0)
    );
    let adam = AdamConfig::new();
    assert_eq!(
        (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad),
        (0.9, 0.999, 1e-8, false)
    );
    let d = AdaDeltaConfig::new();
    assert_eq!((d.rho, d.epsilon), (0.9, 1e-6));
    m.validate().unwrap();
    r.validate().unwrap();
    a.validate().unwrap();
    adam.validate().unwrap();
    d.validate().unwrap();
    RmsPropConfig::pytorch().validate().unwrap();
    AdaGradConfig::keras().validate().unwrap();
    AdamConfig::adamw().validate().unwrap();
}

#[test]
fn each_rule_names_its_field() {
    expect(
        MomentumConfig::new().with_momentum(1.0).validate(),
        "momentum",
        "[0, 1)",
    );
    expect(
        MomentumConfig::new().with_momentum(f64::NAN).validate(),
        "momentum",
        "[0, 1)",
    );
    expect(
        MomentumConfig::new().with_dampening(1.5).validate(),
        "dampening",
        "[0, 1]",
    );
    expect(
        MomentumConfig::new().with_weight_decay(-0.1).validate(),
        "weight_decay",
        ">= 0",
    );
    expect(
        MomentumConfig::new()
            .with_form(MomentumForm::PyTorch)
            .with_nesterov(true)
            .with_dampening(0.1)
            .validate(),
        "nesterov",
        "dampening = 0",
    );
    expect(
        MomentumConfig::new()
            .with_momentum(0.0)
            .with_nesterov(true)
            .validate(),
        "nesterov",
        "momentum > 0",
    );
    expect(
        RmsPropConfig::new().with_decay(-0.1).validate(),
        "decay",
        "[0, 1)",
    );
    expect(
        RmsPropConfig::new().with_epsilon(0.0).validate(),
        "epsilon",
        "> 0",
    );
    expect(
        RmsPropConfig::new().with_momentum(1.2).validate(),
        "momentum",
        "[0, 1)",
    );
    expect(
        AdaGradConfig::new().with_epsilon(-1e-8).validate(),
        "epsilon",
        "> 0",
    );
    expect(
        AdaGradConfig::new()
            .with_initial_accumulator(-0.1)
            .validate(),
        "initial_accumulator",
        ">= 0",
    );
    expect(
        AdaGradConfig::new().with_lr_decay(f64::INFINITY).validate(),
        "lr_decay",
        "finite",
    );
    expect(
        AdamConfig::new().with_beta_1(1.0).validate(),
        "beta_1",
        "[0, 1)",
    );
    expect(
        AdamConfig::new().with_beta_2(-0.5).validate(),
        "beta_2",
        "[0, 1)",
    );
    expect(
        AdamConfig::new().with_epsilon(f64::NAN).validate(),
        "epsilon",
        "> 0",
    );
    expect(
        AdaDeltaConfig::new().with_rho(1.0).validate(),
        "rho",
        "[0, 1)",
    );
    expect(
        AdaDeltaConfig::new().with_weight_decay(f64::NAN).validate(),
        "weight_decay",
        ">= 0",
    );
}

#[test]
fn try_init_returns_the_error_and_init_panics_with_it() {
    let bad = AdamConfig::new().with_beta_2(2.0);
    let err = bad.try_init().err().expect("invalid");
    assert_eq!(err.to_string(), "AdamConfig.beta_2 = 2: must be in [0, 1)");
    let panic = std::panic::catch_unwind(|| bad.init())
        .err()
        .expect("init must panic");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(msg, err.to_string());
    assert!(AdamConfig::new().try_build().is_ok());
}
