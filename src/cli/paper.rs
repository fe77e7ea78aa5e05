//! The flags of `relutui paper` (the protocol itself is [`crate::tools::paper`]).

use std::path::PathBuf;

use clap::Args;

use crate::engine::config::{self, Activations, Widths};
use crate::engine::data::DatasetKind;
use crate::engine::hyper::PerNet;

/// The flags of `relutui paper`.
#[derive(Debug, Clone, Args)]
pub struct PaperArgs {
    /// Data to train on (the paper's Table 1 has MNIST and CIFAR-10 figures).
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist)]
    pub dataset: DatasetKind,

    /// Folder with the dataset's files (as for a training run).
    #[arg(long, value_name = "DIR", value_parser = config::parse_data_dir)]
    pub data_dir: Option<PathBuf>,

    /// Where the runs keep their run directories (one per run: log, checkpoint), the plan
    /// (paper.json) and table1.json. Rerunning the same command with the same folder resumes.
    #[arg(long, value_name = "DIR", default_value = "relutui-paper")]
    pub out_dir: PathBuf,

    /// Activations to compare.
    #[arg(long, value_name = "LIST", default_value = "rectifier,tanh,softplus", value_parser = Activations::parse)]
    pub activations: Activations,

    /// The learning-rate grid, comma-separated (the paper's by default); every activation
    /// trains every rate.
    #[arg(long, value_name = "RATES", default_value = "0.1,0.01,0.001,0.0001", value_parser = parse_grid)]
    pub lr_grid: Grid,

    /// L1 penalty on the hidden activations, plain or per activation as for a run [default:
    /// the paper's 0.001 for the rectifier, 0 for the others].
    #[arg(long, value_name = "PENALTY", value_parser = parse_l1_list)]
    pub l1: Option<PerNet>,

    /// The most epochs a run trains.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = config::parse_epochs)]
    pub epochs: usize,

    /// Early stopping: a run stops after N epochs without a better validation error.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = config::parse_epochs)]
    pub patience: usize,

    /// Hidden-layer widths.
    #[arg(long, value_name = "WIDTHS", default_value = "1000,1000,1000", value_parser = Widths::parse)]
    pub hidden: Widths,

    /// Examples per mini-batch.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_BATCH_SIZE, value_parser = config::parse_batch_size)]
    pub batch_size: usize,

    /// Seed of every run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// Runs at a time [default: the number of cores]. Each run trains one network on one
    /// thread.
    #[arg(long, value_name = "N", value_parser = config::parse_batch_size)]
    pub jobs: Option<usize>,

    /// Print one self-contained relutui command per run instead of training (for GNU parallel
    /// or a Slurm array); each trains in its own run directory in --out-dir and goes on from
    /// its checkpoint when run again (a finished one trains nothing more). The plan is kept in
    /// --out-dir/paper.json for --collect.
    #[arg(long, conflicts_with_all = ["task", "collect"])]
    pub plan: bool,

    /// Run exactly line K (1-based) of --plan's output, e.g. the task id of a Slurm job array.
    #[arg(long, value_name = "K", conflicts_with = "collect", value_parser = super::sweep::parse_at_least_one)]
    pub task: Option<usize>,

    /// Print only the results collected from the runs in DIR [default: --out-dir], without
    /// training, saying which runs are finished, running, stopped or not started. The other
    /// flags come from DIR/paper.json when it is there.
    #[arg(long, value_name = "DIR")]
    pub collect: Option<Option<PathBuf>>,

    /// How the lines of --plan start relutui (e.g. an absolute path on the cluster) [default:
    /// this executable's path].
    #[arg(long, value_name = "COMMAND")]
    pub program: Option<String>,

    /// Print the results as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Add Table 1's second column: every activation and rate again, each run first
    /// pre-trained layer by layer as denoising auto-encoders for N epochs per layer
    /// (`relutui --pretrain N`), then trained as the first column's runs are.
    #[arg(long, value_name = "N", value_parser = crate::engine::pretrain::parse_epochs)]
    pub pretrain: Option<usize>,
}

/// A learning-rate grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid(pub Vec<f32>);

fn parse_grid(s: &str) -> Result<Grid, String> {
    let mut out: Vec<f32> = Vec::new();
    for part in s.split(',') {
        let v = config::parse_lr(part)?;
        if out.iter().any(|x| x.to_bits() == v.to_bits()) {
            return Err(format!("{v} is listed twice"));
        }
        out.push(v);
    }
    Ok(Grid(out))
}

fn parse_l1_list(s: &str) -> Result<PerNet, String> {
    PerNet::parse(s, config::parse_l1)
}
