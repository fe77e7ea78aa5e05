//! The end-of-run summary, printed to the normal screen after the dashboard closes, so that
//! the results do not vanish with the alternate screen: per network the final and best
//! errors (with their epochs), the exact sparsity and the dead (or saturated) units per hidden
//! layer, then the wall time and where the log and the checkpoint are.

use std::fmt::Write as _;

use crate::dashboard::app::App;
use crate::dashboard::ui::header::fmt_clock;

fn pct(e: f64) -> String {
    format!("{:.2}%", e * 100.0)
}

/// The summary as plain text (no escape codes), one line per fact, ending in a newline.
pub fn render(app: &App) -> String {
    let mut out = String::new();
    let Some(info) = &app.info else {
        let _ = writeln!(
            out,
            "relutui: stopped before the trainer started ({} wall time)",
            fmt_clock(app.wall_time)
        );
        return out;
    };
    let arch: Vec<String> = std::iter::once(info.input_dim)
        .chain(info.hidden.iter().copied())
        .chain(std::iter::once(info.classes))
        .map(|n| n.to_string())
        .collect();
    let p = app.position;
    let total = info.epochs.map(|e| format!("/{e}")).unwrap_or_default();
    // One lr and L1 for the run when every network has them; else each network's own, on its line.
    let own = |n: &crate::dashboard::app::NetView| (n.lr.unwrap_or(app.lr), n.l1.unwrap_or(app.l1));
    let shared = app.nets.windows(2).all(|w| own(&w[0]) == own(&w[1]));
    let settings = if shared {
        let (lr, l1) = app.nets.first().map_or((app.lr, app.l1), own);
        format!(
            ", lr {}, l1 {}",
            crate::dashboard::app::fmt_value(lr),
            crate::dashboard::app::fmt_value(l1)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "relutui summary: {} {}, seed {}, {} epoch{}{total} done (then {} of {} batches){settings}",
        info.dataset,
        arch.join("-"),
        app.seed,
        p.epoch,
        if p.epoch == 1 { "" } else { "s" },
        p.batch,
        info.batches_per_epoch,
    );
    let name_w = app
        .nets
        .iter()
        .map(|n| n.info.name.len())
        .max()
        .unwrap_or(0);
    for view in &app.nets {
        let mut name = format!("{:<name_w$}", view.info.name);
        if !shared {
            let (lr, l1) = own(view);
            let _ = write!(
                name,
                "  lr {} l1 {}",
                crate::dashboard::app::fmt_value(lr),
                crate::dashboard::app::fmt_value(l1)
            );
        }
        let Some(last) = &view.last else {
            let _ = writeln!(out, "  {name}  no epoch finished: no errors measured");
            continue;
        };
        let diverged = if view.diverged { "  DIVERGED" } else { "" };
        let _ = write!(
            out,
            "  {name}  final (epoch {}): train {}  valid {}  test {}",
            last.epoch,
            pct(last.train_error),
            pct(last.valid_error),
            pct(last.test_error)
        );
        if let Some((valid, epoch, test)) = view.best {
            let _ = write!(
                out,
                "   best valid {} at epoch {epoch} (test {})",
                pct(valid),
                pct(test)
            );
        }
        let _ = writeln!(out, "{diverged}");
        let word = if view.info.bounded {
            "saturated"
        } else {
            "dead"
        };
        let counts = if view.info.bounded {
            &last.saturated_units
        } else {
            &last.dead_units
        };
        let layers: Vec<String> = last
            .sparsity
            .iter()
            .zip(counts)
            .zip(&info.hidden)
            .enumerate()
            .map(|(i, ((s, c), units))| {
                format!("h{} {:.1}% ({c}/{units} {word})", i + 1, s * 100.0)
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:name_w$}  exact zeros on validation: {}",
            "",
            layers.join("  ")
        );
    }
    let _ = writeln!(
        out,
        "  wall time {} (training {})",
        fmt_clock(app.wall_time),
        fmt_clock(app.run_time)
    );
    let _ = writeln!(
        out,
        "  log: {}",
        app.log.as_ref().map_or_else(
            || "none (--log FILE keeps one)".into(),
            |p| p.display().to_string()
        )
    );
    let _ = writeln!(
        out,
        "  checkpoint: {}",
        app.checkpoint.as_ref().map_or_else(
            || "none (--checkpoint FILE keeps one)".into(),
            |p| p.display().to_string()
        )
    );
    out
}
