//! Table 1 from the runs' logs: model selection per run (the epoch of the lowest validation
//! error), the selected run per column and activation beside the paper's own figures, and
//! the table as text.

use std::fmt::Write as _;

use serde::Serialize;

use super::grid::{columns, Run};
use crate::cli::paper::PaperArgs;
use crate::engine::data::DatasetKind;
use crate::engine::nn::Activation;
use crate::protocol::EpochReport;
use crate::tools::sweep::collect::{Found, Status};

/// The paper's Table 1 test errors (rectifier, tanh, softplus), without or with
/// unsupervised pre-training, for the datasets relutui reads.
pub fn paper_figures(dataset: DatasetKind, act: Activation, pretrained: bool) -> Option<f64> {
    let row = match (dataset, pretrained) {
        (DatasetKind::Mnist | DatasetKind::Mnist10k, false) => [0.0143, 0.0157, 0.0177],
        (DatasetKind::Mnist | DatasetKind::Mnist10k, true) => [0.0120, 0.0116, 0.0117],
        (DatasetKind::Cifar10, false) => [0.5086, 0.5262, 0.5320],
        // The issue quotes only the rectifier's and tanh's pre-trained CIFAR-10 figures.
        (DatasetKind::Cifar10, true) => [0.4996, 0.5079, f64::NAN],
        (DatasetKind::FashionMnist, _) => return None,
    };
    let v = match act {
        Activation::Rectifier => row[0],
        Activation::Tanh => row[1],
        Activation::Softplus => row[2],
        Activation::Sigmoid => return None,
    };
    v.is_finite().then_some(v)
}

/// The rectifier's average exact sparsity in the paper (section 4.1).
pub fn paper_sparsity(dataset: DatasetKind) -> Option<f64> {
    match dataset {
        DatasetKind::Mnist | DatasetKind::Mnist10k => Some(0.834),
        DatasetKind::Cifar10 => Some(0.720),
        DatasetKind::FashionMnist => None,
    }
}

/// What one run's log says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub name: String,
    pub activation: String,
    pub lr: f32,
    pub l1: f32,
    /// Epochs in the log (each counted once).
    pub epochs: usize,
    /// It trained to its end (all epochs, or early stopping): `status` is `finished`.
    pub done: bool,
    /// `finished`, `running`, `stopped` or `not started` ([`Status`]).
    pub status: String,
    /// The epoch of the lowest validation error (the first on a tie); `None` before any.
    pub best_epoch: Option<usize>,
    pub valid_error: Option<f64>,
    pub test_error: Option<f64>,
    /// Mean over hidden layers of the exact sparsity (validation set) at the best epoch.
    pub sparsity: Option<f64>,
    pub sparsity_per_layer: Vec<f64>,
    /// Training time in the log (sum of `epoch_seconds`).
    pub seconds: f64,
}

/// Model selection on a run's log: the epoch of the lowest validation error (the first on a
/// tie).
pub fn result(run: &Run, found: &Found) -> RunResult {
    let mut best: Option<&EpochReport> = None;
    for r in &found.reports {
        if best.is_none_or(|b| r.valid_error < b.valid_error) {
            best = Some(r);
        }
    }
    let layers: Vec<f64> = best.map(|b| b.sparsity.clone()).unwrap_or_default();
    RunResult {
        name: run.name.clone(),
        activation: run.activation.name().into(),
        lr: run.lr,
        l1: run.l1,
        epochs: found.reports.len(),
        done: found.status == Status::Finished,
        status: found.status.name().into(),
        best_epoch: best.map(|b| b.epoch),
        valid_error: best.map(|b| b.valid_error),
        test_error: best.map(|b| b.test_error),
        sparsity: (!layers.is_empty()).then(|| layers.iter().sum::<f64>() / layers.len() as f64),
        sparsity_per_layer: layers,
        seconds: found.train_seconds,
    }
}

/// One row of the table: an activation's selected run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub column: String,
    pub activation: String,
    /// The run chosen by validation error among the grid's, `None` when no run has an epoch.
    pub selected: Option<RunResult>,
    /// The paper's test error for this activation, when it gives one.
    pub paper_test_error: Option<f64>,
    /// The paper's average sparsity (rectifier rows only).
    pub paper_sparsity: Option<f64>,
    /// Every run of the grid is done.
    pub complete: bool,
}

/// The whole result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub dataset: String,
    pub rows: Vec<Row>,
    pub runs: Vec<RunResult>,
}

/// Collects the table from what `find` read of the runs (in plan order).
pub fn collect(args: &PaperArgs, runs: &[Run], found: &[Found]) -> Table {
    let results: Vec<RunResult> = runs.iter().zip(found).map(|(r, f)| result(r, f)).collect();
    let cols = columns(args);
    let mut rows = Vec::new();
    for (c, col) in cols.iter().enumerate() {
        for &act in args.activations.get() {
            let mine: Vec<&RunResult> = runs
                .iter()
                .zip(&results)
                .filter(|(r, _)| r.column == c && r.activation == act)
                .map(|(_, res)| res)
                .collect();
            let selected = mine
                .iter()
                .filter(|r| r.valid_error.is_some())
                .min_by(|a, b| {
                    a.valid_error
                        .partial_cmp(&b.valid_error)
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .map(|r| (*r).clone());
            rows.push(Row {
                column: col.name.clone(),
                activation: act.name().into(),
                selected,
                paper_test_error: paper_figures(args.dataset, act, !col.flags.is_empty()),
                paper_sparsity: if act == Activation::Rectifier {
                    paper_sparsity(args.dataset)
                } else {
                    None
                },
                complete: mine.iter().all(|r| r.done),
            });
        }
    }
    Table {
        dataset: args.dataset.name().into(),
        rows,
        runs: results,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.2} %", v * 100.0))
}

/// The table as text: the selected run of each activation beside the paper's figures.
pub fn render(table: &Table) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Table 1 ({}): test error at the epoch of best validation error, lr chosen by validation",
        table.dataset
    );
    let _ = writeln!(
        s,
        "{:<16} {:<10} {:>7} {:>6} {:>8} {:>9} {:>9} {:>11} {:>9} {:>8}",
        "column",
        "activation",
        "lr",
        "epoch",
        "valid",
        "test",
        "paper",
        "sparsity",
        "paper",
        "status"
    );
    for row in &table.rows {
        let sel = row.selected.as_ref();
        let _ = writeln!(
            s,
            "{:<16} {:<10} {:>7} {:>6} {:>8} {:>9} {:>9} {:>11} {:>9} {:>8}",
            row.column,
            row.activation,
            sel.map_or_else(|| "-".into(), |r| r.lr.to_string()),
            sel.and_then(|r| r.best_epoch)
                .map_or_else(|| "-".into(), |e| e.to_string()),
            pct(sel.and_then(|r| r.valid_error)),
            pct(sel.and_then(|r| r.test_error)),
            pct(row.paper_test_error),
            if row.activation == "rectifier" {
                pct(sel.and_then(|r| r.sparsity))
            } else {
                "-".into()
            },
            pct(row.paper_sparsity),
            if row.complete { "done" } else { "partial" }
        );
    }
    let _ = writeln!(s, "\nruns (best epoch by validation error):");
    for r in &table.runs {
        let _ = writeln!(
            s,
            "  {:<28} epochs {:>3} {:<11}  best {:>3}  valid {:>8}  test {:>8}  {:>6} s",
            r.name,
            r.epochs,
            r.status,
            r.best_epoch.map_or_else(|| "-".into(), |e| e.to_string()),
            pct(r.valid_error),
            pct(r.test_error),
            // A run not started yet has no time (not "-0 s").
            if r.epochs == 0 {
                "-".into()
            } else {
                format!("{:.0}", r.seconds)
            }
        );
    }
    s
}
