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

use std::fmt::Write as _;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::engine::data::DatasetKind;
use crate::engine::hyper;
use crate::engine::nn::Activation;
use crate::frontend::run_dir;
use crate::frontend::runtime::{Error, Outcome};
use crate::protocol::EpochReport;
use crate::tools::sweep::collect::{self, Found, Status};
use crate::tools::sweep::plan::{self, read_manifest, Manifest};

pub use crate::cli::paper::{Grid, PaperArgs};

/// A column of the table: a name and the flags it adds to each of its runs' command lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Shown in the table and the JSON (`"no pre-training"`).
    pub name: String,
    /// Added to the run names (`""` for the plain column).
    pub suffix: String,
    pub flags: Vec<String>,
}

/// One planned run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// File stem in --out-dir, e.g. `rectifier_lr0.01`.
    pub name: String,
    pub column: usize,
    pub activation: Activation,
    pub lr: f32,
    pub l1: f32,
    /// The flags after the executable, without `--resume`.
    pub args: Vec<String>,
}

impl Run {
    /// Its JSON-lines log, in its run directory.
    pub fn log(&self, dir: &Path) -> PathBuf {
        plan::run_dir(dir, &self.name).join(run_dir::LOG)
    }
    /// Where the in-process command keeps its stderr.
    fn stderr_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.err", self.name))
    }
}

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

/// The columns of the table: without pre-training, and with `--pretrain N` when asked.
pub fn columns(args: &PaperArgs) -> Vec<Column> {
    let mut cols = vec![Column {
        name: "no pre-training".into(),
        suffix: String::new(),
        flags: Vec::new(),
    }];
    if let Some(n) = args.pretrain {
        cols.push(Column {
            name: "pre-trained".into(),
            suffix: format!("_pretrain{n}"),
            flags: vec!["--pretrain".into(), n.to_string()],
        });
    }
    cols
}

/// Every run of the protocol, in order: column, activation, then the grid.
pub fn plan(args: &PaperArgs) -> Vec<Run> {
    let l1 = args.l1.clone().unwrap_or_default();
    let dir = &args.out_dir;
    let mut runs = Vec::new();
    for (c, col) in columns(args).iter().enumerate() {
        for &act in args.activations.get() {
            let l1 = l1.get(act).unwrap_or_else(|| hyper::default_l1(act));
            for &lr in &args.lr_grid.0 {
                let name = format!("{act}_lr{lr}{}", col.suffix);
                let mut a: Vec<String> = vec![
                    "--headless".into(),
                    "--dataset".into(),
                    args.dataset.name().into(),
                ];
                if let Some(d) = &args.data_dir {
                    a.extend(["--data-dir".into(), plan::absolute(d).display().to_string()]);
                }
                a.extend([
                    "--activations".into(),
                    act.name().into(),
                    "--hidden".into(),
                    args.hidden
                        .get()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    "--batch-size".into(),
                    args.batch_size.to_string(),
                    "--lr".into(),
                    lr.to_string(),
                    "--l1".into(),
                    l1.to_string(),
                    "--epochs".into(),
                    args.epochs.to_string(),
                    "--patience".into(),
                    args.patience.to_string(),
                    "--seed".into(),
                    args.seed.to_string(),
                ]);
                a.extend(col.flags.iter().cloned());
                a.extend(plan::run_dir_flags(dir, &name));
                runs.push(Run {
                    name,
                    column: c,
                    activation: act,
                    lr,
                    l1,
                    args: a,
                });
            }
        }
    }
    runs
}

/// The `relutui paper` flags that make the plan again (not where it goes or how many at once);
/// the L1 penalty resolved per activation.
pub fn paper_flags(args: &PaperArgs) -> Vec<String> {
    let join = |v: Vec<String>| v.join(",");
    let l1 = args.l1.clone().unwrap_or_default();
    let mut f = vec!["--dataset".to_string(), args.dataset.name().into()];
    if let Some(d) = &args.data_dir {
        f.extend(["--data-dir".into(), plan::absolute(d).display().to_string()]);
    }
    f.extend([
        "--activations".into(),
        join(
            args.activations
                .get()
                .iter()
                .map(|a| a.name().to_string())
                .collect(),
        ),
        "--lr-grid".into(),
        join(args.lr_grid.0.iter().map(ToString::to_string).collect()),
        "--l1".into(),
        join(
            args.activations
                .get()
                .iter()
                .map(|&a| format!("{a}={}", l1.get(a).unwrap_or_else(|| hyper::default_l1(a))))
                .collect(),
        ),
        "--epochs".into(),
        args.epochs.to_string(),
        "--patience".into(),
        args.patience.to_string(),
        "--hidden".into(),
        join(args.hidden.get().iter().map(ToString::to_string).collect()),
        "--batch-size".into(),
        args.batch_size.to_string(),
        "--seed".into(),
        args.seed.to_string(),
    ]);
    if let Some(n) = args.pretrain {
        f.extend(["--pretrain".into(), n.to_string()]);
    }
    f
}

/// The protocol as a plan: the same lines `--plan` prints and `--task K` runs.
pub fn manifest(args: &PaperArgs, runs: &[Run], program: &str) -> Manifest {
    let lines: Vec<(String, Vec<String>)> = runs
        .iter()
        .map(|r| (r.name.clone(), r.args.clone()))
        .collect();
    Manifest::new("paper", paper_flags(args), args.epochs, program, &lines)
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
    /// `finished`, `running`, `stopped` or `not started` ([`collect::Status`]).
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

/// The signal that stopped `relutui paper` (0: none yet).
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// Passes SIGINT, SIGTERM and SIGHUP on to the running runs (they checkpoint and stop) and
/// remembers it: no new run starts.
fn listen_for_signals(children: Arc<std::sync::Mutex<Vec<u32>>>) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("paper-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                SIGNALLED.store(sig, Ordering::SeqCst);
                let pids = children.lock().map(|p| p.clone()).unwrap_or_default();
                for pid in pids {
                    // The runs may share our process group (a terminal's Ctrl-C reaches them
                    // already); a second signal is harmless: they stop once.
                    let _ = Command::new("kill")
                        .arg(format!("-{sig}"))
                        .arg(pid.to_string())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
            }
        })?;
    Ok(())
}

/// Counts complete lines, for the progress line.
fn epochs_logged(path: &Path) -> usize {
    crate::frontend::run_dir::read_log(path).map_or(0, |(l, _)| l.len())
}

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

/// Trains the runs not yet done, `--jobs` at a time; the names of those that failed.
fn train_all(args: &PaperArgs, exe: &Path, todo: &[&Run]) -> Result<Vec<String>, String> {
    let dir = &args.out_dir;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, todo.len().max(1));
    let pids = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    listen_for_signals(Arc::clone(&pids)).map_err(|e| format!("cannot listen for signals: {e}"))?;
    let progress = io::stderr().is_terminal();
    let started = Instant::now();
    let total_epochs = todo.len() * args.epochs;
    let logged_before: usize = todo.iter().map(|r| epochs_logged(&r.log(dir))).sum();
    let mut queue = todo.iter().copied();
    let mut running: Vec<(&Run, Child)> = Vec::new();
    let mut failed = Vec::new();
    let mut finished = 0usize;
    let mut last_progress = Instant::now()
        .checked_sub(Duration::from_secs(10))
        .unwrap_or_else(Instant::now);
    loop {
        while running.len() < jobs && SIGNALLED.load(Ordering::SeqCst) == 0 {
            let Some(run) = queue.next() else { break };
            let err = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(run.stderr_file(dir))
                .map_err(|e| format!("{}: {e}", run.stderr_file(dir).display()))?;
            let child = Command::new(exe)
                .args(&run.args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
            if let Ok(mut p) = pids.lock() {
                p.push(child.id());
            }
            running.push((run, child));
        }
        if running.is_empty() {
            break;
        }
        let mut i = 0;
        while i < running.len() {
            match running[i].1.try_wait() {
                Ok(Some(status)) => {
                    let (run, child) = running.swap_remove(i);
                    if let Ok(mut p) = pids.lock() {
                        p.retain(|&id| id != child.id());
                    }
                    if status.success() {
                        finished += 1;
                    } else if SIGNALLED.load(Ordering::SeqCst) == 0 {
                        failed.push(run.name.clone());
                    }
                }
                Ok(None) => i += 1,
                Err(e) => return Err(format!("waiting for {}: {e}", running[i].0.name)),
            }
        }
        if progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let logged: usize = todo.iter().map(|r| epochs_logged(&r.log(dir))).sum();
            let new = logged.saturating_sub(logged_before);
            let left = total_epochs.saturating_sub(logged);
            let eta = if new == 0 {
                "ETA -".to_string()
            } else {
                let per = started.elapsed().as_secs_f64() / new as f64;
                format!("ETA ≤ {}", hms(per * left as f64))
            };
            let _ = write!(
                io::stderr(),
                "\r\x1b[2Kpaper: {finished}/{} runs done, {} running, {logged}/{total_epochs} epochs at most, {eta}",
                todo.len(),
                running.len()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if progress {
        let _ = writeln!(io::stderr());
    }
    Ok(failed)
}

fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        args: PaperArgs,
    }

    fn args(extra: &[&str]) -> PaperArgs {
        Wrap::try_parse_from(["paper", "--dataset", "mnist10k"].iter().chain(extra))
            .unwrap()
            .args
    }

    #[test]
    fn the_plan_is_the_grid_per_activation_with_the_papers_l1() {
        let a = args(&["--out-dir", "/tmp/x"]);
        let runs = plan(&a);
        assert_eq!(runs.len(), 12);
        assert_eq!(runs[0].name, "rectifier_lr0.1");
        assert_eq!(runs[5].name, "tanh_lr0.01");
        let l1s: Vec<f32> = runs.iter().step_by(4).map(|r| r.l1).collect();
        assert_eq!(l1s, vec![0.001, 0.0, 0.0]);
        let line = runs[5].args.join(" ");
        for want in [
            "--activations tanh",
            "--lr 0.01",
            "--l1 0",
            "--patience 8",
            "--run-dir /tmp/x/tanh_lr0.01 --continue",
        ] {
            assert!(line.contains(want), "{want}: {line}");
        }
        let a = args(&[
            "--lr-grid",
            "0.05",
            "--l1",
            "0.002",
            "--activations",
            "tanh",
        ]);
        let runs = plan(&a);
        assert_eq!(runs.len(), 1);
        assert!((runs[0].l1 - 0.002).abs() < 1e-9);
        assert!(Wrap::try_parse_from(["paper", "--lr-grid", "0.1,0.1"]).is_err());
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

    #[test]
    fn the_flags_in_the_plan_make_the_same_plan_again() {
        let a = args(&["--out-dir", "/tmp/x", "--pretrain", "2", "--lr-grid", "0.1"]);
        let flags = paper_flags(&a);
        let again = Wrap::try_parse_from(
            ["paper".to_string()]
                .into_iter()
                .chain(flags)
                .chain(["--out-dir".into(), "/tmp/x".into()]),
        )
        .unwrap()
        .args;
        assert_eq!(plan(&again), plan(&a));
        assert_eq!(plan(&a).len(), 6);
    }
}
