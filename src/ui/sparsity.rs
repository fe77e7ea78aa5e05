//! One network's sparsity panel: per hidden layer, a gauge of exact sparsity (the fraction of
//! validation activations that are exactly 0), the dead units (0 on every validation example)
//! or, for bounded activations such as tanh, the saturated units, and the sparsity history.
//! Units that died this epoch (on the claims probe) follow the dead count as `+3`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Sparkline};
use ratatui::Frame;

use super::{dim, fg};
use crate::app::App;

/// Columns kept for `dead 1000` / `sat 1000` in the wide layout.
const COUNT_WIDE: usize = 10;
/// Narrower than this, the history sparkline is left out.
const WIDE: u16 = 30;

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let view = &app.nets[net];
    let bounded = view.info.bounded;
    let wide = area.width >= WIDE;
    for (layer, row) in (0..app.layers()).zip(area.rows()) {
        let report = view.last.as_ref();
        let sparsity = report.and_then(|r| r.sparsity.get(layer)).copied();
        let count = report.and_then(|r| {
            if bounded {
                r.saturated_units.get(layer)
            } else {
                r.dead_units.get(layer)
            }
        });
        let name = format!("L{} ", layer + 1);
        let pct = match sparsity {
            Some(s) if wide => format!("{:>5.1}%", s * 100.0),
            Some(s) => format!("{:>3.0}%", s * 100.0),
            None => "    -".into(),
        };
        let word = if bounded { "sat" } else { "dead" };
        let count_text = match (count, wide) {
            (Some(c), true) => format!(" {word} {c:>w$}", w = COUNT_WIDE - word.len() - 2),
            (Some(c), false) => format!(" {}{c}", &word[..1]),
            (None, true) => format!(" {word:<w$}", w = COUNT_WIDE - 1),
            (None, false) => String::new(),
        };
        // A dead unit never comes back to life: make a non-zero count stand out.
        let count_style = match count {
            Some(&c) if c > 0 && !bounded => fg(app, Color::LightRed),
            Some(&c) if c > 0 => fg(app, Color::Yellow),
            _ => dim(app),
        };
        // Units that went silent on the claims probe this epoch, beside the dead count.
        let died = report
            .and_then(|r| r.claims.died_this_epoch.get(layer))
            .copied()
            .filter(|&d| d > 0 && !bounded);
        let count_text = match died {
            Some(d) => format!("{count_text} +{d}"),
            None => count_text,
        };
        let name_w = name.len() as u16;
        let count_w = count_text.chars().count() as u16;
        let spark_w = if wide { (row.width / 4).min(24) } else { 0 };
        let [name_area, gauge_area, count_area, spark_area] = Layout::horizontal([
            Constraint::Length(name_w),
            Constraint::Fill(1),
            Constraint::Length(count_w),
            Constraint::Length(spark_w),
        ])
        .areas(row);

        let focused = app.focus == (net, layer);
        let name_style = if focused {
            super::bold().patch(fg(app, Color::White))
        } else {
            dim(app)
        };
        frame.render_widget(Span::styled(name, name_style), name_area);
        let gauge = LineGauge::default()
            .label(Line::from(pct))
            .ratio(sparsity.unwrap_or(0.0).clamp(0.0, 1.0))
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
        frame.render_widget(Span::styled(count_text, count_style), count_area);

        if spark_w > 1 {
            let history: Vec<u64> = view.sparsity[layer]
                .points()
                .iter()
                .rev()
                .take(usize::from(spark_w - 1))
                .rev()
                .map(|p| (p.1 * 100.0).round() as u64)
                .collect();
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
