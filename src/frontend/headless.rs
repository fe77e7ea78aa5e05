//! The headless front end: drives the trainer through the same channels as the dashboard and
//! writes one JSON object per network per epoch. Progress for people goes to stderr, and only
//! when stderr is a terminal; warnings (divergence, a failed checkpoint, a signal) always do.
//!
//! Signals: SIGTERM, SIGINT and SIGHUP stop the run cleanly. The trainer finishes its batch,
//! saves a checkpoint when `--checkpoint` is set (and anything changed since the last one),
//! every epoch report still on its way is written, and the process exits with 128 + the
//! signal's number (129 SIGHUP, 130 SIGINT, 143 SIGTERM), as the dashboard does. With
//! `--detach-on-hangup` SIGHUP is ignored instead and the run goes on; from then on (and in
//! fact from the start) a stdout that fails, because the terminal or pipe behind it is gone,
//! is dropped and the `--log` file carries on alone. Writes to stderr never stop the run.
//!
//! [`follow`] is the same loop for the dashboard once it has let go of a hung-up terminal.

use std::fmt;
use std::io::{self, Write};

use crossbeam_channel::{never, select, Receiver};
use signal_hook::consts::{SIGHUP, SIGPIPE};

use crate::engine::trainer::{self, Trainer, TrainerHandle};
use crate::frontend::jsonl::JsonLines;
use crate::frontend::runtime::{terminal_gone, Error, Outcome};
use crate::frontend::signals::SignalListener;
use crate::protocol::{Command, RunState, Update};

/// How a headless run behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Progress lines on stderr.
    pub progress: bool,
    /// Ignore SIGHUP and go on (`--detach-on-hangup`); stdout failures never stop the run.
    pub detach_on_hangup: bool,
}

/// Writes to stderr, ignoring failure: a closed terminal must not stop the run (`eprint!`
/// would panic).
fn note(args: fmt::Arguments<'_>) {
    let _ = io::stderr().write_fmt(args);
}

/// Trains until the configured epochs are done or a signal stops the run, writing JSON lines
/// to `stdout` and `log`. A closed stdout (`relutui --headless | head`) stops the run as a
/// signal would (checkpoint saved), with [`Outcome::Signal`]`(SIGPIPE)`: exit 141.
/// Returns how it ended: [`Outcome::Quit`] when it trained to the end.
pub fn run<W: Write, L: Write>(
    trainer: Trainer,
    stdout: W,
    log: Option<JsonLines<L>>,
    options: Options,
) -> Result<Outcome, Error> {
    let trainer = if options.progress {
        trainer
    } else {
        trainer.without_samples()
    };
    run_with(trainer, stdout, log, options, trainer::spawn)
}

/// [`run`], with the trainer started by `spawn` (a [`crate::frontend::bridge::Server`] puts its
/// control socket between the trainer and this front end), and samples left on for viewers.
pub fn run_with<W: Write, L: Write>(
    trainer: Trainer,
    stdout: W,
    log: Option<JsonLines<L>>,
    options: Options,
    spawn: impl FnOnce(Trainer) -> io::Result<TrainerHandle>,
) -> Result<Outcome, Error> {
    // Signals first, so that one arriving during set-up stops the run cleanly.
    let signals = SignalListener::new().map_err(Error::Signals)?;
    let handle = spawn(trainer).map_err(Error::Spawn)?;
    let mut stdout = Some(JsonLines::new(stdout));
    let mut log = log;
    let result = drive(&handle, &mut stdout, &mut log, signals.receiver(), options);
    // `drive` read every update until the trainer stopped: none is left.
    handle.stop()?;
    result
}

/// The dashboard after `--detach-on-hangup` let go of its terminal: keeps the run going with no
/// screen until it is done (then [`Outcome::Quit`]) or SIGTERM / SIGINT stops it, writing
/// every epoch to `log`. Further SIGHUPs are ignored. The trainer has stopped when this returns.
pub fn follow<L: Write>(
    handle: &TrainerHandle,
    log: &mut Option<JsonLines<L>>,
    signals: &Receiver<i32>,
) -> Result<Outcome, Error> {
    let options = Options {
        progress: false,
        detach_on_hangup: true,
    };
    drive::<io::Sink, L>(handle, &mut None, log, signals, options)
}

/// The front end's loop: until the trainer has stopped (after the run is done, a signal, or a
/// failed write), writing every epoch report that arrives.
fn drive<W: Write, L: Write>(
    handle: &TrainerHandle,
    stdout: &mut Option<JsonLines<W>>,
    log: &mut Option<JsonLines<L>>,
    signals: &Receiver<i32>,
    options: Options,
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::Quit;
    let mut error: Option<Error> = None;
    let mut checkpoint_error: Option<String> = None;
    let mut quitting = false;
    let quit = |quitting: &mut bool| {
        if !*quitting {
            *quitting = true;
            let _ = handle.commands.send(Command::Quit);
        }
    };
    let mut samples = handle.samples.clone();
    let mut signals = signals.clone();
    let mut epochs: Option<usize> = None;
    let mut batches = 0;
    let mut names: Vec<String> = Vec::new();
    let mut pretraining: Option<crate::protocol::PretrainAt> = None;
    // Clears the progress line before a message, when there is one.
    let clear = if options.progress { "\r\x1b[2K" } else { "" };
    loop {
        let update = select! {
            recv(handle.updates) -> u => match u {
                Ok(u) => u,
                // The trainer has stopped: everything it sent has been read.
                Err(_) => break,
            },
            recv(samples) -> s => {
                match s {
                    Ok(s) if options.progress && !quitting && pretraining.is_some() => {
                        let p = pretraining.unwrap_or_else(|| unreachable!());
                        note(format_args!(
                            "\r\x1b[2Kpretrain layer {}/{} epoch {}/{} batch {}/{batches}  {:.0} examples/s",
                            p.layer + 1,
                            p.layers,
                            s.at.epoch + 1,
                            p.epochs,
                            s.at.batch,
                            s.examples_per_sec
                        ));
                    }
                    Ok(s) if options.progress && !quitting => note(format_args!(
                        "\r\x1b[2Kepoch {}{} batch {}/{batches}  {:.0} examples/s",
                        s.at.epoch + 1,
                        epochs.map(|e| format!("/{e}")).unwrap_or_default(),
                        s.at.batch,
                        s.examples_per_sec
                    )),
                    Ok(_) => {}
                    Err(_) => samples = never(),
                }
                continue;
            },
            recv(signals) -> signal => {
                match signal {
                    Ok(SIGHUP) if options.detach_on_hangup => note(format_args!(
                        "{clear}relutui: hangup: training goes on (--detach-on-hangup)\n"
                    )),
                    Ok(n) if !quitting => {
                        outcome = Outcome::Signal(n);
                        quit(&mut quitting);
                    }
                    Ok(_) => {}
                    Err(_) => signals = never(),
                }
                continue;
            },
        };
        match update {
            Update::Started(info) => {
                epochs = info.epochs;
                batches = info.batches_per_epoch;
                names = info.nets.into_iter().map(|n| n.name).collect();
            }
            Update::Epoch(report) => {
                if let Some(l) = log.as_mut() {
                    if let Err(e) = l.write(&report) {
                        *log = None;
                        error.get_or_insert(Error::Log(e));
                        quit(&mut quitting);
                    }
                }
                if let Some(out) = stdout.as_mut() {
                    if let Err(e) = out.write(&report) {
                        *stdout = None;
                        if !options.detach_on_hangup {
                            if e.kind() == io::ErrorKind::BrokenPipe {
                                // `relutui --headless | head -1`: stop as a process killed by
                                // SIGPIPE would, exit 141, which is not "done" (0).
                                if !quitting {
                                    outcome = Outcome::Signal(SIGPIPE);
                                    note(format_args!(
                                        "{clear}relutui: stdout was closed; stopping (exit 141)\n"
                                    ));
                                }
                            } else if terminal_gone(&e) {
                                // The terminal behind stdout vanished: a hangup (129), whether
                                // or not SIGHUP has come yet.
                                if !quitting {
                                    outcome = Outcome::Signal(SIGHUP);
                                }
                            } else {
                                error.get_or_insert(Error::Stdout(e));
                            }
                            quit(&mut quitting);
                        }
                    }
                }
                if options.progress {
                    let sparsity: Vec<String> = report
                        .sparsity
                        .iter()
                        .map(|s| format!("{:.0}%", s * 100.0))
                        .collect();
                    note(format_args!(
                        "\r\x1b[2Kepoch {} {:<10} train {:.2}%  valid {:.2}%  test {:.2}%  sparsity [{}]{}\n",
                        report.epoch,
                        report.net,
                        report.train_error * 100.0,
                        report.valid_error * 100.0,
                        report.test_error * 100.0,
                        sparsity.join(" "),
                        if report.diverged { "  DIVERGED" } else { "" }
                    ));
                }
            }
            Update::PretrainEpoch(report) => {
                if let Some(l) = log.as_mut() {
                    if let Err(e) = l.write_pretrain(&report) {
                        *log = None;
                        error.get_or_insert(Error::Log(e));
                        quit(&mut quitting);
                    }
                }
                if let Some(out) = stdout.as_mut() {
                    if let Err(e) = out.write_pretrain(&report) {
                        *stdout = None;
                        if !options.detach_on_hangup {
                            if e.kind() != io::ErrorKind::BrokenPipe {
                                error.get_or_insert(Error::Stdout(e));
                            }
                            quit(&mut quitting);
                        }
                    }
                }
                if options.progress {
                    note(format_args!(
                        "\r\x1b[2Kpretrain layer {} epoch {}/{} {:<10} reconstruction {:.3} (valid {:.3})  sparsity {:.0}%{}\n",
                        report.layer,
                        report.epoch,
                        report.epochs,
                        report.net,
                        report.reconstruction_error,
                        report.valid_reconstruction_error,
                        report.sparsity * 100.0,
                        if report.diverged { "  DIVERGED" } else { "" }
                    ));
                }
            }
            Update::Pretraining(at) => pretraining = at,
            Update::State(RunState::Done) => quit(&mut quitting),
            Update::CheckpointSaved { at, path } => {
                checkpoint_error = None;
                if quitting {
                    note(format_args!(
                        "{clear}relutui: checkpoint saved to {} (epoch {}, batch {})\n",
                        path.display(),
                        at.epoch + 1,
                        at.batch
                    ));
                }
            }
            Update::CheckpointFailed(msg) => {
                note(format_args!("{clear}relutui: warning: {msg}\n"));
                checkpoint_error = Some(msg);
            }
            Update::Diverged { net, at, reason } => note(format_args!(
                "{clear}relutui: {} diverged at epoch {} batch {}: {reason}; it was rolled \
                 back to its last good state and stopped training (the others go on)\n",
                names.get(net).map_or("a network", String::as_str),
                at.epoch + 1,
                at.batch
            )),
            Update::Stopped {
                net,
                at,
                best_epoch,
            } => note(format_args!(
                "{clear}relutui: {} stopped early after epoch {} (--patience): its best \
                 validation error was at epoch {best_epoch}\n",
                names.get(net).map_or("a network", String::as_str),
                at.epoch
            )),
            _ => {}
        }
    }
    match (error, checkpoint_error) {
        (Some(e), _) => Err(e),
        (None, Some(msg)) => Err(Error::Checkpoint(msg)),
        (None, None) => Ok(outcome),
    }
}
