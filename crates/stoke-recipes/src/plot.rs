//! Shared plotting set-up: plotters draws text in PNGs with a bundled font (DejaVu Sans,
//! `assets/DejaVuSans.ttf`, licence beside it), so no system font library is needed.

use std::sync::Once;

use plotters::style::FontStyle;

static FONT: Once = Once::new();

/// Registers the bundled font as `sans-serif`; call before drawing any text.
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
