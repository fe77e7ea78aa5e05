//! One network's claims view (`c`, in place of the error numbers and chart): the paper's
//! reasons for sparsity, measured live on the claims probe at the end of the latest epoch.
//!
//! ```text
//! on h≠0 · zeros save 62 % · px probe 8.1%     the on-rule, forward FLOPs skipped, pixels' probe
//! L1 stability 0.83  probe 3.2%                active-set stability under noise, linear probe
//!    ▁▃▅█▅▂▁ 120/300/450 ink +0.42             on-units per example: bins, p5/p50/p95, ink corr.
//! ```

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::app::App;
use crate::message::{ActiveUnitsHist, ClaimsReport};

/// Eighths of a cell, empty first.
const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The histogram is left out rather than drawn with fewer columns than this.
const MIN_BARS: usize = 4;

pub fn render(frame: &mut Frame, area: Rect, app: &App, net: usize) {
    let view = &app.nets[net];
    let claims = view
        .last
        .as_ref()
        .map(|r| &*r.claims)
        .filter(|c| !c.linear_probe_error.is_empty() || !c.active_set_stability.is_empty());
    let lines = match claims {
        Some(c) => lines(
            app,
            net,
            c,
            usize::from(area.width),
            usize::from(area.height),
        ),
        None => vec![Line::styled(
            format!("claims: after epoch {}", app.position.epoch + 1),
            dim(app),
        )],
    };
    frame.render_widget(Paragraph::new(lines), area);
}

/// The on-rule as a formula.
pub fn rule_label(c: &ClaimsReport) -> &'static str {
    if c.active_rule == "nonzero" {
        "h≠0"
    } else {
        "|h|>0.1·max"
    }
}

/// Percent of the dense forward multiply-adds that exact zeros let a sparse pass skip.
pub fn zeros_save(c: &ClaimsReport) -> Option<f64> {
    (c.flops_dense > 0.0).then(|| (1.0 - c.flops_if_sparse / c.flops_dense) * 100.0)
}

fn pct(e: f64) -> String {
    format!("{:.1}%", e * 100.0)
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.filter(|v| v.is_finite()).map_or_else(|| "-".into(), f)
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// The first of `variants` that fits in `w` columns, else the last one (clipped).
fn fit(variants: Vec<Vec<Span<'_>>>, w: usize) -> Line<'_> {
    let n = variants.len();
    for (i, v) in variants.into_iter().enumerate() {
        if width(&v) <= w || i + 1 == n {
            return Line::from(v);
        }
    }
    Line::default()
}

fn lines<'a>(app: &App, net: usize, c: &ClaimsReport, w: usize, height: usize) -> Vec<Line<'a>> {
    let layers = app.layers();
    let label = dim(app);
    let value = Style::new();

    let save = opt(zeros_save(c), |s| format!("{s:.0} %"));
    let mut header = vec![
        Span::styled("on ", label),
        Span::styled(rule_label(c), bold()),
        Span::styled(" · zeros save ", label),
        Span::styled(save.clone(), fg(app, Color::LightGreen)),
    ];
    let pixels = vec![
        Span::styled(" · px probe ", label),
        Span::styled(pct(c.linear_probe_error_pixels), value),
    ];
    let mut pixels_shown = false;
    if width(&header) + width(&pixels) <= w {
        header.extend(pixels.clone());
        pixels_shown = true;
    }
    let header = fit(
        vec![
            header,
            vec![
                Span::styled(rule_label(c), bold()),
                Span::styled(" save ", label),
                Span::styled(save, fg(app, Color::LightGreen)),
            ],
        ],
        w,
    );

    let two_rows = height > 2 * layers;
    let with_header = height > layers;
    let spare_row = with_header && height > 1 + layers * if two_rows { 2 } else { 1 };
    let mut out = Vec::new();
    if with_header {
        out.push(header);
    }
    for layer in 0..layers {
        let name_style = if app.focus == (net, layer) {
            bold().patch(fg(app, Color::White))
        } else {
            label
        };
        let name = format!("L{} ", layer + 1);
        let stability = opt(c.active_set_stability.get(layer).copied().flatten(), |s| {
            format!("{s:.2}")
        });
        let probe = opt(c.linear_probe_error.get(layer).copied(), pct);
        let ink = opt(
            c.active_ink_correlation.get(layer).copied().flatten(),
            |r| format!("{r:+.2}"),
        );
        // The same width with or without a value, so the rows' columns line up.
        let ink = format!("{ink:>5}");
        let row = |stab: &'static str, pr: &'static str, with_ink: bool| {
            let mut v = vec![
                Span::styled(name.clone(), name_style),
                Span::styled(stab, label),
                Span::styled(stability.clone(), value),
                Span::styled(pr, label),
                Span::styled(probe.clone(), value),
            ];
            if with_ink {
                v.extend([
                    Span::styled(" ink ", label),
                    Span::styled(ink.clone(), value),
                ]);
            }
            v
        };
        let mut variants = Vec::new();
        if layer == 0 && !pixels_shown && !spare_row {
            // The pixels' probe, for comparison, once: beside the first layer's.
            let mut v = row("stability ", "  probe ", false);
            v.extend([
                Span::styled(" px ", label),
                Span::styled(pct(c.linear_probe_error_pixels), value),
            ]);
            if width(&v) <= w {
                variants.push(v);
                pixels_shown = true;
            }
        }
        if !two_rows {
            variants.push(row("stability ", "  probe ", true));
            variants.push(row("stab ", " probe ", true));
        }
        variants.extend([
            row("stability ", "  probe ", false),
            row("stability ", " probe ", false),
            row("stab ", " pr ", false),
        ]);
        out.push(fit(variants, w));
        if two_rows {
            let hist = c.active_units_hist.get(layer);
            out.push(hist_row(app, hist, &ink, w));
        }
    }
    if !pixels_shown && with_header && out.len() < height {
        out.push(Line::from(vec![
            Span::styled("probe on the pixels ", label),
            Span::styled(pct(c.linear_probe_error_pixels), value),
        ]));
    }
    out
}

/// `   ▁▃▅█▅▂▁ 120/300/450 ink +0.42`: the on-units-per-example histogram, its 5th, 50th and
/// 95th percentiles, and the correlation of the count with the input's ink.
fn hist_row<'a>(app: &App, hist: Option<&ActiveUnitsHist>, ink: &str, w: usize) -> Line<'a> {
    let label = dim(app);
    let indent = Span::raw("   ");
    let Some(h) = hist.filter(|h| !h.bins.is_empty()) else {
        return Line::from(vec![
            indent,
            Span::styled("ink ", label),
            Span::raw(ink.to_string()),
        ]);
    };
    let ps = format!("{:.0}/{:.0}/{:.0}", h.p5, h.p50, h.p95);
    let tails: [Vec<Span<'a>>; 4] = [
        vec![
            Span::styled(" p5/50/95 ", label),
            Span::raw(ps.clone()),
            Span::styled(" ink ", label),
            Span::raw(ink.to_string()),
        ],
        vec![
            Span::raw(format!(" {ps}")),
            Span::styled(" ink ", label),
            Span::raw(ink.to_string()),
        ],
        vec![Span::raw(format!(" {ps}"))],
        vec![],
    ];
    let want = h.bins.len().min(8).max(MIN_BARS.min(h.bins.len()));
    let room = w.saturating_sub(3);
    let tail = tails
        .into_iter()
        .find(|t| room >= width(t) + want)
        .unwrap_or_default();
    let bars = bars(&h.bins, room.saturating_sub(width(&tail)));
    let mut spans = vec![indent, Span::styled(bars, fg(app, Color::LightBlue))];
    spans.extend(tail);
    Line::from(spans)
}

/// The bins as at most `cols` block characters, adjacent bins summed when they do not fit; an
/// occupied bin is never blank.
fn bars(bins: &[u32], cols: usize) -> String {
    if cols == 0 || bins.is_empty() {
        return String::new();
    }
    let group = bins.len().div_ceil(cols);
    let sums: Vec<u64> = bins
        .chunks(group)
        .map(|c| c.iter().map(|&b| u64::from(b)).sum())
        .collect();
    let max = sums.iter().copied().max().unwrap_or(0).max(1);
    sums.iter()
        .map(|&s| {
            if s == 0 {
                BARS[0]
            } else {
                BARS[(1 + (s * 7).div_ceil(max) as usize).min(8)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::bars;

    #[test]
    fn bars_scale_to_the_tallest_and_merge_to_fit() {
        assert_eq!(bars(&[0, 1, 4, 8], 10), " ▂▅█");
        assert_eq!(bars(&[1, 1, 2, 2], 2), "▅█");
        assert_eq!(bars(&[], 5), "");
    }
}
