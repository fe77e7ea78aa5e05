//! The activation heatmap: the focused hidden layer on the fixed heatmap batch, one column per
//! unit and one row per example. Exact zeros are blank, so a rectifier layer's sparsity is
//! visible at a glance; small values are dim and large ones bright.
//!
//! With colours each cell is a half block (`▀`, foreground over background) holding two
//! examples. Without colours (`NO_COLOR`) each cell is one example drawn with a shade glyph.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{bold, dim, net_color};
use crate::dashboard::app::{App, Heatmap};

/// Columns one unit gets at most when the layer is narrower than the panel.
const MAX_CELL_WIDTH: usize = 4;
/// Glyphs of the non-zero levels without colour; exact zero is a blank.
pub const SHADES: [&str; Heatmap::LEVELS as usize] = ["░", "▒", "▓", "█"];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let title_area = Rect { height: 1, ..area };
    let grid = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    let (net, layer) = app.focus;
    let Some(view) = app.nets.get(net) else {
        return;
    };
    let mut title = vec![
        Span::styled("▌", net_color(app, net)),
        Span::styled(
            format!("{} h{}", view.info.name, layer + 1),
            net_color(app, net).patch(bold()),
        ),
    ];
    let Some(heat) = app.focused_heatmap() else {
        title.push(Span::styled(
            "  waiting for a snapshot of this layer…  (tab: next layer)",
            dim(app),
        ));
        frame.render_widget(Line::from(title), title_area);
        return;
    };

    let s = &heat.snapshot;
    let width = usize::from(grid.width).max(1);
    let stride = s.units.div_ceil(width).max(1);
    let shown_units = s.units.div_ceil(stride);
    // A narrow layer gets wider cells, up to MAX_CELL_WIDTH columns a unit.
    let cell_w = (width / shown_units.max(1)).clamp(1, MAX_CELL_WIDTH);
    let per_row = if app.color { 2 } else { 1 };
    let shown_examples = s.examples.min(usize::from(grid.height) * per_row);
    // The rest of the title in order of importance, each part only if it fits whole.
    let every = if stride > 1 {
        format!(" (every {})", ordinal(stride))
    } else {
        String::new()
    };
    // A snapshot of the probe examples now: it differs from the gauges' running figure
    // (training batches) and the epoch's figure of record (the validation set).
    let parts: [Vec<Span>; 4] = [
        vec![Span::raw(format!(
            "  now, {} probe examples: {:.1}% exactly 0",
            s.examples,
            heat.zeros * 100.0
        ))],
        legend(app),
        vec![Span::styled(
            format!(
                "  {shown_examples}/{} examples × {shown_units}/{} units{every}",
                s.examples, s.units
            ),
            dim(app),
        )],
        vec![Span::styled("  tab: next layer", dim(app))],
    ];
    let mut used: usize = title.iter().map(Span::width).sum();
    for part in parts {
        let w: usize = part.iter().map(Span::width).sum();
        if used + w <= usize::from(title_area.width) {
            used += w;
            title.extend(part);
        }
    }
    frame.render_widget(Line::from(title), title_area);

    let buf = frame.buffer_mut();
    for (c, x) in (0..shown_units * cell_w).zip(grid.x..grid.right()) {
        let unit = c / cell_w * stride;
        for (r, y) in (0..grid.height).zip(grid.y..) {
            let first = usize::from(r) * per_row;
            if first >= shown_examples {
                break;
            }
            if app.color {
                let top = heat.value(first, unit).map(|v| heat.level(v));
                let bottom = heat.value(first + 1, unit).map(|v| heat.level(v));
                half_block(buf, app.theme.ramp(), x, y, top, bottom);
            } else {
                let level = heat.value(first, unit).map_or(0, |v| heat.level(v));
                let glyph = if level == 0 {
                    " "
                } else {
                    SHADES[usize::from(level - 1)]
                };
                buf[(x, y)].set_symbol(glyph);
            }
        }
    }
}

/// `2nd`, `3rd`, `11th`, `21st`.
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Two examples in one cell: the top one in the upper half, the bottom one in the lower.
fn half_block(
    buf: &mut Buffer,
    ramp: [Color; 4],
    x: u16,
    y: u16,
    top: Option<u8>,
    bottom: Option<u8>,
) {
    let color = |level: u8| ramp[usize::from(level - 1)];
    let cell = &mut buf[(x, y)];
    match (top.unwrap_or(0), bottom.unwrap_or(0)) {
        (0, 0) => {
            cell.set_symbol(" ").set_style(Style::reset());
        }
        (0, b) => {
            cell.set_symbol("▄")
                .set_style(Style::reset())
                .set_fg(color(b));
        }
        (t, 0) => {
            cell.set_symbol("▀")
                .set_style(Style::reset())
                .set_fg(color(t));
        }
        (t, b) => {
            cell.set_symbol("▀").set_fg(color(t)).set_bg(color(b));
        }
    }
}

/// How to read the cells.
fn legend(app: &App) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled("  blank 0 ", dim(app))];
    if app.color {
        spans.push(Span::styled("small ", dim(app)));
        spans.extend(
            app.theme
                .ramp()
                .iter()
                .map(|&c| Span::styled("█", Style::new().fg(c))),
        );
        spans.push(Span::styled(" large", dim(app)));
    } else {
        spans.push(Span::raw("small "));
        spans.extend(SHADES.iter().map(|&g| Span::raw(g)));
        spans.push(Span::raw(" large"));
    }
    spans
}
