//! The sweep's results for people: the table of runs, the per-L1 means, the text scatter
//! chart, and the Figure 3 SVG beside the logs.

use super::*;

pub(super) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

pub(super) fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = mean(v);
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt())
}

/// Draws the Figure 3 scatter of finished runs to `DIR/figure3.svg`; the line saying so (or why
/// not) for the summary.
pub(super) fn write_figure(dir: &Path, results: &[RunResult], epochs: usize) -> String {
    let points: Vec<crate::tools::plot::scatter::RunPoint> = results
        .iter()
        .map(|r| crate::tools::plot::scatter::RunPoint {
            file: run_file(dir, &r.spec),
            l1: f64::from(r.spec.l1),
            seed: Some(r.spec.seed),
            epoch: r.last.epoch as f64,
            sparsity: r.mean_sparsity(),
            test_error: r.last.test_error,
        })
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let title = format!(
        "Figure 3: sparsity against test error ({} runs, {epochs} epochs)",
        points.len()
    );
    let path = dir.join("figure3.svg");
    match crate::tools::plot::scatter::render(&points, &title, 960)
        .map_err(|e| e.to_string())
        .and_then(|svg| fs::write(&path, svg).map_err(|e| e.to_string()))
    {
        Ok(()) => format!("figure: {}\n", path.display()),
        Err(e) => format!("figure: {} not written: {e}\n", path.display()),
    }
}

/// The table of runs, the per-L1 means and the scatter chart.
/// Runs at chance level (all units silent, say) would squash the chart of the others into one
/// row, so they are listed under it instead of drawn: those whose test error is at least 90 %
/// of the chance error `1 − 1/classes`.
pub fn summary(
    args: &SweepArgs,
    results: &[RunResult],
    classes: usize,
    seconds: f64,
    jobs: usize,
) -> String {
    let mut s = String::new();
    let hidden: Vec<String> = args.hidden.get().iter().map(ToString::to_string).collect();
    let _ = writeln!(
        s,
        "\nsparsity sweep: rectifier {}, {} epochs, lr {}, batch {}, {}, {} runs in {:.0} s ({} at a time)",
        hidden.join("-"),
        args.epochs,
        args.lr,
        args.batch_size,
        args.dataset,
        results.len(),
        seconds,
        jobs
    );
    s.push_str(&summary_table(args, results, classes));
    s
}

/// The summary without its first line: the table of runs, the per-L1 means and the chart.
/// `--collect` prints it too, so that both give the same table for the same runs.
pub fn summary_table(args: &SweepArgs, results: &[RunResult], classes: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sparsity: mean over hidden layers of the fraction of exact zeros on the validation set"
    );
    let _ = writeln!(
        s,
        "\n{:>8} {:>6} {:>10} {:>11} {:>12} {:>10} {:>8}",
        "l1", "seed", "sparsity", "test error", "valid error", "stability", "seconds"
    );
    for r in results {
        let _ = writeln!(
            s,
            "{:>8} {:>6} {:>8.1} % {:>9.2} % {:>10.2} % {:>10.3} {:>8.0}",
            r.spec.l1,
            r.spec.seed,
            r.mean_sparsity() * 100.0,
            r.last.test_error * 100.0,
            r.last.valid_error * 100.0,
            r.mean_stability(),
            r.seconds
        );
    }
    let _ = writeln!(
        s,
        "\nper L1 value (mean ± sd over runs)\n{:>8} {:>4} {:>16} {:>16}",
        "l1", "runs", "sparsity", "test error"
    );
    for (g, &l1) in args.l1.0.iter().enumerate() {
        let group: Vec<&RunResult> = results.iter().filter(|r| r.spec.group == g).collect();
        if group.is_empty() {
            continue;
        }
        let sp: Vec<f64> = group.iter().map(|r| r.mean_sparsity() * 100.0).collect();
        let te: Vec<f64> = group.iter().map(|r| r.last.test_error * 100.0).collect();
        let ((sm, ss), (tm, ts)) = (mean_sd(&sp), mean_sd(&te));
        let _ = writeln!(
            s,
            "{l1:>8} {:>4} {:>7.1} ± {:>4.1} % {:>7.2} ± {:>4.2} %",
            group.len(),
            sm,
            ss,
            tm,
            ts
        );
    }
    let chance = 0.9 * (1.0 - 1.0 / classes.max(1) as f64);
    let (drawn, at_chance): (Vec<&RunResult>, Vec<&RunResult>) =
        results.iter().partition(|r| r.last.test_error < chance);
    let points: Vec<(f64, f64, usize)> = drawn
        .iter()
        .map(|r| {
            (
                r.mean_sparsity() * 100.0,
                r.last.test_error * 100.0,
                r.spec.group,
            )
        })
        .collect();
    let _ = writeln!(s, "\ntest error (%) against sparsity (%), one mark per run");
    s.push_str(&scatter(&points, 60, 16));
    if !at_chance.is_empty() {
        let listed: Vec<String> = at_chance
            .iter()
            .map(|r| {
                format!(
                    "l1 {} seed {} ({:.1} %, {:.1} %)",
                    r.spec.l1,
                    r.spec.seed,
                    r.mean_sparsity() * 100.0,
                    r.last.test_error * 100.0
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "not drawn, at chance level (sparsity, test error): {}",
            listed.join(", ")
        );
    }
    let legend: Vec<String> = args
        .l1
        .0
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{} = l1 {l}", mark(i)))
        .collect();
    let _ = writeln!(s, "marks: {}; * = several L1 values", legend.join(", "));
    s
}

/// The mark of L1 group `i`: 0-9, then a-z.
fn mark(i: usize) -> char {
    char::from_digit((i % 36) as u32, 36).unwrap_or('?')
}

/// A plain-text scatter chart of `(x, y, group)` points, `width × height` cells plus axes.
pub fn scatter(points: &[(f64, f64, usize)], width: usize, height: usize) -> String {
    let finite: Vec<_> = points
        .iter()
        .filter(|(x, y, _)| x.is_finite() && y.is_finite())
        .collect();
    if finite.is_empty() || width < 2 || height < 2 {
        return "(no points to draw)\n".into();
    }
    let range = |f: fn(&&(f64, f64, usize)) -> f64| {
        let lo = finite.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = finite.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        // The extremes sit on the edges; a flat range gets room so its points sit mid-way.
        if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, hi + 0.5)
        }
    };
    let (x0, x1) = range(|p| p.0);
    let (y0, y1) = range(|p| p.1);
    let mut grid = vec![vec![' '; width]; height];
    for &&(x, y, g) in &finite {
        let c = (((x - x0) / (x1 - x0)) * (width - 1) as f64).round() as usize;
        let r = (((y1 - y) / (y1 - y0)) * (height - 1) as f64).round() as usize;
        let cell = &mut grid[r.min(height - 1)][c.min(width - 1)];
        *cell = match *cell {
            ' ' => mark(g),
            m if m == mark(g) => m,
            _ => '*',
        };
    }
    let mut s = String::new();
    for (r, row) in grid.iter().enumerate() {
        let label = if r == 0 {
            format!("{y1:>7.2}")
        } else if r == height - 1 {
            format!("{y0:>7.2}")
        } else if r == (height - 1) / 2 {
            format!("{:>7.2}", f64::midpoint(y0, y1))
        } else {
            String::new()
        };
        let row: String = row.iter().collect();
        let _ = writeln!(s, "{label:>7} |{}", row.trim_end());
    }
    let _ = writeln!(s, "{:>7} +{}", "", "-".repeat(width));
    let left = format!("{x0:.1}");
    let right = format!("{x1:.1}");
    let mid = format!("{:.1}", f64::midpoint(x0, x1));
    let mut axis = vec![' '; width];
    let mut put = |at: usize, text: &str| {
        for (k, ch) in text.chars().enumerate() {
            if let Some(c) = axis.get_mut(at + k) {
                *c = ch;
            }
        }
    };
    put(0, &left);
    put((width / 2).saturating_sub(mid.len() / 2), &mid);
    put(width.saturating_sub(right.len()), &right);
    let axis: String = axis.iter().collect();
    let _ = writeln!(s, "{:>7}  {}", "", axis.trim_end());
    s
}
