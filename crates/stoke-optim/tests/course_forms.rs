//! The course's forms (Classic momentum, ε inside the square root) have no `torch.optim`
//! counterpart, so they are checked against an independent float64 implementation written here,
//! straight from the slides' equations, replaying the recorded fixture gradients.

mod common;

use common::{Case, Named, Pair, assert_close, cpu_devices, fixture};
use stoke_optim::{AdaGradConfig, EpsilonPlacement, MomentumConfig, MomentumForm, RmsPropConfig};

/// A float64 reference: maps (parameter values, gradient, lr, step t ≥ 1) to new values.
trait Reference {
    fn step(&mut self, key: &str, w: &mut [f64], g: &[f64], lr: f64, t: usize);
}

fn run_reference(case: &Case, reference: &mut dyn Reference) -> Vec<Named> {
    let mut p = case.init.clone();
    let mut out = Vec::new();
    for (t, g) in case.grads.iter().enumerate() {
        reference.step("w", &mut p.w, &g.w, case.lrs[t], t + 1);
        reference.step("b", &mut p.b, &g.b, case.lrs[t], t + 1);
        out.push(p.clone());
    }
    out
}

fn compare(
    case: &Case,
    optim: impl Fn() -> burn::optim::ModuleOptimizer,
    reference: &mut dyn Reference,
    label: &str,
) {
    let want = run_reference(case, reference);
    for (backend, device) in cpu_devices() {
        let mut optim = optim();
        let mut pair = Pair::new(&case.init, &device);
        for (t, grads) in case.grads.iter().enumerate() {
            pair = pair.step(&mut optim, case.lrs[t], grads);
            let got = pair.values();
            let what = format!("{} {label} on {} step {}", backend, case.name, t + 1);
            assert_close(&got.w, &want[t].w, &format!("{what} w"));
            assert_close(&got.b, &want[t].b, &format!("{what} b"));
        }
    }
}

#[derive(Default)]
struct ClassicMomentum {
    gamma: f64,
    dampening: f64,
    nesterov: bool,
    v: std::collections::HashMap<String, Vec<f64>>,
}

impl Reference for ClassicMomentum {
    fn step(&mut self, key: &str, w: &mut [f64], g: &[f64], lr: f64, _t: usize) {
        let v = self
            .v
            .entry(key.into())
            .or_insert_with(|| vec![0.0; w.len()]);
        for i in 0..w.len() {
            // v ← γv + (1−d)ηg
            v[i] = self.gamma * v[i] + (1.0 - self.dampening) * lr * g[i];
            // w ← w − v, or w − (γv + ηg) with Nesterov
            w[i] -= if self.nesterov {
                self.gamma * v[i] + lr * g[i]
            } else {
                v[i]
            };
        }
    }
}

#[test]
fn classic_momentum_matches_the_course_equations() {
    let fx = fixture("momentum");
    let changing = fx.cases.iter().find(|c| c.name == "changing_lr").unwrap();
    let constant = fx.cases.iter().find(|c| c.name == "momentum").unwrap();
    for case in [changing, constant] {
        for (gamma, dampening, nesterov) in [(0.9, 0.0, false), (0.5, 0.3, false), (0.9, 0.0, true)]
        {
            let cfg = MomentumConfig::new()
                .with_momentum(gamma)
                .with_dampening(dampening)
                .with_nesterov(nesterov);
            assert_eq!(
                cfg.form,
                MomentumForm::Classic,
                "Classic is the default form"
            );
            let mut reference = ClassicMomentum {
                gamma,
                dampening,
                nesterov,
                ..Default::default()
            };
            compare(
                case,
                || cfg.init(),
                &mut reference,
                &format!("classic γ={gamma} d={dampening} nesterov={nesterov}"),
            );
        }
    }
}

#[test]
fn classic_and_pytorch_momentum_agree_at_constant_lr_and_differ_when_it_changes() {
    let fx = fixture("momentum");
    let run = |case: &Case, form: MomentumForm| {
        let device = cpu_devices().remove(0).1;
        let mut optim = MomentumConfig::new()
            .with_momentum(0.9)
            .with_form(form)
            .init();
        let mut pair = Pair::new(&case.init, &device);
        for (t, g) in case.grads.iter().enumerate() {
            pair = pair.step(&mut optim, case.lrs[t], g);
        }
        pair.values()
    };
    let constant = fx.cases.iter().find(|c| c.name == "momentum").unwrap();
    let (a, b) = (
        run(constant, MomentumForm::Classic),
        run(constant, MomentumForm::PyTorch),
    );
    assert_close(&a.w, &b.w, "constant lr: classic vs pytorch");
    let changing = fx.cases.iter().find(|c| c.name == "changing_lr").unwrap();
    let (a, b) = (
        run(changing, MomentumForm::Classic),
        run(changing, MomentumForm::PyTorch),
    );
    let gap =
        a.w.iter()
            .zip(&b.w)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
    assert!(
        gap > 1e-2,
        "after an lr change the two forms must differ (max gap {gap})"
    );
}

#[derive(Default)]
struct CourseRmsProp {
    gamma: f64,
    eps: f64,
    centered: bool,
    momentum: f64,
    state: std::collections::HashMap<String, (Vec<f64>, Vec<f64>, Vec<f64>)>,
}

impl Reference for CourseRmsProp {
    fn step(&mut self, key: &str, w: &mut [f64], g: &[f64], lr: f64, _t: usize) {
        let n = w.len();
        let (e, gbar, buf) = self
            .state
            .entry(key.into())
            .or_insert_with(|| (vec![0.0; n], vec![0.0; n], vec![0.0; n]));
        for i in 0..n {
            // E ← (1−γ)g² + γE
            e[i] = (1.0 - self.gamma) * g[i] * g[i] + self.gamma * e[i];
            let mut var = e[i];
            if self.centered {
                gbar[i] = (1.0 - self.gamma) * g[i] + self.gamma * gbar[i];
                var -= gbar[i] * gbar[i];
            }
            // g / √(ε + E)
            let u = g[i] / (self.eps + var).sqrt();
            if self.momentum > 0.0 {
                buf[i] = self.momentum * buf[i] + u;
                w[i] -= lr * buf[i];
            } else {
                w[i] -= lr * u;
            }
        }
    }
}

#[test]
fn rmsprop_with_epsilon_inside_matches_the_course_equations() {
    let fx = fixture("rmsprop");
    for case in &fx.cases {
        for (gamma, eps, centered, momentum) in [
            (0.9, 1e-8, false, 0.0),
            (0.9, 1e-7, true, 0.0),
            (0.99, 1e-6, true, 0.5),
        ] {
            let cfg = RmsPropConfig::new()
                .with_decay(gamma)
                .with_epsilon(eps)
                .with_centered(centered)
                .with_momentum(momentum);
            assert_eq!(
                cfg.epsilon_placement,
                EpsilonPlacement::InsideSqrt,
                "the course's placement is the default"
            );
            let mut reference = CourseRmsProp {
                gamma,
                eps,
                centered,
                momentum,
                ..Default::default()
            };
            compare(
                case,
                || cfg.init(),
                &mut reference,
                &format!("rmsprop γ={gamma} centered={centered} μ={momentum}"),
            );
        }
    }
}

struct CourseAdaGrad {
    eps: f64,
    s0: f64,
    lr_decay: f64,
    sums: std::collections::HashMap<String, Vec<f64>>,
}

impl Reference for CourseAdaGrad {
    fn step(&mut self, key: &str, w: &mut [f64], g: &[f64], lr: f64, t: usize) {
        let s0 = self.s0;
        let s = self
            .sums
            .entry(key.into())
            .or_insert_with(|| vec![s0; w.len()]);
        let lr_t = lr / (1.0 + (t as f64 - 1.0) * self.lr_decay);
        for i in 0..w.len() {
            // S ← S + g²;  w ← w − η g / √(ε + S)
            s[i] += g[i] * g[i];
            w[i] -= lr_t * g[i] / (self.eps + s[i]).sqrt();
        }
    }
}

#[test]
fn adagrad_with_epsilon_inside_matches_the_course_equations() {
    let fx = fixture("adagrad");
    for case in &fx.cases {
        let keras = AdaGradConfig::keras();
        let mut reference = CourseAdaGrad {
            eps: 1e-7,
            s0: 0.1,
            lr_decay: 0.0,
            sums: Default::default(),
        };
        compare(
            case,
            || keras.init(),
            &mut reference,
            "adagrad keras preset",
        );
        let course = AdaGradConfig::new().with_lr_decay(0.01);
        let mut reference = CourseAdaGrad {
            eps: 1e-8,
            s0: 0.0,
            lr_decay: 0.01,
            sums: Default::default(),
        };
        compare(
            case,
            || course.init(),
            &mut reference,
            "adagrad course form",
        );
    }
}

#[test]
fn adagrad_effective_step_never_grows() {
    // w ← w − η·g/√(S + ε) with S ← S + g² non-decreasing: the per-coordinate step size
    // |Δw|/|g| = η/√(S + ε) can only shrink, whatever the gradients. Checked on stoke's AdaGrad
    // (fused CPU pass and tensor ops) at η = 1, on the recorded gradients.
    let fx = fixture("adagrad");
    let case = &fx.cases[0];
    for (backend, device) in cpu_devices() {
        for fused in [true, false] {
            let mut optim: burn::optim::ModuleOptimizer =
                AdaGradConfig::new().build().with_fused(fused).into();
            let mut pair = Pair::new(&case.init, &device);
            let mut last = vec![f64::INFINITY; case.init.w.len()];
            for (t, g) in case.grads.iter().enumerate() {
                let before = pair.values().w;
                pair = pair.step(&mut optim, 1.0, g);
                let after = pair.values().w;
                for i in 0..last.len() {
                    if g.w[i].abs() < 1e-3 {
                        continue;
                    }
                    // |Δw|/|g|, with Δw the difference of two f32 weights: known to within
                    // `err`, a few units in the last place of w (over |g|) and of the step
                    // itself. The step's lower bound must not pass the last one's upper bound.
                    let g_abs = (g.w[i] as f32 as f64).abs();
                    let step = (after[i] - before[i]).abs() / g_abs;
                    let ulp = f32::EPSILON as f64 * (before[i].abs() + after[i].abs());
                    let err = 4.0 * ulp / g_abs + 1e-6 * step;
                    assert!(
                        step - err <= last[i],
                        "{backend} fused={fused} step {} coordinate {i}: the step size grew \
                         from at most {} to {step} ± {err}",
                        t + 1,
                        last[i]
                    );
                    last[i] = last[i].min(step + err);
                }
            }
            assert!(
                last.iter().any(|s| s.is_finite()),
                "no coordinate was checked"
            );
        }
    }
}
