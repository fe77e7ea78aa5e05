//! The footer: the keys, shortest first where the terminal is narrow.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::app::App;
use crate::message::RunState;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    // A message from the trainer (checkpoint saved or failed, a divergence) until the next key.
    if let Some(status) = &app.status {
        let line = Line::from(vec![
            Span::raw(" "),
            Span::styled(status.as_str(), bold().patch(fg(app, Color::Yellow))),
        ]);
        frame.render_widget(line, area);
        return;
    }
    let pause = if app.state == Some(RunState::Paused) {
        "resume"
    } else {
        "pause"
    };
    // `u` matters only while a network is frozen after a divergence: then it leads.
    let diverged = app.nets.iter().any(|n| n.diverged);
    let restore = diverged.then_some(("u", "restore"));
    let long = [
        ("space", pause),
        ("n", "step"),
        ("+/-", "lr"),
        ("]/[", "l1"),
        ("tab", "layer"),
        ("c", "claims"),
        ("d", "revive"),
        ("r", "reinit"),
        ("?", "help"),
        ("q", "quit"),
    ];
    // `c` and `d` are named only where the line has room for them (`?` lists them).
    let line = |sep: &'static str, claims_keys: bool| {
        let mut spans = vec![Span::raw(" ")];
        let keys = long
            .into_iter()
            .filter(|(k, _)| claims_keys || !matches!(*k, "c" | "d"));
        for (key, what) in restore.into_iter().chain(keys) {
            spans.push(Span::styled(key, bold().patch(fg(app, Color::LightCyan))));
            spans.push(Span::styled(format!(" {what}{sep}"), dim(app)));
        }
        Line::from(spans)
    };
    let width = usize::from(area.width);
    let fitted = [
        line("  ", true),
        line(" ", true),
        line("  ", false),
        line(" ", false),
    ]
    .into_iter()
    .find(|l| l.width() <= width)
    .unwrap_or_else(|| {
        // Keys only, except that help and quit always say what they are.
        let key = bold().patch(fg(app, Color::LightCyan));
        let mut spans = vec![Span::raw(" ")];
        for (k, _) in restore.iter().chain(&long[..8]) {
            spans.push(Span::styled(*k, key));
            spans.push(Span::raw(" "));
        }
        spans.extend([
            Span::styled(" ?", key),
            Span::styled(" help  ", dim(app)),
            Span::styled("q", key),
            Span::styled(" quit", dim(app)),
        ]);
        Line::from(spans)
    });
    frame.render_widget(fitted, area);
}
