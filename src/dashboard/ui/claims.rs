//! One network's claims view (`c`, in place of the error numbers and chart): the paper's
//! reasons for sparsity, measured live on the claims subset at the end of the latest epoch.
//!
//! Each of the four claims is named, with its direction (↑ higher is better, ↓ lower) and its
//! units; the help's second page (`?`, then `tab`) says what each one measures.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bold, dim, fg};
use crate::dashboard::app::App;
use crate::protocol::{ActiveUnitsHist, ClaimsReport};

/// Eighths of a cell, empty first.
const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Columns of one layer's value in the claims table.
const COL: usize = 6;
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

/// A table of the four claims, one row each, one column per hidden layer:
///
/// ```text
/// claim (↑ higher / ↓ lower is better)   h1    h2    h3
/// 1 stability ↑ (0-1)                  0.83  0.80  0.77
/// 1 change ↓ ‖Δh‖/‖h‖                   0.21  0.25  0.30
/// 2 on-units p50 (of 1000)              300   280   260
/// 3 probe error ↓ (px 8.1%)            3.2%  3.0%  2.9%
/// 4 zeros save ↑ 62% of multiply-adds, on h≠0
/// ```
///
/// then, where there are rows, the on-units histograms and their ink correlation per layer.
fn lines<'a>(app: &App, net: usize, c: &ClaimsReport, w: usize, height: usize) -> Vec<Line<'a>> {
    let layers = app.layers();
    let label = dim(app);
    let units: Vec<usize> = app
        .info
        .as_ref()
        .map(|i| i.hidden.clone())
        .unwrap_or_default();
    // Value columns of COL; the label column takes the rest, at least 12.
    let label_w = w.saturating_sub(COL * layers).clamp(12, 26);
    let shown = (w.saturating_sub(label_w) / COL).min(layers);
    let same_units = units.windows(2).all(|p| p[0] == p[1]);
    let of_units = match units.first() {
        Some(u) if same_units => format!(" (of {u})"),
        _ => String::new(),
    };
    let px = pct(c.linear_probe_error_pixels);
    let labels_long = [
        "claim (↑/↓ better)".to_string(),
        "1 stability ↑ (0-1)".to_string(),
        "1 change ↓ ‖Δh‖/‖h‖".to_string(),
        format!("2 on-units p50{of_units}"),
        format!("3 probe error ↓ px {px}"),
    ];
    let labels_short = [
        "claim".to_string(),
        "1 stabil. ↑".to_string(),
        "1 change ↓".to_string(),
        "2 on p50".to_string(),
        format!("3 probe ↓ px{px}"),
    ];
    let fits = |l: &[String; 5]| l.iter().all(|t| t.chars().count() <= label_w);
    let labels = if fits(&labels_long) {
        labels_long
    } else {
        labels_short
    };
    let cell = |layer: usize, claim: usize| -> String {
        match claim {
            0 => format!("h{}", layer + 1),
            1 => opt(c.active_set_stability.get(layer).copied().flatten(), |s| {
                format!("{s:.2}")
            }),
            2 => opt(c.activation_change.get(layer).copied().flatten(), |s| {
                format!("{s:.2}")
            }),
            3 => c
                .active_units_hist
                .get(layer)
                .map_or_else(|| "-".into(), |h| format!("{:.0}", h.p50)),
            _ => opt(c.linear_probe_error.get(layer).copied(), pct),
        }
    };
    let mut out = Vec::new();
    for (claim, text) in labels.iter().enumerate() {
        let mut spans = vec![Span::styled(format!("{text:<label_w$}"), label)];
        for layer in 0..shown {
            let v = format!("{:>COL$}", cell(layer, claim));
            let style = if claim == 0 && app.focus == (net, layer) {
                bold().patch(super::strong(app))
            } else if claim == 0 {
                label
            } else {
                Style::new()
            };
            spans.push(Span::styled(v, style));
        }
        if shown < layers {
            spans.push(Span::styled(" …", label));
        }
        out.push(Line::from(spans));
    }
    let save = opt(zeros_save(c), |s| format!("{s:.0}%"));
    let rule = rule_label(c);
    out.push(fit(
        vec![
            vec![
                Span::styled("4 zeros save ↑ ", label),
                Span::styled(save.clone(), fg(app, Color::LightGreen).patch(bold())),
                Span::styled(" of multiply-adds, on ", label),
                Span::styled(rule, bold()),
            ],
            vec![
                Span::styled("4 zeros save ↑ ", label),
                Span::styled(save.clone(), fg(app, Color::LightGreen).patch(bold())),
                Span::styled(" of mult-adds", label),
            ],
            vec![
                Span::styled("4 save ↑ ", label),
                Span::styled(save, fg(app, Color::LightGreen).patch(bold())),
            ],
        ],
        w,
    ));
    // The on-units histogram per layer (claim 2, variable size) where rows are left.
    for layer in 0..layers {
        if out.len() >= height {
            break;
        }
        let ink = opt(
            c.active_ink_correlation.get(layer).copied().flatten(),
            |r| format!("{r:+.2}"),
        );
        let mut line = hist_row(
            app,
            c.active_units_hist.get(layer),
            &format!("{ink:>5}"),
            w.saturating_sub(3),
        );
        line.spans
            .insert(0, Span::styled(format!("h{} ", layer + 1), label));
        out.push(line);
    }
    out.truncate(height);
    out
}

/// `   ▁▃▅█▅▂▁ 120/300/450 ink +0.42`: the on-units-per-example histogram, its 5th, 50th and
/// 95th percentiles, and the correlation of the count with the input's ink.
fn hist_row<'a>(app: &App, hist: Option<&ActiveUnitsHist>, ink: &str, w: usize) -> Line<'a> {
    let label = dim(app);
    let indent = Span::raw("");
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
    let room = w;
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
