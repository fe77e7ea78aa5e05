//! The footer: the keys that do something now (space and `n` only while they apply, `u` only
//! with a diverged network, `w` only with a checkpoint file, `S` only in an attached viewer
//! that steers), as the keymap ([`crate::dashboard::app::KEYMAP`]) says, shortest first where
//! the terminal is narrow, and every key's feedback in its place until the next key.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{bold, dim, fg, key_style};
use crate::dashboard::app::{App, KEYMAP};
use crate::protocol::RunState;

/// The keys that do something in the app's state now, from the keymap: `(key, what, short
/// what)`, in the footer's order.
pub fn keys_now(app: &App) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut keys: Vec<_> = KEYMAP
        .iter()
        .filter_map(|b| {
            let footer = b.footer?;
            let (what, short) = (footer.now)(app)?;
            Some((footer.rank, footer.label, what, short))
        })
        .collect();
    keys.sort_by_key(|k| k.0);
    keys.into_iter()
        .map(|(_, key, what, short)| (key, what, short))
        .collect()
}

/// The key hints as lines of at most `width` columns: one line when it fits, else two, else
/// one line of keys only (`?` lists them all).
fn hint_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let keys = keys_now(app);
    let done = app.state == Some(RunState::Done);
    let item = |key: &'static str, what: &str, sep: &str| {
        vec![
            Span::styled(key, key_style(app)),
            Span::styled(format!(" {what}{sep}"), dim(app)),
        ]
    };
    let lead = || {
        let mut spans = vec![Span::raw(" ")];
        if done {
            spans.push(Span::styled("DONE ", bold()));
        }
        spans
    };
    for (sep, short) in [("  ", false), (" ", false), (" ", true)] {
        let mut spans = lead();
        for (key, what, brief) in &keys {
            spans.extend(item(key, if short { brief } else { what }, sep));
        }
        let line = Line::from(spans);
        if line.width() <= width {
            return vec![line];
        }
    }
    // Two lines, filled in order.
    let mut lines = vec![Line::from(lead()), Line::from(vec![Span::raw(" ")])];
    let mut row = 0;
    for (key, what, _) in &keys {
        let spans = item(key, what, "  ");
        let w: usize = spans.iter().map(Span::width).sum();
        if row == 0 && lines[0].width() + w > width {
            row = 1;
        }
        if lines[row].width() + w > width {
            row = 2;
            break;
        }
        lines[row].spans.extend(spans);
    }
    if row < 2 {
        return lines;
    }
    let mut spans = lead();
    for (k, _, _) in keys.iter().filter(|(k, _, _)| !matches!(*k, "?" | "q")) {
        spans.push(Span::styled(*k, key_style(app)));
        spans.push(Span::raw(" "));
    }
    spans.extend([
        Span::styled("?", key_style(app)),
        Span::styled(" help ", dim(app)),
        Span::styled("q", key_style(app)),
        Span::styled(" quit", dim(app)),
    ]);
    vec![Line::from(spans)]
}

/// Rows the footer takes at this width: 1, or 2 when the keys need them.
pub fn rows(app: &App, width: u16) -> u16 {
    // The same height with a message as without, so that nothing jumps.
    hint_lines(app, usize::from(width)).len() as u16
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    // A key's feedback or a message from the trainer, until the next key.
    if let Some(status) = &app.status {
        let line = Line::from(vec![
            Span::raw(" "),
            Span::styled(status.clone(), bold().patch(fg(app, Color::Yellow))),
        ]);
        frame.render_widget(
            ratatui::widgets::Paragraph::new(line).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    for (line, row) in hint_lines(app, usize::from(area.width))
        .into_iter()
        .zip(area.rows())
    {
        frame.render_widget(line, row);
    }
}
