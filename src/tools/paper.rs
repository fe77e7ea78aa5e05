//! `relutui paper`: the protocol behind Table 1 of Glorot, Bordes & Bengio (2011), as one
//! command.
//!
//! For each activation it trains the paper's learning-rate grid {0.1, 0.01, 0.001, 0.0001}
//! with early stopping, selects each activation's rate by validation error, and reports the
//! test error at the best validation epoch (and the rectifier's average exact sparsity there)
//! beside the paper's figures, as a table on stdout and as JSON in `OUT/table1.json`.
//!
//! Every run is a plain `relutui --headless ...` command line (this executable) with its own
//! `--log` and `--checkpoint` in `--out-dir`; `--plan` prints them, one a line, for GNU
//! parallel or a batch scheduler. A run that finished leaves `NAME.done`; a rerun of the same
//! command skips those, resumes the others from their checkpoints (`--resume`), and collects
//! the table from the logs. SIGINT, SIGTERM and SIGHUP are passed on to the running runs,
//! which save a checkpoint and stop.
//!
//! Columns (without pre-training, and with `--pretrain N` the pre-trained one) are
//! [`Column`]s: a name and the flags it adds to every planned command line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::engine::config::{self, Activations, Widths};
use crate::engine::data::DatasetKind;
use crate::engine::hyper::{self, PerNet};
use crate::engine::nn::Activation;

/// The flags of `relutui paper`.
#[derive(Debug, Clone, Args)]
pub struct PaperArgs {
    /// Data to train on (the paper's Table 1 has MNIST and CIFAR-10 figures).
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist)]
    pub dataset: DatasetKind,

    /// Folder with the dataset's files (as for a training run).
    #[arg(long, value_name = "DIR", value_parser = config::parse_data_dir)]
    pub data_dir: Option<PathBuf>,

    /// Where the runs keep their logs, checkpoints and `.done` marks, and where table1.json
    /// goes. Rerunning the same command with the same folder resumes.
    #[arg(long, value_name = "DIR", default_value = "relutui-paper")]
    pub out_dir: PathBuf,

    /// Activations to compare.
    #[arg(long, value_name = "LIST", default_value = "rectifier,tanh,softplus", value_parser = Activations::parse)]
    pub activations: Activations,

    /// The learning-rate grid, comma-separated (the paper's by default); every activation
    /// trains every rate.
    #[arg(long, value_name = "RATES", default_value = "0.1,0.01,0.001,0.0001", value_parser = parse_grid)]
    pub lr_grid: Grid,

    /// L1 penalty on the hidden activations, plain or per activation as for a run [default:
    /// the paper's 0.001 for the rectifier, 0 for the others].
    #[arg(long, value_name = "PENALTY", value_parser = parse_l1_list)]
    pub l1: Option<PerNet>,

    /// The most epochs a run trains.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = config::parse_epochs)]
    pub epochs: usize,

    /// Early stopping: a run stops after N epochs without a better validation error.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = config::parse_epochs)]
    pub patience: usize,

    /// Hidden-layer widths.
    #[arg(long, value_name = "WIDTHS", default_value = "1000,1000,1000", value_parser = Widths::parse)]
    pub hidden: Widths,

    /// Examples per mini-batch.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_BATCH_SIZE, value_parser = config::parse_batch_size)]
    pub batch_size: usize,

    /// Seed of every run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// Runs at a time [default: the number of cores]. Each run trains one network on one
    /// thread.
    #[arg(long, value_name = "N", value_parser = config::parse_batch_size)]
    pub jobs: Option<usize>,

    /// Print the run list (one command line a line, the runs not yet done) and exit.
    #[arg(long)]
    pub plan: bool,

    /// Print only the collected results, from the logs in --out-dir, without training.
    #[arg(long)]
    pub collect: bool,

    /// Print the results as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Add Table 1's second column: every activation and rate again, each run first
    /// pre-trained layer by layer as denoising auto-encoders for N epochs per layer
    /// (`relutui --pretrain N`), then trained as the first column's runs are.
    #[arg(long, value_name = "N", value_parser = crate::engine::pretrain::parse_epochs)]
    pub pretrain: Option<usize>,
}

/// A learning-rate grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid(pub Vec<f32>);

fn parse_grid(s: &str) -> Result<Grid, String> {
    let mut out: Vec<f32> = Vec::new();
    for part in s.split(',') {
        let v = config::parse_lr(part)?;
        if out.iter().any(|x| x.to_bits() == v.to_bits()) {
            return Err(format!("{v} is listed twice"));
        }
        out.push(v);
    }
    Ok(Grid(out))
}

fn parse_l1_list(s: &str) -> Result<PerNet, String> {
    PerNet::parse(s, config::parse_l1)
}

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
    pub fn log(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.jsonl", self.name))
    }
    pub fn checkpoint(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.ckpt", self.name))
    }
    pub fn done_mark(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.done", self.name))
    }
    fn stderr_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.err", self.name))
    }
    /// The flags to start (or, with a checkpoint, resume) the run.
    pub fn args_now(&self, dir: &Path) -> Vec<String> {
        let mut args = self.args.clone();
        let ck = self.checkpoint(dir);
        if ck.is_file() {
            args.push("--resume".into());
            args.push(ck.display().to_string());
        }
        args
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
                    a.extend(["--data-dir".into(), d.display().to_string()]);
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
                let run = Run {
                    name,
                    column: c,
                    activation: act,
                    lr,
                    l1,
                    args: Vec::new(),
                };
                a.extend([
                    "--log".into(),
                    run.log(dir).display().to_string(),
                    "--checkpoint".into(),
                    run.checkpoint(dir).display().to_string(),
                ]);
                runs.push(Run { args: a, ..run });
            }
        }
    }
    runs
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A run's command line, as a shell would take it.
pub fn command_line(exe: &Path, args: &[String]) -> String {
    std::iter::once(exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|w| shell_word(&w))
        .collect::<Vec<_>>()
        .join(" ")
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
    pub done: bool,
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

/// Reads a run's JSON lines: the last line of each epoch counts (a resumed run may repeat an
/// epoch whose line was written before its checkpoint), and a torn last line is ignored.
pub fn read_log(path: &Path) -> io::Result<Vec<serde_json::Value>> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut by_epoch: BTreeMap<u64, serde_json::Value> = BTreeMap::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        // Pre-training lines (`--pretrain`) number their own epochs: only supervised ones count.
        if v.get("phase").and_then(serde_json::Value::as_str) == Some("pretrain") {
            continue;
        }
        if let Some(e) = v.get("epoch").and_then(serde_json::Value::as_u64) {
            by_epoch.insert(e, v);
        }
    }
    Ok(by_epoch.into_values().collect())
}

/// Model selection on a run's log: the epoch of the lowest validation error.
pub fn result(run: &Run, dir: &Path) -> io::Result<RunResult> {
    let lines = read_log(&run.log(dir))?;
    let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let mut best: Option<&serde_json::Value> = None;
    for v in &lines {
        let Some(e) = num(v, "valid_error") else {
            continue;
        };
        if best.is_none_or(|b| num(b, "valid_error").is_none_or(|be| e < be)) {
            best = Some(v);
        }
    }
    let layers: Vec<f64> = best
        .and_then(|b| b.get("sparsity"))
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    Ok(RunResult {
        name: run.name.clone(),
        activation: run.activation.name().into(),
        lr: run.lr,
        l1: run.l1,
        epochs: lines.len(),
        done: run.done_mark(dir).is_file(),
        best_epoch: best
            .and_then(|b| b.get("epoch"))
            .and_then(serde_json::Value::as_u64)
            .map(|e| e as usize),
        valid_error: best.and_then(|b| num(b, "valid_error")),
        test_error: best.and_then(|b| num(b, "test_error")),
        sparsity: (!layers.is_empty()).then(|| layers.iter().sum::<f64>() / layers.len() as f64),
        sparsity_per_layer: layers,
        seconds: lines.iter().filter_map(|v| num(v, "epoch_seconds")).sum(),
    })
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

/// Collects the table from the logs in --out-dir.
pub fn collect(args: &PaperArgs, runs: &[Run]) -> io::Result<Table> {
    let results = runs
        .iter()
        .map(|r| result(r, &args.out_dir))
        .collect::<io::Result<Vec<_>>>()?;
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
    Ok(Table {
        dataset: args.dataset.name().into(),
        rows,
        runs: results,
    })
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
            "  {:<28} epochs {:>3}{}  best {:>3}  valid {:>8}  test {:>8}  {:>6} s",
            r.name,
            r.epochs,
            if r.done { " done" } else { "     " },
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
    read_log(path).map_or(0, |l| l.len())
}

/// Runs the protocol; the exit code.
pub fn run(args: &PaperArgs) -> ExitCode {
    match execute(args) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
    }
}

fn execute(args: &PaperArgs) -> Result<ExitCode, String> {
    if args.dataset.needs_data_dir() && args.data_dir.is_none() {
        return Err(format!(
            "--dataset {} needs --data-dir DIR with its files (see relutui paper --help)",
            args.dataset
        ));
    }
    if !args.collect {
        fs::create_dir_all(&args.out_dir)
            .map_err(|e| format!("--out-dir {}: {e}", args.out_dir.display()))?;
    }
    let runs = plan(args);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find relutui itself: {e}"))?;
    let dir = &args.out_dir;
    let todo: Vec<&Run> = runs
        .iter()
        .filter(|r| !r.done_mark(dir).is_file())
        .collect();
    if args.plan {
        let mut out = io::stdout().lock();
        for r in &todo {
            let _ = writeln!(out, "{}", command_line(&exe, &r.args_now(dir)));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = Vec::new();
    if !args.collect {
        failed = train_all(args, &exe, &todo)?;
    }
    let table = collect(args, &runs).map_err(|e| format!("--out-dir {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(&table).map_err(|e| e.to_string())?;
    if !args.collect {
        let path = dir.join("table1.json");
        crate::engine::checkpoint::write_atomic(&path, format!("{json}\n").as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut out = io::stdout().lock();
    let _ = if args.json {
        writeln!(out, "{json}")
    } else {
        write!(out, "{}", render(&table))
    };
    let sig = SIGNALLED.load(Ordering::SeqCst);
    if sig != 0 {
        eprintln!(
            "paper: stopped by signal {sig}; the runs saved checkpoints: run the same command \
             again to go on"
        );
        return Ok(ExitCode::from(128 + sig as u8));
    }
    if !failed.is_empty() {
        eprintln!(
            "paper: {} run(s) failed, see their .err files in {}: {}",
            failed.len(),
            dir.display(),
            failed.join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
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
                .args(run.args_now(dir))
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
                        let line = command_line(exe, &run.args);
                        fs::write(run.done_mark(dir), format!("{line}\n"))
                            .map_err(|e| format!("{}: {e}", run.done_mark(dir).display()))?;
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
            "--log /tmp/x/tanh_lr0.01.jsonl",
            "--checkpoint /tmp/x/tanh_lr0.01.ckpt",
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
        ]);
        let runs = plan(&a);
        let line = |e: u32, v: f64, t: f64| {
            format!(
                "{{\"epoch\":{e},\"valid_error\":{v},\"test_error\":{t},\"sparsity\":[0.8,0.9],\"epoch_seconds\":2.0}}\n"
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
        fs::write(runs[0].log(dir.path()), log0).unwrap();
        fs::write(runs[1].log(dir.path()), line(1, 0.04, 0.01)).unwrap();
        fs::write(runs[0].done_mark(dir.path()), "x").unwrap();
        let t = collect(&a, &runs).unwrap();
        let r0 = &t.runs[0];
        assert_eq!((r0.epochs, r0.best_epoch, r0.done), (3, Some(2), true));
        assert_eq!(r0.test_error, Some(0.04));
        assert!((r0.sparsity.unwrap() - 0.85).abs() < 1e-12);
        let row = &t.rows[0];
        let sel = row.selected.as_ref().unwrap();
        assert_eq!(sel.name, "rectifier_lr0.1", "lowest validation error wins");
        assert!(!row.complete);
        assert_eq!(row.paper_test_error, Some(0.0143));
        let text = render(&t);
        assert!(text.contains("4.00 %") && text.contains("1.43 %"), "{text}");
    }

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        let line = command_line(
            Path::new("/bin/relutui"),
            &[
                "--log".into(),
                "my runs/a.jsonl".into(),
                "--lr".into(),
                "0.1".into(),
            ],
        );
        assert_eq!(line, "/bin/relutui --log 'my runs/a.jsonl' --lr 0.1");
    }
}
