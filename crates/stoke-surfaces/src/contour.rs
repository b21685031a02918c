//! Iso-lines of a surface: a grid of values, contour levels, and marching squares.

use crate::surface::{Bounds, Surface};

/// `f` sampled on an `nx × ny` grid of nodes spanning `bounds` (row-major, `y` outer).
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub bounds: Bounds,
    pub nx: usize,
    pub ny: usize,
    pub values: Vec<f64>,
}

impl Grid {
    /// Samples `surface.value` at `nx × ny` evenly spaced nodes, corners included.
    pub fn sample(surface: Surface, bounds: Bounds, nx: usize, ny: usize) -> Grid {
        let mut values = Vec::with_capacity(nx * ny);
        for j in 0..ny {
            for i in 0..nx {
                let [x, y] = node(bounds, nx, ny, i, j);
                values.push(surface.value(x, y));
            }
        }
        Grid {
            bounds,
            nx,
            ny,
            values,
        }
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        self.values[j * self.nx + i]
    }
}

fn node(b: Bounds, nx: usize, ny: usize, i: usize, j: usize) -> [f64; 2] {
    [
        b.x.0 + (b.x.1 - b.x.0) * i as f64 / (nx - 1) as f64,
        b.y.0 + (b.y.1 - b.y.0) * j as f64 / (ny - 1) as f64,
    ]
}

/// The `q`-quantile (0..1) of the finite values.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Contour levels for `surface` over `grid`, low to high.
///
/// Surfaces with a minimum `f*` get levels `f* + g_k` with gaps `g_k` spaced geometrically from
/// just above the smallest gap on the grid up to the 90th percentile of the gaps, so both the
/// floor of a valley and its walls get lines. The saddle gets evenly spaced levels symmetric
/// around 0.
pub(crate) fn levels(surface: Surface, grid: &Grid, count: usize) -> Vec<f64> {
    let count = count.max(2);
    match surface.min_value() {
        Some(fmin) => {
            let gaps: Vec<f64> = grid.values.iter().map(|v| v - fmin).collect();
            let hi = quantile(&gaps, 0.9).max(1e-9);
            let lo = quantile(&gaps, 0.002).max(hi * 1e-6);
            // g_k = lo·(hi/lo)^(k/(count−1))
            (0..count)
                .map(|k| fmin + lo * (hi / lo).powf(k as f64 / (count - 1) as f64))
                .collect()
        }
        None => {
            let abs: Vec<f64> = grid.values.iter().map(|v| v.abs()).collect();
            let m = quantile(&abs, 0.9).max(1e-9);
            // evenly spaced in [−m, m], an odd count so that 0 is one of them
            let n = count | 1;
            (0..n)
                .map(|k| -m + 2.0 * m * k as f64 / (n - 1) as f64)
                .collect()
        }
    }
}

/// The crossing point of `level` on the grid edge between nodes `a` and `b`, by linear
/// interpolation `p = a + t·(b − a)`, `t = (level − f_a)/(f_b − f_a)`.
fn crossing(g: &Grid, a: (usize, usize), b: (usize, usize), level: f64) -> [f64; 2] {
    let (fa, fb) = (g.at(a.0, a.1), g.at(b.0, b.1));
    let t = if fb != fa {
        ((level - fa) / (fb - fa)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let pa = node(g.bounds, g.nx, g.ny, a.0, a.1);
    let pb = node(g.bounds, g.nx, g.ny, b.0, b.1);
    [pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1])]
}

/// The iso-line `f = level` as polylines, by marching squares.
///
/// Each grid cell whose corners are not all on one side of the level contributes one segment
/// (two in the ambiguous diagonal case, resolved by the cell-centre average) between crossing
/// points on its edges. A crossing point lies on a grid edge shared by at most two cells, so
/// segments are joined into polylines by following shared edges.
pub(crate) fn contour_lines(g: &Grid, level: f64) -> Vec<Vec<[f64; 2]>> {
    let (nx, ny) = (g.nx, g.ny);
    // Edge ids: horizontal edge from node (i, j) to (i+1, j) is 2·(j·nx + i); vertical edge from
    // (i, j) to (i, j+1) is 2·(j·nx + i) + 1.
    let h = |i: usize, j: usize| 2 * (j * nx + i);
    let v = |i: usize, j: usize| 2 * (j * nx + i) + 1;
    let above = |i: usize, j: usize| g.at(i, j) >= level;
    let mut segments: Vec<[usize; 2]> = Vec::new();
    for j in 0..ny.saturating_sub(1) {
        for i in 0..nx.saturating_sub(1) {
            // corners: c0 (i, j), c1 (i+1, j), c2 (i+1, j+1), c3 (i, j+1)
            let c = [
                above(i, j),
                above(i + 1, j),
                above(i + 1, j + 1),
                above(i, j + 1),
            ];
            let (bottom, right, top, left) = (h(i, j), v(i + 1, j), h(i, j + 1), v(i, j));
            // edges in order: bottom (c0–c1), right (c1–c2), top (c2–c3), left (c3–c0)
            let edges = [bottom, right, top, left];
            let crossed: Vec<usize> = (0..4)
                .filter(|&k| c[k] != c[(k + 1) % 4])
                .map(|k| edges[k])
                .collect();
            match crossed.len() {
                2 => segments.push([crossed[0], crossed[1]]),
                4 => {
                    let centre =
                        (g.at(i, j) + g.at(i + 1, j) + g.at(i + 1, j + 1) + g.at(i, j + 1)) / 4.0
                            >= level;
                    if c[0] != centre {
                        // c0 and c2 are cut off on their own
                        segments.push([left, bottom]);
                        segments.push([right, top]);
                    } else {
                        // c1 and c3 are cut off on their own
                        segments.push([bottom, right]);
                        segments.push([top, left]);
                    }
                }
                _ => {}
            }
        }
    }
    // adjacency: edge id → the (at most two) segments through it
    let mut by_edge: std::collections::HashMap<usize, Vec<usize>> =
        std::collections::HashMap::new();
    for (s, seg) in segments.iter().enumerate() {
        for &e in seg {
            by_edge.entry(e).or_default().push(s);
        }
    }
    let point = |e: usize| -> [f64; 2] {
        let cell = e / 2;
        let (i, j) = (cell % nx, cell / nx);
        if e.is_multiple_of(2) {
            crossing(g, (i, j), (i + 1, j), level)
        } else {
            crossing(g, (i, j), (i, j + 1), level)
        }
    };
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    // open chains start at an edge with a single segment (the grid border); then closed loops
    let mut starts: Vec<usize> = by_edge
        .iter()
        .filter(|(_, s)| s.len() == 1)
        .map(|(&e, _)| e)
        .collect();
    starts.sort_unstable();
    let mut loop_starts: Vec<usize> = segments.iter().map(|s| s[0]).collect();
    loop_starts.sort_unstable();
    for start in starts.into_iter().chain(loop_starts) {
        let mut edge = start;
        let mut line = vec![point(edge)];
        while let Some(&s) = by_edge[&edge].iter().find(|&&s| !used[s]) {
            used[s] = true;
            edge = if segments[s][0] == edge {
                segments[s][1]
            } else {
                segments[s][0]
            };
            line.push(point(edge));
        }
        if line.len() >= 2 {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_contours_lie_on_the_circle_and_close() {
        // f = ½(x² + 100y²) at level L is the ellipse x²/(2L) + y²/(2L/100) = 1.
        let b = Bounds {
            x: (-4.0, 4.0),
            y: (-4.0, 4.0),
        };
        let g = Grid::sample(Surface::Quadratic, b, 161, 161);
        let level = 2.0; // x-radius 2, y-radius 0.2
        let lines = contour_lines(&g, level);
        assert_eq!(lines.len(), 1, "one closed ellipse");
        let l = &lines[0];
        assert!(l.len() > 20);
        let (first, last) = (l[0], l[l.len() - 1]);
        assert!((first[0] - last[0]).abs() < 1e-12 && (first[1] - last[1]).abs() < 1e-12);
        for p in l {
            let r = p[0] * p[0] / 4.0 + p[1] * p[1] / 0.04;
            assert!((r - 1.0).abs() < 0.1, "{p:?}: {r}");
        }
    }

    #[test]
    fn saddle_levels_are_symmetric_and_minimum_levels_increase() {
        let s = Surface::Saddle;
        let g = Grid::sample(s, s.bounds(), 50, 50);
        let lv = levels(s, &g, 12);
        assert_eq!(lv.len(), 13);
        assert!((lv[0] + lv[12]).abs() < 1e-9 && lv[6].abs() < 1e-9);
        let r = Surface::Rosenbrock;
        let g = Grid::sample(r, r.bounds(), 50, 50);
        let lv = levels(r, &g, 10);
        assert!(lv.windows(2).all(|w| w[1] > w[0]) && lv[0] > 0.0);
    }
}
