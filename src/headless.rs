//! The headless front end: drives the trainer through the same channels as the dashboard and
//! writes one JSON object per network per epoch. Progress for people goes to stderr, and only
//! when stderr is a terminal.

use std::io::{self, Write};

use crossbeam_channel::select;

use crate::jsonl::JsonLines;
use crate::message::{Command, RunState, Update};
use crate::train::{self, Trainer};

/// Why a headless run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error("cannot start the trainer thread: {0}")]
    Spawn(io::Error),
    #[error("writing the JSON lines to stdout failed: {0}")]
    Stdout(io::Error),
    #[error("writing the log file failed: {0}")]
    Log(io::Error),
    #[error("the trainer thread panicked")]
    TrainerPanicked,
}

/// Trains until the configured epochs are done, writing JSON lines to `stdout` and `log`.
/// A closed stdout (`relutui --headless | head`) ends the run quietly.
pub fn run<W: Write, L: Write>(
    trainer: Trainer,
    stdout: W,
    log: Option<JsonLines<L>>,
    progress: bool,
) -> Result<(), HeadlessError> {
    let trainer = if progress {
        trainer
    } else {
        trainer.without_samples()
    };
    let handle = train::spawn(trainer).map_err(HeadlessError::Spawn)?;
    let mut out = JsonLines::new(stdout);
    let mut log = log;
    let mut epochs: Option<usize> = None;
    let mut batches = 0;
    let result = loop {
        let update = select! {
            recv(handle.updates) -> u => match u {
                Ok(u) => u,
                Err(_) => break Ok(()),
            },
            recv(handle.samples) -> s => {
                if let Ok(s) = s {
                    eprint!(
                        "\r\x1b[2Kepoch {}{} batch {}/{batches}  {:.0} examples/s",
                        s.at.epoch + 1,
                        epochs.map(|e| format!("/{e}")).unwrap_or_default(),
                        s.at.batch,
                        s.examples_per_sec
                    );
                }
                continue;
            }
        };
        match update {
            Update::Started(info) => {
                epochs = info.epochs;
                batches = info.batches_per_epoch;
            }
            Update::Epoch(report) => {
                if let Some(log) = log.as_mut() {
                    if let Err(e) = log.write(&report) {
                        break Err(HeadlessError::Log(e));
                    }
                }
                if let Err(e) = out.write(&report) {
                    break if e.kind() == io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(HeadlessError::Stdout(e))
                    };
                }
                if progress {
                    let sparsity: Vec<String> = report
                        .sparsity
                        .iter()
                        .map(|s| format!("{:.0}%", s * 100.0))
                        .collect();
                    eprintln!(
                        "\r\x1b[2Kepoch {} {:<10} train {:.2}%  valid {:.2}%  test {:.2}%  sparsity [{}]",
                        report.epoch,
                        report.net,
                        report.train_error * 100.0,
                        report.valid_error * 100.0,
                        report.test_error * 100.0,
                        sparsity.join(" ")
                    );
                }
            }
            Update::State(RunState::Done) => break Ok(()),
            _ => {}
        }
    };
    // The trainer stops at Quit, or when it finds the command channel closed.
    let _ = handle.commands.send(Command::Quit);
    drop(handle.commands);
    drop(handle.updates);
    if handle.thread.join().is_err() {
        return Err(HeadlessError::TrainerPanicked);
    }
    result
}
