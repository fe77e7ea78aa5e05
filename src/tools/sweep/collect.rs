//! `relutui sweep --collect DIR`: the summary table and the Figure 3 scatter from whatever
//! runs of a plan are in DIR, finished or not, saying which.
//!
//! A run is *finished* when its log has reached the plan's epochs, *not started* when it has
//! no log, and otherwise *running* or *stopped*: nothing outside the run can tell a run still
//! training on another host from a crashed one, so a log that has gained no line for longer
//! than [`stale_after`] is called stopped (crashed, killed or lost), with the command that
//! resumes it from its checkpoint. The table and the figure hold the finished runs only,
//! since runs at different epochs are not comparable; the others are listed with their
//! latest epoch.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Parser;

use super::plan::{read_manifest, shell_quote, Manifest, PlannedRun};
use super::{summary_table, RunResult, RunSpec, SweepArgs};
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
    /// No new line for `age` seconds: crashed, killed, or on a host that went away.
    Stopped {
        age: f64,
    },
    NotStarted,
}

/// One planned run as found in the folder.
#[derive(Debug, Clone)]
pub struct Found {
    pub run: PlannedRun,
    pub spec: RunSpec,
    pub status: Status,
    pub epochs_done: usize,
    /// The sum of the training time of its epochs (`epoch_seconds`).
    pub train_seconds: f64,
    pub last: Option<EpochReport>,
    /// The log's last line was cut short (a crash in the middle of a write).
    pub cut: bool,
}

/// How long a run may go without a new epoch line before it counts as stopped: three times
/// its slowest epoch so far, and at least ten minutes (evaluation is not in `epoch_seconds`).
pub fn stale_after(reports: &[EpochReport]) -> f64 {
    let slowest = reports.iter().map(|r| r.epoch_seconds).fold(0.0, f64::max);
    (3.0 * slowest).max(600.0)
}

/// The epoch lines of a log, and whether its last line is cut short.
fn read_reports(path: &Path) -> Option<(Vec<EpochReport>, bool)> {
    let file = fs::File::open(path).ok()?;
    let mut reports = Vec::new();
    let mut cut = false;
    for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<EpochReport>(&line) {
            Ok(r) => {
                cut = false;
                reports.push(r);
            }
            Err(_) => cut = true,
        }
    }
    Some((reports, cut))
}

/// Reads the folder against its plan.
pub fn find(dir: &Path, m: &Manifest, now: SystemTime) -> Vec<Found> {
    let mut groups: Vec<f32> = Vec::new();
    for r in &m.runs {
        if !groups.contains(&r.l1) {
            groups.push(r.l1);
        }
    }
    m.runs
        .iter()
        .map(|run| {
            let spec = RunSpec {
                index: run.task - 1,
                group: groups
                    .iter()
                    .position(|&g| g.to_bits() == run.l1.to_bits())
                    .unwrap_or(0),
                l1: run.l1,
                seed: run.seed,
            };
            let path = dir.join(&run.log);
            let age = fs::metadata(&path)
                .and_then(|md| md.modified())
                .ok()
                .map(|t| now.duration_since(t).map_or(0.0, |d| d.as_secs_f64()));
            let (reports, cut) = read_reports(&path).unwrap_or_default();
            let epochs_done = reports.iter().map(|r| r.epoch).max().unwrap_or(0);
            let train_seconds = reports.iter().map(|r| r.epoch_seconds).sum();
            let status = match age {
                None => Status::NotStarted,
                Some(_) if epochs_done >= m.epochs => Status::Finished,
                Some(age) if age <= stale_after(&reports) => Status::Running { age },
                Some(age) => Status::Stopped { age },
            };
            Found {
                run: run.clone(),
                spec,
                status,
                epochs_done,
                train_seconds,
                last: reports.into_iter().max_by_key(|r| r.epoch),
                cut,
            }
        })
        .collect()
}

/// The sweep's settings, from the flags kept in the plan.
pub fn sweep_args(m: &Manifest) -> Result<SweepArgs, String> {
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: SweepArgs,
    }
    // The data folder may live on another host: it is only named, not read, here.
    let mut flags: Vec<&str> = Vec::new();
    let mut skip = false;
    for f in &m.sweep_flags {
        if skip {
            skip = false;
            continue;
        }
        if f == "--data-dir" {
            skip = true;
            continue;
        }
        flags.push(f);
    }
    Wrap::try_parse_from(std::iter::once("sweep").chain(flags))
        .map(|w| w.args)
        .map_err(|e| format!("the plan's flags do not parse: {e}"))
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

/// The status lines of every run that is not finished, then the table of the finished ones.
pub fn report(dir: &Path, m: &Manifest, found: &[Found], args: &SweepArgs) -> String {
    let count = |f: fn(&Status) -> bool| found.iter().filter(|r| f(&r.status)).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "sweep {}: {} runs planned: {} finished, {} running, {} stopped, {} not started",
        dir.display(),
        found.len(),
        count(|s| *s == Status::Finished),
        count(|s| matches!(s, Status::Running { .. })),
        count(|s| matches!(s, Status::Stopped { .. })),
        count(|s| *s == Status::NotStarted),
    );
    for r in found {
        let latest = r.last.as_ref().map_or(String::new(), |l| {
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
            Status::Stopped { age } => format!(
                "stopped: epoch {}/{} done, no line for {} (crashed or killed?){}; resume: \
                 {} --headless --resume {} --log {}",
                r.epochs_done,
                m.epochs,
                secs(*age),
                if r.cut { ", last line cut short" } else { "" },
                shell_quote(&args.program),
                shell_quote(&dir.join(&r.run.checkpoint).display().to_string()),
                shell_quote(&dir.join(&r.run.log).display().to_string()),
            ),
        };
        let _ = writeln!(
            s,
            "  task {} (l1 {} seed {}): {what}{latest}",
            r.run.task, r.run.l1, r.run.seed
        );
    }
    let results = finished_results(found);
    if results.is_empty() {
        let _ = writeln!(s, "\nno run has finished yet: no table");
    } else {
        s.push_str(&summary_table(args, &results, 10));
    }
    s
}

/// The finished runs as the in-process sweep reports them (seconds: the sum of the training
/// time of its epochs, where the in-process sweep counts evaluation too).
pub fn finished_results(found: &[Found]) -> Vec<RunResult> {
    found
        .iter()
        .filter(|r| r.status == Status::Finished)
        .filter_map(|r| {
            let last = r.last.clone()?;
            Some(RunResult {
                spec: r.spec,
                seconds: r.train_seconds,
                last,
            })
        })
        .collect()
}

/// The scatter's points: the finished runs.
pub fn points(dir: &Path, found: &[Found]) -> Vec<scatter::RunPoint> {
    found
        .iter()
        .filter(|r| r.status == Status::Finished)
        .filter_map(|r| {
            let l = r.last.as_ref()?;
            Some(scatter::RunPoint {
                file: dir.join(&r.run.log),
                l1: f64::from(r.spec.l1),
                seed: Some(r.spec.seed),
                epoch: l.epoch as f64,
                sparsity: l.sparsity.iter().sum::<f64>() / l.sparsity.len().max(1) as f64,
                test_error: l.test_error,
            })
        })
        .collect()
}

/// `--collect DIR`: prints the report and writes `DIR/figure3.svg`. Returns the figure's path
/// when there was something to draw.
pub fn collect(dir: &Path) -> Result<(String, Option<PathBuf>), String> {
    if !dir.is_dir() {
        return Err(format!("--collect {}: no such folder", dir.display()));
    }
    let m = read_manifest(dir).map_err(|e| {
        format!("--collect {e} (a folder made by `relutui sweep --plan`, `--task` or `--out-dir`)")
    })?;
    let args = sweep_args(&m).map_err(|e| format!("--collect {}: {e}", dir.display()))?;
    let found = find(dir, &m, SystemTime::now());
    let mut text = report(dir, &m, &found, &args);
    let pts = points(dir, &found);
    if pts.is_empty() {
        return Ok((text, None));
    }
    let title = format!(
        "Figure 3: sparsity against test error ({} finished runs, {} epochs)",
        pts.len(),
        m.epochs
    );
    let svg = scatter::render(&pts, &title, 960).map_err(|e| e.to_string())?;
    let path = dir.join("figure3.svg");
    fs::write(&path, svg).map_err(|e| format!("--collect {}: {e}", path.display()))?;
    let _ = writeln!(text, "figure: {}", path.display());
    Ok((text, Some(path)))
}
