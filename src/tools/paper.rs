//! `relutui paper`: the protocol behind Table 1 of Glorot, Bordes & Bengio (2011), as one
//! command.
//!
//! For each activation it trains the paper's learning-rate grid {0.1, 0.01, 0.001, 0.0001}
//! with early stopping, selects each activation's rate by validation error, and reports the
//! test error at the best validation epoch (and the rectifier's average exact sparsity there)
//! beside the paper's figures, as a table on stdout and as JSON in `OUT/table1.json`.
//!
//! Every run is a line of a plan ([`crate::tools::sweep::plan`], the sweep's): a plain
//! `relutui --headless ...` command that trains in its own run directory `OUT/<name>/` and,
//! run again, goes on from its checkpoint (`--run-dir OUT/<name> --continue`). `--plan`
//! prints the lines, one a line, for GNU parallel or a Slurm array (`--task K` runs line K);
//! `--collect [DIR]` builds the table from whatever runs are there, saying which are
//! finished, running, stopped or not started ([`crate::tools::sweep::collect::find`]). The
//! plain command runs the unfinished lines here, `--jobs` at a time, as child processes, and
//! collects. SIGINT, SIGTERM and SIGHUP are passed on to the running runs, which save a
//! checkpoint and stop.
//!
//! Columns (without pre-training, and with `--pretrain N` the pre-trained one) are
//! [`Column`]s: a name and the flags it adds to every planned command line.
//!
//! | module | what it holds |
//! | --- | --- |
//! | this file | the command: `--plan`, `--task K`, `--collect`, or train and collect |
//! | [`grid`] | the planned runs and their manifest |
//! | [`table`] | model selection, the table beside the paper's figures, its text |
//! | [`worker`] | the runs as child processes, signals passed on, progress |

pub mod grid;
pub mod table;
pub mod worker;

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use crate::frontend::run_dir;
use crate::frontend::runtime::{Error, Outcome};
use crate::tools::sweep::collect::{self, Status};
use crate::tools::sweep::plan::{self, read_manifest};

pub use crate::cli::paper::{Grid, PaperArgs};
pub use grid::{columns, manifest, paper_flags, plan, Column, Run};
pub use table::{collect, paper_figures, paper_sparsity, render, result, Row, RunResult, Table};

use worker::{train_all, SIGNALLED};

/// The protocol's settings for `--collect DIR`: the flags kept in `DIR/paper.json` when it is
/// there (a plan made elsewhere), else those given (folders of older versions).
fn collect_args(args: &PaperArgs, dir: &Path) -> Result<PaperArgs, Error> {
    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        args: PaperArgs,
    }
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--collect {}: no such folder",
            dir.display()
        )));
    }
    if !dir.join("paper.json").is_file() {
        return Ok(PaperArgs {
            out_dir: dir.to_path_buf(),
            ..args.clone()
        });
    }
    let m = read_manifest(dir, "paper").map_err(|e| Error::Usage(format!("--collect {e}")))?;
    let flags = collect::without_data_dir(&m.flags);
    let argv = ["paper".to_string()]
        .into_iter()
        .chain(flags)
        .chain(["--out-dir".into(), dir.display().to_string()]);
    let mut parsed = <Wrap as clap::Parser>::try_parse_from(argv)
        .map_err(|e| {
            Error::Usage(format!(
                "--collect {}: the plan's flags do not parse: {e}",
                dir.display()
            ))
        })?
        .args;
    parsed.json = args.json;
    Ok(parsed)
}

/// Runs the protocol (or `--plan`, `--task K`, `--collect`). `Outcome::Signal` when a signal
/// stopped it; bad input is [`Error::Usage`], failed runs [`Error::Runtime`].
pub fn run(args: &PaperArgs) -> Result<Outcome, Error> {
    let usage = Error::Usage;
    if let Some(dir) = &args.collect {
        let dir = dir.as_deref().unwrap_or(&args.out_dir);
        let args = collect_args(args, dir)?;
        let (table, status) = gather(&args, &plan(&args));
        print_table(&args, &table, &status);
        return Ok(Outcome::Quit);
    }
    if args.dataset.needs_data_dir() && args.data_dir.is_none() {
        return Err(usage(format!(
            "--dataset {} needs --data-dir DIR with its files (see relutui paper --help)",
            args.dataset
        )));
    }
    let dir = &args.out_dir;
    fs::create_dir_all(dir).map_err(|e| usage(format!("--out-dir {}: {e}", dir.display())))?;
    let runs = plan(args);
    let exe =
        std::env::current_exe().map_err(|e| usage(format!("cannot find relutui itself: {e}")))?;
    let program = args
        .program
        .clone()
        .unwrap_or_else(|| exe.display().to_string());
    let m = manifest(args, &runs, &program);
    if args.plan {
        return plan::print_plan(&m, dir, io::stdout().lock()).map(|()| Outcome::Quit);
    }
    if let Some(k) = args.task {
        let lines: Vec<(String, Vec<String>)> = runs
            .iter()
            .map(|r| (r.name.clone(), r.args.clone()))
            .collect();
        return Err(plan::exec_task(
            &m,
            &lines,
            dir,
            k,
            "activations × --lr-grid, twice with --pretrain",
        ));
    }
    plan::write_manifest(&m, dir)
        .map_err(|e| usage(format!("--out-dir {}: {e}", dir.display())))?;
    // The lines to run here: not finished, and not held by a process elsewhere.
    let found = collect::find(dir, &m, SystemTime::now());
    let mut todo = Vec::new();
    for (run, f) in runs.iter().zip(&found) {
        match f.status {
            Status::Finished => {}
            Status::Running { .. } if run_dir::is_locked(&plan::run_dir(dir, &run.name)) => {
                crate::say!(
                    "paper: {} is running in another process: left to it",
                    run.name
                );
            }
            _ => todo.push(run),
        }
    }
    // Every failure before a run started was exit 2, as bad input is.
    let failed = train_all(args, &exe, &todo).map_err(usage)?;
    let (table, status) = gather(args, &runs);
    let json = serde_json::to_string_pretty(&table).map_err(|e| Error::Tool(e.to_string()))?;
    let path = dir.join("table1.json");
    crate::engine::checkpoint::write_atomic(&path, format!("{json}\n").as_bytes())
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    print_table(args, &table, &status);
    let sig = SIGNALLED.load(Ordering::SeqCst);
    if sig != 0 {
        crate::say!(
            "paper: stopped by signal {sig}; the runs saved checkpoints: run the same command \
             again to go on"
        );
        return Ok(Outcome::Signal(sig));
    }
    if !failed.is_empty() {
        return Err(Error::Tool(format!(
            "paper: {} run(s) failed, see their .err files in {}: {}",
            failed.len(),
            dir.display(),
            failed.join(", ")
        )));
    }
    Ok(Outcome::Quit)
}

/// Reads the runs in `args.out_dir`: the table, and the text that says where each unfinished
/// run stands.
fn gather(args: &PaperArgs, runs: &[Run]) -> (Table, String) {
    let dir = &args.out_dir;
    let m = manifest(args, runs, "relutui");
    let found = collect::find(dir, &m, SystemTime::now());
    let mut status = collect::counts(&format!("paper {}", dir.display()), &found);
    status.push_str(&collect::status_lines(&m, &found, |f| f.run.name.clone()));
    (collect(args, runs, &found), status)
}

/// The table (or its JSON with `--json`) on stdout.
fn print_table(args: &PaperArgs, table: &Table, status: &str) {
    let mut out = io::stdout().lock();
    let _ = if args.json {
        let json = serde_json::to_string_pretty(table).expect("the table serialises");
        writeln!(out, "{json}")
    } else {
        write!(out, "{status}\n{}", render(table))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    pub(super) struct Wrap {
        #[command(flatten)]
        pub(super) args: PaperArgs,
    }

    pub(super) fn args(extra: &[&str]) -> PaperArgs {
        Wrap::try_parse_from(["paper", "--dataset", "mnist10k"].iter().chain(extra))
            .unwrap()
            .args
    }

    #[test]
    fn selection_reads_each_epoch_once_and_takes_the_first_best() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(&[
            "--out-dir",
            dir.path().to_str().unwrap(),
            "--activations",
            "rectifier",
            "--lr-grid",
            "0.1,0.01",
            "--epochs",
            "3",
        ]);
        let runs = plan(&a);
        let line = |e: u32, v: f64, t: f64| {
            format!(
                "{{\"net\":\"rectifier\",\"epoch\":{e},\"step\":1,\"train_error\":0.1,\
                 \"valid_error\":{v},\"test_error\":{t},\"loss\":1.0,\"l1_penalty\":0.0,\
                 \"sparsity\":[0.8,0.9],\"dead_units\":[0,0],\"saturated_units\":[0,0],\
                 \"mean_activation\":[0.1,0.1],\"active_units\":[1.0,1.0],\"lr\":0.1,\
                 \"l1\":0.001,\"seed\":1,\"examples_per_sec\":1.0,\"epoch_seconds\":2.0}}\n"
            )
        };
        // Epoch 2 is written twice (a resume), the last copy counts; a torn line is skipped.
        let log0 = [
            line(1, 0.05, 0.06),
            line(2, 0.01, 0.5),
            line(2, 0.03, 0.04),
            line(3, 0.03, 0.02),
            "{\"epoch\":4,\"valid".into(),
        ]
        .concat();
        for (run, log) in runs.iter().zip([log0, line(1, 0.04, 0.01)]) {
            fs::create_dir_all(run.log(dir.path()).parent().unwrap()).unwrap();
            fs::write(run.log(dir.path()), log).unwrap();
        }
        let (t, status) = gather(&a, &runs);
        let r0 = &t.runs[0];
        assert_eq!((r0.epochs, r0.best_epoch, r0.done), (3, Some(2), true));
        assert_eq!(r0.test_error, Some(0.04));
        assert!((r0.sparsity.unwrap() - 0.85).abs() < 1e-12);
        assert_eq!(t.runs[1].status, "running", "a fresh log at epoch 1 of 3");
        assert!(
            status.contains(": 2 runs planned: 1 finished, 1 running, 0 stopped, 0 not started"),
            "{status}"
        );
        let row = &t.rows[0];
        let sel = row.selected.as_ref().unwrap();
        assert_eq!(sel.name, "rectifier_lr0.1", "lowest validation error wins");
        assert!(!row.complete);
        assert_eq!(row.paper_test_error, Some(0.0143));
        let text = render(&t);
        assert!(text.contains("4.00 %") && text.contains("1.43 %"), "{text}");
    }
}
