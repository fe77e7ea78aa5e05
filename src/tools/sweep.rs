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
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use crossbeam_channel::{unbounded, Sender};

use crate::engine::config::{self, RunConfig, Widths};
use crate::engine::data::{self, DatasetKind, Splits};
use crate::engine::nn::Activation;
use crate::engine::trainer::{self, Trainer};
use crate::frontend::jsonl::JsonLines;
use crate::protocol::{EpochReport, RunState, Update};

pub mod collect;
pub mod plan;

/// The paper's sweep of L1 penalties.
pub const DEFAULT_L1_LIST: &str = "0,0.0001,0.0003,0.001,0.003,0.01";

/// L1 penalties, from `--l1 0,0.001`.
#[derive(Debug, Clone, PartialEq)]
pub struct L1List(pub Vec<f32>);

/// The flags of `relutui sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// L1 penalties on the hidden activations, comma-separated: one group of runs each.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true, default_value = DEFAULT_L1_LIST, value_parser = parse_l1_list)]
    pub l1: L1List,

    /// Runs per L1 value (at most 1000); repeat r uses seed --seed + r.
    #[arg(long, value_name = "K", allow_negative_numbers = true, default_value_t = 3, value_parser = parse_repeats)]
    pub repeats: usize,

    /// Epochs of every run.
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = 5, value_parser = config::parse_epochs)]
    pub epochs: usize,

    /// Hidden-layer widths, comma-separated.
    #[arg(long, value_name = "WIDTHS", allow_hyphen_values = true, default_value = "1000,1000,1000", value_parser = Widths::parse)]
    pub hidden: Widths,

    /// Constant SGD learning rate.
    #[arg(long, value_name = "RATE", allow_negative_numbers = true, default_value_t = config::DEFAULT_LR, value_parser = config::parse_lr)]
    pub lr: f32,

    /// Examples per mini-batch.
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = config::DEFAULT_BATCH_SIZE, value_parser = config::parse_batch_size)]
    pub batch_size: usize,

    /// Base seed: repeat r of every L1 value uses seed + r.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        default_value_t = 1
    )]
    pub seed: u64,

    /// Data to train on: mnist10k is built in; the others read standard files from --data-dir.
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist10k)]
    pub dataset: DatasetKind,

    /// Folder with the dataset's files (see `relutui --help`).
    #[arg(long, value_name = "DIR", value_parser = config::parse_data_dir)]
    pub data_dir: Option<PathBuf>,

    /// Write each run's JSON lines to DIR/l1-<L1>_seed-<SEED>.jsonl (created if missing)
    /// instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Runs trained at once, one thread each (at most the runs) [default: the available cores].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_at_least_one)]
    pub jobs: Option<usize>,

    /// Print one self-contained relutui command per run instead of training (for GNU parallel
    /// or a Slurm array); each writes its log and checkpoint in --out-dir, and the plan is kept
    /// in --out-dir/sweep.json for --collect.
    #[arg(long, conflicts_with_all = ["task", "collect"])]
    pub plan: bool,

    /// Run exactly line K (1-based) of --plan's output, e.g. the task id of a Slurm job array.
    #[arg(long, value_name = "K", conflicts_with = "collect", value_parser = parse_at_least_one)]
    pub task: Option<usize>,

    /// Build the summary table and the figure (DIR/figure3.svg) from the runs in DIR, saying
    /// which are finished, running, stopped or not started. The other flags come from
    /// DIR/sweep.json.
    #[arg(long, value_name = "DIR")]
    pub collect: Option<PathBuf>,

    /// How the lines of --plan start relutui (e.g. an absolute path on the cluster).
    #[arg(long, value_name = "COMMAND", default_value = "relutui")]
    pub program: String,
}

/// `--l1` of the sweep: comma-separated penalties, each valid for `--l1`, no repeats.
pub fn parse_l1_list(s: &str) -> Result<L1List, String> {
    let mut out: Vec<f32> = Vec::new();
    for part in s.split(',') {
        if part.trim().is_empty() {
            return Err(format!("empty value in '{s}'"));
        }
        let v = config::parse_l1(part)?;
        if out.contains(&v) {
            return Err(format!("{v} is listed twice"));
        }
        out.push(v);
    }
    Ok(L1List(out))
}

fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// `--repeats` above this is refused: the plan holds one entry per run.
pub const MAX_REPEATS: usize = 1000;

fn parse_repeats(s: &str) -> Result<usize, String> {
    match parse_at_least_one(s)? {
        v if v > MAX_REPEATS => Err(format!("{v} is above the limit {MAX_REPEATS}")),
        v => Ok(v),
    }
}

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

impl SweepError {
    /// Bad paths are the user's to fix (exit 2); the rest are runtime failures (exit 1).
    pub fn exit_code(&self) -> u8 {
        match self {
            SweepError::OutDir { .. } => 2,
            _ => 1,
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

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = mean(v);
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt())
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

/// The file of one run's JSON lines under `--out-dir`.
pub fn run_file(dir: &Path, spec: &RunSpec) -> PathBuf {
    dir.join(format!("l1-{}_seed-{}.jsonl", spec.l1, spec.seed))
}

impl SweepArgs {
    /// The run configuration of one run of the sweep.
    pub fn config(&self, spec: &RunSpec) -> RunConfig {
        RunConfig {
            dataset: self.dataset,
            data_dir: self.data_dir.clone(),
            activations: vec![Activation::Rectifier],
            hidden: self.hidden.0.clone(),
            batch_size: self.batch_size,
            lr: self.lr,
            l1: spec.l1,
            epochs: Some(self.epochs),
            seed: spec.seed,
            net_lr: Vec::new(),
            net_l1: Vec::new(),
            patience: None,
        }
    }

    fn jobs(&self, runs: usize) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .clamp(1, runs.max(1))
    }
}

/// What the workers tell the writer.
enum Msg {
    Epoch(usize, Box<EpochReport>),
    Done(usize, f64),
    Failed,
}

/// Trains one run to its last epoch, forwarding every report. `false` when the writer is gone.
fn train_run(config: &RunConfig, splits: Splits, index: usize, tx: &Sender<Msg>) -> bool {
    let t0 = Instant::now();
    let trainer = Trainer::new(config, splits).without_samples();
    let Ok(handle) = trainer::spawn(trainer) else {
        let _ = tx.send(Msg::Failed);
        return false;
    };
    let mut ok = true;
    for update in &handle.updates {
        match update {
            Update::Epoch(r) => ok = tx.send(Msg::Epoch(index, Box::new(r))).is_ok(),
            Update::State(RunState::Done) => break,
            _ => {}
        }
        if !ok {
            break;
        }
    }
    if handle.stop().is_err() {
        let _ = tx.send(Msg::Failed);
        return false;
    }
    ok && tx
        .send(Msg::Done(index, t0.elapsed().as_secs_f64()))
        .is_ok()
}

/// Runs the whole sweep on `splits`, writing JSON lines and then the summary to `out`.
/// Returns the finished runs in plan order. A closed `out` ends the sweep quietly.
pub fn execute<W: Write>(
    args: &SweepArgs,
    splits: &Splits,
    mut out: W,
) -> Result<Vec<RunResult>, SweepError> {
    let runs = plan(&args.l1.0, args.repeats, args.seed);
    let mut files: Vec<Option<JsonLines<io::BufWriter<fs::File>>>> = Vec::new();
    if let Some(dir) = &args.out_dir {
        let err = |source| SweepError::OutDir {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(dir).map_err(err)?;
        // The same plan as --plan's, so that --collect reads this folder too.
        plan::write_manifest(&plan::manifest(args, dir), dir).map_err(err)?;
        for spec in &runs {
            files.push(Some(JsonLines::create(&run_file(dir, spec)).map_err(err)?));
        }
    }
    let t0 = Instant::now();
    let jobs = args.jobs(runs.len());
    let (job_tx, job_rx) = unbounded::<RunSpec>();
    for spec in &runs {
        job_tx.send(*spec).expect("the queue is open");
    }
    drop(job_tx);
    let (tx, rx) = unbounded::<Msg>();
    let mut workers = Vec::with_capacity(jobs);
    for w in 0..jobs {
        let (job_rx, tx) = (job_rx.clone(), tx.clone());
        let (args, splits) = (args.clone(), splits.clone());
        let worker = std::thread::Builder::new()
            .name(format!("sweep-{w}"))
            .spawn(move || {
                for spec in &job_rx {
                    if !train_run(&args.config(&spec), splits.clone(), spec.index, &tx) {
                        break;
                    }
                }
            })
            .map_err(SweepError::Spawn)?;
        workers.push(worker);
    }
    drop(tx);

    let bar = progress_bar(runs.len());
    let mut last: Vec<Option<(EpochReport, f64)>> = vec![None; runs.len()];
    let mut finished = 0;
    let mut result = Ok(());
    let mut stdout_open = true;
    for msg in &rx {
        match msg {
            Msg::Epoch(i, report) => {
                let written = match files.get_mut(i).and_then(Option::as_mut) {
                    Some(f) => f.write(&report).map_err(|source| SweepError::OutDir {
                        path: run_file(args.out_dir.as_deref().unwrap_or(Path::new(".")), &runs[i]),
                        source,
                    }),
                    None => write_line(&mut out, &report, &mut stdout_open),
                };
                if let Err(e) = written {
                    result = Err(e);
                    break;
                }
                if !stdout_open {
                    break;
                }
                last[i] = Some((*report, 0.0));
            }
            Msg::Done(i, secs) => {
                finished += 1;
                if let Some((r, s)) = last[i].as_mut() {
                    *s = secs;
                    let line = format!(
                        "sweep: run {finished}/{} done in {secs:.0} s: l1 {} seed {}: sparsity {:.1} %, test error {:.2} %",
                        runs.len(),
                        runs[i].l1,
                        runs[i].seed,
                        mean(&r.sparsity) * 100.0,
                        r.test_error * 100.0
                    );
                    match &bar {
                        Some(b) => {
                            b.println(line);
                            b.inc(1);
                        }
                        None => eprintln!("{line}"),
                    }
                }
            }
            Msg::Failed => {
                result = Err(SweepError::Panicked);
                break;
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Closing the channel stops the workers after their current epoch.
    drop(rx);
    let mut panicked = false;
    for w in workers {
        panicked |= w.join().is_err();
    }
    result?;
    if panicked {
        return Err(SweepError::Panicked);
    }
    let results: Vec<RunResult> = runs
        .iter()
        .zip(last)
        .filter_map(|(spec, l)| {
            l.map(|(last, seconds)| RunResult {
                spec: *spec,
                last,
                seconds,
            })
        })
        .collect();
    if stdout_open {
        let secs = t0.elapsed().as_secs_f64();
        let mut text = summary(args, &results, splits.classes, secs, jobs);
        if let Some(dir) = &args.out_dir {
            text.push_str(&write_figure(dir, &results, args.epochs));
        }
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(SweepError::Stdout(e)),
            _ => {}
        }
    }
    Ok(results)
}

/// A bar of finished runs with an ETA on stderr, only when stderr is a terminal.
fn progress_bar(runs: usize) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(runs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "sweep {bar:30} {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
        )
        .expect("a valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_secs(1));
    Some(bar)
}

/// Draws the Figure 3 scatter of finished runs to `DIR/figure3.svg`; the line saying so (or why
/// not) for the summary.
fn write_figure(dir: &Path, results: &[RunResult], epochs: usize) -> String {
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

/// Writes one JSON line to stdout; a broken pipe just closes it.
fn write_line<W: Write>(out: &mut W, r: &EpochReport, open: &mut bool) -> Result<(), SweepError> {
    if !*open {
        return Ok(());
    }
    let line = serde_json::to_string(r).expect("reports serialise");
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            *open = false;
            Ok(())
        }
        Err(e) => Err(SweepError::Stdout(e)),
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
    let hidden: Vec<String> = args.hidden.0.iter().map(ToString::to_string).collect();
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

/// The `relutui sweep` front end: loads the data, runs the sweep and maps errors to exit
/// codes (2 for bad input, 1 at runtime).
pub fn run(args: &SweepArgs) -> ExitCode {
    if let Some(dir) = &args.collect {
        return match collect::collect(dir) {
            Ok((text, _)) => {
                let mut out = io::stdout().lock();
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if args.plan || args.task.is_some() {
        let Some(dir) = args.out_dir.as_deref() else {
            let flag = if args.plan { "--plan" } else { "--task" };
            eprintln!(
                "error: {flag} needs --out-dir DIR: every run writes its log and checkpoint there"
            );
            return ExitCode::from(2);
        };
        let result = match args.task {
            None => plan::print_plan(args, dir, io::stdout().lock()),
            Some(k) => match plan::task_args(args, dir, k) {
                Ok(argv) => return exec_task(&argv),
                Err(e) => Err(e),
            },
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if args.dataset.needs_data_dir() && args.data_dir.is_none() {
        crate::say!(
            "error: --dataset {} needs --data-dir DIR with its files (see relutui sweep --help)",
            args.dataset
        );
        return ExitCode::from(2);
    }
    // Before anything large is allocated: every worker trains one network at once.
    let runs = args.l1.0.len() * args.repeats;
    let mut est = crate::engine::memory::estimate(
        &args.config(&plan(&args.l1.0, 1, args.seed)[0]),
        crate::engine::memory::dataset_shape(args.dataset).0,
        crate::engine::memory::dataset_shape(args.dataset).1,
        false,
    );
    est.total *= args.jobs(runs) as f64;
    if let Err(e) =
        crate::engine::memory::check(&est, crate::engine::memory::available(), "this sweep")
    {
        crate::say!("error: {e} (or fewer --jobs)");
        return ExitCode::from(2);
    }
    // One sweep per --out-dir at a time: two would write the same run files.
    let _lock = match &args.out_dir {
        Some(dir) if dir.is_dir() => match crate::os::lock::Lock::exclusive(
            &dir.join(".sweep.lock"),
            &format!("--out-dir {}", dir.display()),
        ) {
            Ok(l) => Some(l),
            Err(e) => {
                crate::say!("error: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let splits = match data::load(args.dataset, args.data_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            crate::say!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    if stdout.is_terminal() && args.out_dir.is_none() {
        crate::say!("sweep: JSON lines go to stdout; use --out-dir DIR to keep them in files");
    }
    match execute(args, &splits, stdout.lock()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            crate::say!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `--task K`: becomes line K's relutui process (same pid, so a scheduler's signals reach the
/// run itself), or says why it could not.
fn exec_task(argv: &[String]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("relutui"));
    let err = std::process::Command::new(&exe).args(argv).exec();
    eprintln!("error: --task: cannot start {}: {err}", exe.display());
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
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
