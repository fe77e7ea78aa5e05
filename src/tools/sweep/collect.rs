//! `--collect DIR`: what the runs of a plan in DIR have done, finished or not, saying which;
//! for the sweep, the summary table and the Figure 3 scatter of the finished ones (the paper
//! command builds Table 1 from the same [`find`]).
//!
//! Each planned run is read from its run directory `DIR/<name>/` (its `log.jsonl` and
//! `run.json`), or, in folders of the in-process sweep and of older plans, from the log file
//! `DIR/<name>.jsonl`. A run is *finished* when its log has reached the plan's epochs (or
//! early stopping froze it), *not started* when it has no log, *running* while a process
//! holds its run directory, and *stopped* when its `run.json` says it ended early (a signal,
//! an error). Otherwise nothing can tell a run still training on another host from a crashed
//! one, so a log that has gained no line for longer than [`stale_after`] is called stopped
//! (crashed, killed or lost). A stopped run goes on from its checkpoint when its plan line is
//! run again. The sweep's table and figure hold the finished runs only, since runs at
//! different epochs are not comparable; the others are listed with their latest epoch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Parser;

use super::plan::{read_manifest, Manifest, PlannedRun};
use super::{plan, summary_table, RunResult, RunSpec, SweepArgs};
use crate::frontend::run_dir::{self, Ending};
use crate::frontend::runtime::Error;
use crate::protocol::EpochReport;
use crate::tools::plot::scatter;

/// Where a planned run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Finished,
    /// Its log changed `age` seconds ago.
    Running {
        age: f64,
    },
    /// It ended early (`how`: its `run.json`), or no new line came for `age` seconds (crashed,
    /// killed, or on a host that went away).
    Stopped {
        age: f64,
        how: Option<String>,
    },
    NotStarted,
}

impl Status {
    /// One word for tables and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Finished => "finished",
            Status::Running { .. } => "running",
            Status::Stopped { .. } => "stopped",
            Status::NotStarted => "not started",
        }
    }
}

/// One planned run as found in the folder.
#[derive(Debug, Clone)]
pub struct Found {
    pub run: PlannedRun,
    pub status: Status,
    /// Its log: `DIR/<name>/log.jsonl`, or `DIR/<name>.jsonl` in older folders.
    pub log: PathBuf,
    /// Its supervised epoch reports, one per epoch (the last line of an epoch that a resumed
    /// run wrote twice), in epoch order.
    pub reports: Vec<EpochReport>,
    pub epochs_done: usize,
    /// The sum of the training time of its epochs (`epoch_seconds`).
    pub train_seconds: f64,
    /// The log's last line was cut short (a crash in the middle of a write).
    pub cut: bool,
}

impl Found {
    pub fn last(&self) -> Option<&EpochReport> {
        self.reports.last()
    }
}

/// How long a run may go without a new epoch line before it counts as stopped: three times
/// its slowest epoch so far, and at least ten minutes (evaluation is not in `epoch_seconds`).
pub fn stale_after(reports: &[EpochReport]) -> f64 {
    let slowest = reports.iter().map(|r| r.epoch_seconds).fold(0.0, f64::max);
    (3.0 * slowest).max(600.0)
}

/// The supervised epoch lines of a log, one per epoch, and whether its last line is cut short.
fn read_reports(path: &Path) -> Option<(Vec<EpochReport>, bool)> {
    let file = fs::File::open(path).ok()?;
    let mut by_epoch: BTreeMap<usize, EpochReport> = BTreeMap::new();
    let mut cut = false;
    for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(&line) {
            // Pre-training lines (`--pretrain`) number their own epochs.
            Ok(v) if v.get("phase").and_then(serde_json::Value::as_str) == Some("pretrain") => {
                cut = false;
            }
            Ok(v) => match serde_json::from_value::<EpochReport>(v) {
                Ok(r) => {
                    cut = false;
                    by_epoch.insert(r.epoch, r);
                }
                Err(_) => cut = true,
            },
            Err(_) => cut = true,
        }
    }
    Some((by_epoch.into_values().collect(), cut))
}

/// Reads the folder against its plan.
pub fn find(dir: &Path, m: &Manifest, now: SystemTime) -> Vec<Found> {
    m.runs
        .iter()
        .map(|run| {
            let rd = dir.join(&run.name);
            let meta = run_dir::read_meta(&rd);
            let log = match &meta {
                Some(meta) if meta.log.is_absolute() => meta.log.clone(),
                Some(meta) => rd.join(&meta.log),
                None if rd.join(run_dir::LOG).is_file() => rd.join(run_dir::LOG),
                None => dir.join(format!("{}.jsonl", run.name)),
            };
            let age = fs::metadata(&log)
                .and_then(|md| md.modified())
                .ok()
                .map(|t| now.duration_since(t).map_or(0.0, |d| d.as_secs_f64()));
            let (reports, cut) = read_reports(&log).unwrap_or_default();
            let epochs_done = reports.last().map_or(0, |r| r.epoch);
            let train_seconds = reports.iter().map(|r| r.epoch_seconds).sum();
            let stopped_early = reports.last().is_some_and(|r| r.stopped);
            let how = match meta.and_then(|m| m.ended) {
                Some(Ending::Quit) => Some("quit".to_string()),
                Some(Ending::Signal { signal }) => Some(format!("signal {signal}")),
                Some(Ending::Failed { message }) => Some(format!("error: {message}")),
                Some(Ending::Done) | None => None,
            };
            let status = if epochs_done >= m.epochs.max(1) || stopped_early {
                Status::Finished
            } else if run_dir::is_locked(&rd) {
                Status::Running {
                    age: age.unwrap_or(0.0),
                }
            } else if let Some(age) = age {
                if how.is_none() && age <= stale_after(&reports) {
                    Status::Running { age }
                } else {
                    Status::Stopped { age, how }
                }
            } else {
                Status::NotStarted
            };
            Found {
                run: run.clone(),
                status,
                log,
                reports,
                epochs_done,
                train_seconds,
                cut,
            }
        })
        .collect()
}

fn secs(age: f64) -> String {
    if age < 120.0 {
        format!("{age:.0} s")
    } else if age < 7200.0 {
        format!("{:.0} min", age / 60.0)
    } else {
        format!("{:.1} h", age / 3600.0)
    }
}

/// The count of runs by status, after `what` (`sweep DIR`).
pub fn counts(what: &str, found: &[Found]) -> String {
    let count = |f: fn(&Status) -> bool| found.iter().filter(|r| f(&r.status)).count();
    format!(
        "{what}: {} runs planned: {} finished, {} running, {} stopped, {} not started\n",
        found.len(),
        count(|s| *s == Status::Finished),
        count(|s| matches!(s, Status::Running { .. })),
        count(|s| matches!(s, Status::Stopped { .. })),
        count(|s| *s == Status::NotStarted),
    )
}

/// One line per run that is not finished: where it stands, and for a stopped one how to go on.
/// `label(run)` names it (`l1 0.001 seed 1`).
pub fn status_lines(m: &Manifest, found: &[Found], label: impl Fn(&Found) -> String) -> String {
    let mut s = String::new();
    for r in found {
        let latest = r.last().map_or(String::new(), |l| {
            format!(
                "; at epoch {}: sparsity {:.1} %, test error {:.2} %",
                l.epoch,
                l.sparsity.iter().sum::<f64>() / l.sparsity.len().max(1) as f64 * 100.0,
                l.test_error * 100.0
            )
        });
        let what = match &r.status {
            Status::Finished => continue,
            Status::NotStarted => "not started".to_string(),
            Status::Running { age } => format!(
                "running: epoch {}/{} done, log written {} ago",
                r.epochs_done,
                m.epochs,
                secs(*age)
            ),
            Status::Stopped { age, how } => format!(
                "stopped: epoch {}/{} done, {}{}; run its line again to go on from its \
                 checkpoint: {}",
                r.epochs_done,
                m.epochs,
                how.as_ref().map_or_else(
                    || format!("no line for {} (crashed or killed?)", secs(*age)),
                    |h| format!("ended by {h}")
                ),
                if r.cut { ", last line cut short" } else { "" },
                r.run.command,
            ),
        };
        let _ = writeln!(s, "  task {} ({}): {what}{latest}", r.run.task, label(r));
    }
    s
}

/// The sweep's settings, from the flags kept in the plan.
pub fn sweep_args(m: &Manifest) -> Result<SweepArgs, String> {
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: SweepArgs,
    }
    Wrap::try_parse_from(std::iter::once("sweep".to_string()).chain(without_data_dir(&m.flags)))
        .map(|w| w.args)
        .map_err(|e| format!("the plan's flags do not parse: {e}"))
}

/// The flags without `--data-dir`: the data folder may live on another host, and is only
/// named, not read, when collecting.
pub fn without_data_dir(flags: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for f in flags {
        if std::mem::take(&mut skip) {
            continue;
        }
        if f == "--data-dir" {
            skip = true;
            continue;
        }
        out.push(f.clone());
    }
    out
}

/// The sweep's runs, in plan order, beside what was found of each.
fn specs(args: &SweepArgs, found: &[Found]) -> Vec<RunSpec> {
    let specs = plan(&args.l1.0, args.repeats, args.seed);
    specs.into_iter().take(found.len()).collect()
}

/// The status lines of every run that is not finished, then the table of the finished ones.
pub fn report(dir: &Path, m: &Manifest, found: &[Found], args: &SweepArgs) -> String {
    let mut s = counts(&format!("sweep {}", dir.display()), found);
    let specs = specs(args, found);
    s.push_str(&status_lines(m, found, |r| {
        let spec = &specs[r.run.task - 1];
        format!("l1 {} seed {}", spec.l1, spec.seed)
    }));
    let results = finished_results(args, found);
    if results.is_empty() {
        let _ = writeln!(s, "\nno run has finished yet: no table");
    } else {
        s.push_str(&summary_table(args, &results, 10));
    }
    s
}

/// The finished runs as the in-process sweep reports them (seconds: the sum of the training
/// time of its epochs, where the in-process sweep counts evaluation too).
pub fn finished_results(args: &SweepArgs, found: &[Found]) -> Vec<RunResult> {
    specs(args, found)
        .into_iter()
        .zip(found)
        .filter(|(_, r)| r.status == Status::Finished)
        .filter_map(|(spec, r)| {
            Some(RunResult {
                spec,
                seconds: r.train_seconds,
                last: r.last()?.clone(),
            })
        })
        .collect()
}

/// The scatter's points: the finished runs.
pub fn points(args: &SweepArgs, found: &[Found]) -> Vec<scatter::RunPoint> {
    specs(args, found)
        .into_iter()
        .zip(found)
        .filter(|(_, r)| r.status == Status::Finished)
        .filter_map(|(spec, r)| {
            let l = r.last()?;
            Some(scatter::RunPoint {
                file: r.log.clone(),
                l1: f64::from(spec.l1),
                seed: Some(spec.seed),
                epoch: l.epoch as f64,
                sparsity: l.sparsity.iter().sum::<f64>() / l.sparsity.len().max(1) as f64,
                test_error: l.test_error,
            })
        })
        .collect()
}

/// `sweep --collect DIR`: the report, and `DIR/figure3.svg` when there is something to draw
/// (its path too).
pub fn collect(dir: &Path) -> Result<(String, Option<PathBuf>), Error> {
    let usage = |e: String| Error::Usage(format!("--collect {}: {e}", dir.display()));
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--collect {}: no such folder",
            dir.display()
        )));
    }
    let m = read_manifest(dir, "sweep").map_err(|e| {
        Error::Usage(format!(
            "--collect {e} (a folder made by `relutui sweep --plan`, `--task` or `--out-dir`)"
        ))
    })?;
    let args = sweep_args(&m).map_err(usage)?;
    let found = find(dir, &m, SystemTime::now());
    let mut text = report(dir, &m, &found, &args);
    let pts = points(&args, &found);
    if pts.is_empty() {
        return Ok((text, None));
    }
    let title = format!(
        "Figure 3: sparsity against test error ({} finished runs, {} epochs)",
        pts.len(),
        m.epochs
    );
    let svg = scatter::render(&pts, &title, 960).map_err(|e| Error::Tool(e.to_string()))?;
    let path = dir.join("figure3.svg");
    fs::write(&path, svg).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let _ = writeln!(text, "figure: {}", path.display());
    Ok((text, Some(path)))
}
