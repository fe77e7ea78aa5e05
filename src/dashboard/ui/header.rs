//! The header: what is being trained, whether it runs, how far it is, and the live
//! hyper-parameters (`lr <value>`, `l1 <value>`), throughput and the run clock.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::dashboard::app::{fmt_value, App};
use crate::protocol::RunState;

/// The state word and its colour.
pub fn state_word(state: Option<RunState>) -> (&'static str, Color) {
    match state {
        None => ("STARTING", Color::Gray),
        Some(RunState::Running) => ("RUNNING", Color::Green),
        Some(RunState::Paused) => ("PAUSED", Color::Yellow),
        Some(RunState::Done) => ("DONE", Color::Cyan),
    }
}

/// `h:mm:ss`.
pub fn fmt_clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `m:ss` under an hour, else `h:mm:ss`: a time left.
pub fn fmt_left(d: Duration) -> String {
    let s = d.as_secs();
    if s < 3600 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        fmt_clock(d)
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let [top, bottom] = Layout::vertical([Constraint::Length(1); 2]).areas(area);

    // Line 1: the run, and the state word on the right.
    // A pause or resume asked for and not yet done (the trainer answers between batches,
    // and an epoch's evaluation takes a while) says so, rather than the old state alone.
    let (word, color) = match (app.state, app.intended_state()) {
        (Some(RunState::Running), Some(RunState::Paused)) => ("PAUSING…", Color::Yellow),
        (Some(RunState::Paused), Some(RunState::Running)) => ("RESUMING…", Color::Green),
        (state, _) => state_word(state),
    };
    let state_style = if app.color {
        Style::new()
            .fg(Color::Black)
            .bg(color)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    };
    let state = format!(" {word} ");
    let [what_area, state_area] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(state.chars().count() as u16),
    ])
    .areas(top);
    let mut what = vec![Span::styled(" relutui ", bold().patch(super::strong(app)))];
    if let Some(info) = &app.info {
        let arch: Vec<String> = std::iter::once(info.input_dim)
            .chain(info.hidden.iter().copied())
            .chain(std::iter::once(info.classes))
            .map(|n| n.to_string())
            .collect();
        what.extend([
            Span::raw(format!(" {} ", info.dataset)),
            Span::styled(arch.join("-"), bold()),
            Span::styled(
                format!("  batch {}  seed {}", info.batch_size, app.seed),
                dim(app),
            ),
        ]);
    }
    // Time left at the pace so far, this epoch and (with --epochs) the run, as room allows.
    let room = usize::from(what_area.width).saturating_sub(Line::from(what.clone()).width());
    let eta = match app.eta() {
        Some((epoch, Some(run))) => vec![
            format!("left: epoch {}, run {} ", fmt_left(epoch), fmt_left(run)),
            format!("left {} / {} ", fmt_left(epoch), fmt_left(run)),
            format!("run left {} ", fmt_left(run)),
        ],
        Some((epoch, None)) => vec![
            format!("epoch left {} ", fmt_left(epoch)),
            format!("left {} ", fmt_left(epoch)),
        ],
        None => Vec::new(),
    }
    .into_iter()
    .find(|t| t.chars().count() + 2 <= room);
    frame.render_widget(Line::from(what), what_area);
    if let Some(eta) = eta {
        frame.render_widget(
            Paragraph::new(Line::styled(eta, dim(app))).right_aligned(),
            what_area,
        );
    }
    frame.render_widget(Line::styled(state, state_style), state_area);

    // Line 2: progress gauge, then the live numbers on the right.
    let Some(info) = &app.info else { return };
    let eps = if app.state == Some(RunState::Running) && app.examples_per_sec > 0.0 {
        format!("{:.0}", app.examples_per_sec)
    } else {
        "-".into()
    };
    let numbers = Line::from(vec![
        Span::raw("  "),
        Span::styled(
            format!("lr {}", fmt_value(app.lr)),
            bold().patch(fg(app, Color::LightRed)),
        ),
        Span::raw("  "),
        Span::styled(
            format!("l1 {}", fmt_value(app.l1)),
            bold().patch(fg(app, Color::LightMagenta)),
        ),
        // `a` made the keys change one network: say which.
        Span::styled(
            app.key_target()
                .and_then(|i| app.nets.get(i))
                .map(|v| format!(" ({} only)", v.info.name))
                .unwrap_or_default(),
            dim(app),
        ),
        Span::raw(format!("  {eps} ex/s  ")),
        Span::styled(fmt_clock(app.wall_time), dim(app)),
        Span::raw(" "),
    ]);
    let [gauge_area, numbers_area] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(numbers.width() as u16),
    ])
    .areas(bottom);
    let total = info.epochs.map(|e| format!("/{e}")).unwrap_or_default();
    let bpe = info.batches_per_epoch.max(1);
    let p = app.position;
    let (label, ratio) = if app.state == Some(RunState::Done) {
        (format!(" epoch {}{total} done", p.epoch), 1.0)
    } else {
        let long = format!(" epoch {}{total}  batch {}/{bpe}", p.epoch + 1, p.batch);
        // Narrow terminals: the numbers matter more than the bar.
        let label = if long.len() + 4 <= usize::from(gauge_area.width) {
            long
        } else {
            format!(" ep {}{total} b {}/{bpe}", p.epoch + 1, p.batch)
        };
        (label, (p.batch as f64 / bpe as f64).clamp(0.0, 1.0))
    };
    let gauge = LineGauge::default()
        .label(Line::from(label))
        .ratio(ratio)
        .filled_symbol(ratatui::symbols::line::THICK_HORIZONTAL)
        .unfilled_symbol(ratatui::symbols::line::HORIZONTAL)
        .filled_style(fg(app, Color::Green))
        .unfilled_style(dim(app));
    frame.render_widget(gauge, gauge_area);
    frame.render_widget(Paragraph::new(numbers).right_aligned(), numbers_area);
}
