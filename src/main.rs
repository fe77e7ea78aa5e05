//! relutui's entry point: parse the flags, load the data (or a checkpoint to resume), then run
//! the dashboard or the headless writer. Exit codes: 0 done or quit, 1 runtime error (or the
//! last checkpoint could not be written), 2 bad input (flags, data, paths, checkpoints),
//! 128 + N after signal N (141: headless stdout closed, as SIGPIPE would).

use std::fmt::{Display, Write as _};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use relutui::cli::{Cli, SubCommand};
use relutui::dashboard::{attach, terminal as tui};
use relutui::engine::checkpoint::{self, Checkpoint};
use relutui::engine::trainer::Trainer;
use relutui::engine::{data, memory};
use relutui::frontend::bridge::Server;
use relutui::frontend::jsonl::JsonLines;
use relutui::frontend::run_dir::{self, Ending, RunDir};
use relutui::frontend::{headless, signals};
use relutui::os::paths;
use relutui::protocol::wire as protocol;
use relutui::say;
use relutui::tools::{bench, paper, plot, sweep};

use relutui::frontend::runtime::{Error, Outcome, EXIT_RUNTIME, EXIT_USAGE};
use relutui::os::allocator::ReusingAllocator;

/// The system allocator, with freed large blocks (gemm's packing buffers) kept for reuse: see
/// `src/os/allocator.rs` for the resident memory it saves.
#[global_allocator]
static ALLOCATOR: ReusingAllocator = ReusingAllocator::new();

/// Prints `error: MSG` without panicking when stderr is gone, and returns `code`.
fn fail(msg: impl Display, code: u8) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {msg}");
    ExitCode::from(code)
}

/// How a front end's run ended, as the process exit: 0, 128 + the signal's number, or the
/// error (on stderr) with its [`Error::exit_code`].
fn exit(result: Result<Outcome, Error>) -> ExitCode {
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => fail(&e, e.exit_code()),
    }
}

/// A value longer than this is shown by its start and its length in error messages.
const MAX_ECHO: usize = 60;

/// Shortens every `'…'`-quoted value longer than [`MAX_ECHO`] in a clap message: a
/// 20,000-layer `--hidden` must not echo 40 KB back.
fn shorten_values(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(512));
    let mut rest = msg;
    while let Some(open) = rest.find('\'') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find('\'') else { break };
        let value = &rest[..close];
        let chars = value.chars().count();
        if chars > MAX_ECHO {
            let head: String = value.chars().take(MAX_ECHO / 2).collect();
            let _ = write!(out, "{head}… ({chars} characters)");
        } else {
            out.push_str(value);
        }
        out.push('\'');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// A clap error as one line: its message, which names the flag, and its tips (a similar
/// flag, how to pass a value that starts with `-`), without the usage block.
fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad arguments");
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    let msg = first.strip_prefix("error: ").unwrap_or(first);
    let line = std::iter::once(msg)
        .chain(tips)
        .collect::<Vec<_>>()
        .join("; ");
    shorten_values(&line)
}

fn main() -> ExitCode {
    // Before anything else: a signal from now on is remembered, not fatal (src/frontend/signals.rs).
    signals::install();
    // RELUTUI_SIMD first, so that --version shows the level it sets; --simd overrides it.
    if let Err(e) = relutui::engine::nn::simd::force_from_env() {
        return fail(e, EXIT_USAGE);
    }
    let version = relutui::engine::nn::simd::version_line(env!("CARGO_PKG_VERSION"));
    let matches = match Cli::command().version(version).try_get_matches() {
        Ok(m) => m,
        // --help and --version print in full and exit 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => return fail(one_line(&e), EXIT_USAGE),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return fail(one_line(&e), EXIT_USAGE),
    };
    if let Some(choice) = cli.simd {
        if let Err(e) = relutui::engine::nn::simd::force(choice) {
            return fail(format_args!("--simd {e}"), EXIT_USAGE);
        }
    }
    match cli.command {
        Some(SubCommand::Sweep(a)) => {
            // The sweep and bench do not listen for signals: they stop at once, as before.
            signals::default_action();
            return exit(sweep::run(&a).map(|()| Outcome::Quit));
        }
        Some(SubCommand::Paper(a)) => return exit(paper::run(&a)),
        Some(SubCommand::Attach(a)) => return exit(attach::attach(&a)),
        Some(SubCommand::Replay(a)) => return exit(attach::replay(&a)),
        Some(SubCommand::Ls(a)) => {
            signals::default_action();
            return exit(attach::ls(&a).map(|()| Outcome::Quit));
        }
        Some(SubCommand::Bench(a)) => {
            signals::default_action();
            return exit(bench::run(&a).map(|()| Outcome::Quit));
        }
        Some(SubCommand::Plot(a)) => {
            signals::default_action();
            return exit(plot::run(&a).map(|()| Outcome::Quit));
        }
        Some(SubCommand::Completions { shell }) => {
            signals::default_action();
            clap_complete::generate(shell, &mut Cli::command(), "relutui", &mut io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(SubCommand::Man) => {
            signals::default_action();
            return match clap_mangen::Man::new(Cli::command()).render(&mut io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(
                    format_args!("writing the man page failed: {e}"),
                    EXIT_RUNTIME,
                ),
            };
        }
        None => {}
    }
    let mut args = cli.run;
    if args.pretrain.is_none()
        && matches.value_source("pretrain_lr") == Some(ValueSource::CommandLine)
    {
        return fail(
            "--pretrain-lr needs --pretrain N (the epochs per layer)",
            EXIT_USAGE,
        );
    }
    // --continue: a run directory that holds a run goes on from its checkpoint (its
    // pre-training phase and position come from there), or starts again in it.
    let mut continued_dir = None;
    if args.continue_run {
        if let Some(dir) = args.run_dir.clone().filter(|d| run_dir::is_run_dir(d)) {
            let ck = args
                .checkpoint
                .clone()
                .unwrap_or_else(|| dir.join(run_dir::CHECKPOINT));
            if ck.is_file() {
                args.resume = Some(ck);
                args.pretrain = None;
            }
            continued_dir = Some(dir);
        }
    }
    // A piped stdout gets JSON lines, never escape codes: run headless, with its epoch default.
    let piped = !args.headless && !io::stdout().is_terminal();
    args.headless |= piped;
    // A terminal without cursor movement or colours (TERM=dumb) cannot hold the dashboard.
    let dumb = !args.headless && std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    args.headless |= dumb;
    let resume = match args.resume.as_deref() {
        None => None,
        Some(path) => match Checkpoint::load(path) {
            Ok(ck) => Some((path, ck)),
            Err(e) => return fail(format_args!("--resume {e}"), EXIT_USAGE),
        },
    };
    let config = match &resume {
        None => args.to_config(),
        Some((path, ck)) => {
            let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
            match args.resume_config(ck, given) {
                Ok(c) => c,
                Err(e) => {
                    return fail(format_args!("--resume {}: {e}", path.display()), EXIT_USAGE)
                }
            }
        }
    };
    // A headless resume with nothing left to train says so, and changes nothing (the dashboard
    // opens such a run as it ended: DONE, with its history).
    if let Some((path, ck)) = resume.as_ref().filter(|_| args.headless) {
        let at = ck.run.position;
        let why = if ck.nets.iter().all(|n| n.selection.stopped) {
            Some("every network was stopped by early stopping (--patience)".to_string())
        } else {
            config
                .epochs()
                .filter(|&e| at.epoch >= e && at.batch == 0)
                .map(|e| {
                    format!(
                        "--epochs {e} is the total to reach, and it has {} done",
                        at.epoch
                    )
                })
        };
        if let Some(why) = why {
            let _ = writeln!(
                io::stderr(),
                "relutui: --resume {}: nothing to train: {why} (at epoch {}); its log and \
                 checkpoint are left as they are (relutui replay shows the run)",
                path.display(),
                at.epoch
            );
            return ExitCode::SUCCESS;
        }
    }
    if config.dataset().needs_data_dir() && config.data_dir().is_none() {
        return fail(
            format_args!(
                "--dataset {} needs --data-dir DIR with its files (see --help)",
                config.dataset()
            ),
            EXIT_USAGE,
        );
    }
    if let (Some((path, ck)), Some(dir)) = (&resume, &args.data_dir) {
        if let Err(e) = check_resume_data_dir(ck, dir) {
            return fail(format_args!("--resume {}: {e}", path.display()), EXIT_USAGE);
        }
    }
    // The paths relutui will replace or append to, checked before a run directory is made.
    if let Some(path) = args.checkpoint.as_ref().or(args.resume.as_ref()) {
        if let Err(e) = checkpoint::check_writable(path) {
            return fail(format_args!("{} {e}", checkpoint_flag(&args)), EXIT_USAGE);
        }
    }
    if let Some(log) = &args.log {
        let checkpoint = args.checkpoint.as_deref().or(args.resume.as_deref());
        if let Err(e) = check_log_path(log, checkpoint, args.resume.as_deref()) {
            return fail(format_args!("--log {}: {e}", log.display()), EXIT_USAGE);
        }
    }
    // Every run has a run directory; a resumed one goes on in its checkpoint's.
    let resumed_dir = args
        .resume
        .as_deref()
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => ".".into(),
        })
        .filter(|d| run_dir::is_run_dir(d))
        .or(continued_dir);
    let meta = run_dir::Meta {
        protocol: protocol::VERSION,
        pid: 0,
        started: String::new(),
        command: std::env::args().collect(),
        dataset: config.dataset().name().to_string(),
        activations: config
            .activations()
            .iter()
            .map(|a| a.name().to_string())
            .collect(),
        hidden: config.hidden().to_vec(),
        epochs: config.epochs(),
        headless: args.headless,
        log: args.log.clone().unwrap_or_else(|| run_dir::LOG.into()),
        checkpoint: Some(
            args.checkpoint
                .clone()
                .or_else(|| args.resume.clone())
                .unwrap_or_else(|| run_dir::CHECKPOINT.into()),
        ),
        ended: None,
    };
    let mut run = match RunDir::take(args.run_dir.as_deref(), resumed_dir.as_deref(), meta) {
        Ok(r) => r,
        Err(e) => return fail(e, EXIT_USAGE),
    };
    if args.log.is_none() {
        args.log = Some(run.log_path());
    }
    // A resumed run goes on saving to its checkpoint unless told otherwise.
    let checkpoint_path = args
        .checkpoint
        .clone()
        .or_else(|| args.resume.clone())
        .unwrap_or_else(|| run.checkpoint_path());
    let checkpoint_path = Some(checkpoint_path);
    let code = train_in(
        &args,
        &config,
        resume.as_ref(),
        checkpoint_path,
        &run,
        piped,
        dumb,
    );
    let ending = match &code {
        Ok(Ending::Done) if !run_done(&run) => Ending::Quit,
        Ok(e) => e.clone(),
        Err((msg, _)) => Ending::Failed {
            message: msg.clone(),
        },
    };
    let exit = match &code {
        Ok(Ending::Signal { signal }) => {
            ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX))
        }
        Ok(_) => ExitCode::SUCCESS,
        Err((msg, c)) => fail(msg, *c),
    };
    if let Err(e) = run.finish(ending) {
        let _ = writeln!(
            io::stderr(),
            "relutui: warning: {}: cannot record how the run ended: {e}",
            run.path().display()
        );
    }
    exit
}

/// Whether every epoch the run asked for is in its log.
fn run_done(run: &RunDir) -> bool {
    let Some(target) = run.meta().epochs else {
        return false;
    };
    let log = run.meta().log.clone();
    let log = if log.is_absolute() {
        log
    } else {
        run.path().join(log)
    };
    run_dir::read_log(&log)
        .is_ok_and(|(r, _)| r.iter().map(|r| r.epoch).max().unwrap_or(0) >= target)
}

/// Trains in `run`: how it ended, or the error's message and exit code.
fn train_in(
    args: &relutui::cli::RunArgs,
    config: &relutui::engine::config::RunConfig,
    resume: Option<&(&std::path::Path, Checkpoint)>,
    checkpoint_path: Option<std::path::PathBuf>,
    run: &RunDir,
    piped: bool,
    dumb: bool,
) -> Result<Ending, (String, u8)> {
    let usage = |m: String| (m, EXIT_USAGE);
    let flag = checkpoint_flag(args);
    if let Some(path) = &checkpoint_path {
        if let Err(e) = checkpoint::check_writable(path) {
            return Err(usage(format!("{flag} {e}")));
        }
    }
    // One run per checkpoint: a second one is refused while the first holds the lock.
    let _checkpoint_lock = checkpoint_path
        .as_deref()
        .map(checkpoint::lock)
        .transpose()
        .map_err(|e| usage(format!("{flag} {e}")))?;
    if let Some(log) = &args.log {
        if let Err(e) = check_log_path(log, checkpoint_path.as_deref(), args.resume.as_deref()) {
            return Err(usage(format!("--log {}: {e}", log.display())));
        }
    }
    // The epochs already in a resumed run's log, for the charts.
    let history = match (resume, args.log.as_deref()) {
        (Some((_, ck)), Some(log)) if log.exists() => run_dir::read_log(log)
            .map(|(r, _)| r)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.step <= ck.run.position.step)
            .collect(),
        _ => Vec::new(),
    };
    // Before anything large is allocated: does the run fit in this machine?
    let (input, examples) = match resume {
        Some((_, ck)) => (ck.run.input_dim, ck.run.train_examples * 7 / 5),
        None => memory::dataset_shape(config.dataset()),
    };
    let estimate = memory::estimate(config, input, examples, checkpoint_path.is_some());
    memory::check(&estimate, memory::available(), "this run").map_err(|e| usage(e.clone()))?;
    let splits =
        data::load(config.dataset(), config.data_dir()).map_err(|e| usage(e.to_string()))?;
    let mut trainer = Trainer::new(config, splits);
    if let Some((path, ck)) = resume {
        if let Err(e) = trainer.restore(ck) {
            return Err(usage(format!(
                "--resume {}: cannot resume from it: {e}",
                path.display()
            )));
        }
    }
    // Only now, with the data and the checkpoint checked, is the log touched: a run that fails
    // on bad input leaves the previous log as it was. A resumed run appends to it.
    let open_log = if resume.is_some() {
        JsonLines::append
    } else {
        JsonLines::create
    };
    let log = match args.log.as_deref().map(open_log).transpose() {
        Ok(log) => log,
        Err(e) => {
            let path = args.log.as_deref().unwrap_or_else(|| unreachable!());
            return Err(usage(format!(
                "--log {}: cannot create it: {e}",
                path.display()
            )));
        }
    };
    if let Some(epochs) = args.pretrain {
        trainer = trainer.with_pretrain(relutui::engine::trainer::PretrainSettings {
            epochs,
            lr: args.pretrain_lr,
        });
    }
    if let Some(path) = checkpoint_path {
        trainer = trainer.with_checkpoint(path);
    }
    if let (Some(target), Some(_)) = (config.epochs(), resume) {
        let done = trainer.position().epoch;
        if done >= target {
            say!("relutui: the checkpoint has {done} epochs done, --epochs {target} asks for no more");
        }
    }
    let server = Server::bind(run).map_err(|e| {
        usage(format!(
            "run directory {}: cannot listen on its control socket: {e}",
            run.path().display()
        ))
    })?;
    let spawn = |t| server.spawn(t, history);
    let ending = |outcome: Outcome| match outcome {
        Outcome::Quit => Ending::Done,
        Outcome::Signal(signal) => Ending::Signal { signal },
    };

    if args.headless {
        if piped {
            say!("relutui: stdout is not a terminal, so running headless (JSON lines on stdout)");
        }
        if dumb {
            say!(
                "relutui: TERM=dumb cannot show the dashboard, so running headless (JSON lines \
                 on stdout); set TERM (e.g. TERM=xterm-256color) for the dashboard"
            );
        }
        let options = headless::Options {
            progress: io::stderr().is_terminal(),
            detach_on_hangup: args.detach_on_hangup,
        };
        // 0 when done, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT, 141 when
        // stdout was closed.
        return headless::run_with(trainer, io::stdout().lock(), log, options, spawn)
            .map(ending)
            .map_err(|e| (e.to_string(), e.exit_code()));
    }
    // The dashboard: 0 after q, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT
    // (129 too when the terminal vanishes).
    let options = tui::Options {
        detach_on_hangup: args.detach_on_hangup,
        theme: args.theme.map(Into::into),
        log_path: args.log.clone(),
        checkpoint_path: trainer.checkpoint_path().map(std::path::Path::to_path_buf),
    };
    tui::run_with(trainer, log, &options, spawn)
        .map(ending)
        .map_err(|e| (e.to_string(), e.exit_code()))
}

/// The flag that named the checkpoint file, for messages about it.
fn checkpoint_flag(args: &relutui::cli::RunArgs) -> &'static str {
    if args.checkpoint.is_some() {
        "--checkpoint"
    } else {
        "--resume"
    }
}

/// `--log` must be a file relutui may write: not the checkpoint (a save would replace the log,
/// the log would corrupt the checkpoint), not a directory or a path ending in `/`, in a
/// directory that exists. Nothing is created or truncated here.
fn check_log_path(
    log: &Path,
    checkpoint: Option<&Path>,
    resume: Option<&Path>,
) -> Result<(), String> {
    for (other, flag) in [(checkpoint, "--checkpoint"), (resume, "--resume")] {
        if let Some(other) = other {
            if paths::same_file(log, other) {
                return Err(format!(
                    "is the same file as {flag} {}: the log needs a file of its own",
                    other.display()
                ));
            }
        }
    }
    let text = log.as_os_str().as_encoded_bytes();
    if text.ends_with(b"/") || log.file_name().is_none() {
        return Err("the path ends in '/' or '..': a file name is needed, not a directory".into());
    }
    if let Ok(m) = std::fs::metadata(log) {
        if m.is_dir() {
            return Err("it is a directory".into());
        }
    }
    let dir = match log.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    Ok(())
}

/// A `--data-dir` given with `--resume` must be the saved run's, unless that one is gone
/// (the data was moved): another directory of the same shape would silently train on other
/// data.
fn check_resume_data_dir(ck: &Checkpoint, dir: &Path) -> Result<(), String> {
    let Some(saved) = ck.run.data_dir.as_deref().map(Path::new) else {
        return Ok(());
    };
    if !saved.is_dir() || paths::same_file(saved, dir) {
        return Ok(());
    }
    Err(format!(
        "--data-dir {} differs from the checkpoint's {}, which still exists: leave \
         --data-dir out to resume on the data the run was trained on",
        dir.display(),
        saved.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = vec!["1"; 20_000].join(",");
        let msg = shorten_values(&format!(
            "invalid value '{long}' for '--hidden <WIDTHS>': x"
        ));
        assert!(msg.len() < 200, "{msg}");
        assert!(
            msg.contains("(39999 characters)") && msg.contains("'--hidden <WIDTHS>'"),
            "{msg}"
        );
        assert_eq!(shorten_values("a 'b' c"), "a 'b' c");
        assert_eq!(shorten_values("it's"), "it's");
    }
}
