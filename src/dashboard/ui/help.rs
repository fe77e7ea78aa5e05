//! The help overlay (`?`): the keys (the keymap's rows, [`crate::dashboard::app::KEYMAP`]),
//! and how to read the panels.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::dashboard::app::{App, KEYMAP};

/// Key, then what it does: the keymap's rows that apply here.
fn keys(app: &App) -> Vec<(&'static str, String)> {
    KEYMAP
        .iter()
        .filter_map(|b| {
            let (keys, what) = b.help?;
            Some((keys, what(app)?))
        })
        .collect()
}

/// How to read the screen: every abbreviation on it (the help's second page, `tab`).
pub const READING: [&str; 20] = [
    "lr learning rate · l1 the L1 activation penalty · ex/s examples/s",
    "left: time to the end of this epoch / of the run, at the pace so far",
    "h1 h2 …: hidden layer 1, 2, … (▸ marks the heatmap's layer)",
    "exact zeros: share of activations that are exactly 0.0",
    "  ≈ 72.1%: running figure, training batches, last 50 batches",
    "  val 70.0%: figure of record, validation set, end of epoch",
    "dead: units 0 on every validation example (rectifier); +3 = died",
    "  this epoch · sat: units within 1% of a bound (tanh, sigmoid)",
    "errors: • train ⠶ valid ▀ test, one y-scale for every network",
    "▲ lr / l1 / rev: a change (or a revive of dead units) was here",
    "heatmap: the probe examples now; blank 0, faint small, strong large",
    "claims (c), measured on a fixed validation probe at each epoch end:",
    "  1 stability ↑: overlap (0-1) of the on-units with and without",
    "    input noise (disentangling); change ↓: ‖Δh‖/‖h‖, needs no on-rule",
    "  2 on-units: units on per example, median and 5-95% (of the layer)",
    "    ink r: correlation with the input's ink (variable size)",
    "  3 probe ↓: error of a linear classifier on the layer (separable);",
    "    px: the same on the raw pixels, for comparison",
    "  4 zeros save ↑: share of multiply-adds exact zeros skip (efficiency)",
    "on h≠0: a unit is on when not exactly 0 (|h|>0.1·max for tanh)",
];
/// Without colour the three error lines differ by their glyphs.
const NO_COLOR_CHART: &str =
    "without colour the error lines differ by glyph: • train ⠶ valid ▀ test";

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    if app.help_page == 1 {
        let lines = READING
            .iter()
            .map(|t| Line::raw(format!(" {t}")))
            .chain((!app.color).then(|| Line::styled(format!(" {NO_COLOR_CHART}"), dim(app))))
            .collect();
        return render_lines(frame, area, app, lines);
    }
    let keys = keys(app);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<10}"), super::key_style(app)),
                Span::raw(what.clone()),
            ])
        })
        .collect();
    // The keys come first; the notes on reading the panels only where there is room.
    let notes = READING.len() + 2 + usize::from(!app.color);
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
        .title(Line::styled(
            match &app.simd {
                Some(level) => format!(" relutui help · simd {level} "),
                None => " relutui help ".to_string(),
            },
            bold(),
        ))
        .title_bottom(
            Line::styled(" tab: keys / how to read · ? or esc closes ", dim(app)).right_aligned(),
        )
        .border_style(fg(app, app.theme.key()));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        popup,
    );
}
