//! A confusion matrix as a figure: one square per (true, predicted) pair, shaded by the share of
//! the true class's rows that went there (so each row's shades sum to one, whatever the class
//! sizes), with the count written in the square.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::{DrawError, Figure};

/// `counts[t][p]`: rows of true class `t` predicted as `p`, for the classes named `classes`.
#[derive(Clone, Debug)]
pub struct ConfusionFigure {
    /// Class names, in the matrix's order.
    pub classes: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<usize>>,
}

/// Counts are written in the squares up to this many classes (beyond, only the shading).
const MAX_WRITTEN: usize = 30;

impl ConfusionFigure {
    fn cell(&self) -> i32 {
        (600 / self.classes.len().max(1)).clamp(12, 90) as i32
    }

    fn margin(&self) -> i32 {
        let longest = self
            .classes
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(1);
        (longest as i32 * 8 + 40).clamp(60, 220)
    }
}

/// White (none) to the palette's blue (all of the true class's rows).
fn shade(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let mix = |full: u8| (255.0 - s * (255.0 - f64::from(full))).round() as u8;
    RGBColor(mix(31), mix(119), mix(180))
}

impl Figure for ConfusionFigure {
    type Error = DrawError;

    fn size(&self) -> (u32, u32) {
        let side = self.cell() * self.classes.len() as i32 + self.margin() + 30;
        (side as u32, side as u32 + 10)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        area.fill(&WHITE)?;
        let (cell, m) = (self.cell(), self.margin());
        let k = self.classes.len();
        let label = ("sans-serif", 14).into_font().color(&BLACK);
        let small = ("sans-serif", (cell / 3).clamp(9, 16)).into_font();
        area.draw(&Text::new("predicted →", (m, m - 45), label.clone()))?;
        area.draw(&Text::new("true ↓", (4, m - 45), label.clone()))?;
        for (t, row) in self.counts.iter().enumerate().take(k) {
            let total: usize = row.iter().sum();
            let y = m + t as i32 * cell;
            area.draw(&Text::new(
                self.classes[t].clone(),
                (4, y + cell / 2 - 7),
                label.clone(),
            ))?;
            for (p, &n) in row.iter().enumerate().take(k) {
                let x = m + p as i32 * cell;
                let share = if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                };
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    shade(share).filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    BLACK.mix(0.2),
                ))?;
                if k <= MAX_WRITTEN {
                    let ink = if share > 0.55 { WHITE } else { BLACK };
                    area.draw(&Text::new(
                        n.to_string(),
                        (x + 4, y + cell / 2 - 6),
                        small.clone().color(&ink),
                    ))?;
                }
            }
        }
        for (p, c) in self.classes.iter().enumerate() {
            let x = m + p as i32 * cell + 2;
            area.draw(&Text::new(
                c.clone(),
                (x, m - 20),
                label.clone().transform(FontTransform::None),
            ))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_go_from_white_to_blue() {
        assert_eq!(shade(0.0), WHITE);
        assert_eq!(shade(1.0), RGBColor(31, 119, 180));
    }

    #[test]
    fn writes_an_svg_with_every_count() {
        let dir = std::env::temp_dir().join(format!("stoke-confusion-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = ConfusionFigure {
            classes: vec!["pos".into(), "neg".into()],
            counts: vec![vec![58, 2], vec![7, 53]],
        };
        let [svg, png] = crate::save(&f, &dir.join("confusion")).unwrap();
        let text = std::fs::read_to_string(svg).unwrap();
        // plotters writes each text on a line of its own
        for n in ["58", "2", "7", "53", "pos", "neg"] {
            assert!(text.contains(&format!("\n{n}\n")), "{n} missing");
        }
        assert!(std::fs::metadata(png).unwrap().len() > 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
