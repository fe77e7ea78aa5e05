//! `relutui plot`: SVG figures from relutui's JSON-lines logs, sweep folders and the paper
//! command's JSON. Pure Rust: `plotters` with only its SVG backend and its built-in text
//! metrics, so no fontconfig or freetype; the viewer draws the text in its own sans-serif.
//!
//! Figures ([`Figure`]): error curves per network, exact sparsity per layer with lr and L1
//! changes marked, the claims over training (active-set stability and linear-probe error per
//! layer), the Figure 3 scatter of a sweep and Table 1 as grouped bars beside the paper.
//! Every figure has a title, axis labels with units and a legend, and its text is sized to be
//! read with the SVG shown 600 px wide.

pub mod curves;
pub mod logs;
pub mod scatter;
pub mod table1;

use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::cli::plot::{Figure, PlotArgs};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font family the SVG asks for; the viewer supplies it.
pub const FONT: &str = "sans-serif";
pub const TITLE_SIZE: u32 = 24;
pub const CAPTION_SIZE: u32 = 21;
pub const LABEL_SIZE: u32 = 17;
pub const DESC_SIZE: u32 = 18;
pub const LEGEND_SIZE: u32 = 16;

/// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];
pub const GREY: RGBColor = RGBColor(120, 120, 120);

/// Why a figure was not made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A log, folder or JSON file that cannot be used (exit 2).
    #[error("{0}")]
    Input(String),
    /// The output file cannot be written (exit 2).
    #[error("--out {}: {source}", path.display())]
    Output { path: PathBuf, source: io::Error },
    /// plotters failed (exit 1).
    #[error("drawing failed: {0}")]
    Draw(String),
}

impl PlotError {
    pub fn exit_code(&self) -> u8 {
        match self {
            PlotError::Draw(_) => 1,
            _ => 2,
        }
    }
}

/// The one front-end error, whose exit code `main` turns into the process exit: bad input
/// and an unwritable `--out` are usage errors (2), a drawing failure a run-time one (1).
impl From<PlotError> for crate::frontend::runtime::Error {
    fn from(e: PlotError) -> Self {
        use crate::frontend::runtime::{Error, EXIT_USAGE};
        if e.exit_code() == EXIT_USAGE {
            Error::Usage(e.to_string())
        } else {
            Error::Tool(e.to_string())
        }
    }
}

impl From<logs::LogError> for PlotError {
    fn from(e: logs::LogError) -> Self {
        PlotError::Input(e.to_string())
    }
}

/// Turns a plotters error into ours.
pub fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// One line of a panel.
#[derive(Debug, Clone)]
pub struct Line {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A vertical marker: an lr or L1 change.
#[derive(Debug, Clone)]
pub struct Mark {
    pub x: f64,
    pub label: String,
}

/// A panel of lines over epochs.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub x: Range<f64>,
    pub y: Range<f64>,
    pub x_desc: String,
    pub y_desc: String,
    pub lines: Vec<Line>,
    pub marks: Vec<Mark>,
    /// The legend at the middle of the right edge instead of its top (for lines that fill the
    /// top, like a rectifier's sparsity).
    pub legend_middle: bool,
}

/// A readable tick label: no trailing zeros, at most 3 decimals.
pub fn tick(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Draws `panel` on `area`: axes with labels, the lines with a dot per epoch, the marks, and a
/// legend in the upper right corner.
pub fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, CAPTION_SIZE))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(68)
        .build_cartesian_2d(panel.x.clone(), panel.y.clone())
        .map_err(draw_err)?;
    let int_x = |x: &f64| {
        if (x - x.round()).abs() < 1e-9 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    let x_ticks = (panel.x.end - panel.x.start).round().clamp(1.0, 10.0) as usize + 1;
    chart
        .configure_mesh()
        .x_desc(panel.x_desc.as_str())
        .y_desc(panel.y_desc.as_str())
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, DESC_SIZE))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_labels(x_ticks)
        .y_labels(6)
        .x_label_formatter(&int_x)
        .y_label_formatter(&|y| tick(*y))
        .draw()
        .map_err(draw_err)?;
    let (y0, y1) = (panel.y.start, panel.y.end);
    for (k, m) in panel.marks.iter().enumerate() {
        let style = ShapeStyle {
            color: GREY.to_rgba(),
            filled: false,
            stroke_width: 2,
        };
        chart
            .draw_series(DashedLineSeries::new([(m.x, y0), (m.x, y1)], 6, 4, style))
            .map_err(draw_err)?;
        // Under a top-right legend, staggered so that nearby marks do not overlap; on the
        // line's left in the right part of the panel, so that the text stays inside.
        let below = if panel.legend_middle { 0.02 } else { 0.27 };
        let y = y1 - (y1 - y0) * (below + 0.065 * (k % 3) as f64);
        let right_half = m.x > panel.x.start + 0.6 * (panel.x.end - panel.x.start);
        let (text, h) = if right_half {
            (format!("{} ", m.label), HPos::Right)
        } else {
            (format!(" {}", m.label), HPos::Left)
        };
        let font = (FONT, LEGEND_SIZE)
            .into_font()
            .color(&GREY)
            .pos(Pos::new(h, VPos::Top));
        chart
            .draw_series(std::iter::once(Text::new(text, (m.x, y), font)))
            .map_err(draw_err)?;
    }
    for line in &panel.lines {
        let style = ShapeStyle {
            color: line.color.to_rgba(),
            filled: false,
            stroke_width: 3,
        };
        let pts = line.points.clone();
        let anno = if line.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 10, 6, style))
                .map_err(draw_err)?
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(draw_err)?
        };
        let dashed = line.dashed;
        anno.label(line.label.as_str()).legend(move |(x, y)| {
            let len = if dashed { 10 } else { 26 };
            PathElement::new(vec![(x, y), (x + len, y)], style)
        });
        if pts.len() <= 60 && !line.dashed {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, style.filled())))
                .map_err(draw_err)?;
        }
    }
    if !panel.lines.is_empty() {
        chart
            .configure_series_labels()
            .label_font((FONT, LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .position(if panel.legend_middle {
                SeriesLabelPosition::MiddleRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Lays panels out two to a row under a figure title and renders them to SVG text.
pub fn render_panels(title: &str, panels: &[Panel], width: u32) -> Result<String, PlotError> {
    let cols = panels.len().clamp(1, 2);
    let rows = panels.len().div_ceil(cols).max(1);
    let panel_h = (f64::from(width) * 0.5) as u32;
    let height = 50 + panel_h * rows as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let body = root.titled(title, (FONT, TITLE_SIZE)).map_err(draw_err)?;
        let areas = body.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(&areas) {
            draw_panel(area, panel)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Writes `svg` to `out` ('-': stdout) and says where on stderr.
pub fn write_svg(svg: &str, out: &Path) -> Result<(), PlotError> {
    if out == Path::new("-") {
        let mut stdout = io::stdout().lock();
        return stdout
            .write_all(svg.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|source| PlotError::Output {
                path: out.to_path_buf(),
                source,
            });
    }
    fs::write(out, svg).map_err(|source| PlotError::Output {
        path: out.to_path_buf(),
        source,
    })?;
    let _ = writeln!(io::stderr(), "plot: wrote {}", out.display());
    Ok(())
}

/// Reads every log, warning on stderr about skipped lines.
fn read_logs(paths: &[PathBuf]) -> Result<Vec<logs::NetSeries>, PlotError> {
    let mut nets = Vec::new();
    for path in paths {
        let read = logs::read_log(path)?;
        if read.skipped > 0 {
            let _ = writeln!(
                io::stderr(),
                "plot: {}: skipped {} lines that are not epoch lines",
                path.display(),
                read.skipped
            );
        }
        nets.extend(read.nets);
    }
    // Several files: name each series by its file as well.
    if paths.len() > 1 {
        for n in &mut nets {
            let stem = n
                .file
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            n.net = format!("{stem}: {}", n.net);
        }
    }
    Ok(nets)
}

/// The figure's SVG text, without writing it.
pub fn make(figure: &Figure) -> Result<String, PlotError> {
    match figure {
        Figure::Errors(a) => curves::errors(&read_logs(&a.logs)?, a.width),
        Figure::Sparsity(a) => curves::sparsity(&read_logs(&a.logs)?, a.width),
        Figure::Claims(a) => curves::claims(&read_logs(&a.logs)?, a.width),
        Figure::Scatter(a) => {
            let runs = scatter::read_dir(&a.dir)?;
            scatter::render(&runs, &scatter_title(&a.dir), a.width)
        }
        Figure::Table1(a) => table1::render(&table1::read(&a.json)?, a.width),
    }
}

fn scatter_title(dir: &Path) -> String {
    format!(
        "Figure 3: sparsity against test error ({})",
        dir.file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
    )
}

/// The `relutui plot` front end; `main` prints the error and exits with its code.
pub fn run(args: &PlotArgs) -> Result<(), crate::frontend::runtime::Error> {
    let (out, default) = match &args.figure {
        Figure::Errors(a) => (&a.out, "errors.svg"),
        Figure::Sparsity(a) => (&a.out, "sparsity.svg"),
        Figure::Claims(a) => (&a.out, "claims.svg"),
        Figure::Scatter(a) => (&a.out, "figure3.svg"),
        Figure::Table1(a) => (&a.out, "table1.svg"),
    };
    let out = out.clone().unwrap_or_else(|| PathBuf::from(default));
    // Fail before the work when the output's folder is not there.
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if out != Path::new("-") && !folder.is_dir() {
        return Err(PlotError::Output {
            path: out.clone(),
            source: io::Error::new(io::ErrorKind::NotFound, "its folder does not exist"),
        }
        .into());
    }
    make(&args.figure).and_then(|svg| write_svg(&svg, &out))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(1.0 / 3.0), "0.333");
        assert_eq!(tick(-0.0001), "0");
    }
}
