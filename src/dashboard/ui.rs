//! Drawing the dashboard. This file holds the layout; each panel has its own file under
//! `ui/`. Rendering only reads the [`App`].
//!
//! ```text
//! header   dataset, architecture, state word, epoch/batch gauge, lr, l1, examples/s, clock
//! ┌ net 1 ───────────┐┌ net 2 ───────────┐   one column per network, side by side:
//! │ error numbers    ││                  │     errors.rs   train/valid/test error chart,
//! │ error chart      ││                  │                 batch-loss sparkline, change marks
//! │ loss sparkline   ││                  │
//! │ L1 sparsity      ││                  │     sparsity.rs per-layer gauge, dead/saturated units
//! └──────────────────┘└──────────────────┘     (`c`: claims.rs replaces numbers and chart)
//! heatmap of the focused layer on the heatmap batch          heatmap.rs
//! (while `--pretrain` runs, pretrain.rs takes each column's error numbers and chart: the
//! layer, its reconstruction error and the exact sparsity of its code)
//! footer: key hints                                        footer.rs   (help.rs: the `?` overlay)
//! ```

pub mod claims;
pub mod errors;
pub mod footer;
pub mod header;
pub mod heatmap;
pub mod help;
pub mod pretrain;
pub mod sparsity;
pub mod sparsity_chart;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::dashboard::app::{fmt_value, App};

/// Below this size the dashboard shows only a request to enlarge the terminal.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;
/// Rows the error chart and the heatmap need at the least.
const MIN_CHART: u16 = 3;
const MIN_HEAT: u16 = 3;

/// Colours of the networks' titles, by position in the run.
const NET_COLORS: [Color; 4] = [
    Color::LightGreen,
    Color::LightMagenta,
    Color::LightBlue,
    Color::LightYellow,
];

/// A foreground colour, or nothing when colours are off (`NO_COLOR`).
pub(crate) fn fg(app: &App, color: Color) -> Style {
    if app.color {
        Style::new().fg(color)
    } else {
        Style::new()
    }
}

/// Muted text: grey for the theme, or plain when colours are off.
pub(crate) fn dim(app: &App) -> Style {
    fg(app, app.theme.muted())
}

/// The strongest text: white on a dark background, black on a light one (never bright white).
pub(crate) fn strong(app: &App) -> Style {
    fg(app, app.theme.strong())
}

/// A key name in the footer and the help.
pub(crate) fn key_style(app: &App) -> Style {
    bold().patch(fg(app, app.theme.key()))
}

pub(crate) fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub(crate) fn net_color(app: &App, net: usize) -> Style {
    fg(app, NET_COLORS[net % NET_COLORS.len()])
}

/// How the body splits between the network columns and the heatmap.
struct BodyRows {
    columns: u16,
    heatmap: u16,
}

/// Rows of a network column other than its chart: borders, error numbers, loss, marks, the
/// sparsity panel's title and layers.
fn column_fixed_rows(app: &App) -> u16 {
    2 + 1 + 2 + 1 + app.layers() as u16
}

/// The smallest terminal the dashboard draws in: more hidden layers need more rows.
pub fn min_size(app: &App) -> (u16, u16) {
    let rows = 3 + column_fixed_rows(app) + MIN_CHART + MIN_HEAT;
    (MIN_WIDTH, rows.max(MIN_HEIGHT))
}

fn body_rows(app: &App, height: u16) -> Option<BodyRows> {
    let fixed = column_fixed_rows(app);
    let avail = height.checked_sub(fixed)?;
    if avail < MIN_CHART + MIN_HEAT {
        return None;
    }
    let probe = app.info.as_ref().map_or(48, |i| i.probe_examples) as u16;
    // Colour cells hold two examples each (half blocks); plain glyphs hold one.
    let heat_rows = if app.color { probe.div_ceil(2) } else { probe };
    let chart = (avail / 2).max(MIN_CHART);
    let heatmap = (1 + heat_rows).min(avail - chart).max(MIN_HEAT);
    Some(BodyRows {
        columns: height - heatmap,
        heatmap,
    })
}

/// Draws the whole dashboard.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let (min_w, min_h) = min_size(app);
    let footer_rows = footer::rows(app, area.width);
    let rows = body_rows(app, area.height.saturating_sub(2 + footer_rows));
    let Some(rows) = rows.filter(|_| area.width >= min_w && area.height >= min_h) else {
        too_small(frame, area, app);
        return;
    };
    let [header_area, body, footer_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(footer_rows),
    ])
    .areas(area);
    header::render(frame, header_area, app);
    footer::render(frame, footer_area, app);

    let [columns_area, heat_area] = Layout::vertical([
        Constraint::Length(rows.columns),
        Constraint::Length(rows.heatmap),
    ])
    .areas(body);
    if app.nets.is_empty() {
        let msg = Paragraph::new("Starting the trainer…").block(Block::bordered());
        frame.render_widget(msg, columns_area);
    } else {
        let columns =
            Layout::horizontal(app.nets.iter().map(|_| Constraint::Fill(1))).split(columns_area);
        for (i, col) in columns.iter().enumerate() {
            net_column(frame, *col, app, i);
        }
    }
    heatmap::render(frame, heat_area, app);

    if app.show_help {
        help::render(frame, area, app);
    }
}

/// One network: its error chart above its per-layer sparsity.
fn net_column(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let view = &app.nets[net];
    let mut title = vec![Span::styled(
        format!(" {} ", view.info.name),
        net_color(app, net).patch(bold()),
    )];
    if view.diverged {
        // Frozen at its last good state: `u` lets it train again.
        title.push(Span::styled(
            "DIVERGED ",
            fg(app, Color::LightRed).patch(bold()),
        ));
    }
    if view.stopped {
        title.push(Span::styled(
            "STOPPED ",
            fg(app, Color::LightYellow).patch(bold()),
        ));
    }
    // Its own lr and L1, and its best epoch (model selection), as far as the width allows.
    let mut extra: Vec<String> = Vec::new();
    if let (Some(lr), Some(l1)) = (view.lr, view.l1) {
        extra.push(format!("lr {} l1 {} ", fmt_value(lr), fmt_value(l1)));
    }
    if let Some((epoch, test)) = view.best() {
        extra.push(format!("best e{epoch} {:.2}% ", test * 100.0));
    }
    let mut used: usize = title.iter().map(Span::width).sum::<usize>() + 2;
    for part in extra {
        let w = part.chars().count();
        if used + w <= usize::from(area.width) {
            used += w;
            title.push(Span::styled(part, dim(app)));
        }
    }
    let title = Line::from(title);
    let block = Block::bordered().title(title).border_style(dim(app));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [errors_area, sparsity_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1 + app.layers() as u16),
    ])
    .areas(inner);
    if app.pretrain.is_some() {
        // Pre-training: the phase's panel takes the error numbers' and chart's place.
        pretrain::render(frame, errors_area, app, net);
    } else if app.show_claims {
        // The claims take the error numbers' and chart's place; the loss stays.
        let [claims_area, loss_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(errors_area);
        claims::render(frame, claims_area, app, net);
        errors::render_loss_rows(frame, loss_area, app, net);
    } else if app.show_sparsity_chart {
        // The sparsity over time takes the error chart's place; numbers and loss stay.
        errors::render_with(frame, errors_area, app, net, sparsity_chart::render);
    } else {
        errors::render(frame, errors_area, app, net);
    }
    sparsity::render(frame, sparsity_area, app, net);
}

fn too_small(frame: &mut Frame, area: Rect, app: &App) {
    let (min_w, min_h) = min_size(app);
    let text = vec![
        Line::styled("Enlarge the terminal", bold()),
        Line::from(format!(
            "relutui needs at least {min_w}×{min_h}; this one is {}×{}.",
            area.width, area.height
        )),
        Line::styled("Training goes on. q quits.", dim(app)),
    ];
    let height = (text.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(height) / 2;
    let msg = Paragraph::new(text).centered().wrap(Wrap { trim: true });
    frame.render_widget(
        msg,
        Rect::new(area.x, y, area.width, area.height - (y - area.y)),
    );
}
