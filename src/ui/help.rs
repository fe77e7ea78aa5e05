//! The help overlay (`?`): the keys, and how to read the panels.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::app::{fmt_value, App, L1_FLOOR, L1_RESTART, LR_MAX, LR_MIN};

/// Key, then what it does.
fn keys(app: &App) -> Vec<(&'static str, String)> {
    vec![
        ("space", "pause / resume training".into()),
        ("n", "train one mini-batch (while paused)".into()),
        (
            "+ or =",
            format!("double the learning rate (at most {})", fmt_value(LR_MAX)),
        ),
        (
            "-",
            format!("halve the learning rate (at least {})", fmt_value(LR_MIN)),
        ),
        (
            "]",
            format!(
                "double the L1 penalty; from 0 back to {}",
                fmt_value(if app.info.as_ref().is_some_and(|i| i.l1 > 0.0) {
                    app.info.as_ref().map_or(L1_RESTART, |i| i.l1)
                } else {
                    L1_RESTART
                })
            ),
        ),
        (
            "[",
            format!(
                "halve the L1 penalty; below {} it is 0",
                fmt_value(L1_FLOOR)
            ),
        ),
        (
            "tab",
            "next heatmap layer, then network; shift-tab: back".into(),
        ),
        (
            "c",
            "claims view: stability, probes, active units, FLOPs".into(),
        ),
        (
            "d",
            "revive dead units (re-initialise their weights)".into(),
        ),
        ("r", "re-initialise every network from the next seed".into()),
        (
            "w",
            "save a checkpoint now (needs --checkpoint FILE)".into(),
        ),
        (
            "u",
            "let DIVERGED networks train again (lower lr first)".into(),
        ),
        ("?  esc", "close this help".into()),
        ("q  ctrl-c", "quit".into()),
    ]
}

const READING: [&str; 7] = [
    "sparsity: share of validation activations that are exactly 0",
    "dead: units that are 0 on every validation example (rectifier)",
    "sat: units within 1% of a bound on every example (tanh, sigmoid)",
    "heatmap: blank = exactly 0, dim = small, bright = large",
    "loss: a bar a second, log scale; the number is the last second",
    "claims: stability = active-set overlap under noise; probe = linear",
    "  probe error; bars/p5/50/95 = on-units per example; +3 = died",
];
/// Without colour the three error lines differ by their glyphs.
const NO_COLOR_CHART: &str = "chart without colour: train •  valid ⠒  test ▀";

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let keys = keys(app);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<10}"), bold().patch(fg(app, Color::LightCyan))),
                Span::raw(what.clone()),
            ])
        })
        .collect();
    // The keys come first; the notes on reading the panels only where there is room.
    let notes = READING.len() + 4 + usize::from(!app.color);
    let room = usize::from(area.height.saturating_sub(2)) >= lines.len() + notes;
    if !room {
        return render_lines(frame, area, app, lines);
    }
    lines.push(Line::default());
    lines.extend(
        READING
            .iter()
            .map(|t| Line::styled(format!(" {t}"), dim(app))),
    );
    if !app.color {
        lines.push(Line::styled(format!(" {NO_COLOR_CHART}"), dim(app)));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        " lr, l1 changes and revives are marked on the charts where they happened",
        dim(app),
    ));
    lines.push(Line::styled(
        format!(" simd: {}", crate::nn::simd::describe()),
        dim(app),
    ));
    render_lines(frame, area, app, lines);
}

/// The overlay: a bordered box in the middle of `area`.
fn render_lines(frame: &mut Frame, area: Rect, app: &App, lines: Vec<Line>) {
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .saturating_add(3) as u16;
    let height = lines.len() as u16 + 2;
    let [popup] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(popup);
    let block = Block::bordered()
        .title(Line::styled(" relutui help ", bold()))
        .title_bottom(Line::styled(" ? or esc closes ", dim(app)).right_aligned())
        .border_style(fg(app, Color::LightCyan));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
}
