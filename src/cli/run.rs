//! The flags of a training run, and how they become a checked [`RunConfig`]: from the
//! command line alone ([`RunArgs::to_config`]) or over a checkpoint
//! ([`RunArgs::resume_config`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::engine::checkpoint::Checkpoint;
use crate::engine::config::{
    self, Activations, BatchSize, L1Penalty, LearningRate, RunConfig, Widths,
};
use crate::engine::data::DatasetKind;
use crate::engine::hyper::PerNet;
use crate::engine::nn::Activation;

/// The flags of a training run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Data to train on: mnist10k is built in; the others read standard files from --data-dir.
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist10k)]
    pub dataset: DatasetKind,

    /// Folder with the dataset's files: MNIST-style train-images-idx3-ubyte[.gz],
    /// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; or CIFAR-10's
    /// data_batch_1..5.bin and test_batch.bin.
    #[expect(
        clippy::doc_markdown,
        reason = "this is --help text, where backticks would show"
    )]
    #[arg(long, value_name = "DIR", value_parser = config::parse_data_dir)]
    pub data_dir: Option<PathBuf>,

    /// Networks to train in lockstep: rectifier (or relu), tanh, softplus, sigmoid.
    #[arg(long, value_name = "LIST", default_value = "rectifier,tanh", value_parser = Activations::parse)]
    pub activations: Activations,

    /// Hidden-layer widths, comma-separated.
    #[arg(long, value_name = "WIDTHS", allow_hyphen_values = true, default_value = "1000,1000,1000", value_parser = Widths::parse)]
    pub hidden: Widths,

    /// Examples per mini-batch (the paper uses 10).
    #[arg(long, value_name = "N", allow_negative_numbers = true, default_value_t = BatchSize::DEFAULT, value_parser = BatchSize::parse)]
    pub batch_size: BatchSize,

    /// Constant SGD learning rate: one value for every network (0.01), or per network
    /// (rectifier=0.01,tanh=0.1; a plain value first sets the networks not named). The paper
    /// picks from 0.1, 0.01, 0.001, 0.0001 by validation error. [default: per dataset and
    /// activation, measured (README): rectifier 0.1 on mnist10k, 0.01 on the other datasets;
    /// tanh 0.01; softplus 0.1; sigmoid 0.1 (unmeasured)]
    #[arg(long, value_name = "RATE", allow_negative_numbers = true, value_parser = parse_lr_list)]
    pub lr: Option<PerNet<LearningRate>>,

    /// L1 penalty on the hidden activations, cost += l1 · (batch mean of Σ_units |h|), the
    /// paper's definition; one value for all, or per network like --lr. [default: the paper's
    /// 0.001 for the rectifier, 0 for the others; --l1 0.001 puts it on all]
    #[expect(
        clippy::doc_markdown,
        reason = "this is --help text, where backticks would show"
    )]
    #[arg(long, value_name = "PENALTY", allow_negative_numbers = true, value_parser = parse_l1_list)]
    pub l1: Option<PerNet<L1Penalty>>,

    /// Early stopping: stop a network after N epochs without a better validation error (the
    /// others go on; the run ends when all have stopped). Every run reports the best epoch
    /// and the test error there (best_epoch, test_error_at_best).
    #[expect(
        clippy::doc_markdown,
        reason = "this is --help text, where backticks would show"
    )]
    #[arg(long, value_name = "N", value_parser = config::parse_epochs)]
    pub patience: Option<usize>,

    /// Stop after this many epochs [default: the dashboard trains until you quit; --headless
    /// trains 10].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = config::parse_epochs)]
    pub epochs: Option<usize>,

    /// Seed for the initial weights and the mini-batch order.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        default_value_t = 1
    )]
    pub seed: u64,

    /// Train without a terminal UI, writing JSON lines to stdout.
    #[arg(long)]
    pub headless: bool,

    /// Also write the JSON lines to FILE (flushed every epoch), in either mode. With --resume
    /// the lines are appended.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Save a checkpoint to FILE (replaced atomically) at every epoch end, on `w` in the
    /// dashboard, and when the run stops: q, SIGTERM, SIGINT or SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Continue the run saved in FILE exactly where it stopped, and keep checkpointing to it
    /// (unless --checkpoint names another file). The networks, data and seed come from FILE:
    /// --hidden, --activations, --batch-size, --dataset or --seed that differ are an error.
    /// --lr and --l1 given here override the saved values; --epochs is the total to reach.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,

    /// Before supervised training, pre-train every hidden layer in turn for N epochs as a
    /// denoising auto-encoder (masking noise 0.25, the --l1 penalty on its code) on the output
    /// of the layers below; supervised training then starts from those weights. Reconstruction:
    /// softplus with a quadratic cost for rectifier and softplus layers, sigmoid with
    /// cross-entropy for tanh and sigmoid. Epoch lines say "phase": "pretrain". With --resume
    /// the phase comes from the checkpoint.
    #[arg(long, value_name = "N", value_parser = crate::engine::pretrain::parse_epochs, conflicts_with = "resume")]
    pub pretrain: Option<usize>,

    /// Learning rate of the pre-training phase, with --pretrain (`lr` keys change it while the
    /// phase lasts).
    #[arg(long, value_name = "RATE", allow_negative_numbers = true, default_value_t = DEFAULT_PRETRAIN_LR, value_parser = config::parse_lr)]
    pub pretrain_lr: f32,

    /// The run directory: it holds the log (log.jsonl, unless --log names another file), the
    /// checkpoint (checkpoint.relutui, unless --checkpoint) and the control socket that
    /// `relutui attach` connects to [default: runs/<UTC time>-<activations>; with --resume,
    /// the checkpoint's run directory]. One that holds a run already is refused (unless
    /// --continue).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,

    /// With --run-dir: when DIR already holds a run, go on from its checkpoint (as --resume
    /// DIR/checkpoint.relutui would) instead of refusing, or train it again from the start
    /// in DIR when it saved none; a finished run trains nothing more. This makes a command
    /// safe to run again: the lines of `sweep --plan` and `paper --plan` use it.
    #[arg(long = "continue", requires = "run_dir", conflicts_with = "resume")]
    pub continue_run: bool,

    /// On SIGHUP (a dropped SSH link) keep training instead of stopping: the dashboard gives
    /// the terminal back and stops drawing, --headless ignores the signal; the --log file and
    /// checkpoints go on until --epochs are done (or SIGTERM / SIGINT).
    #[arg(long)]
    pub detach_on_hangup: bool,
    /// Colours for a dark or a light terminal background (default: ask the terminal, via
    /// COLORFGBG or an OSC 11 query; dark when it does not say). `NO_COLOR` turns colours off.
    #[arg(long, value_enum, value_name = "BACKGROUND")]
    pub theme: Option<crate::cli::ThemeChoice>,
}

/// `--pretrain-lr` when not given.
pub const DEFAULT_PRETRAIN_LR: f32 = 0.01;

/// Epochs a headless run trains when `--epochs` is not given.
pub const HEADLESS_DEFAULT_EPOCHS: usize = 10;

fn parse_lr_list(s: &str) -> Result<PerNet<LearningRate>, String> {
    PerNet::parse(s, LearningRate::parse)
}

fn parse_l1_list(s: &str) -> Result<PerNet<L1Penalty>, String> {
    PerNet::parse(s, L1Penalty::parse)
}

/// The base value and per-activation values that `given` sets over `base`: a plain value
/// replaces every network's, and named values override that.
fn overlay<T: Copy>(
    base: (T, Vec<(Activation, T)>),
    given: Option<&PerNet<T>>,
) -> (T, Vec<(Activation, T)>) {
    let Some(p) = given else { return base };
    let (mut plain, mut by) = base;
    if let Some(all) = p.all {
        plain = all;
        by.clear();
    }
    by.extend(p.by.iter().copied());
    (plain, by)
}

/// Names a list of activations as `--activations` takes it.
fn activation_list(acts: &[Activation]) -> String {
    acts.iter().map(|a| a.name()).collect::<Vec<_>>().join(",")
}

fn width_list(widths: &[usize]) -> String {
    widths
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl RunArgs {
    /// The configuration that continues the run saved in `ck`. `given(id)` says whether the
    /// flag with that clap id (`"hidden"`, `"lr"`, …) was on the command line: those that
    /// differ from the checkpoint are an error, except `lr` and `l1`, which override it.
    pub fn resume_config(
        &self,
        ck: &Checkpoint,
        given: impl Fn(&str) -> bool,
    ) -> Result<RunConfig, String> {
        let r = &ck.run;
        let dataset = DatasetKind::from_str(&r.dataset, false)
            .map_err(|_| format!("it names an unknown dataset '{}'", r.dataset))?;
        // The checkpoint reader checked these by the same rules; a checkpoint made in memory
        // is checked here.
        let saved = |what: &str, e: config::Invalid| format!("its {what} {e}");
        let activations = Activations::new(ck.nets.iter().map(|n| n.activation).collect())
            .map_err(|e| saved("networks", e))?;
        let hidden = Widths::new(r.hidden.clone()).map_err(|e| saved("hidden widths", e))?;
        let batch_size = BatchSize::new(r.batch_size).map_err(|e| saved("batch size", e))?;
        let conflicts = [
            (
                "dataset",
                self.dataset != dataset,
                self.dataset.name().to_string(),
                dataset.name().to_string(),
            ),
            (
                "activations",
                self.activations != activations,
                activation_list(self.activations.get()),
                activation_list(activations.get()),
            ),
            (
                "hidden",
                self.hidden != hidden,
                width_list(self.hidden.get()),
                width_list(hidden.get()),
            ),
            (
                "batch-size",
                self.batch_size != batch_size,
                self.batch_size.to_string(),
                batch_size.to_string(),
            ),
            (
                "seed",
                self.seed != r.config_seed,
                self.seed.to_string(),
                r.config_seed.to_string(),
            ),
        ];
        for (flag, differs, mine, saved) in conflicts {
            if differs && given(&flag.replace('-', "_")) {
                return Err(format!(
                    "--{flag} {mine} conflicts with the checkpoint, which was saved with \
                     --{flag} {saved} (leave --{flag} out to resume)"
                ));
            }
        }
        // The saved per-network values, under what the command line gives.
        let lr_of = |v: f32| LearningRate::new(v).map_err(|e| saved("learning rate", e));
        let l1_of = |v: f32| L1Penalty::new(v).map_err(|e| saved("L1 penalty", e));
        let saved_lr = ck
            .nets
            .iter()
            .map(|n| Ok((n.activation, lr_of(n.lr)?)))
            .collect::<Result<_, String>>()?;
        let saved_l1 = ck
            .nets
            .iter()
            .map(|n| Ok((n.activation, l1_of(n.l1)?)))
            .collect::<Result<_, String>>()?;
        let (lr, net_lr) = overlay(
            (lr_of(r.lr)?, saved_lr),
            self.lr.as_ref().filter(|_| given("lr")),
        );
        let (l1, net_l1) = overlay(
            (l1_of(r.l1)?, saved_l1),
            self.l1.as_ref().filter(|_| given("l1")),
        );
        Ok(RunConfig::default()
            .with_dataset(dataset)
            .with_data_dir(
                self.data_dir
                    .clone()
                    .or_else(|| r.data_dir.as_ref().map(PathBuf::from)),
            )
            .with_activations(activations)
            .with_hidden(hidden)
            .with_batch_size(batch_size)
            .with_lr(lr)
            .with_l1(l1)
            .with_epochs(
                self.epochs
                    .or(r.epochs)
                    .or(self.headless.then_some(HEADLESS_DEFAULT_EPOCHS)),
            )
            .with_seed(r.config_seed)
            .with_net_lr(net_lr)
            .with_net_l1(net_l1)
            .with_patience(if given("patience") {
                self.patience
            } else {
                r.patience
            }))
    }

    /// The checked run configuration; `headless` fills in the headless epoch default.
    /// The defaults are per activation: the learning rate by dataset
    /// ([`crate::engine::hyper::default_lr`]), the L1 penalty the paper's for the unbounded
    /// activations only ([`crate::engine::hyper::default_l1`]).
    pub fn to_config(&self) -> RunConfig {
        let (lr, net_lr) = overlay(
            (LearningRate::DEFAULT, config::default_net_lr(self.dataset)),
            self.lr.as_ref(),
        );
        let (l1, net_l1) = overlay(
            (L1Penalty::DEFAULT, config::default_net_l1()),
            self.l1.as_ref(),
        );
        RunConfig::default()
            .with_dataset(self.dataset)
            .with_data_dir(self.data_dir.clone())
            .with_activations(self.activations.clone())
            .with_hidden(self.hidden.clone())
            .with_batch_size(self.batch_size)
            .with_lr(lr)
            .with_l1(l1)
            .with_epochs(
                self.epochs
                    .or(self.headless.then_some(HEADLESS_DEFAULT_EPOCHS)),
            )
            .with_seed(self.seed)
            .with_net_lr(net_lr)
            .with_net_l1(net_l1)
            .with_patience(self.patience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::error::ErrorKind;
    use clap::Parser;

    #[test]
    fn per_network_values_from_flags() {
        let c = parse(&["--lr", "rectifier=0.01,tanh=0.1", "--l1", "0.002"])
            .unwrap()
            .run
            .to_config();
        assert!((c.lr_for(Activation::Rectifier) - 0.01).abs() < 1e-9);
        assert!((c.lr_for(Activation::Tanh) - 0.1).abs() < 1e-9);
        for a in Activation::ALL {
            assert!(
                (c.l1_for(a) - 0.002).abs() < 1e-9,
                "a plain --l1 sets all: {a}"
            );
        }
        let c = parse(&["--lr", "0.05", "--l1", "tanh=0.0005"])
            .unwrap()
            .run
            .to_config();
        for a in Activation::ALL {
            assert!((c.lr_for(a) - 0.05).abs() < 1e-9);
        }
        assert!((c.l1_for(Activation::Tanh) - 0.0005).abs() < 1e-9);
        assert!((c.l1_for(Activation::Rectifier) - 0.001).abs() < 1e-9);
        assert_eq!(parse(&["--patience", "3"]).unwrap().run.patience, Some(3));
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("relutui").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_are_the_papers_setup() {
        let c = parse(&[]).unwrap().run.to_config();
        assert_eq!(c.hidden(), [1000, 1000, 1000]);
        assert_eq!(c.activations(), [Activation::Rectifier, Activation::Tanh]);
        assert_eq!(c.batch_size(), 10);
        assert!((c.l1_for(Activation::Rectifier) - 0.001).abs() < 1e-9);
        assert!(
            c.l1_for(Activation::Tanh) == 0.0,
            "the paper penalises rectifiers only"
        );
        assert!(c.l1_for(Activation::Softplus) == 0.0);
        for a in Activation::ALL {
            assert!(c.lr_for(a) > 0.0);
        }
        let full = parse(&["--dataset", "mnist"]).unwrap().run.to_config();
        assert!(config::LR_GRID.contains(&full.lr_for(Activation::Rectifier)));
        assert!(config::LR_GRID.contains(&full.lr_for(Activation::Tanh)));
        assert_eq!(c.dataset(), DatasetKind::Mnist10k);
        assert_eq!(c.epochs(), None);
        assert_eq!(
            parse(&["--headless"]).unwrap().run.to_config().epochs(),
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
            (&["--lr", "rectifier=0"], "--lr"),
            (&["--lr", "swish=0.1"], "--lr"),
            (&["--l1", "tanh=-1"], "--l1"),
            (&["--patience", "0"], "--patience"),
            (&["--epochs", "-1"], "--epochs"),
            (&["--batch-size", "-5"], "--batch-size"),
            (&["--batch-size", "4611686018427387904"], "--batch-size"),
            (&["--seed", "-1"], "--seed"),
            (&["--hidden", "-1,2"], "--hidden"),
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
