//! `s`: one network's exact sparsity over the run, for the focused hidden layer (tab moves it;
//! every column shows the same layer, on the same 0-100 % scale): the running figure on the
//! training batches as a line (`⠶`), and the epoch-end figure of record on the validation set
//! as dots (`•`).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use super::{dim, fg};
use crate::dashboard::app::App;

/// The running figure's line and the validation figure's dots.
pub const RUNNING_GLYPH: &str = "⠶";
pub const EPOCH_GLYPH: &str = "•";

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let view = &app.nets[net];
    let layer = app.focus.1.min(app.layers().saturating_sub(1));
    if area.height == 0 {
        return;
    }
    let [legend_area, chart_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let (Some(live), Some(epochs)) = (view.live_history.get(layer), view.sparsity.get(layer))
    else {
        return;
    };
    let green = if view.info.bounded {
        Color::Magenta
    } else {
        Color::Green
    };
    let legend = [
        vec![
            Span::raw(format!("h{} exact zeros: ", layer + 1)),
            Span::styled(format!("{RUNNING_GLYPH} running"), fg(app, green)),
            Span::styled(
                format!("  {EPOCH_GLYPH} valid at epoch end"),
                fg(app, app.theme.strong()),
            ),
        ],
        vec![
            Span::raw(format!("h{} zeros ", layer + 1)),
            Span::styled(format!("{RUNNING_GLYPH} run"), fg(app, green)),
            Span::styled(format!(" {EPOCH_GLYPH} valid"), fg(app, app.theme.strong())),
        ],
    ];
    let w = usize::from(legend_area.width);
    let legend = legend
        .into_iter()
        .find(|l| l.iter().map(Span::width).sum::<usize>() <= w)
        .unwrap_or_default();
    frame.render_widget(Line::from(legend), legend_area);
    if live.is_empty() && epochs.is_empty() {
        let msg = Paragraph::new(Line::styled("first figure within a second", dim(app)));
        frame.render_widget(msg.centered(), chart_area);
        return;
    }
    let x_min = live
        .points()
        .first()
        .into_iter()
        .chain(epochs.points().first())
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let x_max = app.epoch_x(app.position).max(x_min + 1.0);
    let kind = |n: usize| {
        if n > 1 {
            GraphType::Line
        } else {
            GraphType::Scatter
        }
    };
    let datasets = vec![
        Dataset::default()
            .data(live.points())
            .graph_type(kind(live.len()))
            .marker(Marker::Braille)
            .style(fg(app, green)),
        Dataset::default()
            .data(epochs.points())
            .graph_type(GraphType::Scatter)
            .marker(Marker::Dot)
            .style(fg(app, app.theme.strong())),
    ];
    let mut x_axis = Axis::default().bounds([x_min, x_max]);
    if chart_area.height >= 8 {
        x_axis = x_axis
            .labels([
                Span::styled(format!("{x_min:.0}"), dim(app)),
                Span::styled(format!("epoch {x_max:.1}"), dim(app)),
            ])
            .style(dim(app));
    }
    let y_axis = Axis::default()
        .bounds([0.0, 1.0])
        .labels([Span::styled("0", dim(app)), Span::styled("100%", dim(app))])
        .style(dim(app));
    frame.render_widget(
        Chart::new(datasets)
            .x_axis(x_axis)
            .y_axis(y_axis)
            .legend_position(None),
        chart_area,
    );
}
