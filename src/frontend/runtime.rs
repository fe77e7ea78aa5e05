//! What every front end shares once the trainer runs: how a run ended ([`Outcome`]), the one
//! error type a front end returns ([`Error`], whose [`Error::exit_code`] only `main` turns
//! into a process exit), and how a vanished terminal is recognised ([`terminal_gone`]).
//!
//! Spawning the trainer is [`crate::engine::trainer::spawn`] (or a
//! [`crate::frontend::bridge::Server`] in between); stopping, draining and joining it is
//! [`crate::engine::trainer::TrainerHandle::stop`]; signals come from one
//! [`crate::frontend::signals::SignalListener`].

use std::io;

/// How a front end's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The user quit (`q`, ctrl-c), or the run trained to its end.
    Quit,
    /// A signal asked to stop; holds its number.
    Signal(i32),
}

impl Outcome {
    /// The process exit code: 0 for a quit, 128 + the signal's number for a signal.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Quit => 0,
            Outcome::Signal(s) => u8::try_from(128 + s).unwrap_or(u8::MAX),
        }
    }
}

/// Exit code of bad input: flags, data files, paths, checkpoints.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a failure at run time.
pub const EXIT_RUNTIME: u8 = 1;

/// Why a front end stopped early, or ended in a way that lost something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, found before anything ran: a message that names its flag.
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the trainer thread: {0}")]
    Spawn(io::Error),
    #[error("cannot set up the terminal: {0}")]
    Terminal(io::Error),
    #[error("cannot listen for signals: {0}")]
    Signals(io::Error),
    #[error("drawing on the terminal failed: {0}")]
    Draw(io::Error),
    #[error("reading the keyboard failed: {0}")]
    Input(io::Error),
    #[error("writing the JSON lines to stdout failed: {0}")]
    Stdout(io::Error),
    #[error("writing the log file failed: {0}")]
    Log(io::Error),
    /// The run's last checkpoint could not be written.
    #[error("{0}")]
    Checkpoint(String),
    #[error("the trainer thread panicked")]
    TrainerPanicked,
    #[error("the trainer thread stopped unexpectedly")]
    TrainerStopped,
    /// A tool (bench, plot) failed at run time: its message, as it gives it.
    #[error("{0}")]
    Tool(String),
}

impl Error {
    /// The process exit code: [`EXIT_USAGE`] for bad input, [`EXIT_RUNTIME`] for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            _ => EXIT_RUNTIME,
        }
    }
}

impl From<crate::engine::trainer::TrainerPanicked> for Error {
    fn from(_: crate::engine::trainer::TrainerPanicked) -> Self {
        Error::TrainerPanicked
    }
}

/// Whether a failed terminal read or write means the terminal itself is gone (the tmux session
/// was killed, the SSH link dropped): EIO is what a vanished pty gives, ENXIO and ENOTTY a
/// revoked one, EPIPE a closed one. That is a hangup, whether or not SIGHUP has come yet.
pub fn terminal_gone(e: &io::Error) -> bool {
    const EIO: i32 = 5;
    const ENXIO: i32 = 6;
    const ENOTTY: i32 = 25;
    e.kind() == io::ErrorKind::BrokenPipe || matches!(e.raw_os_error(), Some(EIO | ENXIO | ENOTTY))
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    #[test]
    fn a_vanished_terminal_is_a_hangup_and_other_errors_are_not() {
        assert!(terminal_gone(&io::Error::from_raw_os_error(5)));
        assert!(terminal_gone(&io::Error::from_raw_os_error(6)));
        assert!(terminal_gone(&io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(!terminal_gone(&io::Error::from_raw_os_error(28)));
        assert!(!terminal_gone(&io::Error::other("x")));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Quit.exit_code(), 0);
        assert_eq!(Outcome::Signal(SIGHUP).exit_code(), 129);
        assert_eq!(Outcome::Signal(SIGINT).exit_code(), 130);
        assert_eq!(Outcome::Signal(SIGTERM).exit_code(), 143);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::TrainerPanicked.exit_code(), 1);
        assert_eq!(Error::Tool("x".into()).exit_code(), 1);
    }
}
