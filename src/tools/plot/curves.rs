//! The figures over training, drawn from the epoch lines of one or more logs: error curves,
//! exact sparsity per layer (with lr and L1 changes marked) and the claims (active-set
//! stability and linear-probe error per layer).

use super::logs::{NetSeries, Point};
use super::{render_panels, tick, Line, Mark, Panel, PlotError, GREY, PALETTE};

/// A split's name and its error in a point.
type Split = (&'static str, fn(&Point) -> Option<f64>);

/// The x range of every panel: from epoch 0 to the last epoch of any network.
fn epoch_range(nets: &[NetSeries]) -> std::ops::Range<f64> {
    let last = nets
        .iter()
        .flat_map(|n| n.points.iter().map(|p| p.epoch))
        .fold(1.0, f64::max);
    0.0..last.ceil().max(1.0)
}

/// `0..top`, with headroom above the largest value for the legend.
fn up_to(max: f64, headroom: f64) -> std::ops::Range<f64> {
    let top = if max.is_finite() && max > 0.0 {
        max * headroom
    } else {
        1.0
    };
    0.0..top
}

fn series(points: &[Point], f: impl Fn(&Point) -> Option<f64>, scale: f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .filter_map(|p| f(p).map(|v| (p.epoch, v * scale)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

fn title(n: &NetSeries) -> String {
    if n.points.iter().any(|p| p.diverged) {
        format!("{} (diverged at times)", n.net)
    } else {
        n.net.clone()
    }
}

/// Train, validation and test error (%) per epoch, one panel per network, one y-scale.
pub fn errors(nets: &[NetSeries], width: u32) -> Result<String, PlotError> {
    let x = epoch_range(nets);
    let max = nets
        .iter()
        .flat_map(|n| &n.points)
        .flat_map(|p| [p.train_error, p.valid_error, p.test_error])
        .flatten()
        .fold(0.0, f64::max)
        * 100.0;
    // Headroom for the legend and the marks' labels above the curves.
    let y = up_to(max, 1.6);
    let panels: Vec<Panel> = nets
        .iter()
        .map(|n| {
            let splits: [Split; 3] = [
                ("train", |p| p.train_error),
                ("validation", |p| p.valid_error),
                ("test", |p| p.test_error),
            ];
            let lines = splits
                .iter()
                .enumerate()
                .map(|(i, (label, f))| Line {
                    label: (*label).to_string(),
                    color: PALETTE[i],
                    points: series(&n.points, f, 100.0),
                    dashed: false,
                })
                .filter(|l| !l.points.is_empty())
                .collect();
            Panel {
                title: title(n),
                x: x.clone(),
                y: y.clone(),
                x_desc: "epoch".into(),
                y_desc: "error (%)".into(),
                lines,
                marks: changes(&n.points),
                legend_middle: false,
            }
        })
        .collect();
    render_panels(
        "Classification error per epoch (dashed: lr / L1 changes)",
        &panels,
        width,
    )
}

/// The lr and L1 changes of a network: marked at the last epoch end before the epoch whose
/// line first reports the new value (a change from the keyboard happens somewhere inside that
/// epoch; one given with --resume exactly there).
pub fn changes(points: &[Point]) -> Vec<Mark> {
    let mut marks = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let mut what = Vec::new();
        if let (Some(x), Some(y)) = (a.lr, b.lr) {
            if x.to_bits() != y.to_bits() {
                what.push(format!("lr {}→{}", tick_setting(x), tick_setting(y)));
            }
        }
        if let (Some(x), Some(y)) = (a.l1, b.l1) {
            if x.to_bits() != y.to_bits() {
                what.push(format!("L1 {}→{}", tick_setting(x), tick_setting(y)));
            }
        }
        if !what.is_empty() {
            marks.push(Mark {
                x: a.epoch,
                label: what.join(", "),
            });
        }
    }
    marks
}

/// A setting as it was typed: f32 values read back as f64 without their noise digits.
fn tick_setting(v: f64) -> String {
    format!("{}", v as f32)
}

/// Exact sparsity (%) per hidden layer over training, one panel per network.
pub fn sparsity(nets: &[NetSeries], width: u32) -> Result<String, PlotError> {
    let x = epoch_range(nets);
    let panels: Vec<Panel> = nets
        .iter()
        .map(|n| {
            let lines: Vec<Line> = (0..n.layers())
                .map(|l| Line {
                    label: format!("layer {}", l + 1),
                    color: PALETTE[l % PALETTE.len()],
                    points: series(&n.points, |p| p.sparsity.get(l).copied(), 100.0),
                    dashed: false,
                })
                .filter(|l| !l.points.is_empty())
                .collect();
            let none_zero = lines
                .iter()
                .all(|l| l.points.iter().all(|&(_, v)| v == 0.0));
            Panel {
                title: if none_zero {
                    format!("{} (no exact zeros)", title(n))
                } else {
                    title(n)
                },
                x: x.clone(),
                y: 0.0..112.0,
                x_desc: "epoch".into(),
                y_desc: "exact zeros, validation set (%)".into(),
                lines,
                marks: changes(&n.points),
                legend_middle: true,
            }
        })
        .collect();
    render_panels(
        "Exact sparsity per hidden layer (dashed: lr / L1 changes)",
        &panels,
        width,
    )
}

/// Active-set stability and linear-probe error per layer over training: one row each, one
/// column per network, a y-scale per row.
pub fn claims(nets: &[NetSeries], width: u32) -> Result<String, PlotError> {
    let x = epoch_range(nets);
    let probe_max = nets
        .iter()
        .flat_map(|n| &n.points)
        .flat_map(|p| {
            p.probe_error
                .iter()
                .flatten()
                .copied()
                .chain(p.probe_error_pixels)
        })
        .fold(0.0, f64::max)
        * 100.0;
    let layer_lines = |n: &NetSeries, f: &dyn Fn(&Point, usize) -> Option<f64>, scale: f64| {
        (0..n.layers())
            .map(|l| Line {
                label: format!("layer {}", l + 1),
                color: PALETTE[l % PALETTE.len()],
                points: series(&n.points, |p| f(p, l), scale),
                dashed: false,
            })
            .filter(|l| !l.points.is_empty())
            .collect::<Vec<_>>()
    };
    // Rows: stability of every network, then probe error of every network, so that with two
    // networks the figure is a 2 × 2 grid with the networks side by side.
    let mut stability: Vec<Panel> = Vec::new();
    let mut probe: Vec<Panel> = Vec::new();
    for n in nets {
        stability.push(Panel {
            title: format!("{}: active-set stability", n.net),
            x: x.clone(),
            y: 0.0..1.05,
            x_desc: "epoch".into(),
            y_desc: "Jaccard overlap under noise".into(),
            lines: layer_lines(n, &|p, l| p.stability.get(l).copied().flatten(), 1.0),
            marks: Vec::new(),
            legend_middle: true,
        });
        let mut lines = layer_lines(n, &|p, l| p.probe_error.get(l).copied().flatten(), 100.0);
        let pixels = series(&n.points, |p| p.probe_error_pixels, 100.0);
        if let Some(&(_, v)) = pixels.first() {
            lines.push(Line {
                label: format!("pixels ({})", tick(v)),
                color: GREY,
                points: vec![(x.start, v), (x.end, v)],
                dashed: true,
            });
        }
        probe.push(Panel {
            title: format!("{}: linear-probe error", n.net),
            x: x.clone(),
            y: up_to(probe_max, 1.6),
            x_desc: "epoch".into(),
            y_desc: "probe validation error (%)".into(),
            lines,
            marks: Vec::new(),
            legend_middle: false,
        });
    }
    let panels: Vec<Panel> = if nets.len() == 2 {
        stability.into_iter().chain(probe).collect()
    } else {
        stability
            .into_iter()
            .zip(probe)
            .flat_map(|(s, p)| [s, p])
            .collect()
    };
    render_panels("The claims over training, per hidden layer", &panels, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: f64, lr: f64, l1: f64) -> Point {
        Point {
            epoch,
            lr: Some(lr),
            l1: Some(l1),
            ..Point::default()
        }
    }

    #[test]
    fn changes_are_marked_where_the_old_value_last_held() {
        let pts = [
            point(1.0, 0.1, 0.001),
            point(2.0, 0.1, 0.001),
            point(3.0, 0.05, 0.001),
            point(4.0, 0.05, 0.0005),
        ];
        let marks = changes(&pts);
        let got: Vec<(f64, &str)> = marks.iter().map(|m| (m.x, m.label.as_str())).collect();
        assert_eq!(got, vec![(2.0, "lr 0.1→0.05"), (3.0, "L1 0.001→0.0005")]);
    }
}
