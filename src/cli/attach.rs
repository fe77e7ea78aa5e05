//! The flags of `relutui attach`, `replay` and `ls`. What they do is
//! [`crate::dashboard::attach`].

use std::path::PathBuf;

use clap::Args;

use crate::frontend::run_dir::RUNS;

/// `relutui attach`.
#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    /// The run directory (as `relutui ls` lists it), or a run's name under runs/ [default: the
    /// newest running run under runs/].
    #[arg(value_name = "RUN")]
    pub run: Option<PathBuf>,

    /// Watch only: the keys that steer the run (pause, lr, L1, revive, checkpoint, stop) do
    /// nothing; focus, help and the claims view still work.
    #[arg(long)]
    pub read_only: bool,
}

/// `relutui replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A run directory, or a JSON-lines log file (--log, or a headless run's stdout).
    #[arg(value_name = "RUN|LOG")]
    pub run: PathBuf,
}

/// `relutui ls`.
#[derive(Debug, Clone, Args)]
pub struct LsArgs {
    /// The directory holding the run directories.
    #[arg(value_name = "DIR", default_value = RUNS)]
    pub dir: PathBuf,
}
