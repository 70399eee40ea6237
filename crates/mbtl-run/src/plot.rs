//! Figures as PNG and SVG (plotters, no system font libraries: text uses the bundled DejaVu Sans).
//! Each figure draws on any plotters backend ([`Figure`]); [`save`] writes both files.

use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use mbtl_select::replay::StrategyName;

use crate::error::{Result, RunError};
use crate::fsutil::write_atomic;

/// A figure mbtl refuses to draw, in its own words.
macro_rules! draw_err {
    ($($t:tt)*) => { RunError::Report(format!($($t)*)) };
}

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

/// One line of a curve figure: `values[k-1]` at `k`, optionally with a ± band and the
/// paper's published points `(k, V_k)` (drawn dashed, with markers, in the same colour).
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
    pub band: Option<&'a [f64]>,
    pub paper: Option<&'a [(usize, f64)]>,
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
    root: DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| RunError::Draw {
        source: Box::new(e),
    };
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
        for &(k, v) in s.paper.unwrap_or(&[]) {
            if k <= k_max {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(draw_err!("nothing to plot"));
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
        .x_labels(k_max.min(25))
        // k is an integer: label whole numbers only.
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
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
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .map(|(k, v)| ((k + 1) as f64, *v))
            .collect();
        // Constant levels (Independent, Multi-task, Oracle) are dashed baselines; sequential
        // strategies get markers, staggered per series, so that coinciding curves stay visible.
        let constant = s
            .name
            .parse::<StrategyName>()
            .is_ok_and(StrategyName::is_constant);
        let drawn = if constant {
            chart
                .draw_series(DashedLineSeries::new(
                    points.clone(),
                    10,
                    6,
                    color.stroke_width(2),
                ))
                .map_err(err)?
        } else {
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(err)?
        };
        drawn.label(s.name).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
        });
        if !constant {
            let every = (k_max / 12).max(1);
            let marked = points
                .iter()
                .enumerate()
                .filter(|(k, _)| k % every == i % every)
                .map(|(_, p)| *p);
            match i % 3 {
                0 => chart
                    .draw_series(marked.map(|p| Circle::new(p, 4, color.filled())))
                    .map(|_| ()),
                1 => chart
                    .draw_series(marked.map(|p| TriangleMarker::new(p, 5, color.filled())))
                    .map(|_| ()),
                _ => chart
                    .draw_series(marked.map(|p| Cross::new(p, 4, color.stroke_width(2))))
                    .map(|_| ()),
            }
            .map_err(err)?;
        }
        if let Some(paper) = s.paper {
            let points: Vec<(f64, f64)> = paper
                .iter()
                .filter(|(k, _)| *k <= k_max)
                .map(|&(k, v)| (k as f64, v))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(
                    points.clone(),
                    6,
                    4,
                    color.stroke_width(1),
                ))
                .map_err(err)?
                .label(format!("{} (paper)", s.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 6, y)], color.stroke_width(1))
                });
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&p| Circle::new(p, 3, color.stroke_width(1))),
                )
                .map_err(err)?;
        }
    }
    legend_and_present(&mut chart, &root)
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The legend box (lower right) and the final flush, shared by the line figures.
fn legend_and_present<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    root: &DrawingArea<DB, Shift>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| RunError::Draw {
        source: Box::new(e),
    };
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Something drawable on any plotters backend.
pub trait Figure {
    /// Pixel size of the PNG (and SVG canvas).
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Writes `figure` to `stem.svg` and `stem.png`, the PNG being the SVG rasterised with
/// anti-aliasing (the same picture, text in the bundled font). Both are made in memory and
/// written with [`write_atomic`], so a crash or a full disk never leaves half a figure and an
/// I/O error names the file.
pub fn save(stem: &Path, figure: &impl Figure) -> Result<()> {
    register_font();
    let (w, h) = figure.size();
    let mut svg = String::new();
    let svg_file = stem.with_extension("svg");
    let failed = |source| RunError::Figure {
        file: svg_file.clone(),
        source,
    };
    figure
        .draw(SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area())
        .map_err(|e| failed(Box::new(e)))?;
    let png = rasterize(&svg, w, h).map_err(failed)?;
    write_atomic(&stem.with_extension("png"), &png)?;
    write_atomic(&stem.with_extension("svg"), svg.as_bytes())
}

/// The PNG of an SVG of `w × h` pixels, on white.
fn rasterize(
    svg: &str,
    w: u32,
    h: u32,
) -> std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        ..usvg::Options::default()
    };
    {
        let fonts = options.fontdb_mut();
        fonts.load_font_data(include_bytes!("../assets/DejaVuSans.ttf").to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
    }
    let tree = usvg::Tree::from_str(svg, &options)?;
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or("empty figure")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}

/// Generalization curves `V_k` against the number of trained tasks.
pub struct Curves<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series<'a>],
}

impl Figure for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw_curves(root, self.title, self.x_label, self.y_label, self.series)
    }
}

/// Writes the curves to `stem.png` and `stem.svg`.
pub fn curves(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<()> {
    save(
        stem,
        &Curves {
            title,
            x_label,
            y_label,
            series,
        },
    )
}

/// Every source's learning curve (return against environment steps); trainings that did not
/// reach the report's threshold on their own task drawn in red, the others in blue.
pub struct TrainingCurves<'a> {
    pub title: &'a str,
    pub curves: &'a [SourceCurve],
    pub y_label: &'a str,
}

/// One source's learning curve: `(environment steps, return)` points, and whether the
/// training counts as trained.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCurve {
    pub points: Vec<(f64, f64)>,
    pub trained: bool,
}

impl Figure for TrainingCurves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| RunError::Draw {
            source: Box::new(e),
        };
        root.fill(&WHITE).map_err(err)?;
        let points = self.curves.iter().flat_map(|c| c.points.iter());
        let (mut x_hi, mut lo, mut hi) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in points {
            x_hi = x_hi.max(x);
            lo = lo.min(y);
            hi = hi.max(y);
        }
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(draw_err!("no learning curve to plot"));
        }
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let mut chart = ChartBuilder::on(&root)
            .caption(self.title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(62)
            .build_cartesian_2d(0f64..x_hi, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("environment steps")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(self.y_label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let ok = RGBColor(31, 119, 180);
        let bad = RGBColor(214, 39, 40);
        // Trained ones first, so that the failures lie on top.
        for want in [true, false] {
            let color = if want { ok.mix(0.35) } else { bad.mix(0.8) };
            let mut labelled = false;
            for curve in self.curves.iter().filter(|c| c.trained == want) {
                let drawn = chart
                    .draw_series(LineSeries::new(
                        curve.points.iter().copied(),
                        color.stroke_width(1),
                    ))
                    .map_err(err)?;
                if !labelled {
                    let n = self.curves.iter().filter(|c| c.trained == want).count();
                    let label = if want {
                        format!("trained ({n})")
                    } else {
                        format!("did not train ({n})")
                    };
                    let solid = if want { ok } else { bad };
                    drawn.label(label).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], solid.stroke_width(2))
                    });
                    labelled = true;
                }
            }
        }
        legend_and_present(&mut chart, &root)
    }
}

/// Viridis, sampled at five stops and interpolated linearly (`t` in `[0, 1]`).
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A transfer matrix as a heatmap: row = source, column = target; rows never trained are grey.
pub struct Heatmap<'a> {
    pub title: &'a str,
    /// Per source, its normalised row if trained.
    pub rows: &'a [Option<Vec<f64>>],
    /// On a 1-D space, the varied feature and every task's value: the axes are labelled in
    /// those values instead of task indices.
    pub axis: Option<(&'a str, &'a [f64])>,
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        (760, 680)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| RunError::Draw {
            source: Box::new(e),
        };
        let n = self.rows.len();
        if n == 0 {
            return Err(draw_err!("an empty matrix"));
        }
        root.fill(&WHITE).map_err(err)?;
        let (main, legend) = root.split_horizontally(680);
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, n as f64..0f64)
            .map_err(err)?;
        // Cell i spans [i, i + 1): a tick at x labels the task whose cell starts there.
        let label = |x: &f64| -> String {
            if (x - x.round()).abs() > 1e-9 {
                return String::new();
            }
            let i = x.round().max(0.0) as usize;
            match self.axis {
                Some((_, values)) if i < values.len() => format!("{:.3}", values[i])
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string(),
                Some(_) => String::new(),
                None => format!("{x:.0}"),
            }
        };
        let (x_desc, y_desc) = match self.axis {
            Some((feature, _)) => (format!("target: {feature}"), format!("source: {feature}")),
            None => ("target task".to_string(), "source task".to_string()),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&label)
            .y_label_formatter(&label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let cells = self.rows.iter().enumerate().flat_map(|(s, row)| {
            (0..n).map(move |t| {
                let color = match row {
                    Some(r) => viridis(r[t]),
                    None => RGBColor(225, 225, 225),
                };
                Rectangle::new(
                    [(t as f64, s as f64), ((t + 1) as f64, (s + 1) as f64)],
                    color.filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(err)?;
        // Colour bar: 0 at the bottom, 1 at the top.
        let (_, h) = legend.dim_in_pixel();
        let (top, bottom) = (60i32, h as i32 - 60);
        for y in top..bottom {
            let t = 1.0 - (y - top) as f64 / (bottom - top) as f64;
            legend
                .draw(&Rectangle::new([(20, y), (44, y + 1)], viridis(t).filled()))
                .map_err(err)?;
        }
        for i in 0..=4 {
            let t = i as f64 / 4.0;
            let y = bottom - ((bottom - top) as f64 * t) as i32;
            legend
                .draw(&PathElement::new(vec![(44, y), (50, y)], BLACK))
                .map_err(err)?;
            legend
                .draw(&Text::new(format!("{t}"), (52, y - 7), ("sans-serif", 13)))
                .map_err(err)?;
        }
        for (line, dy) in [("normalised", 42), ("return", 26)] {
            legend
                .draw(&Text::new(line, (4, top - dy), ("sans-serif", 13)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

/// The GP posterior mean of the set point on a 2-D slice of a grid (the first two axes, the
/// others fixed), with the trained tasks of that slice numbered in the order chosen.
pub struct PosteriorMap<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Values of the first and second axis.
    pub xs: &'a [f64],
    pub ys: &'a [f64],
    /// Posterior mean, `ys.len()` rows of `xs.len()`.
    pub mean: &'a [f64],
    /// `(x index, y index, order)` of the trained tasks in the slice.
    pub chosen: &'a [(usize, usize, usize)],
}

impl Figure for PosteriorMap<'_> {
    fn size(&self) -> (u32, u32) {
        (760, 680)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| RunError::Draw {
            source: Box::new(e),
        };
        let (nx, ny) = (self.xs.len(), self.ys.len());
        if nx == 0 || ny == 0 || self.mean.len() != nx * ny {
            return Err(draw_err!("a posterior map needs a full slice"));
        }
        root.fill(&WHITE).map_err(err)?;
        let (main, legend) = root.split_horizontally(680);
        let (lo, hi) = self
            .mean
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let mut chart = ChartBuilder::on(&main)
            .caption(self.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)
            .map_err(err)?;
        // Ticks on cell edges are labelled with the value of the cell they start (others blank).
        let value = |v: &[f64], x: &f64| -> String {
            if (x - x.round()).abs() > 1e-9 {
                return String::new();
            }
            let i = x.round().max(0.0) as usize;
            v.get(i).map_or(String::new(), |v| {
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            })
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&|x| value(self.xs, x))
            .y_label_formatter(&|y| value(self.ys, y))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let cells = (0..ny).flat_map(|iy| {
            (0..nx).map(move |ix| {
                let t = (self.mean[iy * nx + ix] - lo) / span;
                Rectangle::new(
                    [(ix as f64, iy as f64), ((ix + 1) as f64, (iy + 1) as f64)],
                    viridis(t).filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(err)?;
        for &(ix, iy, order) in self.chosen {
            let c = (ix as f64 + 0.5, iy as f64 + 0.5);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(c)
                        + Circle::new((0, 0), 9, WHITE.filled())
                        + Text::new(order.to_string(), (-4, -7), ("sans-serif", 12)),
                ))
                .map_err(err)?;
        }
        let (_, h) = legend.dim_in_pixel();
        let (top, bottom) = (60i32, h as i32 - 60);
        for y in top..bottom {
            let t = 1.0 - f64::from(y - top) / f64::from(bottom - top);
            legend
                .draw(&Rectangle::new([(20, y), (44, y + 1)], viridis(t).filled()))
                .map_err(err)?;
        }
        for (text, y) in [(format!("{hi:.2}"), top), (format!("{lo:.2}"), bottom - 12)] {
            legend
                .draw(&Text::new(text, (48, y), ("sans-serif", 13)))
                .map_err(err)?;
        }
        legend
            .draw(&Text::new("mean", (14, top - 26), ("sans-serif", 13)))
            .map_err(err)?;
        root.present().map_err(err)?;
        Ok(())
    }
}

/// The GP posterior of the set point over the context axis, with the trained tasks.
pub struct Posterior<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    /// Context value of every task.
    pub x: &'a [f64],
    pub mean: &'a [f64],
    pub std: &'a [f64],
    /// `(context value, observed J(x, x), order)` of each trained task.
    pub chosen: &'a [(f64, f64, usize)],
}

impl Figure for Posterior<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| RunError::Draw {
            source: Box::new(e),
        };
        root.fill(&WHITE).map_err(err)?;
        let (x0, x1) = self
            .x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let lo = self
            .mean
            .iter()
            .zip(self.std)
            .map(|(m, s)| m - 2.0 * s)
            .chain(self.chosen.iter().map(|c| c.1))
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .mean
            .iter()
            .zip(self.std)
            .map(|(m, s)| m + 2.0 * s)
            .chain(self.chosen.iter().map(|c| c.1))
            .fold(f64::NEG_INFINITY, f64::max);
        if !(x0.is_finite() && x1 > x0 && lo.is_finite() && hi.is_finite()) {
            return Err(draw_err!("nothing to plot"));
        }
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let mut chart = ChartBuilder::on(&root)
            .caption(self.title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(62)
            .build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc("normalised return (set point)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let blue = COLORS[0];
        let upper = self
            .x
            .iter()
            .zip(self.mean.iter().zip(self.std))
            .map(|(&x, (m, s))| (x, m + 2.0 * s));
        let lower = self
            .x
            .iter()
            .zip(self.mean.iter().zip(self.std))
            .rev()
            .map(|(&x, (m, s))| (x, m - 2.0 * s));
        chart
            .draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                blue.mix(0.18),
            )))
            .map_err(err)?
            .label("posterior ± 2σ")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 18, y + 5)], blue.mix(0.18).filled())
            });
        chart
            .draw_series(LineSeries::new(
                self.x.iter().copied().zip(self.mean.iter().copied()),
                blue.stroke_width(2),
            ))
            .map_err(err)?
            .label("posterior mean")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(2))
            });
        let red = COLORS[3];
        chart
            .draw_series(
                self.chosen
                    .iter()
                    .map(|&(x, y, _)| Circle::new((x, y), 6, red.filled())),
            )
            .map_err(err)?
            .label("trained tasks (observed)")
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, red.filled()));
        chart
            .draw_series(
                self.chosen
                    .iter()
                    .map(|&(x, y, k)| Text::new(format!("{k}"), (x, y + pad), ("sans-serif", 14))),
            )
            .map_err(err)?;
        legend_and_present(&mut chart, &root)
    }
}
