//! Figures as PNG and SVG (plotters, no system font libraries: text uses the bundled DejaVu Sans).

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // The bundled font is valid TrueType; registration cannot fail on it.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

/// One line of a curve figure: `values[k-1]` at `k`, optionally with a ± band.
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
    pub band: Option<&'a [f64]>,
}

const COLORS: [RGBColor; 10] = [
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

fn draw_curves<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e:?}");
    root.fill(&WHITE).map_err(err)?;
    let k_max = series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for (i, v) in s.values.iter().enumerate() {
            let b = s.band.map_or(0.0, |b| b[i]);
            lo = lo.min(v - b);
            hi = hi.max(v + b);
        }
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(anyhow!("nothing to plot"));
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(1f64..k_max as f64, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        if let Some(band) = s.band {
            let upper = s
                .values
                .iter()
                .zip(band)
                .enumerate()
                .map(|(k, (v, b))| ((k + 1) as f64, v + b));
            let lower = s
                .values
                .iter()
                .zip(band)
                .enumerate()
                .rev()
                .map(|(k, (v, b))| ((k + 1) as f64, v - b));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    upper.chain(lower).collect::<Vec<_>>(),
                    color.mix(0.15),
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                s.values
                    .iter()
                    .enumerate()
                    .map(|(k, v)| ((k + 1) as f64, *v)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(s.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Writes the curves to `stem.png` and `stem.svg`.
pub fn curves(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<()> {
    register_font();
    // Draw beside the final names and rename, so a crash never leaves half a figure.
    let tmp_png = stem.with_extension("tmp.png");
    let tmp_svg = stem.with_extension("tmp.svg");
    draw_curves(
        BitMapBackend::new(&tmp_png, (900, 560)).into_drawing_area(),
        title,
        x_label,
        y_label,
        series,
    )?;
    draw_curves(
        SVGBackend::new(&tmp_svg, (900, 560)).into_drawing_area(),
        title,
        x_label,
        y_label,
        series,
    )?;
    std::fs::rename(&tmp_png, stem.with_extension("png"))?;
    std::fs::rename(&tmp_svg, stem.with_extension("svg"))?;
    Ok(())
}
