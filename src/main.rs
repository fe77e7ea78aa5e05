//! relutui's entry point: parse the flags, load the data (or a checkpoint to resume), then run
//! the dashboard or the headless writer. Exit codes: 0 done or quit, 1 runtime error (or the
//! last checkpoint could not be written), 2 bad input (flags, data, paths, checkpoints),
//! 128 + N after signal N.

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use relutui::bridge::Server;
use relutui::checkpoint::{self, Checkpoint};
use relutui::cli::{Cli, SubCommand};
use relutui::jsonl::JsonLines;
use relutui::run_dir::{self, Ending, RunDir};
use relutui::train::Trainer;
use relutui::{attach, bench, data, headless, paper, plot, protocol, sweep, tui};

/// Bad flags, bad data files, unusable paths.
const EXIT_USAGE: u8 = 2;
const EXIT_RUNTIME: u8 = 1;

/// Prints `error: MSG` without panicking when stderr is gone, and returns `code`.
fn fail(msg: impl Display, code: u8) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {msg}");
    ExitCode::from(code)
}

/// A clap error as one line: its message, which names the flag, and its tips (a similar
/// flag, how to pass a value that starts with `-`), without the usage block.
fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad arguments");
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    let msg = first.strip_prefix("error: ").unwrap_or(first);
    std::iter::once(msg)
        .chain(tips)
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() -> ExitCode {
    // RELUTUI_SIMD first, so that --version shows the level it sets; --simd overrides it.
    if let Err(e) = relutui::nn::simd::force_from_env() {
        return fail(e, EXIT_USAGE);
    }
    let version = relutui::nn::simd::version_line(env!("CARGO_PKG_VERSION"));
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
        if let Err(e) = relutui::nn::simd::force(choice) {
            return fail(format_args!("--simd {e}"), EXIT_USAGE);
        }
    }
    match cli.command {
        Some(SubCommand::Sweep(a)) => return sweep::run(&a),
        Some(SubCommand::Paper(a)) => return paper::run(&a),
        Some(SubCommand::Attach(a)) => return attach::attach(&a),
        Some(SubCommand::Replay(a)) => return attach::replay(&a),
        Some(SubCommand::Ls(a)) => return attach::ls(&a),
        Some(SubCommand::Bench(a)) => {
            return match bench::run(&a) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Some(SubCommand::Plot(a)) => return plot::run(&a),
        Some(SubCommand::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "relutui", &mut io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(SubCommand::Man) => {
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
    if config.dataset.needs_data_dir() && config.data_dir.is_none() {
        eprintln!(
            "error: --dataset {} needs --data-dir DIR with its files (see --help)",
            config.dataset
        );
        return ExitCode::from(EXIT_USAGE);
    }
    // Every run has a run directory; a resumed one goes on in its checkpoint's.
    let resumed_dir = args
        .resume
        .as_deref()
        .map(|p| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => ".".into(),
        })
        .filter(|d| run_dir::is_run_dir(d));
    let meta = run_dir::Meta {
        protocol: protocol::VERSION,
        pid: 0,
        started: String::new(),
        command: std::env::args().collect(),
        dataset: config.dataset.name().to_string(),
        activations: config
            .activations
            .iter()
            .map(|a| a.name().to_string())
            .collect(),
        hidden: config.hidden.clone(),
        epochs: config.epochs,
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
    config: &relutui::config::RunConfig,
    resume: Option<&(&std::path::Path, Checkpoint)>,
    checkpoint_path: Option<std::path::PathBuf>,
    run: &RunDir,
    piped: bool,
    dumb: bool,
) -> Result<Ending, (String, u8)> {
    let usage = |m: String| (m, EXIT_USAGE);
    if let Some(path) = &checkpoint_path {
        if let Err(e) = checkpoint::check_writable(path) {
            return Err(usage(format!("--checkpoint {e}")));
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
    // A resumed run appends to its log: the epochs before the checkpoint stay.
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
    let splits =
        data::load(config.dataset, config.data_dir.as_deref()).map_err(|e| usage(e.to_string()))?;
    let mut trainer = Trainer::new(config, splits);
    if let Some((path, ck)) = resume {
        if let Err(e) = trainer.restore(ck) {
            return Err(usage(format!(
                "--resume {}: cannot resume from it: {e}",
                path.display()
            )));
        }
    }
    if let Some(epochs) = args.pretrain {
        trainer = trainer.with_pretrain(relutui::train::PretrainSettings {
            epochs,
            lr: args.pretrain_lr,
        });
    }
    if let Some(path) = checkpoint_path {
        trainer = trainer.with_checkpoint(path);
    }
    if let (Some(target), Some(_)) = (config.epochs, resume) {
        let done = trainer.position().epoch;
        if done >= target {
            eprintln!(
                "relutui: the checkpoint has {done} epochs done, --epochs {target} asks for no more"
            );
        }
    }
    let server = Server::bind(run).map_err(|e| {
        usage(format!(
            "run directory {}: cannot listen on its control socket: {e}",
            run.path().display()
        ))
    })?;
    let spawn = |t| server.spawn(t, history);
    let ending = |outcome: tui::Outcome| match outcome {
        tui::Outcome::Quit => Ending::Done,
        tui::Outcome::Signal(signal) => Ending::Signal { signal },
    };

    if args.headless {
        if piped {
            eprintln!(
                "relutui: stdout is not a terminal, so running headless (JSON lines on stdout)"
            );
        }
        if dumb {
            eprintln!(
                "relutui: TERM=dumb cannot show the dashboard, so running headless (JSON lines \
                 on stdout); set TERM (e.g. TERM=xterm-256color) for the dashboard"
            );
        }
        let options = headless::Options {
            progress: io::stderr().is_terminal(),
            detach_on_hangup: args.detach_on_hangup,
        };
        // 0 when done, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT.
        return headless::run_with(trainer, io::stdout().lock(), log, options, spawn)
            .map(ending)
            .map_err(|e| (e.to_string(), EXIT_RUNTIME));
    }
    // The dashboard: 0 after q, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT.
    let options = tui::Options {
        detach_on_hangup: args.detach_on_hangup,
        theme: args.theme,
        log_path: args.log.clone(),
        checkpoint_path: trainer.checkpoint_path().map(std::path::Path::to_path_buf),
    };
    tui::run_with(trainer, log, &options, spawn)
        .map(ending)
        .map_err(|e| (e.to_string(), EXIT_RUNTIME))
}
