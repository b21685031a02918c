//! Section 1: optimizers racing on surfaces. Each preset's racers are walked by
//! [`stoke_surfaces::trace_from`] (stoke's optimizers, schedule and transforms); every point,
//! rate, clip factor and state value the page shows is one of these numbers.

use serde_json::{Map, Value, json};
use stoke_optim::OptimizerConfig;
use stoke_surfaces::{Racer, StepTrace, Surface, SurfacesRecipe, trace_from};

use crate::error::CourseError;

/// One race: a surface, the racers and their steps.
#[derive(Debug, Clone)]
pub struct RacePreset {
    /// Its key, e.g. `momentum-rmsprop`.
    pub name: String,
    /// What it shows.
    pub title: String,
    /// The surface.
    pub surface: Surface,
    /// The racers, in legend order.
    pub racers: Vec<Racer>,
    /// Steps per racer.
    pub steps: usize,
    /// Seed of the noisy quadratic's gradient noise.
    pub seed: u64,
}

/// The page's presets: the surfaces recipe's named presets (the slides' two figures, the step
/// size), then the recipe's runs on the saddle, Rosenbrock and the noisy quadratic (stochastic
/// vs averaged mini-batch gradients).
pub fn presets() -> Vec<RacePreset> {
    let recipe = SurfacesRecipe::bundled();
    let mut out = Vec::new();
    for name in ["slide-alpha", "momentum-rmsprop", "step-size"] {
        if let Some(p) = recipe.presets.get(name) {
            out.push(RacePreset {
                name: name.to_string(),
                title: p.title.clone(),
                surface: p.surface,
                racers: p.run.optimizers.clone(),
                steps: p.run.steps,
                seed: recipe.seed,
            });
        }
    }
    for surface in [
        Surface::Saddle,
        Surface::Rosenbrock,
        Surface::NoisyQuadratic,
    ] {
        let o = recipe.options_for(surface);
        out.push(RacePreset {
            name: surface.name().to_string(),
            title: surface.title().to_string(),
            surface,
            racers: o.optimizers,
            steps: o.steps,
            seed: o.seed,
        });
    }
    out
}

/// `f32` values print in their shortest form; the parameter and the state are `f32`, so this
/// loses nothing.
fn f32s(values: impl Iterator<Item = f64>) -> Value {
    Value::Array(values.map(|v| json!(v as f32)).collect())
}

/// Adam's bias-corrected moments `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)` from its saved state
/// (`exp_avg`, `exp_avg_sq`, step count `t`), as the step used them.
fn corrected(config: &OptimizerConfig, state: &[(String, [f64; 2])]) -> Vec<(String, [f64; 2])> {
    let (OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c)) = config else {
        return Vec::new();
    };
    let get = |name: &str| state.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let t = state
        .iter()
        .find(|(n, _)| n.contains("step") || n == "t")
        .map(|(_, v)| v[0]);
    match (get("exp_avg"), get("exp_avg_sq"), t) {
        (Some(m), Some(v), Some(t)) => {
            let (b1, b2) = (1.0 - c.beta_1.powf(t), 1.0 - c.beta_2.powf(t));
            vec![
                ("m_hat".into(), [m[0] / b1, m[1] / b1]),
                ("v_hat".into(), [v[0] / b2, v[1] / b2]),
            ]
        }
        _ => Vec::new(),
    }
}

/// One racer's walk as the page embeds it.
fn racer_json(
    racer: &Racer,
    points: &[[f64; 2]],
    trace: &[StepTrace],
    surface: Surface,
    diverged: bool,
) -> Value {
    let mut state: Map<String, Value> = Map::new();
    let mut names: Vec<String> = Vec::new();
    for (k, t) in trace.iter().enumerate() {
        let mut entries = t.state.clone();
        entries.extend(corrected(&racer.spec.optimizer, &t.state));
        for (name, v) in entries {
            if !names.contains(&name) {
                names.push(name.clone());
                state.insert(name.clone(), Value::Array(vec![Value::Null; 2 * k]));
            }
            if let Some(Value::Array(list)) = state.get_mut(&name) {
                list.resize(2 * k, Value::Null);
                list.push(json!(v[0] as f32));
                list.push(json!(v[1] as f32));
            }
        }
    }
    json!({
        "label": racer.label(),
        "spec": racer.to_string(),
        "optimizer": racer.spec.name(),
        "points": f32s(points.iter().flatten().copied()),
        "loss": f32s(points.iter().map(|p| surface.value(p[0], p[1]) - surface.min_value().unwrap_or(0.0))),
        "gradient": f32s(trace.iter().flat_map(|t| t.gradient)),
        "lr": trace.iter().map(|t| t.lr).collect::<Vec<_>>(),
        "clip": trace.iter().map(|t| t.clip).collect::<Vec<_>>(),
        "state": Value::Object(state),
        "diverged": diverged,
    })
}

/// Every preset's race, and the surfaces they run on, as the page's data.
pub fn races(presets: &[RacePreset]) -> Result<Value, CourseError> {
    let device = stoke_surfaces::cpu_device()?;
    let mut list = Vec::new();
    let mut surfaces = Map::new();
    for p in presets {
        let mut racers = Vec::new();
        for r in &p.racers {
            let (points, trace) =
                trace_from(p.surface, p.surface.start(), r, p.steps, p.seed, &device).map_err(
                    |source| CourseError::Race {
                        preset: p.name.clone(),
                        source,
                    },
                )?;
            let diverged = points.len() < p.steps + 1;
            racers.push(racer_json(r, &points, &trace, p.surface, diverged));
        }
        surfaces
            .entry(p.surface.name().to_string())
            .or_insert_with(|| stoke_surfaces::surface_figure(p.surface));
        list.push(json!({
            "name": p.name,
            "title": p.title,
            "surface": p.surface.name(),
            "steps": p.steps,
            "seed": p.seed,
            "racers": racers,
        }));
    }
    Ok(json!({ "presets": list, "surfaces": surfaces }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After Adam's first step m = (1 − β₁)·g and v = (1 − β₂)·g², so m̂ = m/(1 − β₁¹) = g and
    /// v̂ = v/(1 − β₂¹) = g². On the quadratic from (−3, 3), g = (x, 100y) = (−3, 300).
    #[test]
    fn adams_bias_corrected_moments_after_one_step_are_g_and_g_squared() {
        let device = stoke_surfaces::cpu_device().unwrap();
        let racer: Racer = "adam:lr=0.01".parse().unwrap();
        let (_, trace) =
            trace_from(Surface::Quadratic, [-3.0, 3.0], &racer, 1, 0, &device).unwrap();
        let extra = corrected(&racer.spec.optimizer, &trace[0].state);
        let get = |name: &str| extra.iter().find(|(n, _)| n == name).unwrap().1;
        let (m_hat, v_hat) = (get("m_hat"), get("v_hat"));
        for (got, want) in [(m_hat, [-3.0, 300.0]), (v_hat, [9.0, 90_000.0])] {
            for c in 0..2 {
                assert!(
                    (got[c] - want[c]).abs() <= 1e-5 * want[c].abs(),
                    "{got:?} vs {want:?}"
                );
            }
        }
    }
}
