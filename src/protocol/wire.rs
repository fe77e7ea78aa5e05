//! The wire protocol between a run's control socket ([`crate::frontend::bridge`]) and the viewers that
//! attach to it (`relutui attach`).
//!
//! Every message is one *frame*: a 4-byte big-endian length, then that many bytes of JSON.
//! The length is checked against a cap before the body is read, so a huge prefix costs
//! nothing. The messages are the in-process ones of [`crate::protocol`] in a wire form that is
//! versioned and self-describing: no NaN (an absent value is `null`), enums rather than
//! strings, networks named by their index in [`WireRunInfo::nets`].
//!
//! A session:
//!
//! ```text
//!  viewer                              run
//!  Hello { version, read_only }  ──►
//!                                ◄──  Welcome { version, run, state, position, history }
//!                                     (or Refused { server_version, client_version, reason })
//!                                ◄──  Update × history   (everything so far, in order)
//!                                ◄──  Update / Sample …  (live)
//!  Command …                     ──►
//! ```
//!
//! After `Welcome` the run sends its whole history of reliable updates (the same ones the
//! in-process dashboard got), then live updates and samples. Samples are lossy: a viewer that
//! reads slowly gets the newest one.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::config::{Invalid, L1Penalty, LearningRate};
use crate::protocol::{
    ActivationSnapshot, Command, EpochReport, NetInfo, Position, RunInfo, RunState, Sample, Update,
};

/// Bumped on every change of the messages below that an older peer would misread.
pub const VERSION: u32 = 1;

/// The largest frame a run accepts from a viewer: commands are tiny.
pub const MAX_CLIENT_FRAME: u32 = 64 * 1024;
/// The largest frame a viewer accepts from a run (an activation snapshot of a wide layer).
pub const MAX_SERVER_FRAME: u32 = 16 * 1024 * 1024;

/// What a viewer sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message: who is asking, and whether it means to steer.
    Hello {
        version: u32,
        read_only: bool,
    },
    Command(WireCommand),
}

/// What a run sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to a good `Hello`; `history` updates follow at once.
    Welcome(Welcome),
    /// The answer to a `Hello` the run will not serve; the connection closes after it.
    Refused {
        server_version: u32,
        client_version: u32,
        reason: Refusal,
    },
    Update(WireUpdate),
    Sample(WireSample),
}

/// Why a run refused a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The viewer speaks another protocol version.
    Version,
    /// The connecting process belongs to another user.
    NotOwner,
    /// Too many viewers are attached already.
    Full,
}

impl Refusal {
    /// One line for a person.
    pub fn explain(self, server_version: u32, client_version: u32) -> String {
        match self {
            Refusal::Version => format!(
                "the run speaks protocol version {server_version}, this relutui speaks version \
                 {client_version}: attach with the relutui that started the run"
            ),
            Refusal::NotOwner => "the run belongs to another user".into(),
            Refusal::Full => format!("the run has {MAX_VIEWERS} viewers attached already"),
        }
    }
}

/// The most viewers one run serves at once.
pub const MAX_VIEWERS: usize = 16;

/// The run as it is when a viewer attaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub version: u32,
    /// The trainer's process id.
    pub pid: u32,
    pub run_dir: PathBuf,
    /// `None` until the trainer has described the run.
    pub run: Option<WireRunInfo>,
    pub state: Option<WireRunState>,
    pub position: Position,
    /// Reliable updates that follow this message before anything live.
    pub history: usize,
    /// The run serves this viewer read-only (it asked to).
    pub read_only: bool,
}

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

/// [`Command`] on the wire. `Stop` is [`Command::Quit`]: it ends the run, and a viewer only
/// sends it on its deliberate stop key; detaching sends nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum WireCommand {
    Pause,
    Resume,
    Step,
    SetLr { lr: f32 },
    SetL1 { l1: f32 },
    SetNetLr { net: usize, lr: f32 },
    SetNetL1 { net: usize, l1: f32 },
    Reinit { seed: u64 },
    Focus { net: usize, layer: usize },
    ReviveDead,
    Checkpoint,
    RestoreLastGood,
    Stop,
}

impl WireCommand {
    /// Whether a read-only viewer may send it: only what changes its own view.
    pub fn is_view_only(&self) -> bool {
        matches!(self, WireCommand::Focus { .. })
    }
}

impl WireCommand {
    /// The wire form of a front end's command; `None` for [`Command::Watch`], which the
    /// bridge makes for the trainer and no viewer sends.
    pub fn from_command(c: &Command) -> Option<Self> {
        Some(match *c {
            Command::Pause => Self::Pause,
            Command::Resume => Self::Resume,
            Command::Step => Self::Step,
            Command::SetLr(lr) => Self::SetLr { lr: lr.get() },
            Command::SetL1(l1) => Self::SetL1 { l1: l1.get() },
            Command::SetNetLr { net, lr } => Self::SetNetLr { net, lr: lr.get() },
            Command::SetNetL1 { net, l1 } => Self::SetNetL1 { net, l1: l1.get() },
            Command::Reinit { seed } => Self::Reinit { seed },
            Command::Focus { net, layer } => Self::Focus { net, layer },
            Command::ReviveDead => Self::ReviveDead,
            Command::Checkpoint => Self::Checkpoint,
            Command::RestoreLastGood => Self::RestoreLastGood,
            Command::Quit => Self::Stop,
            Command::Watch { .. } => return None,
        })
    }
}

/// A viewer's command, checked by the rules a run's own flags and keys obey: a learning
/// rate of -1 or an L1 penalty of NaN from an attached viewer is refused here, by
/// [`LearningRate::new`] and [`L1Penalty::new`], before it reaches the trainer.
impl TryFrom<WireCommand> for Command {
    type Error = Invalid;

    fn try_from(c: WireCommand) -> Result<Self, Invalid> {
        Ok(match c {
            WireCommand::Pause => Self::Pause,
            WireCommand::Resume => Self::Resume,
            WireCommand::Step => Self::Step,
            WireCommand::SetLr { lr } => Self::SetLr(LearningRate::new(lr)?),
            WireCommand::SetL1 { l1 } => Self::SetL1(L1Penalty::new(l1)?),
            WireCommand::SetNetLr { net, lr } => Self::SetNetLr {
                net,
                lr: LearningRate::new(lr)?,
            },
            WireCommand::SetNetL1 { net, l1 } => Self::SetNetL1 {
                net,
                l1: L1Penalty::new(l1)?,
            },
            WireCommand::Reinit { seed } => Self::Reinit { seed },
            WireCommand::Focus { net, layer } => Self::Focus { net, layer },
            WireCommand::ReviveDead => Self::ReviveDead,
            WireCommand::Checkpoint => Self::Checkpoint,
            WireCommand::RestoreLastGood => Self::RestoreLastGood,
            WireCommand::Stop => Self::Quit,
        })
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

/// [`Sample`] on the wire: a network that trained no batch since the last sample has `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSample {
    pub at: Position,
    pub losses: Vec<Option<f32>>,
    pub examples_per_sec: f64,
    pub activations: Option<WireSnapshot>,
    /// Per network, per hidden layer: exact sparsity over the newest training batches.
    #[serde(default)]
    pub live_sparsity: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSnapshot {
    pub net: usize,
    pub layer: usize,
    pub examples: usize,
    pub units: usize,
    pub values: Vec<f32>,
}

impl From<&Sample> for WireSample {
    fn from(s: &Sample) -> Self {
        Self::for_viewer(s, s.activations.as_ref())
    }
}

impl WireSample {
    /// The sample as one viewer gets it: with `snapshot`, the one of the layer it watches
    /// ([`Sample::snapshot_for`]).
    pub fn for_viewer(s: &Sample, snapshot: Option<&ActivationSnapshot>) -> Self {
        Self {
            at: s.at,
            losses: s
                .losses
                .iter()
                .map(|l| l.is_finite().then_some(*l))
                .collect(),
            examples_per_sec: if s.examples_per_sec.is_finite() {
                s.examples_per_sec
            } else {
                0.0
            },
            live_sparsity: s
                .live_sparsity
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|f| if f.is_finite() { *f } else { 0.0 })
                        .collect()
                })
                .collect(),
            activations: snapshot.map(|a| WireSnapshot {
                net: a.net,
                layer: a.layer,
                examples: a.examples,
                units: a.units,
                // JSON has no NaN; a non-finite activation would not be drawn anyway.
                values: a
                    .values
                    .iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect(),
            }),
        }
    }
}

impl From<WireSample> for Sample {
    fn from(s: WireSample) -> Self {
        Self {
            at: s.at,
            losses: s
                .losses
                .into_iter()
                .map(|l| l.unwrap_or(f32::NAN))
                .collect(),
            examples_per_sec: s.examples_per_sec,
            live_sparsity: s.live_sparsity,
            watched: Vec::new(),
            activations: s.activations.and_then(|a| {
                // A snapshot whose size does not add up is dropped, never drawn out of bounds.
                (a.examples.checked_mul(a.units) == Some(a.values.len())).then_some(
                    ActivationSnapshot {
                        net: a.net,
                        layer: a.layer,
                        examples: a.examples,
                        units: a.units,
                        values: a.values,
                    },
                )
            }),
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("the connection closed")]
    Closed,
    #[error("a frame of {len} bytes is over the limit of {cap}")]
    TooLarge { len: u32, cap: u32 },
    #[error("a frame was cut short")]
    Truncated,
    #[error("a frame took longer than {0:?} to arrive")]
    Slow(Duration),
    #[error("a frame is not a valid message: {0}")]
    Malformed(serde_json::Error),
    #[error("{0}")]
    Io(io::Error),
}

/// Serialises `msg` as one frame (length prefix included).
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, msg).expect("protocol messages always serialise");
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Writes one message as a frame.
pub fn write_message<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg))?;
    w.flush()
}

/// Reads one frame of at most `cap` bytes and parses it.
///
/// `patience` bounds how long a frame may take once its first byte has arrived; the reader's
/// own read timeout (which must be shorter, or none for a reader that may wait forever between
/// frames) is the poll interval. A frame that has not begun when a read times out is not an
/// error: the call goes on waiting.
pub fn read_message<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
    cap: u32,
    patience: Duration,
) -> Result<T, FrameError> {
    read_message_within(r, cap, patience, None)
}

/// [`read_message`], but a frame must also begin within `first` when that is given.
pub fn read_message_within<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
    cap: u32,
    patience: Duration,
    first: Option<Duration>,
) -> Result<T, FrameError> {
    let mut header = [0u8; 4];
    let since = Instant::now();
    read_full(r, &mut header, patience, first.map(|f| (since, f)), false)?;
    let len = u32::from_be_bytes(header);
    if len > cap {
        return Err(FrameError::TooLarge { len, cap });
    }
    let mut body = vec![0u8; len as usize];
    read_full(
        r,
        &mut body,
        patience,
        Some((Instant::now(), patience)),
        true,
    )?;
    serde_json::from_slice(&body).map_err(FrameError::Malformed)
}

/// Fills `buf`. Until its first byte has arrived, a read timeout means "no frame yet" (an
/// error only once `first` = (since, limit) has passed) and EOF means "closed" (for a header;
/// a `body` that is missing is cut short); after it, the frame must complete within
/// `patience`.
fn read_full(
    r: &mut impl Read,
    buf: &mut [u8],
    patience: Duration,
    first: Option<(Instant, Duration)>,
    body: bool,
) -> Result<(), FrameError> {
    let mut filled = 0;
    let mut began: Option<Instant> = None;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if began.is_none() && !body => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => {
                filled += n;
                began.get_or_insert_with(Instant::now);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
        if filled < buf.len() {
            let late = match began {
                Some(t) => t.elapsed() >= patience,
                None => first.is_some_and(|(t, f)| t.elapsed() >= f),
            };
            if late {
                return Err(FrameError::Slow(patience));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let msg = ClientMessage::Command(WireCommand::SetLr { lr: 0.05 });
        let bytes = encode(&msg);
        let back: ClientMessage =
            read_message(&mut &bytes[..], MAX_CLIENT_FRAME, Duration::from_secs(1)).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn a_huge_length_is_refused_before_the_body_is_read() {
        let mut bytes = u32::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        let err = read_message::<ClientMessage>(
            &mut &bytes[..],
            MAX_CLIENT_FRAME,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn cut_short_and_garbage_frames_are_errors() {
        let bytes = encode(&ClientMessage::Hello {
            version: VERSION,
            read_only: false,
        });
        let cut = &bytes[..bytes.len() - 3];
        let err =
            read_message::<ClientMessage>(&mut &cut[..], 1024, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, FrameError::Truncated), "{err}");
        let mut garbage = 5u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(b"\xff\x00{[x");
        let err = read_message::<ClientMessage>(&mut &garbage[..], 1024, Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)), "{err}");
        let err =
            read_message::<ClientMessage>(&mut &b""[..], 1024, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, FrameError::Closed), "{err}");
    }

    #[test]
    fn samples_carry_no_nan() {
        let s = Sample {
            at: Position::default(),
            losses: vec![f32::NAN, 0.5],
            examples_per_sec: 10.0,
            activations: None,
            watched: Vec::new(),
            live_sparsity: vec![vec![0.5, 0.25]],
        };
        let wire = WireSample::from(&s);
        assert_eq!(wire.losses, vec![None, Some(0.5)]);
        let json = serde_json::to_string(&ServerMessage::Sample(wire.clone())).unwrap();
        assert!(json.contains("null"), "{json}");
        let back = Sample::from(wire);
        assert!(back.losses[0].is_nan());
        assert!((back.losses[1] - 0.5).abs() < f32::EPSILON);
        assert_eq!(back.live_sparsity, vec![vec![0.5, 0.25]]);
    }

    #[test]
    fn commands_round_trip_through_the_wire_form() {
        for c in [
            Command::Pause,
            Command::Resume,
            Command::Step,
            Command::SetLr(LearningRate::new(0.2).unwrap()),
            Command::SetL1(L1Penalty::NONE),
            Command::SetNetLr {
                net: 1,
                lr: LearningRate::new(0.05).unwrap(),
            },
            Command::SetNetL1 {
                net: 0,
                l1: L1Penalty::new(0.002).unwrap(),
            },
            Command::Reinit { seed: 7 },
            Command::Focus { net: 1, layer: 2 },
            Command::ReviveDead,
            Command::Checkpoint,
            Command::RestoreLastGood,
            Command::Quit,
        ] {
            let wire = WireCommand::from_command(&c).unwrap();
            let json = serde_json::to_string(&wire).unwrap();
            let back: WireCommand = serde_json::from_str(&json).unwrap();
            assert_eq!(Command::try_from(back), Ok(c), "{json}");
        }
        let watch = Command::Watch {
            viewer: 3,
            focus: Some((1, 2)),
        };
        assert_eq!(WireCommand::from_command(&watch), None, "the bridge's own");
    }

    #[test]
    fn a_viewers_bad_rate_or_penalty_is_refused_by_the_configs_rule() {
        for (json, rule) in [
            (r#"{"command":"set_lr","lr":-1.0}"#, "above 0"),
            (r#"{"command":"set_lr","lr":0.0}"#, "above 0"),
            (r#"{"command":"set_net_lr","net":0,"lr":-0.5}"#, "above 0"),
            (r#"{"command":"set_l1","l1":-0.001}"#, "at least 0"),
            (
                r#"{"command":"set_net_l1","net":1,"l1":-2.0}"#,
                "at least 0",
            ),
        ] {
            let wire: WireCommand = serde_json::from_str(json).unwrap();
            let e = Command::try_from(wire).unwrap_err();
            assert!(e.to_string().contains(rule), "{json}: {e}");
        }
        // JSON has no NaN or infinity, but a peer's f32 can still be one.
        for bad in [f32::NAN, f32::INFINITY] {
            assert!(matches!(
                Command::try_from(WireCommand::SetLr { lr: bad }),
                Err(Invalid::LearningRate(_))
            ));
            assert!(matches!(
                Command::try_from(WireCommand::SetNetL1 { net: 0, l1: bad }),
                Err(Invalid::L1Penalty(_))
            ));
        }
    }

    #[test]
    fn a_snapshot_whose_size_does_not_add_up_is_dropped() {
        let wire = WireSample {
            at: Position::default(),
            losses: vec![],
            examples_per_sec: 0.0,
            live_sparsity: vec![],
            activations: Some(WireSnapshot {
                net: 0,
                layer: 0,
                examples: 1000,
                units: 1000,
                values: vec![0.0; 3],
            }),
        };
        assert!(Sample::from(wire).activations.is_none());
    }
}
