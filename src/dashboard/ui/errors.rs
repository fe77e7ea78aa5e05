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
use crate::dashboard::app::{fmt_value, App, Change, LossBar, Mark, NetView};
use crate::dashboard::history::Series;

/// The glyph each error line is drawn with, so that the lines differ without colour too.
pub const TRAIN_MARKER: Marker = Marker::Dot;
pub const VALID_MARKER: Marker = Marker::Braille;
pub const TEST_MARKER: Marker = Marker::HalfBlock;
/// The same glyphs for the legend beside the numbers.
pub const LEGEND: [&str; 3] = ["•", "⠶", "▀"];
const LR_MARK: Color = Color::LightRed;
const L1_MARK: Color = Color::LightMagenta;
const REVIVE_MARK: Color = Color::LightGreen;

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    render_with(frame, area, app, net, |frame, area, app, net| {
        render_chart(frame, area, app, &app.nets[net]);
    });
}

/// The numbers, then `chart` in the chart's place, then the loss rows.
pub fn render_with(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    net: usize,
    chart_fn: impl Fn(&mut Frame, Rect, &App, usize),
) {
    let view = &app.nets[net];
    let [numbers, chart, loss, marks] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(numbers_line(app, view, numbers.width), numbers);
    chart_fn(frame, chart, app, net);
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
    let [train_c, valid_c, test_c] = app.theme.errors();
    let [g_tr, g_va, g_te] = LEGEND;
    // Each name led by its line's glyph: the legend, with or without colour.
    let variants: [[String; 4]; 4] = [
        [
            format!("{g_tr}train "),
            format!("% {g_va}valid "),
            format!("% {g_te}test "),
            "%".into(),
        ],
        [
            format!("{g_tr}train "),
            format!(" {g_va}valid "),
            format!(" {g_te}test "),
            " %".into(),
        ],
        [
            format!("{g_tr}tr "),
            format!(" {g_va}va "),
            format!(" {g_te}te "),
            "%".into(),
        ],
        [
            g_tr.to_string(),
            format!(" {g_va}"),
            format!(" {g_te}"),
            "%".into(),
        ],
    ];
    for v in variants {
        let len =
            v.iter().map(|s| s.chars().count()).sum::<usize>() + tr.len() + va.len() + te.len();
        if len <= usize::from(width) {
            let [train, valid, test, end] = v;
            return Line::from(vec![
                Span::styled(train, fg(app, train_c)),
                Span::raw(tr),
                Span::styled(valid, fg(app, valid_c)),
                Span::raw(va),
                Span::styled(test, fg(app, test_c)),
                Span::raw(te),
                Span::raw(end),
            ]);
        }
    }
    Line::from(vec![
        Span::styled(format!("{g_va}valid "), fg(app, valid_c)),
        Span::raw(va + "%"),
    ])
}

/// The error axis's top, the same for every network so that the columns compare fairly: a
/// tidy bound above the highest error any of them has shown.
pub fn shared_y_max(app: &App) -> f64 {
    let top = app
        .nets
        .iter()
        .flat_map(|v| [&v.train_error, &v.valid_error, &v.test_error])
        .flat_map(Series::points)
        .map(|p| p.1)
        .filter(|y| y.is_finite())
        .fold(0.0_f64, f64::max);
    nice_ceiling(top * 100.0 * 1.05) / 100.0
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
    let [train_c, valid_c, test_c] = app.theme.errors();
    // The lines differ by their glyphs as well as their colours.
    let series: [(&Series, Color, Marker); 3] = [
        (&view.train_error, train_c, TRAIN_MARKER),
        (&view.valid_error, valid_c, VALID_MARKER),
        (&view.test_error, test_c, TEST_MARKER),
    ];
    let y_max = shared_y_max(app);
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

    let shown: Vec<_> = if app.full_history {
        // The whole run, squeezed into the width: the marks follow the same bars.
        downsample_loss(view.loss_all.points(), usize::from(spark_area.width))
    } else {
        view.loss
            .newest(usize::from(spark_area.width))
            .copied()
            .collect()
    };
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
    let width = usize::from(spark_area.width);
    for (i, (at, marks)) in columns.iter().enumerate() {
        // A crowded mark gives way to the next one, so the newest change is always shown; a
        // label is written whole or not at all, never clipped at the edge.
        let room = columns
            .get(i + 1)
            .map_or(width.saturating_sub(*at), |(next, _)| next - at);
        if *at < col || room < 1 {
            continue;
        }
        row.push(Span::raw(" ".repeat(at - col)));
        row.push(Span::styled("▲", mark_style(app, marks[0])));
        let mut used = 1;
        for m in marks {
            let text = mark_text(m);
            let w = text.chars().count();
            // The trailing space may fall off the edge; the label may not.
            if used + text.trim_end().chars().count() > room {
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

/// `points` (x = step, y = loss) as at most `width` bars of equal numbers of points.
fn downsample_loss(points: &[(f64, f64)], width: usize) -> Vec<LossBar> {
    if points.is_empty() || width == 0 {
        return Vec::new();
    }
    let per = points.len().div_ceil(width);
    points
        .chunks(per)
        .map(|c| LossBar {
            first_step: c[0].0 as u64,
            last_step: c[c.len() - 1].0 as u64,
            sum: c.iter().map(|p| p.1).sum(),
            samples: c.len(),
        })
        .collect()
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
