//! `relutui bench`'s flags. The measurements are [`crate::tools::bench`].

use clap::Args;

use crate::engine::config::{self, Activations, BatchSize, Widths};
use crate::engine::nn::simd::{self, Choice, Level};
use crate::engine::nn::Kernels;

/// Flags of `relutui bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Networks to measure.
    #[arg(long, value_name = "LIST", default_value = "rectifier,tanh", value_parser = Activations::parse)]
    pub activations: Activations,

    /// Mini-batch sizes to measure, comma-separated.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true, default_value = "10", value_parser = parse_batch_sizes)]
    pub batch_size: ::std::vec::Vec<BatchSize>,

    /// Thread counts to measure, comma-separated (threads work inside one network's step).
    #[arg(long, value_name = "LIST", allow_hyphen_values = true, default_value = "1", value_parser = parse_counts)]
    pub threads: ::std::vec::Vec<usize>,

    /// Seconds per measurement [default: 2; 0.3 with --crossover].
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = parse_seconds)]
    pub seconds: Option<f64>,

    /// Repeats of each measurement; the median is reported.
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = 3, value_parser = config::parse_epochs)]
    pub repeats: usize,

    /// Warm-up epochs on mnist10k before timing (batch 10, lr 0.1, l1 0.001, as the dashboard).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub warmup_epochs: usize,

    /// Hidden-layer widths.
    #[arg(long, value_name = "WIDTHS", allow_hyphen_values = true, default_value = "1000,1000,1000", value_parser = Widths::parse)]
    pub hidden: Widths,

    /// Also time relutui's dense-only path and a plain ndarray baseline, for ratios.
    #[arg(long)]
    pub baseline: bool,

    /// Products of the main measurement: auto (sparse or dense per layer and step, as
    /// training uses), dense (always the dense products) or sparse (always the zero-skipping walk).
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = parse_kernels)]
    pub kernels: Kernels,

    /// Seed of the initial weights and the batch order.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// First run the default dashboard run (rectifier and tanh, 3×1000, batch 10, the claims
    /// every epoch) for N epochs in this process, taking every update and sample as the
    /// dashboard does, and report its peak resident memory. 0 skips it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub memory_epochs: usize,

    /// SIMD levels to time, comma-separated (e.g. avx512,avx2,scalar), interleaved in one run
    /// so that their ratios share the machine's state. Default: the level in force (--simd).
    #[arg(long, value_name = "LIST", value_parser = parse_levels)]
    pub levels: Option<::std::vec::Vec<Level>>,

    /// Measure only what N attached viewers cost a run: a headless rectifier (--hidden) on
    /// mnist10k for --viewer-epochs epochs, with N protocol clients reading every frame on
    /// every other epoch and none on the others; prints the two median epoch times and their
    /// ratio (the README's figure: under 1.05 for 3 viewers).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub viewers: Option<u16>,

    /// Measure only where skipping zeros starts to pay: one W×W layer (W: the first --hidden
    /// width) timed with the zero-skipping kernels against the dense ones at input densities
    /// from 5 % to 80 %, for a training step and a forward-only pass, at every --batch-size
    /// (default here: 10,100) and every level of --levels (default: every level this CPU has).
    /// One JSON line per point; the table on stderr gives the densities up to which the
    /// sparse path won beside the thresholds relutui uses.
    #[arg(long)]
    pub crossover: bool,

    /// Epochs of the --viewers run (the first warms up and counts for neither kind).
    #[arg(long, value_name = "N", default_value_t = 13, value_parser = clap::value_parser!(u16).range(3..))]
    pub viewer_epochs: u16,
}

fn parse_levels(s: &str) -> Result<Vec<Level>, String> {
    s.split(',')
        .map(|p| match simd::parse_choice(p)? {
            Choice::Auto => Ok(Level::detected()),
            Choice::Level(l) => Ok(l),
        })
        .collect()
}

/// `--batch-size` of the bench: a list, each by [`BatchSize`]'s rule.
fn parse_batch_sizes(s: &str) -> Result<Vec<BatchSize>, String> {
    s.split(',').map(BatchSize::parse).collect()
}

fn parse_counts(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|p| match p.trim().parse::<usize>() {
            Ok(0) => Err("values must be at least 1".to_string()),
            Ok(v) => Ok(v),
            Err(_) => Err(format!("'{p}' is not a whole number")),
        })
        .collect()
}

fn parse_kernels(s: &str) -> Result<Kernels, String> {
    match s {
        "auto" => Ok(Kernels::Auto),
        "dense" => Ok(Kernels::Dense),
        "sparse" => Ok(Kernels::Sparse),
        _ => Err(format!("'{s}' is not one of auto, dense, sparse")),
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 600.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds in (0, 600]")),
    }
}
