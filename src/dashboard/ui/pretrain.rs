//! One network's panel during the pre-training phase: which layer, its reconstruction error
//! as a sparkline of the recent batches, and the exact sparsity of its code (the fraction of
//! exact zeros on the heatmap batch, as it forms, and on the validation set at the last epoch
//! end). The heatmap below shows the code itself.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::dashboard::app::App;

/// Bars of the sparkline: the recent errors mapped onto this many levels between their
/// minimum and maximum.
const LEVELS: u64 = 8;

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let Some(p) = app.pretrain.as_ref() else {
        return;
    };
    let Some(view) = p.nets.get(net) else {
        return;
    };
    let bpe = app.info.as_ref().map_or(0, |i| i.batches_per_epoch);
    let [title, recon, spark, sparsity] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("PRE-TRAINING layer {}/{}", p.at.layer + 1, p.at.layers),
                fg(app, Color::LightCyan).patch(bold()),
            ),
            Span::styled(
                format!(
                    "  epoch {}/{}  batch {}/{bpe}",
                    (p.at.epoch + 1).min(p.at.epochs),
                    p.at.epochs,
                    p.batch
                ),
                dim(app),
            ),
        ])),
        title,
    );
    let last = view.last.as_ref().filter(|r| r.layer == p.at.layer + 1);
    let mut text = vec![Span::raw(match view.recent.back() {
        Some(v) => format!("reconstruction {v:.3}"),
        None => "reconstruction -".into(),
    })];
    if let Some(r) = last {
        text.push(Span::styled(
            format!(
                "  valid {:.3} (epoch {}){}",
                r.valid_reconstruction_error,
                r.epoch,
                if r.diverged { "  DIVERGED" } else { "" }
            ),
            dim(app),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(text)), recon);
    let (lo, hi) = view
        .recent
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = (hi - lo).max(f32::EPSILON);
    let width = usize::from(spark.width);
    let bars: Vec<u64> = view
        .recent
        .iter()
        .skip(view.recent.len().saturating_sub(width))
        .map(|&v| 1 + (((v - lo) / span) * (LEVELS - 1) as f32).round() as u64)
        .collect();
    frame.render_widget(
        Sparkline::default()
            .data(&bars)
            .max(LEVELS)
            .style(fg(app, Color::LightCyan)),
        spark,
    );
    let mut text = vec![Span::raw(match view.probe_sparsity {
        Some(s) => format!("code sparsity {:.1}% (probe)", s * 100.0),
        None => "code sparsity -".into(),
    })];
    if let Some(r) = last {
        text.push(Span::styled(
            format!("  {:.1}% (valid)", r.sparsity * 100.0),
            dim(app),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(text)), sparsity);
}
