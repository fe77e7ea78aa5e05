//! One network's sparsity panel, titled "exact zeros per hidden layer": per hidden layer
//! (`h1`, `h2`, … so that layer 1 is not taken for the L1 penalty), a gauge of the *running*
//! exact sparsity on the newest training batches (`≈`, updated 5 times a second), the
//! epoch-end figure of record on the validation set (`val`), the dead units (0 on every
//! validation example) or, for bounded activations such as tanh, the saturated units, and the
//! history of the epoch-end figure. Units that died this epoch (on the claims subset) follow
//! the dead count as `+3`, in a column kept for them so that the gauges stay comparable.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Sparkline};
use ratatui::Frame;

use super::{bold, dim, fg, strong};
use crate::dashboard::app::App;
use crate::protocol::LIVE_BATCHES;

/// Narrower than this, the compact row (`h1 ≈72% v70% d9`).
const WIDE: u16 = 30;
/// Narrower than this (and not compact), the medium row (`h1 ≈72.1% ███ v70.0% d   9 +3`).
const FULL: u16 = 48;
/// Narrower than this, the history sparkline is left out.
const SPARK: u16 = 48;

/// The panel's title, as long as the width allows.
fn title(app: &App, width: u16) -> Line<'static> {
    let variants = [
        format!("exact zeros per hidden layer: ≈ last {LIVE_BATCHES} batches, val = epoch end"),
        "exact zeros per hidden layer  ≈ running  val epoch end".to_string(),
        "exact zeros/layer ≈ running v epoch end".to_string(),
        "exact zeros per layer (≈ running)".to_string(),
        "exact zeros".to_string(),
    ];
    let text = variants
        .into_iter()
        .find(|v| v.chars().count() <= usize::from(width))
        .unwrap_or_default();
    Line::styled(text, dim(app))
}

/// Every `n`-th value's mean, so that `values` fits in `width` columns.
fn squeeze(values: &[u64], width: usize) -> Vec<u64> {
    if values.len() <= width || width == 0 {
        return values.to_vec();
    }
    let per = values.len().div_ceil(width);
    values
        .chunks(per)
        .map(|c| c.iter().sum::<u64>() / c.len() as u64)
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let view = &app.nets[net];
    let bounded = view.info.bounded;
    let wide = area.width >= WIDE;
    let full = area.width >= FULL;
    let mut rows = area.rows();
    let Some(title_row) = rows.next() else { return };
    frame.render_widget(title(app, area.width), title_row);
    // The widest count any layer can have, so every row's columns line up.
    let units_w = app
        .info
        .as_ref()
        .and_then(|i| i.hidden.iter().max())
        .map_or(1, |u| u.to_string().len());
    for (layer, row) in (0..app.layers()).zip(rows) {
        let report = view.last.as_ref();
        let record = report.and_then(|r| r.sparsity.get(layer)).copied();
        let live = view.live_sparsity.get(layer).copied().flatten();
        let count = report.and_then(|r| {
            if bounded {
                r.saturated_units.get(layer)
            } else {
                r.dead_units.get(layer)
            }
        });
        // Units that went silent on the claims subset this epoch, beside the dead count.
        let died = report
            .and_then(|r| r.claims.died_this_epoch.get(layer))
            .copied()
            .filter(|&d| d > 0 && !bounded);
        let focused = app.focus == (net, layer);
        // The focused layer (the heatmap's) is marked by a glyph, not by colour alone.
        let name = if focused {
            format!("▸h{} ", layer + 1)
        } else {
            format!(" h{} ", layer + 1)
        };
        let live_text = match live {
            Some(s) if full => format!("≈{:>5.1}%", s * 100.0),
            Some(s) if wide => format!("≈{:>4.1}%", s * 100.0),
            Some(s) => format!("≈{:>3.0}%", s * 100.0),
            None if wide => "≈    - ".into(),
            None => "≈  - ".into(),
        };
        let record_text = match record {
            Some(s) if full => format!(" val {:>5.1}%", s * 100.0),
            Some(s) if wide => format!(" v{:.1}%", s * 100.0),
            None if full => " val     - ".into(),
            Some(s) => format!(" v{:>3.0}%", s * 100.0),
            None if wide => " v   - ".into(),
            None => " v  - ".into(),
        };
        let word = if bounded { "sat" } else { "dead" };
        let letter = &word[..1];
        let count_text = match count {
            Some(c) if full => format!(" {word} {c:>units_w$}"),
            Some(c) if wide => format!(" {letter}{c:>units_w$}"),
            Some(c) => format!(" {letter}{c}"),
            None if full => format!(" {word} {:>units_w$}", "-"),
            None if wide => format!(" {letter}{:>units_w$}", "-"),
            None => String::new(),
        };
        // A slot for `+N` whether or not it is there: the gauges keep one length.
        let died_w = if wide && !bounded { units_w + 2 } else { 0 };
        let died_text = died.map(|d| format!(" +{d}")).unwrap_or_default();
        let died_text = format!("{died_text:<died_w$}");
        // A dead unit never comes back to life: make a non-zero count stand out.
        let count_style = match count {
            Some(&c) if c > 0 && !bounded => fg(app, Color::LightRed).patch(bold()),
            Some(&c) if c > 0 => fg(app, Color::Yellow),
            _ => dim(app),
        };
        let spark_w = if row.width >= SPARK {
            (row.width / 5).min(24)
        } else {
            0
        };
        let [name_area, gauge_area, record_area, count_area, died_area, spark_area] =
            Layout::horizontal([
                Constraint::Length(name.chars().count() as u16),
                Constraint::Fill(1),
                Constraint::Length(record_text.chars().count() as u16),
                Constraint::Length(count_text.chars().count() as u16),
                Constraint::Length(died_text.chars().count() as u16),
                Constraint::Length(spark_w),
            ])
            .areas(row);

        let name_style = if focused {
            bold().patch(strong(app))
        } else {
            dim(app)
        };
        frame.render_widget(Span::styled(name, name_style), name_area);
        let gauge = LineGauge::default()
            .label(Line::from(live_text))
            .ratio(live.or(record).unwrap_or(0.0).clamp(0.0, 1.0))
            .filled_symbol("█")
            .unfilled_symbol("░")
            .filled_style(fg(
                app,
                if bounded {
                    Color::Magenta
                } else {
                    Color::Green
                },
            ))
            .unfilled_style(dim(app));
        frame.render_widget(gauge, gauge_area);
        frame.render_widget(Span::raw(record_text), record_area);
        frame.render_widget(Span::styled(count_text, count_style), count_area);
        frame.render_widget(Span::styled(died_text, fg(app, Color::LightRed)), died_area);

        if spark_w > 1 {
            let all: Vec<u64> = view.sparsity[layer]
                .points()
                .iter()
                .map(|p| (p.1 * 100.0).round() as u64)
                .collect();
            let cols = usize::from(spark_w - 1);
            let history = if app.full_history {
                squeeze(&all, cols)
            } else {
                all[all.len().saturating_sub(cols)..].to_vec()
            };
            let spark_area = Rect {
                x: spark_area.x + 1,
                width: spark_area.width - 1,
                ..spark_area
            };
            frame.render_widget(
                Sparkline::default()
                    .data(&history)
                    .max(100)
                    .style(fg(app, Color::Green)),
                spark_area,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::squeeze;

    #[test]
    fn squeeze_keeps_short_histories_and_averages_long_ones() {
        assert_eq!(squeeze(&[1, 2, 3], 5), vec![1, 2, 3]);
        assert_eq!(squeeze(&[2, 4, 6, 8, 10], 2), vec![4, 9]);
    }
}
