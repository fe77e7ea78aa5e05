//! The command line, and only it: clap's structs for every subcommand, one file each, as
//! cargo keeps its flags in `src/bin/cargo/commands/` apart from `cargo::ops`. The code that
//! runs a command takes its struct from here. Values are validated by the checked types of
//! [`crate::engine::config`], so a bad value exits with code 2 and a message that names its
//! flag.

pub mod attach;
pub mod bench;
pub mod paper;
pub mod plot;
pub mod run;
pub mod sweep;

use clap::{Parser, Subcommand, ValueEnum};

use crate::engine::data::DatasetKind;
pub use attach::{AttachArgs, LsArgs, ReplayArgs};
pub use bench::BenchArgs;
use paper::PaperArgs;
pub use plot::PlotArgs;
pub use run::{RunArgs, DEFAULT_PRETRAIN_LR, HEADLESS_DEFAULT_EPOCHS};
use sweep::SweepArgs;

/// `--theme` values. The dashboard knows no clap either: its `Theme` converts from this, so
/// that the command line uses nothing of the front ends it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThemeChoice {
    Dark,
    Light,
}

/// `--dataset` values. The engine knows no clap: its [`DatasetKind`] gets its flag here.
impl ValueEnum for DatasetKind {
    fn value_variants<'a>() -> &'a [Self] {
        &DatasetKind::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.about()))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "relutui",
    version,
    about = "Watch deep sparse rectifier networks learn, beside tanh, in the terminal",
    long_about = "Trains deep multilayer perceptrons on the CPU (a rectifier network and a tanh \
network in lockstep: same initial weights, same mini-batches) and shows error, loss, per-layer \
exact sparsity, dead units and activation heatmaps as they change. It reproduces the setup of \
Glorot, Bordes & Bengio, \"Deep Sparse Rectifier Neural Networks\" (AISTATS 2011).\n\n\
With no flags it trains the paper's 784-1000-1000-1000-10 networks on 10,000 MNIST digits \
built into the binary. --headless writes one JSON object per network per epoch to stdout.",
    after_help = "Exit codes: 0 done or quit; 1 runtime error, or the run's last checkpoint could not \
be written; 2 bad flag, bad data file, unusable path or checkpoint; 128 + N after signal N (129 \
SIGHUP, 130 SIGINT, 143 SIGTERM), with a checkpoint saved first when --checkpoint is set; 141 when \
--headless stdout is closed (as SIGPIPE would). A vanished terminal counts as SIGHUP.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,

    #[arg(
        long,
        global = true,
        value_name = "LEVEL",
        value_parser = crate::engine::nn::simd::parse_choice,
        help = "Vector instructions for the kernels: auto (the best this CPU has), avx512, avx2, \
neon or scalar. A lower level than the CPU's best measures and tests that path; a level the CPU \
lacks is refused. Also read from RELUTUI_SIMD (the flag wins)"
    )]
    pub simd: Option<crate::engine::nn::simd::Choice>,

    #[command(subcommand)]
    pub command: Option<SubCommand>,
}

/// Other things relutui does besides a training run.
#[derive(Debug, Subcommand)]
pub enum SubCommand {
    /// The paper's sparsity sweep (figure 3): train rectifier networks headless for every L1
    /// penalty and seed, then print final sparsity against test error as a table and a chart.
    Sweep(SweepArgs),
    /// Time training steps of warmed-up networks (examples/s, median of repeats), and with
    /// --baseline the dense-only path and a plain ndarray implementation beside them.
    Bench(BenchArgs),
    /// The paper's Table 1 protocol: for each activation, train the learning-rate grid with
    /// early stopping (each run a plain `relutui --headless ...` command, in parallel
    /// workers, checkpointed in --out-dir so a rerun resumes), select by validation error and
    /// print the test error at the best epoch beside the paper's figures.
    Paper(PaperArgs),
    /// SVG figures from logs, sweep folders and the paper command's JSON: error curves,
    /// sparsity per layer, the claims over training, the Figure 3 scatter, Table 1 as bars.
    Plot(PlotArgs),
    /// Print a shell completion script: `relutui completions bash > /etc/bash_completion.d/relutui`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `relutui man > relutui.1 && man ./relutui.1`.
    Man,
    /// Open the dashboard on a running run (headless, detached, or with its dashboard open
    /// elsewhere), through its control socket: the history so far, then live. q detaches and
    /// the run goes on; S stops the run.
    Attach(AttachArgs),
    /// Open a finished or crashed run in the dashboard from its log alone: every chart, the
    /// claims view, DONE.
    Replay(ReplayArgs),
    /// List the runs in a directory: running, done or crashed, epochs, best validation error
    /// per network, and how to attach or replay each.
    Ls(LsArgs),
}
