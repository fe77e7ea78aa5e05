//! Command-line interface. Values are validated by the parsers in [`crate::config`], so a bad
//! value exits with code 2 and a message that names its flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::config::{self, RunConfig};
use crate::data::DatasetKind;
use crate::nn::Activation;
use crate::sweep::SweepArgs;

/// Hidden-layer widths, from `--hidden 1000,1000,1000`.
#[derive(Debug, Clone, PartialEq)]
pub struct Widths(pub Vec<usize>);

/// Activations, from `--activations rectifier,tanh`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations(pub Vec<Activation>);

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
    after_help = "Exit codes: 0 done or quit, 1 runtime error, 2 bad flag, bad data file or unusable path.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,

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
}

/// The flags of a training run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Data to train on: mnist10k is built in; the others read standard files from --data-dir.
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist10k)]
    pub dataset: DatasetKind,

    /// Folder with the dataset's files: MNIST-style train-images-idx3-ubyte[.gz],
    /// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; or CIFAR-10's
    /// data_batch_1..5.bin and test_batch.bin.
    #[arg(long, value_name = "DIR", value_parser = config::parse_data_dir)]
    pub data_dir: Option<PathBuf>,

    /// Networks to train in lockstep: rectifier (or relu), tanh, softplus, sigmoid.
    #[arg(long, value_name = "LIST", default_value = "rectifier,tanh", value_parser = parse_activations)]
    pub activations: Activations,

    /// Hidden-layer widths, comma-separated.
    #[arg(long, value_name = "WIDTHS", default_value = "1000,1000,1000", value_parser = parse_widths)]
    pub hidden: Widths,

    /// Examples per mini-batch (the paper uses 10).
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_BATCH_SIZE, value_parser = config::parse_batch_size)]
    pub batch_size: usize,

    /// Constant SGD learning rate (the paper picks from 0.1, 0.01, 0.001, 0.0001; 0.1 measured best
    /// on mnist10k).
    #[arg(long, value_name = "RATE", allow_negative_numbers = true, default_value_t = config::DEFAULT_LR, value_parser = config::parse_lr)]
    pub lr: f32,

    /// L1 penalty on the hidden activations: cost += l1 · (batch mean of Σ|h|).
    #[arg(long, value_name = "PENALTY", allow_negative_numbers = true, default_value_t = config::DEFAULT_L1, value_parser = config::parse_l1)]
    pub l1: f32,

    /// Stop after this many epochs [default: the dashboard trains until you quit; --headless
    /// trains 10].
    #[arg(long, value_name = "N", value_parser = config::parse_epochs)]
    pub epochs: Option<usize>,

    /// Seed for the initial weights and the mini-batch order.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// Train without a terminal UI, writing JSON lines to stdout.
    #[arg(long)]
    pub headless: bool,

    /// Also write the JSON lines to FILE (flushed every epoch), in either mode.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

/// Epochs a headless run trains when `--epochs` is not given.
pub const HEADLESS_DEFAULT_EPOCHS: usize = 10;

fn parse_widths(s: &str) -> Result<Widths, String> {
    config::parse_hidden(s).map(Widths)
}

fn parse_activations(s: &str) -> Result<Activations, String> {
    config::parse_activations(s).map(Activations)
}

impl RunArgs {
    /// The checked run configuration; `headless` fills in the headless epoch default.
    pub fn to_config(&self) -> RunConfig {
        RunConfig {
            dataset: self.dataset,
            data_dir: self.data_dir.clone(),
            activations: self.activations.0.clone(),
            hidden: self.hidden.0.clone(),
            batch_size: self.batch_size,
            lr: self.lr,
            l1: self.l1,
            epochs: self
                .epochs
                .or(self.headless.then_some(HEADLESS_DEFAULT_EPOCHS)),
            seed: self.seed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("relutui").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_papers_setup() {
        let c = parse(&[]).unwrap().run.to_config();
        assert_eq!(c.hidden, vec![1000, 1000, 1000]);
        assert_eq!(c.activations, vec![Activation::Rectifier, Activation::Tanh]);
        assert_eq!(c.batch_size, 10);
        assert!((c.l1 - 0.001).abs() < 1e-9);
        assert!(config::LR_GRID.contains(&c.lr));
        assert_eq!(c.dataset, DatasetKind::Mnist10k);
        assert_eq!(c.epochs, None);
        assert_eq!(
            parse(&["--headless"]).unwrap().run.to_config().epochs,
            Some(10)
        );
    }

    #[test]
    fn invalid_values_name_their_flag() {
        for (args, flag) in [
            (&["--lr", "0"][..], "--lr"),
            (&["--lr", "inf"], "--lr"),
            (&["--lr", "-1"], "--lr"),
            (&["--hidden", ""], "--hidden"),
            (&["--hidden", "100,0"], "--hidden"),
            (&["--activations", "relu,swish"], "--activations"),
            (&["--batch-size", "0"], "--batch-size"),
            (&["--dataset", "imagenet"], "--dataset"),
            (&["--data-dir", "/no/such/dir"], "--data-dir"),
            (&["--l1", "-0.1"], "--l1"),
            (&["--epochs", "0"], "--epochs"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::ValueValidation | ErrorKind::InvalidValue
                ),
                "{args:?}: {:?}",
                err.kind()
            );
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(flag), "{args:?}: {err}");
        }
    }
}
