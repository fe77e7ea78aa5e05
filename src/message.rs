//! The protocol between the trainer thread and its front ends (dashboard or headless).
//!
//! Commands flow from a front end to the trainer. Updates flow back on two channels:
//! [`Update`]s are reliable (epoch results and state changes are never dropped), while
//! [`Sample`]s are high-rate, throttled and lossy: when the front end is slow the newest
//! sample wins and the trainer never waits for the screen.

use serde::{Deserialize, Serialize};

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
    SetLr(f32),
    /// Set the L1 activation penalty for every network (takes effect at the next batch).
    SetL1(f32),
    /// Re-initialise every network from a new seed, keeping the data and settings.
    Reinit { seed: u64 },
    /// Which hidden layer of which network the activation snapshots should show.
    Focus { net: usize, layer: usize },
    /// Finish now: the trainer returns after the current batch.
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
    /// Number of examples in the fixed probe batch behind the activation snapshots.
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
    LrChanged { at: Position, lr: f32 },
    L1Changed { at: Position, l1: f32 },
    Reinitialised { at: Position, seed: u64 },
}

/// High-rate progress, throttled to a few per second and dropped when the front end lags.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at: Position,
    /// Per network: mean mini-batch loss over the batches since the previous sample.
    pub losses: Vec<f32>,
    /// Training examples per second over the recent batches (all networks together in lockstep).
    pub examples_per_sec: f64,
    /// The focused layer's activations on the probe batch.
    pub activations: Option<ActivationSnapshot>,
}

/// Activations of one hidden layer on the fixed probe batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationSnapshot {
    pub net: usize,
    pub layer: usize,
    pub examples: usize,
    pub units: usize,
    /// Row-major, `examples × units`.
    pub values: Vec<f32>,
}

/// One network's statistics at the end of an epoch; also one line of the JSON log.
///
/// Per-layer fields have one entry per hidden layer and are measured on the validation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub net: String,
    pub epoch: usize,
    pub step: u64,
    pub train_error: f64,
    pub valid_error: f64,
    pub test_error: f64,
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
    pub lr: f32,
    pub l1: f32,
    pub seed: u64,
    /// Timing field: training examples per second of this network's own step time.
    pub examples_per_sec: f64,
    /// Timing field: wall seconds of the epoch, evaluation included.
    pub epoch_seconds: f64,
}
