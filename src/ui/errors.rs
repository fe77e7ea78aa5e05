//! One network's error panel: the latest train/valid/test error, a chart of them per epoch,
//! and a sparkline of recent mini-batch loss. Learning-rate and L1 changes are marked where
//! they happened, and so are revives of dead units (`d`): vertical lines on the chart, `▲`
//! under the sparkline.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Sparkline};
use ratatui::Frame;

use super::{dim, fg};
use crate::app::{fmt_value, App, Change, LossBar, Mark, NetView};
use crate::history::Series;

const TRAIN: Color = Color::Gray;
const VALID: Color = Color::LightCyan;
const TEST: Color = Color::Yellow;
const LR_MARK: Color = Color::LightRed;
const L1_MARK: Color = Color::LightMagenta;
const REVIVE_MARK: Color = Color::LightGreen;

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let view = &app.nets[net];
    let [numbers, chart, loss, marks] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(numbers_line(app, view, numbers.width), numbers);
    render_chart(frame, chart, app, view);
    render_loss(frame, loss, marks, app, view);
}

/// Only the loss sparkline and its marks (two rows), for when the claims view has the chart's
/// place.
pub fn render_loss_rows(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let [loss, marks] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    render_loss(frame, loss, marks, app, &app.nets[net]);
}

/// The latest error rates, as long as the width allows.
fn numbers_line<'a>(app: &App, view: &NetView, width: u16) -> Line<'a> {
    let Some(r) = &view.last else {
        let epoch = app.position.epoch + 1;
        return Line::styled(format!("error: after epoch {epoch}"), dim(app));
    };
    let pct = |e: f64| format!("{:.2}", e * 100.0);
    let (tr, va, te) = (pct(r.train_error), pct(r.valid_error), pct(r.test_error));
    let variants: [[&str; 4]; 4] = [
        ["train ", "%  valid ", "%  test ", "%"],
        ["train ", "% valid ", "% test ", "%"],
        ["train ", " valid ", " test ", " %"],
        ["tr ", " va ", " te ", "%"],
    ];
    for v in variants {
        let len =
            v.iter().map(|s| s.chars().count()).sum::<usize>() + tr.len() + va.len() + te.len();
        if len <= usize::from(width) {
            return Line::from(vec![
                Span::styled(v[0], fg(app, TRAIN)),
                Span::raw(tr),
                Span::styled(v[1], fg(app, VALID)),
                Span::raw(va),
                Span::styled(v[2], fg(app, TEST)),
                Span::raw(te),
                Span::raw(v[3]),
            ]);
        }
    }
    Line::from(vec![
        Span::styled("valid ", fg(app, VALID)),
        Span::raw(va + "%"),
    ])
}

/// A tidy upper bound for the error axis, in percent.
fn nice_ceiling(pct: f64) -> f64 {
    const STEPS: [f64; 12] = [
        1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0,
    ];
    STEPS.into_iter().find(|&s| s >= pct).unwrap_or(100.0)
}

fn fmt_pct(p: f64) -> String {
    if p < 10.0 && p.fract() != 0.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

fn render_chart(frame: &mut Frame, area: Rect, app: &App, view: &NetView) {
    if view.valid_error.is_empty() {
        let msg =
            Paragraph::new(Line::styled("first point at the end of epoch 1", dim(app))).centered();
        let y = area.y + area.height / 2;
        frame.render_widget(msg, Rect::new(area.x, y, area.width, 1.min(area.height)));
        return;
    }
    let series: [(&Series, Color, Marker); 3] = if app.color {
        [
            (&view.train_error, TRAIN, Marker::Braille),
            (&view.valid_error, VALID, Marker::Braille),
            (&view.test_error, TEST, Marker::Braille),
        ]
    } else {
        // Without colour the lines differ by their glyphs.
        [
            (&view.train_error, TRAIN, Marker::Dot),
            (&view.valid_error, VALID, Marker::Braille),
            (&view.test_error, TEST, Marker::HalfBlock),
        ]
    };
    let top = series
        .iter()
        .flat_map(|s| s.0.points())
        .map(|p| p.1)
        .fold(0.0_f64, f64::max);
    let y_max = nice_ceiling(top * 100.0 * 1.05) / 100.0;
    // From the first point (or an earlier change) to now: the line grows during an epoch.
    let first_x = series
        .iter()
        .filter_map(|s| s.0.points().first())
        .map(|p| p.0);
    let mark_x = app.marks.iter().map(|m| app.epoch_x(m.at));
    let x_min = first_x.chain(mark_x).fold(f64::INFINITY, f64::min);
    let last_x = series.iter().filter_map(|s| s.0.last()).map(|p| p.0);
    let x_max = last_x
        .fold(app.epoch_x(app.position), f64::max)
        .max(x_min + 1.0);
    let mark_lines: Vec<([(f64, f64); 2], Color)> = app
        .marks
        .iter()
        .map(|m| {
            let x = app.epoch_x(m.at);
            let c = match m.change {
                Change::Lr(_) => LR_MARK,
                Change::L1(_) => L1_MARK,
                Change::Revive(_) => REVIVE_MARK,
            };
            ([(x, 0.0), (x, y_max)], c)
        })
        .collect();
    let mut datasets: Vec<Dataset> = mark_lines
        .iter()
        .map(|(line, c)| {
            Dataset::default()
                .data(line)
                .graph_type(GraphType::Line)
                .marker(Marker::Braille)
                .style(fg(app, *c))
        })
        .collect();
    datasets.extend(series.iter().map(|(s, c, marker)| {
        let kind = if s.len() > 1 {
            GraphType::Line
        } else {
            GraphType::Scatter
        };
        Dataset::default()
            .data(s.points())
            .graph_type(kind)
            .marker(*marker)
            .style(fg(app, *c))
    }));
    let mut x_axis = Axis::default().bounds([x_min, x_max]);
    if area.height >= 9 {
        x_axis = x_axis
            .labels([
                Span::styled(format!("{x_min:.0}"), dim(app)),
                Span::styled(format!("epoch {x_max:.1}"), dim(app)),
            ])
            .style(dim(app));
    }
    let y_axis = Axis::default()
        .bounds([0.0, y_max])
        .labels([
            Span::styled("0", dim(app)),
            Span::styled(fmt_pct(y_max * 100.0), dim(app)),
        ])
        .style(dim(app));
    let chart = Chart::new(datasets)
        .x_axis(x_axis)
        .y_axis(y_axis)
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// The loss sparkline (a bar a second or so, newest on the right) and the marks under it.
fn render_loss(frame: &mut Frame, area: Rect, marks_area: Rect, app: &App, view: &NetView) {
    let value = view
        .recent_loss()
        .map_or_else(|| "-".into(), |l| format!("{l:.3}"));
    // The sparkline is on a log scale, spanning at least a factor of 2.
    let label = format!("loss {value:>5} ");
    let label_w = (label.chars().count() as u16).min(area.width);
    let [label_area, spark_area] =
        Layout::horizontal([Constraint::Length(label_w), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Span::styled(label, dim(app)), label_area);

    let shown: Vec<_> = view
        .loss
        .newest(usize::from(spark_area.width))
        .copied()
        .collect();
    let bars = loss_bars(&shown.iter().map(LossBar::mean).collect::<Vec<_>>());
    frame.render_widget(
        Sparkline::default()
            .data(&bars)
            .max(8)
            .style(fg(app, Color::LightBlue)),
        spark_area,
    );

    // Marks: under the bar of the first sample taken after each change; changes at one
    // column share it.
    let Some(first) = shown.first() else { return };
    let steps: Vec<u64> = shown.iter().map(|p| p.last_step).collect();
    let mut columns: Vec<(usize, Vec<&Mark>)> = Vec::new();
    // In step order: a trainer's answer may arrive after a later change's.
    let mut in_view: Vec<&Mark> = app
        .marks
        .iter()
        .filter(|m| m.at.step >= first.first_step)
        .collect();
    in_view.sort_by_key(|m| m.at.step);
    for m in in_view {
        let at = steps
            .partition_point(|&s| s < m.at.step)
            .min(steps.len() - 1);
        match columns.last_mut() {
            Some((c, marks)) if *c == at => marks.push(m),
            _ => columns.push((at, vec![m])),
        }
    }
    let mut row: Vec<Span> = Vec::new();
    let mut col = 0usize;
    for (i, (at, marks)) in columns.iter().enumerate() {
        // A crowded mark gives way to the next one, so the newest change is always shown.
        let room = columns.get(i + 1).map_or(usize::MAX, |(next, _)| next - at);
        if *at < col || room < 2 {
            continue;
        }
        row.push(Span::raw(" ".repeat(at - col)));
        row.push(Span::styled("▲", mark_style(app, marks[0])));
        let mut used = 1;
        for m in marks {
            let text = mark_text(m);
            let w = text.chars().count();
            if used + w + 1 > room {
                break;
            }
            row.push(Span::styled(text, mark_style(app, m)));
            used += w;
        }
        col = at + used;
    }
    let marks_row = Rect {
        x: spark_area.x,
        width: spark_area.width,
        ..marks_area
    };
    frame.render_widget(Line::from(row), marks_row);
}

/// Bar heights 1..=8 (the eighths of a cell) on a log scale between the window's smallest and largest loss, so a
/// spike does not flatten the rest and the smallest value still shows.
fn loss_bars(losses: &[f32]) -> Vec<u64> {
    let logs: Vec<f64> = losses
        .iter()
        .map(|&l| f64::from(l.max(1e-6)).ln())
        .collect();
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // At least a factor of 2 top to bottom, so noise on a flat curve stays small.
    let span = (hi - lo).max(std::f64::consts::LN_2);
    logs.iter()
        .map(|&l| 1 + ((l - lo) / span * 7.0).round() as u64)
        .collect()
}

fn mark_style(app: &App, m: &Mark) -> ratatui::style::Style {
    fg(
        app,
        match m.change {
            Change::Lr(_) => LR_MARK,
            Change::L1(_) => L1_MARK,
            Change::Revive(_) => REVIVE_MARK,
        },
    )
}

fn mark_text(m: &Mark) -> String {
    match m.change {
        Change::Lr(v) => format!("lr {} ", fmt_value(v)),
        Change::L1(v) => format!("l1 {} ", fmt_value(v)),
        Change::Revive(n) => format!("rev {n} "),
    }
}
