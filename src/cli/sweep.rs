//! The flags of `relutui sweep` (the sweep itself is [`crate::tools::sweep`]).

use std::path::PathBuf;

use clap::Args;

use crate::engine::config::{self, Widths};
use crate::engine::data::DatasetKind;

/// The paper's sweep of L1 penalties.
pub const DEFAULT_L1_LIST: &str = "0,0.0001,0.0003,0.001,0.003,0.01";

/// L1 penalties, from `--l1 0,0.001`.
#[derive(Debug, Clone, PartialEq)]
pub struct L1List(pub Vec<f32>);

/// The flags of `relutui sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// L1 penalties on the hidden activations, comma-separated: one group of runs each.
    #[arg(long, value_name = "LIST", allow_hyphen_values = true, default_value = DEFAULT_L1_LIST, value_parser = parse_l1_list)]
    pub l1: L1List,

    /// Runs per L1 value (at most 1000); repeat r uses seed --seed + r.
    #[arg(long, value_name = "K", allow_negative_numbers = true, default_value_t = 3, value_parser = parse_repeats)]
    pub repeats: usize,

    /// Epochs of every run.
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = 5, value_parser = config::parse_epochs)]
    pub epochs: usize,

    /// Hidden-layer widths, comma-separated.
    #[arg(long, value_name = "WIDTHS", allow_hyphen_values = true, default_value = "1000,1000,1000", value_parser = Widths::parse)]
    pub hidden: Widths,

    /// Constant SGD learning rate.
    #[arg(long, value_name = "RATE", allow_negative_numbers = true, default_value_t = config::DEFAULT_LR, value_parser = config::parse_lr)]
    pub lr: f32,

    /// Examples per mini-batch.
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = config::DEFAULT_BATCH_SIZE, value_parser = config::parse_batch_size)]
    pub batch_size: usize,

    /// Base seed: repeat r of every L1 value uses seed + r.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        default_value_t = 1
    )]
    pub seed: u64,

    /// Data to train on: mnist10k is built in; the others read standard files from --data-dir.
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist10k)]
    pub dataset: DatasetKind,

    /// Folder with the dataset's files (see `relutui --help`).
    #[arg(long, value_name = "DIR", value_parser = config::parse_data_dir)]
    pub data_dir: Option<PathBuf>,

    /// Write each run's JSON lines to DIR/l1-<L1>_seed-<SEED>.jsonl (created if missing)
    /// instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Runs trained at once, one thread each (at most the runs) [default: the available cores].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_at_least_one)]
    pub jobs: Option<usize>,

    /// Print one self-contained relutui command per run instead of training (for GNU parallel
    /// or a Slurm array); each trains in its own run directory in --out-dir and goes on from
    /// its checkpoint when run again, and the plan is kept in --out-dir/sweep.json for
    /// --collect.
    #[arg(long, conflicts_with_all = ["task", "collect"])]
    pub plan: bool,

    /// Run exactly line K (1-based) of --plan's output, e.g. the task id of a Slurm job array.
    #[arg(long, value_name = "K", conflicts_with = "collect", value_parser = parse_at_least_one)]
    pub task: Option<usize>,

    /// Build the summary table and the figure (DIR/figure3.svg) from the runs in DIR, saying
    /// which are finished, running, stopped or not started. The other flags come from
    /// DIR/sweep.json.
    #[arg(long, value_name = "DIR")]
    pub collect: Option<PathBuf>,

    /// How the lines of --plan start relutui (e.g. an absolute path on the cluster).
    #[arg(long, value_name = "COMMAND", default_value = "relutui")]
    pub program: String,
}

/// `--l1` of the sweep: comma-separated penalties, each valid for `--l1`, no repeats.
pub fn parse_l1_list(s: &str) -> Result<L1List, String> {
    let mut out: Vec<f32> = Vec::new();
    for part in s.split(',') {
        if part.trim().is_empty() {
            return Err(format!("empty value in '{s}'"));
        }
        let v = config::parse_l1(part)?;
        if out.contains(&v) {
            return Err(format!("{v} is listed twice"));
        }
        out.push(v);
    }
    Ok(L1List(out))
}

pub(crate) fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// `--repeats` above this is refused: the plan holds one entry per run.
pub const MAX_REPEATS: usize = 1000;

fn parse_repeats(s: &str) -> Result<usize, String> {
    match parse_at_least_one(s)? {
        v if v > MAX_REPEATS => Err(format!("{v} is above the limit {MAX_REPEATS}")),
        v => Ok(v),
    }
}
