//! relutui's entry point: parse the flags, load the data, then run the dashboard or the
//! headless writer. Exit codes: 0 done or quit, 1 runtime error, 2 bad input.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use clap::Parser;

use relutui::cli::{Cli, SubCommand};
use relutui::jsonl::JsonLines;
use relutui::train::Trainer;
use relutui::{bench, data, headless, sweep, tui};

/// Bad flags, bad data files, unusable paths.
const EXIT_USAGE: u8 = 2;
const EXIT_RUNTIME: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(SubCommand::Sweep(a)) => return sweep::run(&a),
        Some(SubCommand::Bench(a)) => {
            return match bench::run(&a) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        None => {}
    }
    let args = cli.run;
    let config = args.to_config();

    if config.dataset.needs_data_dir() && config.data_dir.is_none() {
        eprintln!(
            "error: --dataset {} needs --data-dir DIR with its files (see --help)",
            config.dataset
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let log = match args.log.as_deref().map(JsonLines::create).transpose() {
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
    let trainer = Trainer::new(&config, splits);

    if args.headless || !io::stdout().is_terminal() {
        if !args.headless {
            eprintln!(
                "relutui: stdout is not a terminal, so running headless (JSON lines on stdout)"
            );
        }
        let progress = io::stderr().is_terminal();
        return match headless::run(trainer, io::stdout().lock(), log, progress) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_RUNTIME)
            }
        };
    }
    // The dashboard: 0 after q, 128 + the signal's number after SIGTERM, SIGHUP or SIGINT.
    match tui::run(trainer, log) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}
