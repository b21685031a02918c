//! # stoke-plot
//!
//! What every stoke figure shares, so the recipes' reports and the loss-surface plots look
//! alike and are written alike:
//!
//! * [`save`]: one drawing ([`Figure`]) written as `BASE.svg` and `BASE.png`, with text drawn
//!   in a bundled font (DejaVu Sans, `assets/`), so no system font library is needed;
//! * [`PALETTE`], the ten series colours, and [`tick`], short axis labels;
//! * [`legend_line`] and [`draw_legend`], the legend's marker and box;
//! * [`ConfusionFigure`], a confusion matrix shaded by each true class's shares.

mod confusion;
mod figure;
mod font;
mod style;

pub use confusion::ConfusionFigure;
pub use figure::{DrawError, Figure, FigureError, save};
pub use font::ensure_fonts;
pub use style::{PALETTE, draw_legend, legend_line, tick};
