//! Plots (SVG and PNG, drawn with plotters) and `report.md`.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use stoke_plot::{Figure, FigureError, PALETTE, draw_legend, legend_line, save, tick};

use crate::environment::Environment;
use crate::error::{PlotError, RecipeError};
use crate::metrics::{MeanStd, Metric, Record, Split, curves};
use crate::recipe::{Recipe, RecipeKind};
use crate::summary::Summary;
use crate::train::{RunResult, RunStatus};

/// A line per configuration: `(x, mean, std)` points.
struct Series {
    label: String,
    points: Vec<(f64, MeanStd)>,
    /// The run stopped on a non-finite loss after its last point: drawn up to there, with a ✕
    /// and "(diverged)" in the legend.
    diverged: bool,
}

struct Chart<'a> {
    title: String,
    x_label: &'a str,
    y_label: &'a str,
    log_y: bool,
    series: Vec<Series>,
}

const SIZE: (u32, u32) = (960, 600);

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A written figure's two paths, or the error with the file it was drawing.
fn saved(
    result: Result<[PathBuf; 2], FigureError<PlotError>>,
) -> Result<Vec<PathBuf>, RecipeError> {
    result
        .map(Vec::from)
        .map_err(|FigureError { path, source }| RecipeError::Plot { path, source })
}

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(PlotError::draw)?;
    let finite = |v: f64| v.is_finite() && (!chart.log_y || v > 0.0);
    let all: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|(x, m)| (*x, m.mean)))
        .filter(|(_, y)| finite(*y))
        .collect();
    if all.is_empty() {
        return Err(PlotError::NoFiniteValues);
    }
    let (x0, x1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| {
        (a.min(*x), b.max(*x))
    });
    let (y0, y1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
        (a.min(*y), b.max(*y))
    });
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    // A log axis labels only powers of ten: values within a decade would get one tick label
    // (or none), so they are drawn on a linear axis.
    let log_y = chart.log_y && y1 >= 10.0 * y0;
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&chart.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72);
    if log_y {
        let (lo, hi) = (y0 * 0.8, y1 * 1.25);
        let mut c = builder
            .build_cartesian_2d(x0..x1, (lo..hi).log_scale())
            .map_err(PlotError::draw)?;
        // Losses fall from the upper left: the lower left is where the lines are not.
        draw_body(&mut c, chart, &finite, SeriesLabelPosition::LowerLeft)?;
    } else {
        let pad = ((y1 - y0) * 0.05).max(1e-6);
        let mut c = builder
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(PlotError::draw)?;
        draw_body(&mut c, chart, &finite, SeriesLabelPosition::LowerRight)?;
    }
    area.present().map_err(PlotError::draw)
}

/// Mesh, one line per configuration with its mean ± std band, and the legend — on a linear or a
/// logarithmic y axis.
fn draw_body<'a, DB, Y>(
    c: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    chart: &Chart,
    finite: &dyn Fn(f64) -> bool,
    legend: SeriesLabelPosition,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    c.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(*y))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(PlotError::draw)?;
    for (i, s) in chart.series.iter().enumerate() {
        let col = colour(i);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|(x, m)| (*x, m.mean))
            .filter(|(_, y)| finite(*y))
            .collect();
        let banded = |m: &MeanStd| m.n > 1 && finite(m.mean - m.std);
        let band: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(_, m)| banded(m))
            .map(|(x, m)| (*x, m.mean + m.std))
            .chain(
                s.points
                    .iter()
                    .rev()
                    .filter(|(_, m)| banded(m))
                    .map(|(x, m)| (*x, m.mean - m.std)),
            )
            .collect();
        if band.len() > 2 {
            c.draw_series(std::iter::once(Polygon::new(band, col.mix(0.15))))
                .map_err(PlotError::draw)?;
        }
        let last = pts.last().copied();
        let label = if s.diverged {
            format!("{} (diverged)", s.label)
        } else {
            s.label.clone()
        };
        c.draw_series(LineSeries::new(pts, col.stroke_width(2)))
            .map_err(PlotError::draw)?
            .label(label)
            .legend(legend_line(col));
        if let (true, Some(p)) = (s.diverged, last) {
            // Where the run's loss was last finite: the next step's was not.
            c.draw_series(std::iter::once(Cross::new(p, 9, col.stroke_width(3))))
                .map_err(PlotError::draw)?;
        }
    }
    draw_legend(c, legend).map_err(PlotError::draw)?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    bars: &[(String, MeanStd)],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(PlotError::draw)?;
    let top = bars
        .iter()
        .map(|(_, m)| m.mean + m.std)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-6)
        * 1.1;
    let n = bars.len();
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(90)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)
        .map_err(PlotError::draw)?;
    let labels: Vec<String> = bars.iter().map(|(l, _)| l.clone()).collect();
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(1) * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.26 && i < labels.len() {
                labels[i].clone()
            } else {
                String::new()
            }
        })
        .y_desc(y_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(PlotError::draw)?;
    for (i, (_, m)) in bars.iter().enumerate() {
        let x = i as f64;
        let v = if m.mean.is_finite() { m.mean } else { 0.0 };
        c.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.15, 0.0), (x + 0.85, v)],
            colour(i).filled(),
        )))
        .map_err(PlotError::draw)?;
        if m.n > 1 && m.std > 0.0 {
            c.draw_series(std::iter::once(PathElement::new(
                vec![(x + 0.5, v - m.std), (x + 0.5, v + m.std)],
                BLACK.stroke_width(2),
            )))
            .map_err(PlotError::draw)?;
        }
        c.draw_series(std::iter::once(Text::new(
            format!("{v:.3}"),
            (x + 0.3, v + top * 0.02),
            ("sans-serif", 15),
        )))
        .map_err(PlotError::draw)?;
    }
    area.present().map_err(PlotError::draw)
}

/// One of the report's figures (960 × 600): lines per configuration, or a bar per
/// configuration with its ± std whisker.
enum ReportFigure<'a> {
    Lines(&'a Chart<'a>),
    Bars {
        title: &'a str,
        y_label: &'a str,
        bars: &'a [(String, MeanStd)],
    },
}

impl Figure for ReportFigure<'_> {
    type Error = PlotError;

    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError>
    where
        DB::ErrorType: 'static,
    {
        match self {
            ReportFigure::Lines(chart) => draw_lines(area, chart),
            ReportFigure::Bars {
                title,
                y_label,
                bars,
            } => draw_bars(area, title, y_label, bars),
        }
    }
}

fn write_chart(base: &Path, chart: &Chart) -> Result<Vec<PathBuf>, RecipeError> {
    saved(save(&ReportFigure::Lines(chart), base))
}

/// The configurations in recipe order (BTreeMap sorts them by name).
fn ordered(
    recipe_runs: &[RunResult],
    map: std::collections::BTreeMap<String, Vec<(f64, MeanStd)>>,
) -> Vec<Series> {
    let mut labels: Vec<&str> = Vec::new();
    for r in recipe_runs {
        if !labels.contains(&r.spec.config.as_str()) {
            labels.push(&r.spec.config);
        }
    }
    labels
        .into_iter()
        .filter_map(|l| {
            map.get(l).map(|p| Series {
                label: l.to_string(),
                points: p.clone(),
                // every run of the configuration stopped on a non-finite loss
                diverged: recipe_runs
                    .iter()
                    .filter(|r| r.spec.config == l)
                    .all(|r| matches!(r.status, RunStatus::Diverged { .. })),
            })
        })
        .collect()
}

/// The first seed's loss at every iteration, against epochs (x = iteration / per-epoch): what
/// "oscillates" and "diverges" look like step by step. A diverged run is drawn up to its last
/// finite loss, with a ✕.
fn iteration_loss(
    recipe: &Recipe,
    results: &[RunResult],
    out: &Path,
) -> Result<Vec<PathBuf>, RecipeError> {
    let mut series = Vec::new();
    for r in results
        .iter()
        .filter(|r| r.spec.seed == results[0].spec.seed)
    {
        let per = r.iterations_per_epoch.max(1) as f64;
        let points: Vec<(f64, MeanStd)> = r
            .records
            .iter()
            .filter(|x| {
                x.split == Split::Train
                    && x.metric == Metric::Loss
                    && !is_epoch_record(x, &r.records)
            })
            .map(|x| {
                (
                    x.iteration as f64 / per,
                    MeanStd {
                        mean: x.value,
                        std: 0.0,
                        n: 1,
                    },
                )
            })
            .collect();
        if !points.is_empty() {
            series.push(Series {
                label: r.spec.config.clone(),
                points: thin(points, 600),
                diverged: matches!(r.status, RunStatus::Diverged { .. }),
            });
        }
    }
    if series.is_empty() {
        return Ok(Vec::new());
    }
    let chart = Chart {
        title: format!("{}: loss of each mini-batch", recipe.title),
        x_label: "epoch",
        y_label: "mini-batch loss",
        log_y: true,
        series,
    };
    write_chart(&out.join("iteration_loss"), &chart)
}

/// Draws the recipe's plots into `out`; returns the files written.
pub fn plots(
    recipe: &Recipe,
    records: &[Record],
    results: &[RunResult],
    out: &Path,
) -> Result<Vec<PathBuf>, RecipeError> {
    let mut files = Vec::new();
    let loss_log = matches!(
        recipe.kind,
        RecipeKind::LearningRate
            | RecipeKind::BatchSize
            | RecipeKind::Overfitting
            | RecipeKind::Optimizers
    );
    let charts = [
        (
            "train_loss",
            Split::Train,
            Metric::Loss,
            "training loss",
            loss_log,
        ),
        (
            "valid_loss",
            Split::Valid,
            Metric::Loss,
            "validation loss",
            loss_log,
        ),
        (
            "valid_accuracy",
            Split::Valid,
            Metric::Accuracy,
            "validation accuracy",
            false,
        ),
        (
            "train_accuracy",
            Split::Train,
            Metric::Accuracy,
            "training accuracy",
            false,
        ),
    ];
    for (file, split, metric, y_label, log_y) in charts {
        // Epoch-level records only (iteration-level train loss is plotted separately).
        let epoch_level: Vec<Record> = records
            .iter()
            .filter(|r| {
                !(r.split == Split::Train && r.metric == Metric::Loss)
                    || is_epoch_record(r, records)
            })
            .cloned()
            .collect();
        let chart = Chart {
            title: format!("{}: {y_label} per epoch", recipe.title),
            x_label: "epoch",
            y_label,
            log_y,
            series: ordered(results, curves(&epoch_level, split, metric)),
        };
        match write_chart(&out.join(file), &chart) {
            Ok(f) => files.extend(f),
            Err(RecipeError::Plot {
                source: PlotError::NoFiniteValues,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    if matches!(
        recipe.kind,
        RecipeKind::BatchSize | RecipeKind::LearningRate
    ) {
        files.extend(iteration_loss(recipe, results, out)?);
    }
    if recipe.kind == RecipeKind::BatchSize {
        // Training loss against training wall time: the epoch-level mean loss at each epoch's end.
        let mut series = Vec::new();
        for s in ordered(results, curves(records, Split::Train, Metric::WallTime)) {
            let losses = curves(records, Split::Train, Metric::Loss);
            let Some(loss) = losses.get(&s.label) else {
                continue;
            };
            let points = s
                .points
                .iter()
                .filter_map(|(epoch, t)| {
                    loss.iter()
                        .find(|(e, _)| e == epoch)
                        .map(|(_, l)| (t.mean, *l))
                })
                .collect();
            series.push(Series {
                label: s.label.clone(),
                points,
                diverged: s.diverged,
            });
        }
        let chart = Chart {
            title: format!("{}: training loss against wall time", recipe.title),
            x_label: "training time (s)",
            y_label: "training loss",
            log_y: true,
            series,
        };
        files.extend(write_chart(&out.join("loss_vs_time"), &chart)?);
    }
    let bars: Vec<(String, MeanStd)> = ordered(results, {
        let mut m = std::collections::BTreeMap::new();
        for (c, v) in crate::metrics::final_values(records, Split::Valid, Metric::Accuracy) {
            if let Some(ms) =
                MeanStd::of(&v.into_iter().filter(|x| x.is_finite()).collect::<Vec<_>>())
            {
                m.insert(c, vec![(0.0, ms)]);
            }
        }
        m
    })
    .into_iter()
    .map(|s| (s.label, s.points[0].1))
    .collect();
    if !bars.is_empty() {
        let title = format!("{}: final validation accuracy", recipe.title);
        let figure = ReportFigure::Bars {
            title: &title,
            y_label: "validation accuracy",
            bars: &bars,
        };
        files.extend(saved(save(&figure, &out.join("final_valid_accuracy")))?);
    }
    Ok(files)
}

/// Whether a train-loss record is an epoch summary (taken at the epoch's last iteration, with
/// an accuracy beside it) rather than a per-iteration value.
fn is_epoch_record(r: &Record, all: &[Record]) -> bool {
    all.iter().any(|a| {
        a.run == r.run
            && a.epoch == r.epoch
            && a.iteration == r.iteration
            && a.split == Split::Train
            && a.metric == Metric::Accuracy
    })
}

/// At most `n` points, evenly spaced.
fn thin(points: Vec<(f64, MeanStd)>, n: usize) -> Vec<(f64, MeanStd)> {
    if points.len() <= n {
        return points;
    }
    let step = points.len() as f64 / n as f64;
    (0..n).map(|i| points[(i as f64 * step) as usize]).collect()
}

fn cell(m: &Option<MeanStd>) -> String {
    m.map_or("—".into(), |m| m.show(3))
}

/// The report: the claim, what the numbers show, the results table and the plots.
pub fn markdown(
    recipe: &Recipe,
    summary: &Summary,
    plots: &[PathBuf],
    env: &Environment,
    out: &Path,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("# {}\n\n", recipe.title));
    s.push_str(&format!("**Claim.** {}\n\n", recipe.claim));
    s.push_str(&format!(
        "**What the numbers show.** {}\n\n",
        summary.finding
    ));
    if let Some(v) = &summary.verdict {
        s.push_str(&format!(
            "**Does the claim hold?** It {}

",
            v.evidence
        ));
    }
    s.push_str("## Results\n\nMean ± sample standard deviation over seeds; final values are at the last epoch.\n\n");
    s.push_str("| configuration | optimizer | batch | iterations/epoch | final train loss | final train accuracy | final valid loss | final valid accuracy | best valid accuracy | test accuracy | training time (s) | diverged |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in &summary.configs {
        s.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.label,
            c.optimizer,
            c.batch_size,
            c.iterations_per_epoch,
            cell(&c.final_train_loss),
            cell(&c.final_train_accuracy),
            cell(&c.final_valid_loss),
            cell(&c.final_valid_accuracy),
            cell(&c.best_valid_accuracy),
            cell(&c.test_accuracy),
            c.wall_time.map_or("—".into(), |w| format!("{:.1}", w.mean)),
            if c.diverged.is_empty() {
                "0".to_string()
            } else {
                format!("{} of {}", c.diverged.len(), c.runs)
            },
        ));
    }
    let skipped: Vec<String> = summary
        .configs
        .iter()
        .filter(|c| c.skipped_steps > 0)
        .map(|c| format!("{} ({} over {} runs)", c.label, c.skipped_steps, c.runs))
        .collect();
    if !skipped.is_empty() {
        s.push_str(&format!(
            "\n**Steps skipped for non-finite gradients.** {}\n",
            skipped.join("; ")
        ));
    }
    let diverged: Vec<&String> = summary.configs.iter().flat_map(|c| &c.diverged).collect();
    if !diverged.is_empty() {
        s.push_str("\n**Diverged runs.**\n\n");
        for d in diverged {
            s.push_str(&format!("- {d}\n"));
        }
    }
    s.push_str("\n## Plots\n\n");
    for p in plots
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
    {
        let rel = p.strip_prefix(out).unwrap_or(p).display().to_string();
        let name = rel.trim_end_matches(".png").replace('_', " ");
        s.push_str(&format!("![{name}]({rel})\n\n"));
    }
    s.push_str(&format!(
        "## Environment\n\nstoke {} on Burn {}, backend `{}`, {} {} with {} CPUs. Raw values: `metrics.csv`; the recipe as run: `recipe.toml`.\n",
        env.stoke_version, env.burn_version, env.backend, env.os, env.arch, env.cpus
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, ys: &[f64], diverged: bool) -> Series {
        Series {
            label: label.into(),
            points: ys
                .iter()
                .enumerate()
                .map(|(i, &y)| {
                    (
                        i as f64,
                        MeanStd {
                            mean: y,
                            std: 0.0,
                            n: 1,
                        },
                    )
                })
                .collect(),
            diverged,
        }
    }

    /// The SVG's text elements (plotters writes each on a line of its own).
    fn texts(chart: &Chart, name: &str) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("stoke-report-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_chart(&dir.join(name), chart).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let lines: Vec<&str> = svg.lines().collect();
        lines
            .windows(2)
            .filter(|w| w[0].starts_with("<text"))
            .map(|w| w[1].trim().to_string())
            .collect()
    }

    #[test]
    fn a_loss_within_one_decade_gets_several_tick_labels() {
        // 0.45 … 0.95 on a log axis would be labelled only at powers of ten: none inside.
        let chart = Chart {
            title: "t".into(),
            x_label: "epoch",
            y_label: "loss",
            log_y: true,
            series: vec![series("a", &[0.95, 0.7, 0.55, 0.45], false)],
        };
        let labels: Vec<f64> = texts(&chart, "decade")
            .iter()
            .filter_map(|t| t.parse::<f64>().ok())
            .filter(|v| (0.4..=1.0).contains(v) && v.fract() != 0.0)
            .collect();
        assert!(labels.len() >= 3, "{labels:?}");
    }

    #[test]
    fn a_diverged_run_is_drawn_to_its_last_finite_loss_and_marked() {
        let chart = Chart {
            title: "t".into(),
            x_label: "iteration",
            y_label: "loss",
            log_y: true,
            series: vec![
                series("η = 1", &[0.7, 0.6, 0.5, 0.45], false),
                series("η = 1e4", &[0.7, 40.0, 9e3, f64::NAN], true),
            ],
        };
        let t = texts(&chart, "diverged");
        assert!(t.iter().any(|l| l == "η = 1e4 (diverged)"), "{t:?}");
        assert!(t.iter().any(|l| l == "η = 1"), "{t:?}");
    }
}
