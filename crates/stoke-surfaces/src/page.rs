//! The interactive page: one self-contained HTML file (no network) whose canvas draws a
//! surface's contours and an optimizer's path as sliders for α, β and the RMSProp decay move.
//! The paths are precomputed here by stoke's optimizers over a grid of settings and embedded,
//! compactly encoded.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use stoke_optim::{
    AdaGradConfig, AdamConfig, MomentumConfig, OptimizerConfig, OptimizerSpec, RmsPropConfig,
};

use crate::contour::{Grid, contour_lines, levels};
use crate::error::SurfacesError;
use crate::racer::Racer;
use crate::surface::{Bounds, Surface};
use crate::walk::{Walk, cpu_device, run_walks};

/// The page's template; `__STOKE_DATA__` is replaced by the embedded JSON.
const TEMPLATE: &str = include_str!("page.html");

/// Largest page [`write_page`] accepts writing (the budget is 2 MB).
pub const MAX_PAGE_BYTES: usize = 2_000_000;

/// One optimizer on the page: the α values its slider snaps to and, optionally, a slider for
/// one field of its config.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOptimizer {
    /// The optimizer, with the values of every field the sliders do not move.
    pub optimizer: OptimizerConfig,
    /// Its name in the page's menu.
    pub title: String,
    /// The step sizes α, increasing.
    pub alphas: Vec<f64>,
    /// The second slider.
    pub second: Option<Slider>,
}

/// A slider over one field of an optimizer's config.
#[derive(Debug, Clone, PartialEq)]
pub struct Slider {
    /// The config's field, e.g. `momentum`, `decay` or `beta_1`; also the URL-hash key.
    pub field: String,
    /// The slider's label, e.g. `momentum β`.
    pub label: String,
    /// The values it snaps to.
    pub values: Vec<f64>,
    /// The value the page opens with (snapped to `values`).
    pub start: f64,
}

impl Slider {
    fn new(field: &str, label: &str, values: Vec<f64>, start: f64) -> Self {
        Self {
            field: field.into(),
            label: label.into(),
            values,
            start,
        }
    }
}

/// Which settings the page precomputes: every surface × optimizer × α × (β or decay).
#[derive(Debug, Clone, PartialEq)]
pub struct PageGrid {
    /// The surfaces offered.
    pub surfaces: Vec<Surface>,
    /// The optimizers offered.
    pub optimizers: Vec<PageOptimizer>,
    /// Steps per path.
    pub steps: usize,
    /// Seed of the noisy quadratic's gradient noise.
    pub seed: u64,
}

/// `0.003·2^k` for `k` in `lo..=hi`: log-spaced step sizes that include the slide's α = 0.003.
fn alphas(lo: i32, hi: i32) -> Vec<f64> {
    (lo..=hi).map(|k| 0.003 * 2f64.powi(k)).collect()
}

impl Default for PageGrid {
    /// Every surface; momentum (α 0.0001875…0.096 × β 0…0.99, opening at β = 0, plain gradient
    /// descent), RMSProp (α × decay γ, opening at 0.9), AdaGrad (α) and Adam (α × β₁, opening
    /// at 0.9); 300 steps.
    fn default() -> Self {
        let betas = vec![0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99];
        PageGrid {
            surfaces: Surface::ALL.to_vec(),
            optimizers: vec![
                PageOptimizer {
                    optimizer: OptimizerConfig::Momentum(MomentumConfig::new()),
                    title: "momentum (β = 0: gradient descent)".into(),
                    alphas: alphas(-4, 5),
                    second: Some(Slider::new("momentum", "momentum β", betas, 0.0)),
                },
                PageOptimizer {
                    optimizer: OptimizerConfig::RmsProp(RmsPropConfig::new()),
                    title: "rmsprop".into(),
                    alphas: alphas(-2, 6),
                    second: Some(Slider::new(
                        "decay",
                        "decay rate γ",
                        vec![0.5, 0.9, 0.99, 0.999],
                        0.9,
                    )),
                },
                PageOptimizer {
                    optimizer: OptimizerConfig::AdaGrad(AdaGradConfig::new()),
                    title: "adagrad".into(),
                    alphas: alphas(0, 9),
                    second: None,
                },
                PageOptimizer {
                    optimizer: OptimizerConfig::Adam(AdamConfig::new()),
                    title: "adam".into(),
                    alphas: alphas(-2, 6),
                    second: Some(Slider::new(
                        "beta_1",
                        "β₁",
                        vec![0.0, 0.5, 0.9, 0.95, 0.99],
                        0.9,
                    )),
                },
            ],
            steps: 300,
            seed: 42,
        }
    }
}

/// `spec` with `field` set to `value`, checked like any description (an unknown field or an
/// out-of-range value is an error naming both).
fn with_field(
    spec: &OptimizerSpec,
    field: &str,
    value: f64,
) -> Result<OptimizerSpec, SurfacesError> {
    let mut map = spec.to_map();
    map.insert(field.to_string(), Value::from(value));
    OptimizerSpec::from_map(map).map_err(|source| SurfacesError::Optimizer {
        spec: format!("{}:lr={},{field}={value}", spec.name(), spec.lr),
        source,
    })
}

/// What [`write_page`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSummary {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// Paths embedded.
    pub trajectories: usize,
    /// How many of them diverged or left the drawn region early.
    pub stopped_early: usize,
    /// Seconds spent computing and writing.
    pub seconds: f64,
}

/// Coordinates are stored as 12-bit integers over the plot region grown by its own size on
/// every side, two characters each from this 64-character alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LEVELS: f64 = 4095.0;

/// The region a page path may occupy before it counts as having left the plot.
fn encode_box(surface: Surface) -> Bounds {
    surface.bounds().grown(1.0)
}

/// `q = round((v − lo)/(hi − lo)·4095)`, written as two base-64 digits.
fn push_coord(out: &mut String, v: f64, lo: f64, hi: f64) {
    let q = (((v - lo) / (hi - lo)) * LEVELS).round().clamp(0.0, LEVELS) as usize;
    out.push(ALPHABET[q >> 6] as char);
    out.push(ALPHABET[q & 63] as char);
}

fn encode_points(points: &[[f64; 2]], b: Bounds) -> String {
    let mut s = String::with_capacity(points.len() * 4);
    for p in points {
        push_coord(&mut s, p[0], b.x.0, b.x.1);
        push_coord(&mut s, p[1], b.y.0, b.y.1);
    }
    s
}

/// Encodes a path: cut at the first point outside [`encode_box`] (status 1) or where it
/// diverged (status 2), and with a trailing run of points that encode identically dropped (the
/// path has stopped moving at this resolution). Returns `(code, status, kept points)`.
fn encode_path(surface: Surface, points: &[[f64; 2]], steps: usize) -> (String, u8, usize) {
    let b = encode_box(surface);
    let inside = points.iter().take_while(|p| b.contains(**p)).count();
    let status = if inside < points.len() {
        1
    } else if points.len() < steps + 1 {
        2
    } else {
        0
    };
    let code = encode_points(&points[..inside], b);
    let mut end = code.len();
    while end >= 8 && code[end - 4..end] == code[end - 8..end - 4] {
        end -= 4;
    }
    (code[..end].to_string(), status, end / 4)
}

/// Three significant digits, for the page's read-outs.
fn sig3(v: f64) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    format!("{v:.2e}")
        .parse::<f64>()
        .map(Value::from)
        .unwrap_or(Value::Null)
}

/// A surface as the pages draw it: title, bounds, start and marked point, contour lines and a
/// coarse shading of the contour bands, coordinates encoded as in the surfaces page (12-bit
/// integers over the plot region grown by its own size on every side, `box`, two characters
/// each from a 64-character alphabet `A–Z a–z 0–9 - _`).
pub fn surface_figure(surface: Surface) -> Value {
    let b = surface.bounds();
    let eb = encode_box(surface);
    let grid = Grid::sample(surface, b, 121, 121);
    let lv = levels(surface, &grid, 14);
    let mut contours = Vec::new();
    for (k, &level) in lv.iter().enumerate() {
        for line in contour_lines(&grid, level) {
            contours.push(json!([k, encode_points(&line, eb)]));
        }
    }
    // background shading: the band (number of levels below) of each cell of a coarse grid
    let (hx, hy) = (96usize, 96usize);
    let mut heat = String::with_capacity(hx * hy);
    for j in 0..hy {
        for i in 0..hx {
            let x = b.x.0 + (b.x.1 - b.x.0) * (i as f64 + 0.5) / hx as f64;
            let y = b.y.0 + (b.y.1 - b.y.0) * (j as f64 + 0.5) / hy as f64;
            let f = surface.value(x, y);
            let band = lv.iter().filter(|&&l| f >= l).count().min(63);
            heat.push(ALPHABET[band] as char);
        }
    }
    json!({
        "name": surface.name(),
        "title": surface.title(),
        "bounds": [b.x.0, b.x.1, b.y.0, b.y.1],
        "box": [eb.x.0, eb.x.1, eb.y.0, eb.y.1],
        "start": surface.start(),
        "mark": surface.marked_point(),
        "minimum": surface.optimum().is_some(),
        "levels": lv.len(),
        "contours": contours,
        "heat": {"nx": hx, "ny": hy, "bands": heat},
    })
}

/// Computes every path of `grid` with stoke's optimizers (CPU device) and writes the
/// self-contained interactive page to `path`.
///
/// The page opens on the first surface and optimizer at α = 0.003 and the second slider's
/// [`start`](Slider::start) (β = 0 for momentum: plain gradient descent, as on the course's
/// slide). It reads
/// other opening values from the URL hash, e.g.
/// `surfaces.html#surface=rosenbrock&optimizer=rmsprop&alpha=0.01&decay=0.9` (a slider's key is
/// its config field: `momentum`, `decay`, `beta_1`), snapping each to
/// the nearest precomputed value, and reports its state as JSON in the hidden
/// `<pre id="status">` (ok, any script errors, the selection, and checksums of the drawn path
/// and canvas pixels), never on screen.
pub fn write_page(path: &Path, grid: &PageGrid) -> Result<PageSummary, SurfacesError> {
    let started = Instant::now();
    if grid.steps == 0 {
        return Err(SurfacesError::ZeroSteps);
    }
    if grid.surfaces.is_empty() || grid.optimizers.is_empty() {
        return Err(SurfacesError::NoOptimizers);
    }
    let device = cpu_device()?;
    let walks: Vec<Walk> = grid
        .surfaces
        .iter()
        .map(|&s| Walk::at(s, s.start(), grid.seed))
        .collect();

    // runs[surface][optimizer] = [[code, status, final gap or f], ...] over α × second
    let mut runs: Vec<serde_json::Map<String, Value>> =
        vec![serde_json::Map::new(); grid.surfaces.len()];
    let (mut count, mut stopped) = (0usize, 0usize);
    let mut optimizers_json = Vec::new();
    for po in &grid.optimizers {
        let seconds: Vec<Option<f64>> = match &po.second {
            Some(slider) => slider.values.iter().map(|&v| Some(v)).collect(),
            None => vec![None],
        };
        let mut per_surface: Vec<Vec<Value>> = vec![Vec::new(); grid.surfaces.len()];
        for &alpha in &po.alphas {
            for &second in &seconds {
                let mut spec = OptimizerSpec::new(po.optimizer.clone(), alpha);
                if let (Some(slider), Some(v)) = (&po.second, second) {
                    spec = with_field(&spec, &slider.field, v)?;
                }
                let racer = Racer::new(spec);
                let paths = run_walks(&racer, &walks, grid.steps, &device)?;
                for (k, (&surface, pts)) in grid.surfaces.iter().zip(&paths).enumerate() {
                    let (code, status, _) = encode_path(surface, pts, grid.steps);
                    let last = pts.last().copied().unwrap_or(surface.start());
                    let f = surface.value(last[0], last[1]) - surface.min_value().unwrap_or(0.0);
                    count += 1;
                    if status != 0 {
                        stopped += 1;
                    }
                    per_surface[k].push(json!([code, status, sig3(f), pts.len() - 1]));
                }
            }
        }
        let name = po.optimizer.name();
        for (k, list) in per_surface.into_iter().enumerate() {
            runs[k].insert(name.to_string(), Value::Array(list));
        }
        optimizers_json.push(json!({
            "name": name,
            "title": po.title,
            "alphas": po.alphas,
            "second": po.second.as_ref().map(|s| json!({
                "key": s.field, "label": s.label, "values": s.values, "start": s.start,
            })),
        }));
    }

    let data = json!({
        "steps": grid.steps,
        "seed": grid.seed,
        "surfaces": grid.surfaces.iter().map(|&s| surface_figure(s)).collect::<Vec<_>>(),
        "optimizers": optimizers_json,
        "runs": grid.surfaces.iter().zip(runs).map(|(s, r)| (s.name().to_string(), Value::Object(r))).collect::<serde_json::Map<_, _>>(),
    });
    // `</` cannot end the script element early once escaped
    let data = data.to_string().replace("</", "<\\/");
    let html = TEMPLATE.replace("__STOKE_DATA__", &data);
    if html.len() > MAX_PAGE_BYTES {
        return Err(SurfacesError::PageTooLarge {
            path: path.to_path_buf(),
            bytes: html.len(),
            max: MAX_PAGE_BYTES,
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| SurfacesError::io(dir, e))?;
    }
    fs::write(path, &html).map_err(|e| SurfacesError::io(path, e))?;
    Ok(PageSummary {
        path: path.to_path_buf(),
        bytes: html.len(),
        trajectories: count,
        stopped_early: stopped,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_round_trip_within_one_level() {
        let b = encode_box(Surface::Quadratic);
        let pts = [[-3.0, 3.0], [0.0, 0.0], [11.9, -11.9]];
        let code = encode_points(&pts, b);
        assert_eq!(code.len(), 12);
        let digit = |c: u8| ALPHABET.iter().position(|&a| a == c).unwrap() as f64;
        let bytes = code.as_bytes();
        for (k, p) in pts.iter().enumerate() {
            let qx = digit(bytes[4 * k]) * 64.0 + digit(bytes[4 * k + 1]);
            let x = b.x.0 + qx / LEVELS * (b.x.1 - b.x.0);
            assert!(
                (x - p[0]).abs() <= (b.x.1 - b.x.0) / LEVELS,
                "{x} vs {}",
                p[0]
            );
        }
    }

    #[test]
    fn paths_are_cut_where_they_leave_and_converged_tails_dropped() {
        let s = Surface::Quadratic;
        let mut pts = vec![[-3.0, 3.0], [-1.0, 1.0]];
        pts.extend(std::iter::repeat_n([0.0, 0.0], 10));
        let (code, status, kept) = encode_path(s, &pts, 11);
        assert_eq!((status, kept, code.len()), (0, 3, 12));
        let (_, status, kept) = encode_path(s, &[[-3.0, 3.0], [-30.0, 3.0]], 1);
        assert_eq!((status, kept), (1, 1));
        let (_, status, _) = encode_path(s, &[[-3.0, 3.0]], 5);
        assert_eq!(status, 2);
    }
}
