//! The paper's Figure 3 as an SVG scatter: one point per run of a sweep, its final mean
//! exact sparsity against its final test error, coloured by L1 penalty. Runs at chance level
//! (all units silent, say) are listed under the chart instead of squashing the others.

use std::fs;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::logs::{self, NetSeries};
use super::{draw_err, tick, PlotError, CAPTION_SIZE, FONT, LABEL_SIZE, LEGEND_SIZE, PALETTE};
use super::{DESC_SIZE, TITLE_SIZE};

/// One run's final point.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPoint {
    pub file: PathBuf,
    pub l1: f64,
    pub seed: Option<u64>,
    pub epoch: f64,
    /// Mean over hidden layers of the fraction of exact zeros on the validation set.
    pub sparsity: f64,
    pub test_error: f64,
}

/// The last epoch of the rectifier network of a series as a point (`None` without one).
pub fn final_point(n: &NetSeries) -> Option<RunPoint> {
    let last = n.points.last()?;
    let test_error = last.test_error?;
    if last.sparsity.is_empty() {
        return None;
    }
    Some(RunPoint {
        file: n.file.clone(),
        l1: last.l1.unwrap_or(f64::NAN),
        seed: n.seed,
        epoch: last.epoch,
        sparsity: last.sparsity.iter().sum::<f64>() / last.sparsity.len() as f64,
        test_error,
    })
}

/// The `*.jsonl` files of a folder, sorted by name.
pub fn jsonl_files(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let entries = fs::read_dir(dir)
        .map_err(|e| PlotError::Input(format!("{}: cannot list it: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The final point of every run in a sweep folder: one per file (its first network; a sweep
/// trains rectifier networks alone). Files without an epoch line yet are left out.
pub fn read_dir(dir: &Path) -> Result<Vec<RunPoint>, PlotError> {
    let files = jsonl_files(dir)?;
    let mut runs = Vec::new();
    for f in &files {
        let Ok(read) = logs::read_log(f) else {
            continue;
        };
        if let Some(p) = read.nets.first().and_then(final_point) {
            runs.push(p);
        }
    }
    if runs.is_empty() {
        return Err(PlotError::Input(format!(
            "{}: no run with a finished epoch in it ({} .jsonl files)",
            dir.display(),
            files.len()
        )));
    }
    Ok(runs)
}

/// Whether a run is at chance level: test error at least 90 % of `1 − 1/classes` (10 classes).
pub fn at_chance(p: &RunPoint) -> bool {
    p.test_error >= 0.9 * 0.9
}

/// The scatter as SVG text.
pub fn render(runs: &[RunPoint], title: &str, width: u32) -> Result<String, PlotError> {
    let (drawn, chance): (Vec<&RunPoint>, Vec<&RunPoint>) =
        runs.iter().partition(|p| !at_chance(p));
    let mut l1s: Vec<f64> = runs.iter().map(|p| p.l1).collect();
    l1s.sort_by(f64::total_cmp);
    l1s.dedup();
    let height = (f64::from(width) * 0.62) as u32 + if chance.is_empty() { 0 } else { 34 };
    let (xs, ys): (Vec<f64>, Vec<f64>) = drawn
        .iter()
        .map(|p| (p.sparsity * 100.0, p.test_error * 100.0))
        .unzip();
    let lo = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = |a: f64, b: f64| {
        let d = ((b - a) * 0.08).max(0.5);
        (a - d, b + d)
    };
    let (x0, x1) = if xs.is_empty() {
        (0.0, 100.0)
    } else {
        pad(lo(&xs), hi(&xs))
    };
    let (y0, y1) = if ys.is_empty() {
        (0.0, 100.0)
    } else {
        let (a, b) = pad(lo(&ys), hi(&ys));
        (a.max(0.0), b + (b - a) * 0.35)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (plot, foot) = if chance.is_empty() {
            (root.clone(), None)
        } else {
            let (a, b) = root.split_vertically(height - 34);
            (a, Some(b))
        };
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, (FONT, TITLE_SIZE))
            .margin(16)
            .x_label_area_size(54)
            .y_label_area_size(70)
            .build_cartesian_2d(x0.max(0.0)..x1.min(100.5), y0..y1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("final sparsity: mean over hidden layers of exact zeros (%)")
            .y_desc("final test error (%)")
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_label_formatter(&|x| tick(*x))
            .y_label_formatter(&|y| tick(*y))
            .draw()
            .map_err(draw_err)?;
        for (g, &l1) in l1s.iter().enumerate() {
            let color = PALETTE[g % PALETTE.len()];
            let pts: Vec<(f64, f64)> = drawn
                .iter()
                .filter(|p| p.l1.total_cmp(&l1).is_eq())
                .map(|p| (p.sparsity * 100.0, p.test_error * 100.0))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let style = color.filled();
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 7, style)))
                .map_err(draw_err)?
                .label(format!("L1 = {} ({} runs)", l1 as f32, pts.len()))
                .legend(move |(x, y)| Circle::new((x + 8, y), 7, style));
        }
        chart
            .configure_series_labels()
            .label_font((FONT, LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(draw_err)?;
        if let Some(foot) = foot {
            let listed: Vec<String> = chance
                .iter()
                .map(|p| {
                    format!(
                        "L1 {} ({:.1} %, {:.1} %)",
                        p.l1 as f32,
                        p.sparsity * 100.0,
                        p.test_error * 100.0
                    )
                })
                .collect();
            foot.draw(&Text::new(
                format!("not drawn, at chance level: {}", listed.join(", ")),
                (16, 6),
                (FONT, CAPTION_SIZE - 4),
            ))
            .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}
