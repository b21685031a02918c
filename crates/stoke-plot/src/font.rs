//! The bundled font: plotters draws text in PNGs with DejaVu Sans (`assets/DejaVuSans.ttf`,
//! licence beside it), registered as `sans-serif`, so no system font library is needed.

use std::sync::Once;

use plotters::style::FontStyle;

static FONT: Once = Once::new();

/// Registers the bundled font as `sans-serif` (once). [`save`](crate::save) calls it; call it
/// yourself only before drawing text with plotters directly.
pub fn ensure_fonts() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            // The only error is an unparsable font, which the bundled one is not.
            let _ = plotters::style::register_font("sans-serif", style, bytes);
        }
    });
}
