//! The two figures: optimizer paths over the surface's contour lines, and loss against
//! iteration; each as SVG and PNG.

use plotters::coord::Shift;
use plotters::prelude::*;

use stoke_optim::OptimizerConfig;
use stoke_plot::{DrawError, Figure, PALETTE, draw_legend, legend_line};

use crate::contour::{Grid, contour_lines, levels};
use crate::surface::{Bounds, Surface};

/// One optimizer's run, ready to draw.
pub(crate) struct PlotRun<'a> {
    pub label: String,
    pub color: RGBColor,
    pub points: &'a [[f64; 2]],
    pub diverged: bool,
}

/// Picks a colour per run: a fixed colour per optimizer (momentum blue and RMSProp green, as
/// in the course's figure), and unused palette colours for repeated optimizers.
pub(crate) fn colors_for(optimizers: &[&OptimizerConfig]) -> Vec<RGBColor> {
    // indices into PALETTE: blue, orange, green, red, purple, brown, pink, grey, olive, cyan
    let preferred = |o: &OptimizerConfig| match o {
        OptimizerConfig::Momentum(_) => 0,
        OptimizerConfig::RmsProp(_) => 2,
        OptimizerConfig::Sgd(_) => 3,
        OptimizerConfig::AdaGrad(_) => 4,
        OptimizerConfig::Adam(_) => 1,
        OptimizerConfig::AdaDelta(_) => 5,
        _ => 7,
    };
    // first occurrences get their optimizer's colour; repeats take colours no listed one prefers
    let mut used = [false; PALETTE.len()];
    for o in optimizers {
        used[preferred(o)] = true;
    }
    let mut seen: Vec<&str> = Vec::new();
    optimizers
        .iter()
        .map(|o| {
            let k = if !seen.contains(&o.name()) {
                seen.push(o.name());
                preferred(o)
            } else {
                let free = (0..PALETTE.len()).find(|&k| !used[k]).unwrap_or(7);
                used[free] = true;
                free
            };
            PALETTE[k]
        })
        .collect()
}

/// A light colour for contour level `t ∈ [0, 1]`: dark teal near the minimum fading to a pale
/// yellow-grey on the walls, so the paths on top stay readable.
fn level_color(t: f64) -> RGBColor {
    let lerp = |a: f64, b: f64| (a + (b - a) * t.clamp(0.0, 1.0)).round() as u8;
    RGBColor(lerp(70.0, 200.0), lerp(130.0, 190.0), lerp(160.0, 140.0))
}

/// Cuts a polyline into the pieces that lie inside `b` (Liang–Barsky clipping per segment).
pub(crate) fn clip_polyline(points: &[[f64; 2]], b: Bounds) -> Vec<Vec<(f64, f64)>> {
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    if points.len() == 1 && b.contains(points[0]) {
        return vec![vec![(points[0][0], points[0][1])]];
    }
    for w in points.windows(2) {
        let (p, q) = (w[0], w[1]);
        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
        // p + t·(q − p) is inside for t ∈ [t0, t1]
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut visible = true;
        for (den, num) in [
            (-dx, p[0] - b.x.0),
            (dx, b.x.1 - p[0]),
            (-dy, p[1] - b.y.0),
            (dy, b.y.1 - p[1]),
        ] {
            if den == 0.0 {
                if num < 0.0 {
                    visible = false;
                }
            } else {
                let t = num / den;
                if den < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        if !visible || t0 > t1 {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            continue;
        }
        let a = (p[0] + t0 * dx, p[1] + t0 * dy);
        let z = (p[0] + t1 * dx, p[1] + t1 * dy);
        if current.is_empty() || t0 > 0.0 {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            current.push(a);
        }
        current.push(z);
        if t1 < 1.0 {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The corner of the plot with the fewest path points, for the legend.
fn quiet_corner(b: Bounds, runs: &[PlotRun]) -> SeriesLabelPosition {
    let (w, h) = b.span();
    let corners = [
        (
            SeriesLabelPosition::UpperRight,
            b.x.1 - 0.4 * w,
            b.y.1 - 0.35 * h,
        ),
        (SeriesLabelPosition::UpperLeft, b.x.0, b.y.1 - 0.35 * h),
        (SeriesLabelPosition::LowerRight, b.x.1 - 0.4 * w, b.y.0),
        (SeriesLabelPosition::LowerLeft, b.x.0, b.y.0),
    ];
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for (pos, x0, y0) in corners {
        let n = runs
            .iter()
            .flat_map(|r| r.points.iter())
            .filter(|p| p[0] >= x0 && p[0] <= x0 + 0.4 * w && p[1] >= y0 && p[1] <= y0 + 0.35 * h)
            .count();
        if n < best.0 {
            best = (n, pos);
        }
    }
    best.1
}

/// A five-pointed star around the origin, in pixels (outer radius `r`).
fn star(r: f64) -> Vec<(i32, i32)> {
    (0..10)
        .map(|k| {
            let rad = if k % 2 == 0 { r } else { r * 0.45 };
            let a = -std::f64::consts::FRAC_PI_2 + k as f64 * std::f64::consts::PI / 5.0;
            (
                (rad * a.cos()).round() as i32,
                (rad * a.sin()).round() as i32,
            )
        })
        .collect()
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_contour<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    surface: Surface,
    runs: &[PlotRun],
    steps: usize,
) -> DrawResult<DB> {
    let b = surface.bounds();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{} — optimizer paths, {steps} steps", surface.title()),
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(b.x.0..b.x.1, b.y.0..b.y.1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 20))
        .draw()?;

    let grid = Grid::sample(surface, b, 161, 161);
    let lv = levels(surface, &grid, 16);
    for (k, &level) in lv.iter().enumerate() {
        let color = level_color(k as f64 / (lv.len() - 1) as f64);
        for line in contour_lines(&grid, level) {
            let pts: Vec<(f64, f64)> = line.iter().map(|p| (p[0], p[1])).collect();
            chart.draw_series(std::iter::once(PathElement::new(
                pts,
                color.stroke_width(1),
            )))?;
        }
    }

    for run in runs {
        let color = run.color;
        let label = if run.diverged {
            format!("{} (diverged)", run.label)
        } else {
            run.label.clone()
        };
        let mut labelled = false;
        for piece in clip_polyline(run.points, b) {
            let series = chart.draw_series(LineSeries::new(piece, color.stroke_width(2)))?;
            if !labelled {
                series.label(label.clone()).legend(legend_line(color));
                labelled = true;
            }
        }
        if run.points.len() <= 121 {
            chart.draw_series(
                run.points
                    .iter()
                    .filter(|p| b.contains(**p))
                    .map(|p| Circle::new((p[0], p[1]), 2, color.filled())),
            )?;
        }
    }

    let s = surface.start();
    chart
        .draw_series(std::iter::once(Circle::new(
            (s[0], s[1]),
            6,
            BLACK.filled(),
        )))?
        .label("start")
        .legend(|(x, y)| Circle::new((x + 11, y), 5, BLACK.filled()));
    let m = surface.marked_point();
    let gold = RGBColor(255, 200, 0);
    chart
        .draw_series(std::iter::once(
            EmptyElement::at((m[0], m[1]))
                + Polygon::new(star(11.0), gold.filled())
                + PathElement::new(
                    {
                        let mut v = star(11.0);
                        v.push(v[0]);
                        v
                    },
                    BLACK.stroke_width(1),
                ),
        ))?
        .label(if surface.optimum().is_some() {
            "minimum"
        } else {
            "saddle point (not a minimum)"
        })
        .legend(move |(x, y)| {
            EmptyElement::at((x + 11, y)) + Polygon::new(star(8.0), gold.filled())
        });

    draw_legend(&mut chart, quiet_corner(b, runs))?;
    root.present()?;
    Ok(())
}

fn draw_loss<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    surface: Surface,
    runs: &[PlotRun],
    steps: usize,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let xmax = steps.max(1) as f64;
    let caption = format!("{} — loss against iteration", surface.title());
    match surface.min_value() {
        Some(fmin) => {
            // log scale of the gap f − f*, floored so exact zeros stay on the chart
            let floor = 1e-12;
            let gaps: Vec<Vec<(f64, f64)>> = runs
                .iter()
                .map(|r| {
                    r.points
                        .iter()
                        .enumerate()
                        .map(|(k, p)| (k as f64, (surface.value(p[0], p[1]) - fmin).max(floor)))
                        .collect()
                })
                .collect();
            let all = gaps.iter().flatten().map(|p| p.1);
            let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            let (lo, hi) = if lo.is_finite() && hi > 0.0 {
                (lo / 2.0, (hi * 2.0).max(lo * 10.0))
            } else {
                (1e-6, 1.0)
            };
            let mut chart = ChartBuilder::on(root)
                .caption(caption, ("sans-serif", 24))
                .margin(16)
                .x_label_area_size(50)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..xmax, (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .x_desc("iteration")
                .y_desc("f(x, y) − f*  (log scale)")
                .y_label_formatter(&|v| format!("{v:.0e}"))
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 20))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for (run, pts) in runs.iter().zip(gaps) {
                let color = run.color;
                let label = if run.diverged {
                    format!("{} (diverged)", run.label)
                } else {
                    run.label.clone()
                };
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                    .label(label)
                    .legend(legend_line(color));
            }
            draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        None => {
            // the saddle is unbounded below: plot f itself on a linear axis
            let vals: Vec<Vec<(f64, f64)>> = runs
                .iter()
                .map(|r| {
                    r.points
                        .iter()
                        .enumerate()
                        .map(|(k, p)| (k as f64, surface.value(p[0], p[1])))
                        .collect()
                })
                .collect();
            // the range covers the values while the paths are inside the contour plot; later
            // values (escaping to −∞) are clipped at the bottom
            let b = surface.bounds();
            let inside = runs
                .iter()
                .flat_map(|r| r.points.iter())
                .filter(|p| b.contains(**p))
                .map(|p| surface.value(p[0], p[1]));
            let (lo, hi) = inside.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            let (lo, hi) = if lo.is_finite() && hi > lo {
                let pad = 0.05 * (hi - lo);
                (lo - pad, hi + pad)
            } else {
                (-1.0, 1.0)
            };
            let window = Bounds {
                x: (0.0, xmax),
                y: (lo, hi),
            };
            let mut chart = ChartBuilder::on(root)
                .caption(caption, ("sans-serif", 24))
                .margin(16)
                .x_label_area_size(50)
                .y_label_area_size(80)
                .build_cartesian_2d(0.0..xmax, lo..hi)?;
            chart
                .configure_mesh()
                .x_desc("iteration")
                .y_desc("f(x, y)  (unbounded below: linear scale)")
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 20))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            for (run, pts) in runs.iter().zip(vals) {
                let color = run.color;
                let pts: Vec<[f64; 2]> = pts.iter().map(|&(k, f)| [k, f]).collect();
                let mut labelled = false;
                for piece in clip_polyline(&pts, window) {
                    let series =
                        chart.draw_series(LineSeries::new(piece, color.stroke_width(2)))?;
                    if !labelled {
                        series.label(run.label.clone()).legend(legend_line(color));
                        labelled = true;
                    }
                }
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
    }
    root.present()?;
    Ok(())
}

/// Which of the two figures.
#[derive(Debug, Clone, Copy)]
pub(crate) enum View {
    /// Optimizer paths over the surface's contour lines (1000 × 820).
    Contour,
    /// `f − f*` (or `f` on the saddle) against iteration (1000 × 600).
    Loss,
}

/// One figure of a surfaces run.
pub(crate) struct RunFigure<'a> {
    pub view: View,
    pub surface: Surface,
    pub runs: &'a [PlotRun<'a>],
    pub steps: usize,
}

impl Figure for RunFigure<'_> {
    type Error = DrawError;

    fn size(&self) -> (u32, u32) {
        match self.view {
            View::Contour => (1000, 820),
            View::Loss => (1000, 600),
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        let (surface, runs, steps) = (self.surface, self.runs, self.steps);
        Ok(match self.view {
            View::Contour => draw_contour(area, surface, runs, steps),
            View::Loss => draw_loss(area, surface, runs, steps),
        }?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_inside_parts_and_splits_at_exits() {
        let b = Bounds {
            x: (0.0, 1.0),
            y: (0.0, 1.0),
        };
        // in, out through the right edge, back in
        let pts = [[0.5, 0.5], [1.5, 0.5], [0.5, 0.6]];
        let pieces = clip_polyline(&pts, b);
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert_eq!(pieces[0], vec![(0.5, 0.5), (1.0, 0.5)]);
        assert!((pieces[1][0].0 - 1.0).abs() < 1e-12 && pieces[1][1] == (0.5, 0.6));
    }

    #[test]
    fn repeated_optimizers_get_distinct_colours() {
        let named = |n| OptimizerConfig::named(n).unwrap();
        let (sgd, momentum, rmsprop) = (named("sgd"), named("momentum"), named("rmsprop"));
        let c = colors_for(&[&sgd, &sgd, &momentum, &rmsprop]);
        assert_eq!(c[2], RGBColor(31, 119, 180));
        assert_eq!(c[3], RGBColor(44, 160, 44));
        assert!(c[0] != c[1]);
    }
}
