//! The protocol between the trainer thread and its front ends (dashboard or headless).
//!
//! Commands flow from a front end to the trainer. Updates flow back on two channels:
//! [`Update`]s are reliable (epoch results and state changes are never dropped), while
//! [`Sample`]s are high-rate, throttled and lossy: when the front end is slow the newest
//! sample wins and the trainer never waits for the screen.
//!
//! The same messages travel over a run's control socket in the versioned form of [`wire`].

pub mod wire;

use serde::{Deserialize, Serialize};

use crate::engine::config::{L1Penalty, LearningRate};

/// What a front end asks of the trainer.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Stop training after the current batch; a paused trainer blocks and uses no CPU.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Train exactly one mini-batch while paused.
    Step,
    /// Set the learning rate for every network (takes effect at the next batch).
    SetLr(LearningRate),
    /// Set the L1 activation penalty for every network (takes effect at the next batch).
    SetL1(L1Penalty),
    /// Set the learning rate of network `net` alone (index into [`RunInfo::nets`]).
    SetNetLr { net: usize, lr: LearningRate },
    /// Set the L1 penalty of network `net` alone.
    SetNetL1 { net: usize, l1: L1Penalty },
    /// Re-initialise every network from a new seed, keeping the data and settings.
    Reinit { seed: u64 },
    /// Which hidden layer of which network this process's own front end watches: its
    /// snapshot is [`Sample::activations`].
    Focus { net: usize, layer: usize },
    /// What attached viewer `viewer` watches (`None`: it has gone). Sent by the control
    /// socket's bridge, never by a viewer itself: every distinct focus gets its own snapshot
    /// in [`Sample::watched`], so two viewers on different layers each see their own.
    Watch {
        viewer: u64,
        focus: Option<(usize, usize)>,
    },
    /// Re-initialise the incoming weights (Glorot uniform, seeded) and zero the bias of every
    /// hidden unit that was active on no claims-subset example at the latest measurement (the
    /// end of the last epoch, or initialisation). Answered by [`Update::Revived`].
    ReviveDead,
    /// Save a checkpoint now (to `--checkpoint FILE`). Answered by
    /// [`Update::CheckpointSaved`] or [`Update::CheckpointFailed`].
    Checkpoint,
    /// Let every diverged network train again from its last good state (the weights at the
    /// end of the epoch before it diverged, which it was rolled back to). Lower the learning
    /// rate first. Answered by [`Update::Restored`].
    RestoreLastGood,
    /// Finish now: the trainer returns after the current batch. With `--checkpoint FILE` it
    /// saves first when anything changed since the last save.
    Quit,
}

/// Where in the run something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Position {
    /// Epochs completed before this point.
    pub epoch: usize,
    /// Batches completed within the current epoch.
    pub batch: usize,
    /// Batches completed since the networks were initialised.
    pub step: u64,
}

/// One network of a lockstep run.
#[derive(Debug, Clone, PartialEq)]
pub struct NetInfo {
    /// Display name, e.g. `rectifier`.
    pub name: String,
    /// Whether the activation is bounded (tanh, sigmoid): such layers report saturated units.
    pub bounded: bool,
}

/// A description of the run, sent once when the trainer starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub dataset: String,
    pub input_dim: usize,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub nets: Vec<NetInfo>,
    pub batch_size: usize,
    pub batches_per_epoch: usize,
    pub train_examples: usize,
    pub valid_examples: usize,
    pub test_examples: usize,
    /// `None` trains until the front end quits.
    pub epochs: Option<usize>,
    pub lr: f32,
    pub l1: f32,
    pub seed: u64,
    /// Number of examples in the fixed heatmap batch behind the activation snapshots.
    pub probe_examples: usize,
}

/// The trainer's coarse state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    /// All requested epochs are trained; the trainer waits for `Quit`.
    Done,
}

/// Reliable updates: never dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Started(RunInfo),
    State(RunState),
    /// One network's statistics at the end of an epoch (one per network per epoch).
    Epoch(EpochReport),
    LrChanged {
        at: Position,
        lr: f32,
    },
    L1Changed {
        at: Position,
        l1: f32,
    },
    Reinitialised {
        at: Position,
        seed: u64,
    },
    /// The answer to [`Command::ReviveDead`]: `units[net][layer]` lists the re-initialised
    /// unit indices of each hidden layer of each network (empty lists when none were dead).
    Revived {
        at: Position,
        units: UnitLists,
    },
    /// Every network's learning rate and L1 penalty (`lrs[net]`, `l1s[net]`): sent after
    /// [`Update::Started`] and after every change, for all networks or one.
    NetSettings {
        at: Position,
        lrs: Vec<f32>,
        l1s: Vec<f32>,
    },
    /// Early stopping (`--patience`) froze network `net` at `at`: `best_epoch` had its lowest
    /// validation error, and the epochs since were no better. The others go on.
    Stopped {
        net: usize,
        at: Position,
        best_epoch: usize,
    },
    /// A checkpoint was written: at every epoch end, on [`Command::Checkpoint`] and on quit.
    CheckpointSaved {
        at: Position,
        path: std::path::PathBuf,
    },
    /// A checkpoint could not be written; the message names the file. Training goes on.
    CheckpointFailed(String),
    /// Network `net` (index into [`RunInfo::nets`]) produced a non-finite loss, exploding
    /// activations or non-finite weights at `at`. It was rolled back to its last good state
    /// and stopped training; the others go on. [`Command::RestoreLastGood`] lets it go on.
    Diverged {
        net: usize,
        at: Position,
        reason: String,
    },
    /// The answer to [`Command::RestoreLastGood`]: the networks that train again.
    Restored {
        at: Position,
        nets: Vec<usize>,
    },
    /// The run entered a phase: pre-training of a hidden layer (`Some`), or supervised
    /// training (`None`). Sent at the start of a run that pre-trains and at every change.
    Pretraining(Option<PretrainAt>),
    /// One network's pre-training epoch (`--pretrain`).
    PretrainEpoch(PretrainReport),
    /// Epoch reports from before this process started (a resumed run's log), sent once right
    /// after [`Update::Started`] so that the charts hold the whole run. Never written to the
    /// log again: it is already there.
    History(Vec<EpochReport>),
}

/// Unit indices per network, then per hidden layer: `units[net][layer]`.
pub type UnitLists = Vec<Vec<Vec<usize>>>;

/// High-rate progress, throttled to a few per second and dropped when the front end lags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    pub at: Position,
    /// Per network: mean mini-batch loss over the batches since the previous sample.
    pub losses: Vec<f32>,
    /// Training examples per second over the recent batches (all networks together in lockstep).
    pub examples_per_sec: f64,
    /// The focused layer's activations on the heatmap batch (the focus of [`Command::Focus`]).
    pub activations: Option<ActivationSnapshot>,
    /// The snapshots of the other layers that attached viewers watch ([`Command::Watch`]), one
    /// per distinct layer; empty without viewers.
    pub watched: Vec<ActivationSnapshot>,
    /// Per network, per hidden layer: the running fraction of exact zeros over the newest
    /// training batches ([`LIVE_BATCHES`]); empty for a network with none yet
    /// (the start, a re-initialisation, a divergence). The epoch-end validation figure
    /// ([`EpochReport::sparsity`]) stays the figure of record.
    pub live_sparsity: Vec<Vec<f64>>,
}

impl Sample {
    /// The snapshot of `focus` (`(net, layer)`), or, while a layer is pre-trained (every
    /// snapshot then shows that layer's code), the first of the same network; else the main one.
    pub fn snapshot_for(&self, focus: (usize, usize)) -> Option<&ActivationSnapshot> {
        let all = || self.activations.iter().chain(&self.watched);
        all()
            .find(|a| (a.net, a.layer) == focus)
            .or_else(|| all().find(|a| a.net == focus.0))
            .or(self.activations.as_ref())
    }
}

/// Activations of one hidden layer on the fixed heatmap batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationSnapshot {
    pub net: usize,
    pub layer: usize,
    pub examples: usize,
    pub units: usize,
    /// Row-major, `examples × units`.
    pub values: Vec<f32>,
}

/// Training batches behind the running figure (500 examples at the default batch of 10).
pub const LIVE_BATCHES: usize = 50;

/// Where a run's pre-training phase is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PretrainAt {
    /// The hidden layer being pre-trained (from 0), and how many there are.
    pub layer: usize,
    pub layers: usize,
    /// Epochs of this layer done, and how many each layer gets.
    pub epoch: usize,
    pub epochs: usize,
    /// The phase's learning rate.
    pub lr: f32,
}

/// One JSON line per network per pre-training epoch (`"phase": "pretrain"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainReport {
    /// Always `"pretrain"` (supervised lines say `"supervised"`).
    pub phase: String,
    pub net: String,
    /// The hidden layer being pre-trained, from 1.
    pub layer: usize,
    /// The epoch of this layer's pre-training, from 1, and how many each layer gets.
    pub epoch: usize,
    pub epochs: usize,
    /// Pre-training steps so far, over all layers.
    pub step: u64,
    #[serde(default)]
    pub diverged: bool,
    pub reconstruction: String,
    /// Mean over the epoch's training batches of the denoising cost (corrupted input, clean
    /// target), per example, summed over the layer's inputs.
    pub reconstruction_error: f64,
    /// The same on the clean validation inputs, at the end of the epoch.
    pub valid_reconstruction_error: f64,
    /// Mean over the epoch's batches of `l1 · Σ|h|`.
    pub l1_penalty: f64,
    /// Fraction of exact zeros in the layer's code on the clean validation inputs.
    pub sparsity: f64,
    pub masking_noise: f64,
    pub lr: f32,
    pub l1: f32,
    pub seed: u64,
    pub examples_per_sec: f64,
    pub epoch_seconds: f64,
}

impl PretrainReport {
    /// Fields that depend on the machine, not on the run.
    pub const TIMING_FIELDS: &'static [&'static str] = &["examples_per_sec", "epoch_seconds"];
}

impl EpochReport {
    /// The fields that measure time. Everything else is a function of the seed and the flags,
    /// so two runs with the same seed and flags agree on every other field.
    pub const TIMING_FIELDS: &'static [&'static str] = &[
        "examples_per_sec",
        "epoch_seconds",
        "train_seconds",
        "evaluate_seconds",
        "claims_seconds",
    ];
}

/// One network's statistics at the end of an epoch; also one line of the JSON log.
///
/// Per-layer fields have one entry per hidden layer and are measured on the validation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub net: String,
    pub epoch: usize,
    pub step: u64,
    /// The network diverged and is frozen at its last good state (the weights it had at the
    /// end of the epoch before it diverged): every measured field below describes that state,
    /// and `loss` / `l1_penalty` are its mean over the whole training set. Never NaN.
    #[serde(default)]
    pub diverged: bool,
    /// On `trainer::TRAIN_ERROR_EXAMPLES` (10,000) training examples spread evenly over the
    /// split (all of them when fewer); the validation and test errors are on their whole
    /// splits.
    pub train_error: f64,
    pub valid_error: f64,
    pub test_error: f64,
    /// Model selection: the epoch (1-based) of the lowest validation error so far, this one
    /// included (the earliest on a tie); 0 in lines written before relutui recorded it.
    #[serde(default)]
    pub best_epoch: usize,
    /// The validation error at `best_epoch`.
    #[serde(default)]
    pub best_valid_error: f64,
    /// The test error at `best_epoch`: the paper's figure for the run.
    #[serde(default)]
    pub test_error_at_best: f64,
    /// Early stopping (`--patience`) froze the network: it trains no more and its fields
    /// describe its final weights.
    #[serde(default)]
    pub stopped: bool,
    /// Mean negative log-likelihood over the epoch's training batches.
    pub loss: f64,
    /// Mean over the epoch's batches of the L1 term `l1 · mean Σ|h|`.
    pub l1_penalty: f64,
    /// Fraction of activations that are exactly 0.0.
    pub sparsity: Vec<f64>,
    /// Units that are 0.0 on every validation example.
    pub dead_units: Vec<usize>,
    /// Units within 1 % of a bound on every validation example (bounded activations only, else 0).
    pub saturated_units: Vec<usize>,
    pub mean_activation: Vec<f64>,
    /// Mean number of non-zero units per example.
    pub active_units: Vec<f64>,
    /// This network's own learning rate and L1 penalty.
    pub lr: f32,
    pub l1: f32,
    pub seed: u64,
    /// Timing field: training examples per second of this network's own step time.
    pub examples_per_sec: f64,
    /// Timing field: wall seconds of the epoch, evaluation and claims included.
    pub epoch_seconds: f64,
    /// Timing field: this network's own training-step seconds in the epoch.
    #[serde(default)]
    pub train_seconds: f64,
    /// Timing field: seconds this network's evaluation of the three splits took.
    #[serde(default)]
    pub evaluate_seconds: f64,
    /// Timing field: seconds the claims measurements of this network took (the same figure
    /// as the in-process `claims.claims_seconds`).
    #[serde(default)]
    pub claims_seconds: f64,
    /// The paper's four claims for sparsity, measured live; flattened into the JSON line.
    /// Boxed to keep [`Update`] small.
    #[serde(flatten, default)]
    pub claims: Box<ClaimsReport>,
}

/// Live measurements of why sparsity matters (Glorot et al. 2011, section 3.2), for one
/// network at the end of an epoch. Computed by [`crate::engine::claims`] on a fixed subset of the
/// validation set (the *claims subset*, `probe_examples` long, the same every epoch).
///
/// A unit is *on* for an example when `h != 0` for activations with exact zeros (rectifier);
/// for the others (tanh, softplus, sigmoid) when `|h| > 0.1 · max|h|`, the maximum taken over
/// the layer on the clean claims subset in that epoch (`active_rule`, `active_threshold`).
/// Per-layer fields have one entry per hidden layer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimsReport {
    /// Validation examples in the claims subset.
    pub probe_examples: usize,
    /// `"nonzero"` (on = `h != 0`) or `"above_0.1_max"` (on = `|h| > active_threshold`).
    pub active_rule: String,
    /// The `|h|` a unit must exceed to be on (0 under the `"nonzero"` rule).
    pub active_threshold: Vec<f64>,
    /// Disentangling: mean over probe examples of the Jaccard overlap `|A∩B| / |A∪B|` of the
    /// on-units A for the clean input and B for the same input plus fixed Gaussian noise
    /// (σ = 0.05, clamped to [0, 1]; the same noise every epoch). Examples where both sets
    /// are empty are left out; `null` when that is every example (a silent layer). Higher is
    /// more stable.
    pub active_set_stability: Vec<Option<f64>>,
    /// Disentangling without an on-rule: mean over probe examples of the relative change
    /// `‖h(x+ε) − h(x)‖₂ / ‖h(x)‖₂` under the same noise (examples whose clean activations
    /// are all 0 left out; `null` when that is every one). Lower is more stable. Unlike the
    /// overlap above it does not depend on what counts as on, so it compares tanh fairly.
    pub activation_change: Vec<Option<f64>>,
    /// Variable-size representation: the distribution over probe examples of the number of
    /// on-units per example.
    pub active_units_hist: Vec<ActiveUnitsHist>,
    /// Pearson correlation between the on-unit count and the input's ink (sum of pixel
    /// values) over the probe examples; `null` when either has no variance.
    pub active_ink_correlation: Vec<Option<f64>>,
    /// Linear separability: validation error (on the claims subset) of a multinomial logistic
    /// regression fitted on the frozen layer's activations of a fixed training subset
    /// (`linear_probe_fit_examples` examples) with a fixed budget.
    pub linear_probe_error: Vec<f64>,
    /// The same probe on the raw pixels; computed once per run (it does not change).
    pub linear_probe_error_pixels: f64,
    /// Training examples the linear probes are fitted on.
    pub linear_probe_fit_examples: usize,
    /// Efficiency: multiply-adds of one forward pass per example, all layers including the
    /// output layer, biases not counted: `Σ fan_in · fan_out`.
    pub flops_dense: f64,
    /// The same, skipping inputs to each layer that are exactly 0.0 (pixels for the first
    /// layer, the previous layer's activations after it), averaged over the probe examples.
    pub flops_if_sparse: f64,
    /// Units on for no probe example at this epoch.
    pub silent_units: Vec<usize>,
    /// Units that were on for some probe example at the previous measurement (the previous
    /// epoch, or initialisation) and are on for none now.
    pub died_this_epoch: Vec<usize>,
    /// Timing: wall seconds spent computing these measurements for this network. In-process
    /// only (for a front end's display); left out of the JSON line so that the same seed and
    /// flags give the same line apart from `examples_per_sec` and `epoch_seconds`.
    #[serde(skip)]
    pub claims_seconds: f64,
}

/// The distribution of the number of on-units per example in one hidden layer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActiveUnitsHist {
    /// Units in the layer: counts range over `0..=units`.
    pub units: usize,
    pub mean: f64,
    /// Nearest-rank percentiles of the counts.
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    /// Width of each bin, in units: `bins[i]` counts the examples whose on-unit count `c`
    /// has `c / bin_width == i`; the last bin also holds `c == units`.
    pub bin_width: usize,
    /// Examples per bin; fixed bins (at most 20) for a bar chart.
    pub bins: Vec<u32>,
}
