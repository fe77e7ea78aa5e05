//! The footer: the keys, shortest first where the terminal is narrow.

use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::app::App;
use crate::message::RunState;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let pause = if app.state == Some(RunState::Paused) {
        "resume"
    } else {
        "pause"
    };
    let long = [
        ("space", pause),
        ("n", "step"),
        ("+/-", "lr"),
        ("]/[", "l1"),
        ("tab", "layer"),
        ("r", "reinit"),
        ("?", "help"),
        ("q", "quit"),
    ];
    let line = |sep: &'static str| {
        let mut spans = vec![Span::raw(" ")];
        for (key, what) in long {
            spans.push(Span::styled(key, bold().patch(fg(app, Color::LightCyan))));
            spans.push(Span::styled(format!(" {what}{sep}"), dim(app)));
        }
        Line::from(spans)
    };
    let wide = line("  ");
    let fitted = if wide.width() <= usize::from(area.width) {
        wide
    } else {
        line(" ")
    };
    frame.render_widget(fitted, area);
}
