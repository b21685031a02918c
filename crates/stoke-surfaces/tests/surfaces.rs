//! Analytic facts about optimizers on 2-D surfaces, measured on stoke's real optimizers through
//! `stoke_surfaces::trajectory` (a two-element Burn parameter stepped by the
//! optimizer's `ModuleOptimizer`), plus the `surfaces` run's outputs and bad-input errors.
//!
//! The quadratic is f = ½(λ_min·x² + λ_max·y²) with λ_min = 1, λ_max = 100 (κ = 100, √κ = 10),
//! started at (x₀, y₀) = (−3, 3). Parameters are f32, so tolerances stay well above f32
//! rounding (≈ 6e-8 relative).

use std::path::PathBuf;

use burn::tensor::Device;
use stoke_optim::{MomentumConfig, OptimizerConfig, OptimizerSpec};
use stoke_surfaces::{
    self as surfaces, QUADRATIC_CURVATURES, Racer, Surface, SurfacesError, SurfacesOptions,
    trajectory,
};

fn device() -> Device {
    surfaces::cpu_device().expect("a CPU backend is compiled in")
}

fn spec(s: &str) -> Racer {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn norm(p: [f64; 2]) -> f64 {
    p[0].hypot(p[1])
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stoke-surfaces-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The first step k with ‖w_k‖ ≤ tol·‖w₀‖.
fn iterations_to(points: &[[f64; 2]], tol: f64) -> Option<usize> {
    let n0 = norm(points[0]);
    points.iter().position(|&p| norm(p) <= tol * n0)
}

#[test]
fn quadratic_has_the_curvatures_the_derivations_use() {
    // κ = λ_max/λ_min = 100 is what every number below is derived from.
    assert_eq!(QUADRATIC_CURVATURES, (1.0, 100.0));
    assert_eq!(Surface::Quadratic.start(), [-3.0, 3.0]);
    assert_eq!(Surface::Quadratic.value(1.0, 1.0), 50.5);
}

/// Plain gradient descent on the quadratic: each coordinate evolves as w ← (1 − αλ)·w, so it
/// converges iff |1 − αλ| < 1 for both λ, i.e. iff α < 2/λ_max = 0.02.
///
/// * α = 0.98·(2/λ_max) = 0.0196: y shrinks by |1 − 1.96| = 0.96 a step, x by 1 − 0.0196; to
///   reach ‖w‖ ≤ 1e-3·‖w₀‖ takes about ln(1e3)/0.0198 ≈ 349 steps (x is the slow one).
/// * α = 1.02·(2/λ_max) = 0.0204: |y| grows by |1 − 2.04| = 1.04 a step; it leaves the
///   divergence region (|y| > 4 + 50·8 = 404) after about ln(404/3)/ln 1.04 ≈ 125 steps.
#[test]
fn gradient_descent_converges_iff_alpha_below_two_over_lambda_max() {
    let dev = device();
    let critical = 2.0 / QUADRATIC_CURVATURES.1;
    let steps = 1500;
    let descend = |alpha: f64| {
        trajectory(
            Surface::Quadratic,
            &spec(&format!("sgd:lr={alpha}")),
            steps,
            0,
            &dev,
        )
        .unwrap()
    };
    for ratio in [0.4, 0.9, 0.98] {
        let alpha = ratio * critical;
        let path = descend(alpha);
        assert_eq!(path.len(), steps + 1, "α = {alpha} must not diverge");
        let k = iterations_to(&path, 1e-3)
            .unwrap_or_else(|| panic!("α = {ratio}·2/λ_max did not converge in {steps} steps"));
        // slow coordinate: k ≈ ln(1e3)/(−ln(1 − α·λ_min))
        let predicted = (1e3f64).ln() / -(1.0 - alpha).ln();
        assert!(
            (k as f64 - predicted).abs() <= 0.05 * predicted + 2.0,
            "α = {alpha}: {k} steps, predicted {predicted:.0}"
        );
        // the fast coordinate's per-step factor is exactly 1 − α·λ_max (measured on step 1→2)
        let measured = path[2][1] / path[1][1];
        assert!(
            (measured - (1.0 - alpha * 100.0)).abs() < 1e-4,
            "α = {alpha}: y ratio {measured}"
        );
    }
    for ratio in [1.02, 1.1] {
        let alpha = ratio * critical;
        let path = descend(alpha);
        assert!(
            path.len() < steps + 1,
            "α = {ratio}·2/λ_max must diverge, but ran all {steps} steps to {:?}",
            path.last()
        );
        // |y| grows geometrically by |1 − αλ_max| every step
        let growth = 100.0 * alpha - 1.0;
        for w in path.windows(2).take(50) {
            let g = w[1][1].abs() / w[0][1].abs();
            assert!(
                (g - growth).abs() < 1e-4,
                "α = {alpha}: |y| grew by {g}, want {growth}"
            );
        }
        let predicted = (404.0f64 / 3.0).ln() / growth.ln();
        assert!(
            ((path.len() - 1) as f64 - predicted).abs() <= 0.05 * predicted + 2.0,
            "α = {alpha}: diverged after {} steps, predicted {predicted:.0}",
            path.len() - 1
        );
    }
}

/// Heavy-ball momentum with the optimal settings for κ = 100 against the best plain step.
///
/// * Best plain step α = 2/(λ_max + λ_min) = 2/101: both coordinates shrink by exactly
///   (κ − 1)/(κ + 1) = 99/101 a step, so ‖w_k‖ ≤ 1e-4·‖w₀‖ needs
///   k = ⌈ln(1e4)/ln(101/99)⌉ = ⌈460.5⌉ = 461.
/// * Momentum (course form v ← βv + αg, w ← w − v, which is the heavy ball
///   w_{k+1} = w_k − αg_k + β(w_k − w_{k−1})) with β* = ((√κ − 1)/(√κ + 1))² = (9/11)² and
///   α* = (2/(√λ_max + √λ_min))² = (2/11)²: for λ_min and λ_max the recurrence
///   w_{k+1} = (1 + β − αλ)w_k − βw_{k−1} has a double root ±9/11, so
///   x_k = (1 + 2k/11)(9/11)^k·x₀ and |y_k| = (1 + 20k/11)(9/11)^k·|y₀| (from w₁ = (1 − αλ)w₀).
///   Solving ‖w_k‖ ≤ 1e-4·‖w₀‖ with these gives k = 69.
/// * The ratio 461/69 ≈ 6.7 is of order √κ = 10, not κ = 100: the per-step rates are
///   ln(101/99) ≈ 2/κ and ln(11/9) ≈ 2/√κ, whose ratio is ≈ √κ (10.03); the polynomial factor
///   of the double root costs momentum the rest at this tolerance. The measured late-phase
///   log-rate ratio is checked against √κ too.
#[test]
fn optimal_heavy_ball_beats_the_best_plain_step_by_about_sqrt_kappa() {
    let dev = device();
    let (lmin, lmax) = QUADRATIC_CURVATURES;
    let kappa = lmax / lmin;
    let sk = kappa.sqrt();
    let gd_alpha = 2.0 / (lmax + lmin);
    let beta = ((sk - 1.0) / (sk + 1.0)).powi(2);
    let mom_alpha = (2.0 / (lmax.sqrt() + lmin.sqrt())).powi(2);

    let gd = trajectory(
        Surface::Quadratic,
        &spec(&format!("sgd:lr={gd_alpha}")),
        700,
        0,
        &dev,
    )
    .unwrap();
    let mom = trajectory(
        Surface::Quadratic,
        &spec(&format!("momentum:lr={mom_alpha},momentum={beta}")),
        700,
        0,
        &dev,
    )
    .unwrap();
    let k_gd = iterations_to(&gd, 1e-4).expect("gradient descent reaches 1e-4");
    let k_mom = iterations_to(&mom, 1e-4).expect("momentum reaches 1e-4");
    println!("iterations to 1e-4: gradient descent {k_gd}, momentum {k_mom}");
    assert!(
        (459..=463).contains(&k_gd),
        "gradient descent took {k_gd}, derived 461"
    );
    assert!(
        (67..=71).contains(&k_mom),
        "momentum took {k_mom}, derived 69"
    );
    let ratio = k_gd as f64 / k_mom as f64;
    assert!(
        ratio > sk / 2.0 && ratio < 2.0 * sk && ratio < kappa / 4.0,
        "speed-up {ratio:.2} should be of order √κ = {sk}"
    );

    // Late-phase rate: slope of ln‖w‖ over steps 30..60 (momentum) and 200..400 (GD).
    let slope =
        |p: &[[f64; 2]], a: usize, b: usize| (norm(p[b]).ln() - norm(p[a]).ln()) / (b - a) as f64;
    let (s_gd, s_mom) = (slope(&gd, 200, 400), slope(&mom, 30, 60));
    // GD: exactly ln(99/101) = −0.0200. Momentum: ln(9/11) + d/dk ln(1 + 20k/11) ≈ −0.2007 + 0.022.
    assert!(
        (s_gd - (99.0f64 / 101.0).ln()).abs() < 1e-4,
        "GD slope {s_gd}"
    );
    let rate_ratio = s_mom / s_gd;
    println!("late-phase log-rate ratio {rate_ratio:.2} (√κ = {sk})");
    assert!(
        rate_ratio > 0.8 * sk && rate_ratio < 1.25 * sk,
        "log-rate ratio {rate_ratio:.2} vs √κ = {sk}"
    );
}

/// The per-coordinate effective step |Δw_i|/|g_i| of one step, where |Δw_i| is large enough that
/// f32 rounding of w (≈ 6e-8·|w|) is under 1e-4 of it.
fn effective_steps(surface: Surface, path: &[[f64; 2]], i: usize) -> Vec<(usize, f64)> {
    path.windows(2)
        .enumerate()
        .filter_map(|(k, w)| {
            let g = surface.exact_gradient(w[0][0], w[0][1])[i];
            let dw = w[1][i] - w[0][i];
            (g.abs() > 1e-3 && dw.abs() > 1e-3 * w[0][i].abs().max(1.0))
                .then(|| (k, dw.abs() / g.abs()))
        })
        .collect()
}

/// AdaGrad (course form S ← S + g², w ← w − α·g/√(S + ε)): the effective step α/√(S_k + ε)
/// of each coordinate is non-increasing because S only grows. Measured on Beale's function,
/// whose gradients change size and sign, as |Δw_i|/|g_i| from the real optimizer's path, and
/// also checked against α/√(Σ g²) rebuilt from the gradients at the recorded points.
/// RMSProp on the same path shows the measure can grow (its E forgets large old gradients), so
/// the check can fail.
#[test]
fn adagrad_effective_step_never_grows() {
    let dev = device();
    let s = Surface::Beale;
    let alpha = 0.5;
    let path = trajectory(s, &spec(&format!("adagrad:lr={alpha}")), 400, 0, &dev).unwrap();
    assert_eq!(path.len(), 401);
    for i in 0..2 {
        let eff = effective_steps(s, &path, i);
        assert!(
            eff.len() >= 50,
            "coordinate {i}: only {} measurable steps",
            eff.len()
        );
        for w in eff.windows(2) {
            assert!(
                w[1].1 <= w[0].1 * (1.0 + 1e-3),
                "coordinate {i}: effective step grew from {} (step {}) to {} (step {})",
                w[0].1,
                w[0].0,
                w[1].1,
                w[1].0
            );
        }
        // rebuild S_k = Σ_{j≤k} g_j² from the gradients at the recorded points
        let mut sum = 0.0;
        let mut expected = Vec::new();
        for p in &path[..path.len() - 1] {
            let g = s.exact_gradient(p[0], p[1])[i];
            sum += g * g;
            expected.push(alpha / (sum + 1e-8).sqrt());
        }
        for &(k, e) in &eff {
            assert!(
                (e / expected[k] - 1.0).abs() < 2e-3,
                "coordinate {i} step {k}: measured {e}, α/√S = {}",
                expected[k]
            );
        }
        let (first, last) = (eff[0].1, eff[eff.len() - 1].1);
        println!("AdaGrad coordinate {i}: effective step {first:.4} → {last:.4}");
    }

    // Control: RMSProp's effective step α/√E does grow somewhere on the same surface.
    let rms = trajectory(s, &spec("rmsprop:lr=0.01,decay=0.9"), 400, 0, &dev).unwrap();
    let grows = (0..2).any(|i| {
        effective_steps(s, &rms, i)
            .windows(2)
            .any(|w| w[1].1 > w[0].1 * 1.01)
    });
    assert!(
        grows,
        "RMSProp's effective step should grow somewhere (control)"
    );
}

/// RMSProp on the separable quadratic: coordinate i sees g_i = λ_i·w_i and E_i = λ_i²·EMA(w_i²),
/// so its update α·g_i/√(E_i + ε) = α·w_i/√EMA(w_i²) does not depend on λ_i (ε = 1e-8 is
/// negligible next to E). From |x₀| = |y₀| = 3 both coordinates therefore follow the same
/// normalised path |w_i(k)|/3 and reach 10% of their start at the same step, although their
/// curvatures differ 100-fold. Plain gradient descent (α = 0.0095) needs
/// ⌈ln 10/(−ln(1 − 0.0095))⌉ = ⌈241.2⌉ = 242 steps for x and one step for y (|1 − 0.95| = 0.05).
#[test]
fn rmsprop_makes_both_coordinates_progress_at_the_same_rate() {
    let dev = device();
    let s = Surface::Quadratic;
    let first_below = |p: &[[f64; 2]], i: usize| p.iter().position(|w| w[i].abs() <= 0.3);

    let rms = trajectory(s, &spec("rmsprop:lr=0.01,decay=0.9"), 600, 0, &dev).unwrap();
    let (kx, ky) = (first_below(&rms, 0).unwrap(), first_below(&rms, 1).unwrap());
    println!("RMSProp: x reaches 10% at step {kx}, y at step {ky}");
    assert!(kx.abs_diff(ky) <= 1, "RMSProp: x at {kx}, y at {ky}");
    for p in &rms[..kx.min(ky)] {
        let (ux, uy) = (p[0].abs() / 3.0, p[1].abs() / 3.0);
        assert!(
            (ux - uy).abs() < 1e-3,
            "normalised coordinates differ at {p:?}"
        );
    }

    let gd = trajectory(s, &spec("sgd:lr=0.0095"), 600, 0, &dev).unwrap();
    let (gx, gy) = (first_below(&gd, 0).unwrap(), first_below(&gd, 1).unwrap());
    println!("gradient descent: x reaches 10% at step {gx}, y at step {gy}");
    assert_eq!(gy, 1);
    assert!((240..=244).contains(&gx), "x took {gx}, derived 242");
}

/// Gradient descent with mini-batch noise on ½(λ_x x² + λ_y y²) (λ = 1, 10): each coordinate
/// follows w ← (1 − αλ)w + αλā with ā ~ N(0, σ²/B), whose stationary variance is
/// Var = α²λ²σ²/B / (1 − (1 − αλ)²) = αλσ²/(B(2 − αλ)), so the mean loss settles at
/// E f = Σ ½λ·Var = Σ αλ²σ²/(2B(2 − αλ)). With α = 0.05, σ = 1:
/// 0.05/(2·1.95) + 0.05·100/(2·1.5) = 0.01282 + 1.66667 = 1.6795/B — 32 times lower with
/// averaged batches of 32 than with single samples.
#[test]
fn averaged_minibatch_gradients_lower_the_noise_floor_as_one_over_batch() {
    let dev = device();
    let s = Surface::NoisyQuadratic;
    let predicted = |b: f64| {
        let a: f64 = 0.05;
        [1.0f64, 10.0]
            .iter()
            .map(|l| a * l * l / (2.0 * b * (2.0 - a * l)))
            .sum::<f64>()
    };
    let mut floors = Vec::new();
    for batch in [1usize, 32] {
        let path = trajectory(
            s,
            &spec(&format!("sgd:lr=0.05,batch={batch}")),
            4000,
            11,
            &dev,
        )
        .unwrap();
        let tail = &path[300..];
        let mean = tail.iter().map(|p| s.value(p[0], p[1])).sum::<f64>() / tail.len() as f64;
        let want = predicted(batch as f64);
        println!("batch {batch}: mean loss {mean:.4}, derived {want:.4}");
        assert!(
            (mean / want - 1.0).abs() < 0.15,
            "batch {batch}: {mean} vs {want}"
        );
        floors.push(mean);
    }
    let ratio = floors[0] / floors[1];
    assert!(
        (24.0..=42.0).contains(&ratio),
        "floor ratio {ratio}, derived 32"
    );
}

/// Global-norm clipping (`clip_norm = c`) on the quadratic, whose gradient is g = (x, 100y):
/// while ‖g‖ > c each step is w ← w − η·c·g/(‖g‖ + 10⁻⁶), a step of length η·c along −g.
///
/// From (3, 0.04) with η = 0.1, c = 1: g₀ = (3, 4), ‖g₀‖ = 5, so w₁ = (3, 0.04) − 0.1·(3, 4)/5
/// = (2.94, −0.04). Then g₁ = (2.94, −4), ‖g₁‖ = √(2.94² + 16) = √24.6436 = 4.9642321, so
/// w₂ = (2.94 − 0.294/4.9642321, −0.04 + 0.4/4.9642321) = (2.8807763, 0.0405764).
/// Unclipped, the first step alone would be 0.1·(3, 4) = (0.3, 0.4).
#[test]
fn clipped_sgd_takes_steps_of_length_eta_times_c_along_the_gradient() {
    let dev = device();
    let racer = spec("sgd:lr=0.1,clip_norm=1");
    let path =
        surfaces::trajectory_from(Surface::Quadratic, [3.0, 0.04], &racer, 2, 0, &dev).unwrap();
    let expected = [[3.0, 0.04], [2.94, -0.04], [2.880_776_3, 0.040_576_4]];
    for (k, (got, want)) in path.iter().zip(&expected).enumerate() {
        for c in 0..2 {
            assert!(
                (got[c] - want[c]).abs() < 2e-6,
                "step {k}: {got:?}, hand-derived {want:?}"
            );
        }
    }
    for w in path.windows(2) {
        let length = (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
        assert!(
            (length - 0.1).abs() < 1e-6,
            "step length {length}, not η·c = 0.1"
        );
    }
}

/// A step schedule is visible in the path: from (x₀, 0) on the quadratic, y stays 0 and
/// x_{t+1} = (1 − η_t)·x_t, so η_t = 1 − x_{t+1}/x_t. With η = 0.1, `step_size` 5, γ = 0.5 the
/// rate must read 0.1 for t = 0..4, 0.05 for t = 5..9, 0.025 for t = 10..14: each cut halves
/// the step.
#[test]
fn a_step_schedule_halves_the_step_every_step_size_steps() {
    let dev = device();
    let racer = spec("sgd:lr=0.1,schedule=step,schedule.step_size=5,schedule.gamma=0.5");
    let path =
        surfaces::trajectory_from(Surface::Quadratic, [-3.0, 0.0], &racer, 15, 0, &dev).unwrap();
    assert_eq!(path.len(), 16);
    for (t, w) in path.windows(2).enumerate() {
        let eta = 1.0 - w[1][0] / w[0][0];
        let want = 0.1 * 0.5f64.powi((t / 5) as i32);
        assert!(
            (eta - want).abs() < 1e-6,
            "step {t}: η = {eta}, want {want}"
        );
        assert_eq!(w[1][1], 0.0);
    }
}

/// The bundled `step-size` preset: α = 0.021 > 2/λ_max = 0.02 diverges alone (y grows by
/// |1 − 2.1| = 1.1 a step), and stays on the surface clipped or with step decay (the
/// derivations are in recipes/surfaces.toml).
#[test]
fn the_step_size_preset_diverges_alone_and_is_tamed_by_clipping_or_decay() {
    let dev = device();
    let opts = surfaces::SurfacesRecipe::bundled()
        .options_for_preset("step-size")
        .unwrap();
    let [plain, clipped, decayed] = &opts.optimizers[..] else {
        panic!("three optimizers: {:?}", opts.optimizers)
    };
    let run = |r: &Racer| trajectory(opts.surface, r, opts.steps, opts.seed, &dev).unwrap();
    let p = run(plain);
    assert!(p.len() < opts.steps + 1, "α = 0.021 alone must diverge");
    // y ← −1.1·y from 3 passes the divergence bound 404 after ln(404/3)/ln 1.1 ≈ 51 steps
    assert!(
        (48..=54).contains(&(p.len() - 1)),
        "diverged after {}",
        p.len() - 1
    );
    for r in [clipped, decayed] {
        let path = run(r);
        assert_eq!(path.len(), opts.steps + 1, "{r} must not diverge");
        let last = path[opts.steps];
        assert!(
            opts.surface.value(last[0], last[1]) < 0.1,
            "{r} ends at {last:?}"
        );
    }
}

#[test]
fn trajectories_are_deterministic_for_a_seed() {
    let dev = device();
    let sp = spec("momentum:lr=0.005,momentum=0.9");
    let a = trajectory(Surface::NoisyQuadratic, &sp, 100, 5, &dev).unwrap();
    let b = trajectory(Surface::NoisyQuadratic, &sp, 100, 5, &dev).unwrap();
    let c = trajectory(Surface::NoisyQuadratic, &sp, 100, 6, &dev).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c, "another seed gives other noise");
    // noiseless surfaces ignore the seed
    let r1 = trajectory(Surface::Rosenbrock, &sp, 50, 1, &dev).unwrap();
    let r2 = trajectory(Surface::Rosenbrock, &sp, 50, 2, &dev).unwrap();
    assert_eq!(r1, r2);
}

#[test]
fn every_optimizer_moves_downhill_on_every_surface() {
    let dev = device();
    for s in Surface::ALL {
        let opts = SurfacesOptions::for_surface(s);
        for sp in &opts.optimizers {
            let p = trajectory(s, sp, 20, 0, &dev).unwrap();
            let (f0, f1) = (s.value(p[0][0], p[0][1]), s.value(p[20][0], p[20][1]));
            assert!(f1 < f0, "{s} {sp}: f went from {f0} to {f1}");
        }
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dev = device();
    let e = "himmelblau".parse::<Surface>().unwrap_err().to_string();
    assert!(e.contains("unknown surface") && e.contains("beale"), "{e}");
    let e = "newton:lr=0.1".parse::<Racer>().unwrap_err().to_string();
    assert!(
        e.contains("unknown optimizer") && e.contains("rmsprop"),
        "{e}"
    );
    assert!(matches!(
        "lbfgs:lr=0.1".parse::<Racer>(),
        Err(SurfacesError::Optimizer { .. })
    ));
    let e = "sgd:lr=0".parse::<Racer>().unwrap_err().to_string();
    assert!(e.contains("lr = 0: must be finite and > 0"), "{e}");
    let e = "rmsprop:lr=0.01,decay=1"
        .parse::<Racer>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("decay"), "{e}");

    let sgd = OptimizerConfig::Sgd(MomentumConfig::sgd());
    let bad_lr = Racer::new(OptimizerSpec::new(sgd.clone(), -0.1));
    assert!(matches!(
        trajectory(Surface::Quadratic, &bad_lr, 10, 0, &dev),
        Err(SurfacesError::Optimizer { .. })
    ));
    let ok = Racer::new(OptimizerSpec::new(sgd, 0.003));
    assert!(matches!(
        trajectory(Surface::Quadratic, &ok, 0, 0, &dev),
        Err(SurfacesError::ZeroSteps)
    ));
    let out = temp_dir("bad");
    let zero = SurfacesOptions {
        steps: 0,
        out: out.clone(),
        page: false,
        ..SurfacesOptions::default()
    };
    assert!(
        surfaces::run(&zero)
            .unwrap_err()
            .to_string()
            .contains("steps")
    );
    let none = SurfacesOptions {
        optimizers: vec![],
        out: out.clone(),
        page: false,
        ..SurfacesOptions::default()
    };
    assert!(matches!(
        surfaces::run(&none),
        Err(SurfacesError::NoOptimizers)
    ));
    let unbatched = SurfacesOptions {
        optimizers: vec![ok.clone().with_batch(0)],
        out: out.clone(),
        page: false,
        ..SurfacesOptions::default()
    };
    assert!(matches!(
        surfaces::run(&unbatched),
        Err(SurfacesError::Batch { .. })
    ));
    assert!(!out.exists(), "nothing is written for bad input");
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn run_writes_figures_and_csv() {
    let out = temp_dir("run");
    let opts = SurfacesOptions {
        out: out.clone(),
        page: false,
        ..SurfacesOptions::for_surface(Surface::Quadratic)
    };
    let report = surfaces::run(&opts).unwrap();
    for p in [&report.contour_svg, &report.loss_svg] {
        let svg = std::fs::read_to_string(p).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("momentum"),
            "{}",
            p.display()
        );
    }
    assert_eq!(png_size(&report.contour_png), (1000, 820));
    assert_eq!(png_size(&report.loss_png), (1000, 600));
    let csv = std::fs::read_to_string(&report.csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("surface,optimizer,spec,step,x,y,loss"));
    let rows = lines.count();
    let expected: usize = report.runs.iter().map(|r| r.steps_run + 1).sum();
    assert_eq!(rows, expected);
    assert_eq!(report.runs.len(), opts.optimizers.len());
    for r in &report.runs {
        println!(
            "{}: final loss {:.3e}, steps to tolerance {:?}, diverged {}",
            r.label, r.final_loss, r.steps_to_tolerance, r.diverged
        );
    }
    // momentum (β = 0.9) gets much further than plain descent at the same α = 0.003
    let loss = |name: &str| {
        report
            .runs
            .iter()
            .find(|r| r.racer.spec.name() == name)
            .map(|r| r.final_loss)
            .unwrap()
    };
    assert!(loss("momentum") < 0.01 * loss("sgd"));
    assert!(report.page.is_none());
}

#[test]
fn the_page_is_self_contained_and_under_two_megabytes() {
    let out = temp_dir("page");
    let t = std::time::Instant::now();
    let page =
        surfaces::write_page(&out.join("surfaces.html"), &surfaces::PageGrid::default()).unwrap();
    println!(
        "page: {} bytes, {} paths ({} stopped early), {:.2} s",
        page.bytes,
        page.trajectories,
        page.stopped_early,
        t.elapsed().as_secs_f64()
    );
    assert!(page.bytes < 2_000_000, "{} bytes", page.bytes);
    let html = std::fs::read_to_string(&page.path).unwrap();
    assert_eq!(html.len(), page.bytes);
    for needle in [
        "http://",
        "https://",
        "<link",
        "<img",
        "src=",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(
            !html.contains(needle),
            "the page must not load anything: found {needle}"
        );
    }
    assert!(!html.contains("__STOKE_DATA__"));
    assert!(html.contains("id=\"status\""));
}

/// Every surface's default run (from `recipes/surfaces.toml`) draws both figures and the CSV;
/// the outputs stay in the temp directory for a look.
#[test]
fn every_surface_renders_its_default_run() {
    for s in Surface::ALL {
        let out = temp_dir(&format!("all-{}", s.name()));
        let opts = SurfacesOptions {
            out: out.clone(),
            page: false,
            ..SurfacesOptions::for_surface(s)
        };
        let t = std::time::Instant::now();
        let report = surfaces::run(&opts).unwrap();
        println!(
            "{s}: {:.2} s → {}",
            t.elapsed().as_secs_f64(),
            out.display()
        );
        for r in &report.runs {
            println!(
                "  {}: final f {:.3e} after {} steps, steps to tolerance {:?}{}",
                r.label,
                r.final_loss,
                r.steps_run,
                r.steps_to_tolerance,
                if r.diverged { ", diverged" } else { "" }
            );
        }
        assert_eq!(png_size(&report.contour_png), (1000, 820));
        assert_eq!(png_size(&report.loss_png), (1000, 600));
        assert!(report.csv.exists());
    }
}
