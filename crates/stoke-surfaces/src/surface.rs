//! The built-in 2-D loss surfaces: values, exact gradients, noisy mini-batch gradients, and
//! what the plots need (start point, optimum, plot bounds).

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::SurfacesError;

/// Curvatures `(λ_min, λ_max)` of [`Surface::Quadratic`], `f = ½(λ_min·x² + λ_max·y²)`.
///
/// The condition number is `κ = λ_max/λ_min = 100`, so `√κ = 10`: plain gradient descent needs
/// about `κ` times as many iterations as one step per unit of curvature, heavy-ball momentum about
/// `√κ` (see `tests/surfaces.rs`).
pub const QUADRATIC_CURVATURES: (f64, f64) = (1.0, 100.0);

/// Curvatures `(λ_x, λ_y)` of [`Surface::NoisyQuadratic`]'s mean loss `½(λ_x·x² + λ_y·y²)`.
pub const NOISY_CURVATURES: (f64, f64) = (1.0, 10.0);

/// Standard deviation σ of one sample's offset in [`Surface::NoisyQuadratic`].
///
/// Sample `i` has loss `½(λ_x(x − a_i)² + λ_y(y − b_i)²)` with `a_i, b_i ~ N(0, σ²)`; the mean
/// over samples is the surface's loss plus a constant, and a mini-batch of `B` samples gives the
/// gradient `(λ_x(x − ā), λ_y(y − b̄))` with `ā, b̄ ~ N(0, σ²/B)`.
pub const NOISE_SIGMA: f64 = 1.0;

/// A built-in loss surface over two parameters `(x, y)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Surface {
    /// `f = ½(x² + 100·y²)`: convex, ill-conditioned (κ = 100), the momentum article's setting.
    Quadratic,
    /// Rosenbrock's banana valley `f = (1 − x)² + 100·(y − x²)²`, minimum 0 at `(1, 1)`.
    Rosenbrock,
    /// Beale's function `f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²`,
    /// minimum 0 at `(3, 0.5)`.
    Beale,
    /// The saddle `f = x² − y²`: a stationary point at the origin that is not a minimum.
    Saddle,
    /// `f = ½(x² + 10·y²)` seen through mini-batch gradients carrying seeded noise
    /// (see [`NOISE_SIGMA`]).
    NoisyQuadratic,
}

/// A rectangle of the plane: `x ∈ [x.0, x.1]`, `y ∈ [y.0, y.1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// `(x_min, x_max)`.
    pub x: (f64, f64),
    /// `(y_min, y_max)`.
    pub y: (f64, f64),
}

impl Bounds {
    /// Width and height.
    pub fn span(&self) -> (f64, f64) {
        (self.x.1 - self.x.0, self.y.1 - self.y.0)
    }

    /// Whether `(px, py)` lies inside (edges included).
    pub fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.x.0 && p[0] <= self.x.1 && p[1] >= self.y.0 && p[1] <= self.y.1
    }

    /// The rectangle grown by `k` times its own width/height on every side.
    pub fn grown(&self, k: f64) -> Bounds {
        let (w, h) = self.span();
        Bounds {
            x: (self.x.0 - k * w, self.x.1 + k * w),
            y: (self.y.0 - k * h, self.y.1 + k * h),
        }
    }
}

impl Surface {
    /// Every surface, in the order the CLI and the page list them.
    pub const ALL: [Surface; 5] = [
        Surface::Quadratic,
        Surface::Rosenbrock,
        Surface::Beale,
        Surface::Saddle,
        Surface::NoisyQuadratic,
    ];

    /// Every surface.
    pub fn all() -> &'static [Surface] {
        &Self::ALL
    }

    /// The name used on the command line, in file names and in `trajectories.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Surface::Quadratic => "quadratic",
            Surface::Rosenbrock => "rosenbrock",
            Surface::Beale => "beale",
            Surface::Saddle => "saddle",
            Surface::NoisyQuadratic => "noisy-quadratic",
        }
    }

    /// A human title with the formula, for plot titles.
    pub fn title(self) -> &'static str {
        match self {
            Surface::Quadratic => "Ill-conditioned quadratic ½(x² + 100y²)",
            Surface::Rosenbrock => "Rosenbrock (1 − x)² + 100(y − x²)²",
            Surface::Beale => "Beale function",
            Surface::Saddle => "Saddle x² − y²",
            Surface::NoisyQuadratic => "Noisy quadratic ½(x² + 10y²), mini-batch gradients",
        }
    }

    /// The loss `f(x, y)` (for the noisy quadratic: the mean loss, without the constant noise
    /// term).
    pub fn value(self, x: f64, y: f64) -> f64 {
        match self {
            Surface::Quadratic => quad(QUADRATIC_CURVATURES, x, y),
            Surface::NoisyQuadratic => quad(NOISY_CURVATURES, x, y),
            // f = (1 − x)² + 100(y − x²)²
            Surface::Rosenbrock => (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2),
            Surface::Beale => {
                let [t1, t2, t3] = beale_terms(x, y);
                t1 * t1 + t2 * t2 + t3 * t3
            }
            // f = x² − y²
            Surface::Saddle => x * x - y * y,
        }
    }

    /// The exact gradient `∇f(x, y)` (for the noisy quadratic: of the mean loss).
    pub fn exact_gradient(self, x: f64, y: f64) -> [f64; 2] {
        match self {
            // ∇ ½(λ₁x² + λ₂y²) = (λ₁x, λ₂y)
            Surface::Quadratic => [QUADRATIC_CURVATURES.0 * x, QUADRATIC_CURVATURES.1 * y],
            Surface::NoisyQuadratic => [NOISY_CURVATURES.0 * x, NOISY_CURVATURES.1 * y],
            // ∂f/∂x = −2(1 − x) − 400x(y − x²),  ∂f/∂y = 200(y − x²)
            Surface::Rosenbrock => [
                -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
                200.0 * (y - x * x),
            ],
            // f = Σ tₖ², tₖ = cₖ − x + x·yᵏ:  ∂tₖ/∂x = yᵏ − 1,  ∂tₖ/∂y = k·x·yᵏ⁻¹
            Surface::Beale => {
                let [t1, t2, t3] = beale_terms(x, y);
                let dx = 2.0 * (t1 * (y - 1.0) + t2 * (y * y - 1.0) + t3 * (y * y * y - 1.0));
                let dy = 2.0 * (t1 * x + t2 * 2.0 * x * y + t3 * 3.0 * x * y * y);
                [dx, dy]
            }
            // ∇(x² − y²) = (2x, −2y)
            Surface::Saddle => [2.0 * x, -2.0 * y],
        }
    }

    /// The gradient an optimizer sees at `(x, y)`: exact, except on the noisy quadratic, where it
    /// is the average of `batch` per-sample gradients `(λ_x(x − a_i), λ_y(y − b_i))` with fresh
    /// offsets `a_i, b_i ~ N(0, σ²)` drawn from `rng` (so its noise has variance `λ²σ²/batch`).
    /// `batch = 0` is treated as 1.
    pub fn gradient(self, x: f64, y: f64, batch: usize, rng: &mut ChaCha8Rng) -> [f64; 2] {
        match self {
            Surface::NoisyQuadratic => {
                let b = batch.max(1);
                let (mut sa, mut sb) = (0.0, 0.0);
                for _ in 0..b {
                    sa += NOISE_SIGMA * standard_normal(rng);
                    sb += NOISE_SIGMA * standard_normal(rng);
                }
                let (a, bb) = (sa / b as f64, sb / b as f64);
                [NOISY_CURVATURES.0 * (x - a), NOISY_CURVATURES.1 * (y - bb)]
            }
            other => other.exact_gradient(x, y),
        }
    }

    /// Whether gradients are noisy (depend on the seed and the batch size).
    pub fn is_noisy(self) -> bool {
        matches!(self, Surface::NoisyQuadratic)
    }

    /// The minimiser, or `None` for the saddle (unbounded below).
    pub fn optimum(self) -> Option<[f64; 2]> {
        match self {
            Surface::Quadratic | Surface::NoisyQuadratic => Some([0.0, 0.0]),
            Surface::Rosenbrock => Some([1.0, 1.0]),
            Surface::Beale => Some([3.0, 0.5]),
            Surface::Saddle => None,
        }
    }

    /// The point the plots mark: the minimiser, or the saddle point.
    pub fn marked_point(self) -> [f64; 2] {
        self.optimum().unwrap_or([0.0, 0.0])
    }

    /// `f` at the minimiser, or `None` for the saddle.
    pub fn min_value(self) -> Option<f64> {
        self.optimum().map(|p| self.value(p[0], p[1]))
    }

    /// Where every optimizer starts.
    pub fn start(self) -> [f64; 2] {
        match self {
            // |x₀| = |y₀|, so equal per-coordinate progress means equal iteration counts.
            Surface::Quadratic | Surface::NoisyQuadratic => [-3.0, 3.0],
            Surface::Rosenbrock => [-1.2, 1.0],
            Surface::Beale => [1.0, 1.5],
            // Just off the stable direction y = 0, so gradient descent stalls near the saddle.
            Surface::Saddle => [-2.0, 0.02],
        }
    }

    /// The plotted region.
    pub fn bounds(self) -> Bounds {
        match self {
            Surface::Quadratic | Surface::NoisyQuadratic => Bounds {
                x: (-4.0, 4.0),
                y: (-4.0, 4.0),
            },
            Surface::Rosenbrock => Bounds {
                x: (-2.0, 2.0),
                y: (-1.0, 3.0),
            },
            Surface::Beale => Bounds {
                x: (-0.5, 4.5),
                y: (-1.5, 2.0),
            },
            Surface::Saddle => Bounds {
                x: (-2.5, 2.5),
                y: (-2.5, 2.5),
            },
        }
    }

    /// Points farther than this region (the plot grown 50× its size on every side) or not
    /// finite count as diverged; the trajectory stops there.
    pub fn divergence_bounds(self) -> Bounds {
        self.bounds().grown(50.0)
    }
}

/// `½(λ₁x² + λ₂y²)`.
fn quad((l1, l2): (f64, f64), x: f64, y: f64) -> f64 {
    0.5 * (l1 * x * x + l2 * y * y)
}

/// Beale's residuals `tₖ = cₖ − x + x·yᵏ` with `c = (1.5, 2.25, 2.625)`.
fn beale_terms(x: f64, y: f64) -> [f64; 3] {
    [
        1.5 - x + x * y,
        2.25 - x + x * y * y,
        2.625 - x + x * y * y * y,
    ]
}

/// One `N(0, 1)` draw by the Box–Muller transform: `√(−2 ln u₁)·cos(2π u₂)`, `u₁ ∈ (0, 1]`.
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Surface {
    type Err = SurfacesError;

    /// Parses a surface name (case-insensitive; `_` and `-` are interchangeable).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|k| k.name() == wanted || (wanted == "noisy" && *k == Surface::NoisyQuadratic))
            .ok_or_else(|| SurfacesError::UnknownSurface {
                name: s.to_string(),
                known: Self::ALL.map(|k| k.name()).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn gradients_match_central_differences() {
        let h = 1e-6;
        for s in Surface::ALL {
            for p in [[0.3, -0.7], [-1.1, 0.4], [2.0, 1.3]] {
                let g = s.exact_gradient(p[0], p[1]);
                let dx = (s.value(p[0] + h, p[1]) - s.value(p[0] - h, p[1])) / (2.0 * h);
                let dy = (s.value(p[0], p[1] + h) - s.value(p[0], p[1] - h)) / (2.0 * h);
                let scale = 1.0 + g[0].abs().max(g[1].abs());
                assert!(
                    (g[0] - dx).abs() < 1e-5 * scale,
                    "{s} d/dx at {p:?}: {g:?} vs {dx}"
                );
                assert!(
                    (g[1] - dy).abs() < 1e-5 * scale,
                    "{s} d/dy at {p:?}: {g:?} vs {dy}"
                );
            }
        }
    }

    #[test]
    fn optima_are_stationary_with_known_values() {
        for s in Surface::ALL {
            let p = s.marked_point();
            let g = s.exact_gradient(p[0], p[1]);
            assert!(g[0].abs() < 1e-12 && g[1].abs() < 1e-12, "{s}: {g:?}");
            assert!(
                s.bounds().contains(p) && s.bounds().contains(s.start()),
                "{s}"
            );
        }
        assert_eq!(Surface::Beale.min_value(), Some(0.0));
        assert_eq!(Surface::Rosenbrock.min_value(), Some(0.0));
        assert_eq!(Surface::Saddle.min_value(), None);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for s in Surface::ALL {
            assert_eq!(s.name().parse::<Surface>().unwrap(), s);
        }
        let e = "himmelblau".parse::<Surface>().unwrap_err().to_string();
        assert!(e.contains("himmelblau") && e.contains("rosenbrock"), "{e}");
    }

    #[test]
    fn minibatch_noise_shrinks_as_one_over_batch() {
        // Var(λ_y·b̄) = λ_y²σ²/B: 100 for B = 1, 100/16 = 6.25 for B = 16.
        for (batch, want) in [(1usize, 100.0), (16, 6.25)] {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let n = 20_000;
            let mut sum2 = 0.0;
            for _ in 0..n {
                let g = Surface::NoisyQuadratic.gradient(0.0, 0.0, batch, &mut rng);
                sum2 += g[1] * g[1];
            }
            let var = sum2 / n as f64;
            assert!(
                (var / want - 1.0).abs() < 0.05,
                "B={batch}: var {var}, want {want}"
            );
        }
    }
}
