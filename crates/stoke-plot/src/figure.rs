//! One drawing, two files: a [`Figure`] draws itself on any plotters backend, and [`save`]
//! runs it once on an SVG and once on a PNG backend.

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font::ensure_fonts;

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Why drawing failed.
    type Error: Error + Send + Sync + 'static;

    /// Width and height in pixels (the same for the SVG and the PNG).
    fn size(&self) -> (u32, u32);

    /// Draws the whole figure on `area`.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), Self::Error>
    where
        DB::ErrorType: 'static;
}

/// A plotters backend error, whatever the backend: `?` turns any
/// `DrawingAreaErrorKind` into one.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DrawError(Box<dyn Error + Send + Sync>);

impl<E: Error + Send + Sync + 'static> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(Box::new(e))
    }
}

/// A figure that could not be drawn into `path`.
#[derive(Debug, thiserror::Error)]
#[error("plot {}: {source}", path.display())]
pub struct FigureError<E: Error + 'static> {
    /// The file being written.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: E,
}

/// Draws `figure` into `BASE.svg` and `BASE.png` (`base` with its extension replaced) and
/// returns both paths, SVG first.
pub fn save<F: Figure>(figure: &F, base: &Path) -> Result<[PathBuf; 2], FigureError<F::Error>> {
    ensure_fonts();
    let svg = base.with_extension("svg");
    let png = base.with_extension("png");
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FigureError { path, source }
    };
    {
        let area = SVGBackend::new(&svg, figure.size()).into_drawing_area();
        figure.draw(&area).map_err(failed(&svg))?;
    }
    let area = BitMapBackend::new(&png, figure.size()).into_drawing_area();
    figure.draw(&area).map_err(failed(&png))?;
    drop(area);
    Ok([svg, png])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white square with one line of text: needs the bundled font in the PNG.
    struct Label;

    impl Figure for Label {
        type Error = DrawError;
        fn size(&self) -> (u32, u32) {
            (120, 40)
        }
        fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
        where
            DB::ErrorType: 'static,
        {
            area.fill(&WHITE)?;
            area.draw(&Text::new("stoke", (10, 10), ("sans-serif", 20)))?;
            area.present()?;
            Ok(())
        }
    }

    #[test]
    fn one_drawing_becomes_an_svg_and_a_png() {
        let dir = std::env::temp_dir().join(format!("stoke-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let [svg, png] = save(&Label, &dir.join("label")).unwrap();
        assert_eq!(
            (svg.file_name().unwrap(), png.file_name().unwrap()),
            ("label.svg".as_ref(), "label.png".as_ref())
        );
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg") && text.contains("stoke"), "{text}");
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // A missing directory is an error naming the file, not a panic.
        let e = save(&Label, &dir.join("missing/label")).unwrap_err();
        assert!(e.to_string().contains("missing/label.svg"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
