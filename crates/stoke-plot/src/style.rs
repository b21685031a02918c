//! The look every figure shares: series colours, axis labels, the legend.

use plotters::coord::CoordTranslate;
use plotters::prelude::*;

/// Ten distinguishable series colours (the "tab10" set): blue, orange, green, red, purple,
/// brown, pink, grey, olive, cyan.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// An axis label for `v`: three significant digits (all the integer digits above 100) without
/// trailing zeros (`0.3`, not `0.30000000000000004`; `2`, not `2.0`), scientific notation
/// outside `[1e-3, 1e5)`.
pub fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.1e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The legend marker of a line series: a short thick stroke in its colour.
pub fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
}

/// Draws the legend of `chart`'s labelled series at `position`: a bordered, nearly opaque
/// white box in 16-pixel text.
pub fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.88))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(0.7000000000000001), "0.7");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(1234.6), "1235");
        assert_eq!(tick(0.00005), "5.0e-5");
        assert_eq!(tick(0.0), "0");
    }
}
