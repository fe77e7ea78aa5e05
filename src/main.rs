//! relutui's entry point: parse the flags, load the data (or a checkpoint to resume), then run
//! the dashboard or the headless writer. Exit codes: 0 done or quit, 1 runtime error (or the
//! last checkpoint could not be written), 2 bad input (flags, data, paths, checkpoints),
//! 128 + N after signal N.

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use relutui::checkpoint::{self, Checkpoint};
use relutui::cli::{Cli, SubCommand};
use relutui::jsonl::JsonLines;
use relutui::train::Trainer;
use relutui::{bench, data, headless, paper, plot, sweep, tui};

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
    // A resumed run goes on saving to its checkpoint unless told otherwise.
    let checkpoint_path = args.checkpoint.clone().or_else(|| args.resume.clone());
    if let Some(path) = &checkpoint_path {
        if let Err(e) = checkpoint::check_writable(path) {
            return fail(format_args!("--checkpoint {e}"), EXIT_USAGE);
        }
    }

    if config.dataset.needs_data_dir() && config.data_dir.is_none() {
        eprintln!(
            "error: --dataset {} needs --data-dir DIR with its files (see --help)",
            config.dataset
        );
        return ExitCode::from(EXIT_USAGE);
    }
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
            eprintln!("error: --log {}: cannot create it: {e}", path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let splits = match data::load(config.dataset, config.data_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut trainer = Trainer::new(&config, splits);
    if let Some((path, ck)) = &resume {
        if let Err(e) = trainer.restore(ck) {
            return fail(
                format_args!("--resume {}: cannot resume from it: {e}", path.display()),
                EXIT_USAGE,
            );
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
    if let (Some(target), Some(_)) = (config.epochs, &resume) {
        let done = trainer.position().epoch;
        if done >= target {
            eprintln!(
                "relutui: the checkpoint has {done} epochs done, --epochs {target} asks for no more"
            );
        }
    }

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
        return match headless::run(trainer, io::stdout().lock(), log, options) {
            Ok(outcome) => ExitCode::from(outcome.exit_code()),
            Err(e) => fail(e, EXIT_RUNTIME),
        };
    }
    // The dashboard: 0 after q, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT.
    let options = tui::Options {
        detach_on_hangup: args.detach_on_hangup,
        theme: args.theme,
        log_path: args.log.clone(),
        checkpoint_path: trainer.checkpoint_path().map(std::path::Path::to_path_buf),
    };
    match tui::run_with(trainer, log, &options) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => fail(e, EXIT_RUNTIME),
    }
}
