//! [`Update`] and [`RunInfo`] in their wire forms ([`WireUpdate`], [`WireRunInfo`],
//! [`WireRunState`]), and back: what a run tells its viewers, reliably and in order.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::{EpochReport, NetInfo, Position, RunInfo, RunState, Update};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireRunState {
    Running,
    Paused,
    Done,
}

impl From<RunState> for WireRunState {
    fn from(s: RunState) -> Self {
        match s {
            RunState::Running => Self::Running,
            RunState::Paused => Self::Paused,
            RunState::Done => Self::Done,
        }
    }
}

impl From<WireRunState> for RunState {
    fn from(s: WireRunState) -> Self {
        match s {
            WireRunState::Running => Self::Running,
            WireRunState::Paused => Self::Paused,
            WireRunState::Done => Self::Done,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireNetInfo {
    pub name: String,
    pub bounded: bool,
}

/// [`RunInfo`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRunInfo {
    pub dataset: String,
    pub input_dim: usize,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub nets: Vec<WireNetInfo>,
    pub batch_size: usize,
    pub batches_per_epoch: usize,
    pub train_examples: usize,
    pub valid_examples: usize,
    pub test_examples: usize,
    pub epochs: Option<usize>,
    pub lr: f32,
    pub l1: f32,
    pub seed: u64,
    pub probe_examples: usize,
}

impl From<&RunInfo> for WireRunInfo {
    fn from(i: &RunInfo) -> Self {
        Self {
            dataset: i.dataset.clone(),
            input_dim: i.input_dim,
            hidden: i.hidden.clone(),
            classes: i.classes,
            nets: i
                .nets
                .iter()
                .map(|n| WireNetInfo {
                    name: n.name.clone(),
                    bounded: n.bounded,
                })
                .collect(),
            batch_size: i.batch_size,
            batches_per_epoch: i.batches_per_epoch,
            train_examples: i.train_examples,
            valid_examples: i.valid_examples,
            test_examples: i.test_examples,
            epochs: i.epochs,
            lr: i.lr,
            l1: i.l1,
            seed: i.seed,
            probe_examples: i.probe_examples,
        }
    }
}

impl From<WireRunInfo> for RunInfo {
    fn from(i: WireRunInfo) -> Self {
        Self {
            dataset: i.dataset,
            input_dim: i.input_dim,
            hidden: i.hidden,
            classes: i.classes,
            nets: i
                .nets
                .into_iter()
                .map(|n| NetInfo {
                    name: n.name,
                    bounded: n.bounded,
                })
                .collect(),
            batch_size: i.batch_size,
            batches_per_epoch: i.batches_per_epoch,
            train_examples: i.train_examples,
            valid_examples: i.valid_examples,
            test_examples: i.test_examples,
            epochs: i.epochs,
            lr: i.lr,
            l1: i.l1,
            seed: i.seed,
            probe_examples: i.probe_examples,
        }
    }
}

/// [`Update`] on the wire. Epoch reports keep the JSON-lines form of the log and add the
/// network's index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum WireUpdate {
    Started(WireRunInfo),
    State {
        state: WireRunState,
    },
    Epoch {
        net: usize,
        report: Box<EpochReport>,
    },
    /// Epoch reports from before a resume (read from the run's log).
    History {
        reports: Vec<EpochReport>,
    },
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
    Revived {
        at: Position,
        units: Vec<Vec<Vec<usize>>>,
    },
    CheckpointSaved {
        at: Position,
        path: PathBuf,
    },
    CheckpointFailed {
        message: String,
    },
    Diverged {
        net: usize,
        at: Position,
        reason: String,
    },
    Restored {
        at: Position,
        nets: Vec<usize>,
    },
    /// Every network's own learning rate and L1 penalty, in network order.
    NetSettings {
        at: Position,
        lrs: Vec<f32>,
        l1s: Vec<f32>,
    },
    /// `--patience` stopped network `net`; its best epoch.
    Stopped {
        net: usize,
        at: Position,
        best_epoch: usize,
    },
    /// The run entered pre-training of a layer (`Some`) or supervised training (`None`).
    Pretraining {
        at: Option<crate::protocol::PretrainAt>,
    },
    PretrainEpoch {
        net: usize,
        report: Box<crate::protocol::PretrainReport>,
    },
}

impl WireUpdate {
    /// The wire form of `u`; `nets` names the networks, for the index of an epoch report.
    pub fn from_update(u: &Update, nets: &[String]) -> Self {
        match u {
            Update::Started(info) => Self::Started(info.into()),
            Update::State(s) => Self::State { state: (*s).into() },
            Update::Epoch(r) => Self::Epoch {
                net: nets.iter().position(|n| *n == r.net).unwrap_or(0),
                report: Box::new(r.clone()),
            },
            Update::History(reports) => Self::History {
                reports: reports.clone(),
            },
            Update::LrChanged { at, lr } => Self::LrChanged { at: *at, lr: *lr },
            Update::L1Changed { at, l1 } => Self::L1Changed { at: *at, l1: *l1 },
            Update::Reinitialised { at, seed } => Self::Reinitialised {
                at: *at,
                seed: *seed,
            },
            Update::Revived { at, units } => Self::Revived {
                at: *at,
                units: units.clone(),
            },
            Update::CheckpointSaved { at, path } => Self::CheckpointSaved {
                at: *at,
                path: path.clone(),
            },
            Update::CheckpointFailed(message) => Self::CheckpointFailed {
                message: message.clone(),
            },
            Update::Diverged { net, at, reason } => Self::Diverged {
                net: *net,
                at: *at,
                reason: reason.clone(),
            },
            Update::Restored { at, nets } => Self::Restored {
                at: *at,
                nets: nets.clone(),
            },
            Update::NetSettings { at, lrs, l1s } => Self::NetSettings {
                at: *at,
                lrs: lrs.clone(),
                l1s: l1s.clone(),
            },
            Update::Stopped {
                net,
                at,
                best_epoch,
            } => Self::Stopped {
                net: *net,
                at: *at,
                best_epoch: *best_epoch,
            },
            Update::Pretraining(at) => Self::Pretraining { at: *at },
            Update::PretrainEpoch(r) => Self::PretrainEpoch {
                net: nets.iter().position(|n| *n == r.net).unwrap_or(0),
                report: Box::new(r.clone()),
            },
        }
    }
}

impl From<WireUpdate> for Update {
    fn from(u: WireUpdate) -> Self {
        match u {
            WireUpdate::Started(info) => Self::Started(info.into()),
            WireUpdate::State { state } => Self::State(state.into()),
            WireUpdate::Epoch { report, .. } => Self::Epoch(*report),
            WireUpdate::History { reports } => Self::History(reports),
            WireUpdate::LrChanged { at, lr } => Self::LrChanged { at, lr },
            WireUpdate::L1Changed { at, l1 } => Self::L1Changed { at, l1 },
            WireUpdate::Reinitialised { at, seed } => Self::Reinitialised { at, seed },
            WireUpdate::Revived { at, units } => Self::Revived { at, units },
            WireUpdate::CheckpointSaved { at, path } => Self::CheckpointSaved { at, path },
            WireUpdate::CheckpointFailed { message } => Self::CheckpointFailed(message),
            WireUpdate::Diverged { net, at, reason } => Self::Diverged { net, at, reason },
            WireUpdate::Restored { at, nets } => Self::Restored { at, nets },
            WireUpdate::NetSettings { at, lrs, l1s } => Self::NetSettings { at, lrs, l1s },
            WireUpdate::Stopped {
                net,
                at,
                best_epoch,
            } => Self::Stopped {
                net,
                at,
                best_epoch,
            },
            WireUpdate::Pretraining { at } => Self::Pretraining(at),
            WireUpdate::PretrainEpoch { report, .. } => Self::PretrainEpoch(*report),
        }
    }
}
