//! `relutui sweep`: the paper's sparsity sweep (Glorot et al. 2011, figure 3). It trains
//! rectifier networks headless, one run per L1 penalty and seed, then prints final sparsity
//! against test error as a table and as a text scatter chart.
//!
//! Every run is the ordinary trainer ([`crate::engine::trainer`]) driven through its channels with a
//! single rectifier network. A run trains on one thread, so `--jobs` worker threads (default:
//! the available cores) take runs from a shared queue. Repeat `r` of every L1 value uses seed
//! `--seed + r`, so the L1 values are compared on the same initial weights and batch order.
//!
//! Output: with `--out-dir DIR` each run's JSON lines go to `DIR/l1-<L1>_seed-<SEED>.jsonl`
//! and stdout gets only the table and the chart. Without it the JSON lines go to stdout as
//! the epochs finish (runs interleave; each line names its `l1` and `seed`), followed by the
//! table and the chart, whose lines never start with `{`. Nothing written to stdout contains
//! an escape code. One line per finished run goes to stderr.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crossbeam_channel::{unbounded, Sender};

use crate::engine::config::{self, Activations, BatchSize, L1Penalty, LearningRate, RunConfig};
use crate::engine::data::{self, Splits};
use crate::engine::nn::Activation;
use crate::engine::trainer::{self, Trainer};
use crate::frontend::jsonl::JsonLines;
use crate::frontend::runtime::Error;
use crate::protocol::{EpochReport, RunState, Update};

pub mod collect;
pub mod plan;
mod summary;
mod worker;

use summary::{mean, write_figure};
pub use summary::{scatter, summary, summary_table};
pub use worker::execute;

pub use crate::cli::sweep::{parse_l1_list, L1List, SweepArgs, DEFAULT_L1_LIST, MAX_REPEATS};

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("--out-dir {}: {source}", path.display())]
    OutDir { path: PathBuf, source: io::Error },
    #[error("cannot start a thread: {0}")]
    Spawn(io::Error),
    #[error("writing to stdout failed: {0}")]
    Stdout(io::Error),
    #[error("a training thread panicked")]
    Panicked,
}

/// Bad paths are the user's to fix (exit 2); the rest are runtime failures (exit 1).
impl From<SweepError> for Error {
    fn from(e: SweepError) -> Self {
        match e {
            SweepError::OutDir { .. } => Error::Usage(e.to_string()),
            _ => Error::Tool(e.to_string()),
        }
    }
}

/// One run of the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSpec {
    pub index: usize,
    /// Which of the `--l1` values this run trains with.
    pub group: usize,
    pub l1: f32,
    pub seed: u64,
}

/// A finished run: its settings and its last epoch's report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub spec: RunSpec,
    pub last: EpochReport,
    pub seconds: f64,
}

impl RunResult {
    /// Mean over hidden layers of the validation sparsity (fraction of exact zeros).
    pub fn mean_sparsity(&self) -> f64 {
        mean(&self.last.sparsity)
    }

    /// Mean over hidden layers of the active-set stability, leaving out silent layers.
    pub fn mean_stability(&self) -> f64 {
        let defined: Vec<f64> = self
            .last
            .claims
            .active_set_stability
            .iter()
            .flatten()
            .copied()
            .collect();
        mean(&defined)
    }
}

/// The runs of a sweep, repeat by repeat, so that a partial sweep covers every L1 value.
pub fn plan(l1: &[f32], repeats: usize, seed: u64) -> Vec<RunSpec> {
    (0..repeats)
        .flat_map(|r| {
            l1.iter()
                .enumerate()
                .map(move |(group, &l)| (group, l, seed.wrapping_add(r as u64)))
        })
        .enumerate()
        .map(|(index, (group, l1, seed))| RunSpec {
            index,
            group,
            l1,
            seed,
        })
        .collect()
}

/// The file of one run's JSON lines under `--out-dir` in the in-process sweep (the plan's
/// lines write `DIR/<name>/log.jsonl` instead; `--collect` reads both).
pub fn run_file(dir: &Path, spec: &RunSpec) -> PathBuf {
    dir.join(format!("{}.jsonl", plan::run_name(spec)))
}

impl SweepArgs {
    /// The run configuration of one run of the sweep. Its values were checked by the flags'
    /// parsers, by the same rules the config's types hold.
    pub fn config(&self, spec: &RunSpec) -> Result<RunConfig, config::Invalid> {
        Ok(RunConfig::default()
            .with_dataset(self.dataset)
            .with_data_dir(self.data_dir.clone())
            .with_activations(Activations::new(vec![Activation::Rectifier])?)
            .with_hidden(self.hidden.clone())
            .with_batch_size(BatchSize::new(self.batch_size)?)
            .with_lr(LearningRate::new(self.lr)?)
            .with_l1(L1Penalty::new(spec.l1)?)
            .with_epochs(Some(self.epochs))
            .with_seed(spec.seed))
    }

    fn jobs(&self, runs: usize) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .clamp(1, runs.max(1))
    }
}

/// The `relutui sweep` front end: `--collect`, `--plan`, `--task`, or the sweep in this
/// process. Bad input is [`Error::Usage`]; `main` turns the error into the exit code.
pub fn run(args: &SweepArgs) -> Result<(), Error> {
    if let Some(dir) = &args.collect {
        let (text, _) = collect::collect(dir)?;
        let mut out = io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        return Ok(());
    }
    if args.plan || args.task.is_some() {
        let Some(dir) = args.out_dir.as_deref() else {
            let flag = if args.plan { "--plan" } else { "--task" };
            return Err(Error::Usage(format!(
                "{flag} needs --out-dir DIR: every run writes its run directory there"
            )));
        };
        let m = plan::manifest(args, dir);
        return match args.task {
            None => plan::print_plan(&m, dir, io::stdout().lock()),
            Some(k) => Err(plan::exec_task(
                &m,
                &plan::sweep_runs(args, dir),
                dir,
                k,
                "--l1 values × --repeats",
            )),
        };
    }
    if args.dataset.needs_data_dir() && args.data_dir.is_none() {
        return Err(Error::Usage(format!(
            "--dataset {} needs --data-dir DIR with its files (see relutui sweep --help)",
            args.dataset
        )));
    }
    // Before anything large is allocated: every worker trains one network at once.
    let runs = args.l1.0.len() * args.repeats;
    let first = match args.config(&plan(&args.l1.0, 1, args.seed)[0]) {
        Ok(c) => c,
        Err(e) => return Err(Error::Usage(e.to_string())),
    };
    let mut est = crate::engine::memory::estimate(
        &first,
        crate::engine::memory::dataset_shape(args.dataset).0,
        crate::engine::memory::dataset_shape(args.dataset).1,
        false,
    );
    est.total *= args.jobs(runs) as f64;
    crate::engine::memory::check(&est, crate::engine::memory::available(), "this sweep")
        .map_err(|e| Error::Usage(format!("{e} (or fewer --jobs)")))?;
    // One sweep per --out-dir at a time: two would write the same run files.
    let _lock = match &args.out_dir {
        Some(dir) if dir.is_dir() => Some(
            crate::os::lock::Lock::exclusive(
                &dir.join(".sweep.lock"),
                &format!("--out-dir {}", dir.display()),
            )
            .map_err(|e| Error::Usage(e.to_string()))?,
        ),
        _ => None,
    };
    let splits = data::load(args.dataset, args.data_dir.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let stdout = io::stdout();
    if stdout.is_terminal() && args.out_dir.is_none() {
        crate::say!("sweep: JSON lines go to stdout; use --out-dir DIR to keep them in files");
    }
    execute(args, &splits, stdout.lock())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::summary::mean_sd;
    use super::*;

    #[test]
    fn l1_lists_parse_and_name_their_problem() {
        assert_eq!(parse_l1_list("0,0.001").unwrap().0, vec![0.0, 0.001]);
        assert!(parse_l1_list("0,-1").unwrap_err().contains("at least 0"));
        assert!(parse_l1_list("0,0").unwrap_err().contains("twice"));
        assert!(parse_l1_list("0,,1").unwrap_err().contains("empty"));
        assert!(parse_l1_list("x").is_err());
    }

    #[test]
    fn plan_goes_repeat_by_repeat_with_shared_seeds() {
        let p = plan(&[0.0, 0.01], 2, 5);
        let got: Vec<(f32, u64)> = p.iter().map(|r| (r.l1, r.seed)).collect();
        assert_eq!(got, vec![(0.0, 5), (0.01, 5), (0.0, 6), (0.01, 6)]);
        assert!(p.iter().enumerate().all(|(i, r)| r.index == i));
        assert_eq!(
            run_file(Path::new("d"), &p[1]),
            Path::new("d/l1-0.01_seed-5.jsonl")
        );
    }

    #[test]
    fn scatter_places_marks_and_axes() {
        let pts = [
            (0.0, 10.0, 0),
            (100.0, 0.0, 1),
            (100.0, 0.0, 2),
            (50.0, 5.0, 1),
        ];
        let chart = scatter(&pts, 21, 5);
        let lines: Vec<&str> = chart.lines().collect();
        assert_eq!(lines.len(), 7, "{chart}");
        // Top left: group 0; bottom right: two groups share a cell; the middle: group 1.
        assert_eq!(lines[0].chars().nth(9), Some('0'), "{chart}");
        assert!(lines[4].ends_with('*'), "{chart}");
        assert_eq!(lines[2].chars().nth(9 + 10), Some('1'), "{chart}");
        assert!(lines[5].trim_start().starts_with("+---"));
        assert!(chart.is_ascii() && !chart.contains('\x1b'));
        assert_eq!(scatter(&[], 10, 5), "(no points to draw)\n");
        // A single point still draws.
        assert!(scatter(&[(3.0, 3.0, 0)], 10, 3).contains('0'));
    }

    #[test]
    fn means_and_deviations() {
        assert_eq!(mean_sd(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
        assert_eq!(mean_sd(&[4.0]), (4.0, 0.0));
        assert!(mean(&[]).is_nan());
    }

    fn result(spec: RunSpec, sparsity: f64, test_error: f64) -> RunResult {
        let line = serde_json::json!({
            "net": "rectifier", "epoch": 1, "step": 10, "train_error": test_error,
            "valid_error": test_error, "test_error": test_error, "loss": 1.0,
            "l1_penalty": 0.0, "sparsity": [sparsity, sparsity], "dead_units": [0, 0],
            "saturated_units": [0, 0], "mean_activation": [0.1, 0.1], "active_units": [1.0, 1.0],
            "lr": 0.1, "l1": spec.l1, "seed": spec.seed, "examples_per_sec": 1.0,
            "epoch_seconds": 1.0, "active_set_stability": [0.5, null],
        });
        RunResult {
            spec,
            last: serde_json::from_value(line).unwrap(),
            seconds: 1.0,
        }
    }

    #[test]
    fn summary_tables_runs_and_lists_chance_level_ones_instead_of_drawing_them() {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: SweepArgs,
        }
        let args = Wrap::parse_from(["sweep", "--l1", "0,0.01", "--hidden", "8"]).args;
        let runs = plan(&args.l1.0, 1, 1);
        let results = [result(runs[0], 0.6, 0.03), result(runs[1], 1.0, 0.88)];
        assert!(
            (results[0].mean_stability() - 0.5).abs() < 1e-12,
            "silent layers are left out"
        );
        let text = summary(&args, &results, 10, 12.0, 2);
        assert!(text.contains("2 runs in 12 s (2 at a time)"), "{text}");
        assert!(
            text.contains("not drawn, at chance level (sparsity, test error): l1 0.01 seed 1 (100.0 %, 88.0 %)"),
            "{text}"
        );
        let grid: String = text
            .lines()
            .filter_map(|l| l.split_once(" |").map(|(_, g)| g))
            .collect();
        assert_eq!(
            grid.trim(),
            "0",
            "only the run off chance is drawn:\n{text}"
        );
        assert!(!text.contains('\x1b'));
    }
}
