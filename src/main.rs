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

use relutui::checkpoint::{self, Checkpoint};
use relutui::cli::{Cli, SubCommand};
use relutui::jsonl::JsonLines;
use relutui::train::Trainer;
use relutui::{bench, data, headless, memory, paths, say, signals, sweep, tui};

/// Bad flags, bad data files, unusable paths.
const EXIT_USAGE: u8 = 2;
const EXIT_RUNTIME: u8 = 1;

/// Prints `error: MSG` without panicking when stderr is gone, and returns `code`.
fn fail(msg: impl Display, code: u8) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {msg}");
    ExitCode::from(code)
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
    // Before anything else: a signal from now on is remembered, not fatal (src/signals.rs).
    signals::install();
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        // --help and --version print in full and exit 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => return fail(one_line(&e), EXIT_USAGE),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return fail(one_line(&e), EXIT_USAGE),
    };
    match cli.command {
        Some(SubCommand::Sweep(a)) => {
            // The sweep and bench do not listen for signals: they stop at once, as before.
            signals::default_action();
            return sweep::run(&a);
        }
        Some(SubCommand::Bench(a)) => {
            signals::default_action();
            if let Err(e) = bench::check_args(&a) {
                return fail(e, EXIT_USAGE);
            }
            return match bench::run(&a) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e, EXIT_RUNTIME),
            };
        }
        None => {}
    }
    let mut args = cli.run;
    // A piped stdout gets JSON lines, never escape codes: run headless, with its epoch default.
    let piped = !args.headless && !io::stdout().is_terminal();
    args.headless |= piped;
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
    if let (Some((path, ck)), Some(dir)) = (&resume, &args.data_dir) {
        if let Err(e) = check_resume_data_dir(ck, dir) {
            return fail(format_args!("--resume {}: {e}", path.display()), EXIT_USAGE);
        }
    }
    // A resumed run goes on saving to its checkpoint unless told otherwise.
    let checkpoint_path = args.checkpoint.clone().or_else(|| args.resume.clone());
    let flag = if args.checkpoint.is_some() {
        "--checkpoint"
    } else {
        "--resume"
    };
    if let Some(path) = &checkpoint_path {
        if let Err(e) = checkpoint::check_writable(path) {
            return fail(format_args!("{flag} {e}"), EXIT_USAGE);
        }
    }
    // One run per checkpoint: a second one is refused while the first holds the lock.
    let _checkpoint_lock = match checkpoint_path.as_deref().map(checkpoint::lock).transpose() {
        Ok(lock) => lock,
        Err(e) => return fail(format_args!("{flag} {e}"), EXIT_USAGE),
    };
    if let Some(log) = &args.log {
        if let Err(e) = check_log_path(log, checkpoint_path.as_deref(), args.resume.as_deref()) {
            return fail(format_args!("--log {}: {e}", log.display()), EXIT_USAGE);
        }
    }

    if config.dataset.needs_data_dir() && config.data_dir.is_none() {
        return fail(
            format_args!(
                "--dataset {} needs --data-dir DIR with its files (see --help)",
                config.dataset
            ),
            EXIT_USAGE,
        );
    }
    // Before anything large is allocated: does the run fit in this machine?
    let (input, examples) = match &resume {
        Some((_, ck)) => (ck.run.input_dim, ck.run.train_examples * 7 / 5),
        None => memory::dataset_shape(config.dataset),
    };
    let estimate = memory::estimate(&config, input, examples, checkpoint_path.is_some());
    if let Err(e) = memory::check(&estimate, memory::available(), "this run") {
        return fail(e, EXIT_USAGE);
    }
    let splits = match data::load(config.dataset, config.data_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(e, EXIT_USAGE),
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
            return fail(
                format_args!("--log {}: cannot create it: {e}", path.display()),
                EXIT_USAGE,
            );
        }
    };
    if let Some(path) = checkpoint_path {
        trainer = trainer.with_checkpoint(path);
    }
    if let (Some(target), Some(_)) = (config.epochs, &resume) {
        let done = trainer.position().epoch;
        if done >= target {
            say!("relutui: the checkpoint has {done} epochs done, --epochs {target} asks for no more");
        }
    }

    if args.headless {
        if piped {
            say!("relutui: stdout is not a terminal, so running headless (JSON lines on stdout)");
        }
        let options = headless::Options {
            progress: io::stderr().is_terminal(),
            detach_on_hangup: args.detach_on_hangup,
        };
        // 0 when done, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT, 141 when
        // stdout was closed.
        return match headless::run(trainer, io::stdout().lock(), log, options) {
            Ok(outcome) => ExitCode::from(outcome.exit_code()),
            Err(e) => fail(e, EXIT_RUNTIME),
        };
    }
    // The dashboard: 0 after q, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT
    // (129 too when the terminal vanishes).
    match tui::run(trainer, log, args.detach_on_hangup) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => fail(e, EXIT_RUNTIME),
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
