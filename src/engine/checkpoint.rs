//! Checkpoints: everything needed to continue a run exactly where it stopped, in a small,
//! versioned and checksummed binary file that is replaced atomically.
//!
//! # What is saved
//! Every network's weights, the optimiser settings (learning rate, L1 penalty), the position
//! (epoch, batch within it, step counter), the seeds, the run's shape (dataset, activations,
//! hidden widths, batch size, epoch target) and every piece of trainer state that changes a
//! later number: each network's running epoch sums (loss, L1 term, batches), its last good
//! state and divergence flag, and the dead-unit tracker behind `died_this_epoch`. The random
//! state is the seed alone: the batch order of an epoch is a pure function of the seed and the
//! epoch number (see `Trainer::shuffle`), so a run resumed at batch `b` of epoch `e` draws the
//! same order and goes on from batch `b`.
//!
//! # Layout (version 2, all integers and floats little-endian)
//! ```text
//! offset  size  field
//!      0     8  magic  "RELUTUIC"
//!      8     4  format version (u32) = 2 (version 1, without the selection record, is read)
//!     12     8  payload length in bytes (u64): the file is exactly 24 + this long
//!     20     4  CRC-32 (IEEE, as zlib and gzip) of the payload
//!     24     …  payload
//! ```
//! The payload, in order (`str` = u32 length + UTF-8; `opt<T>` = u8 0 or 1, then `T` if 1;
//! `f32s(n)` = n floats whose count the reader derives from shapes it already has):
//! ```text
//! run:  dataset str, data_dir opt<str>, input_dim u64, classes u64, train_examples u64,
//!       hidden_layers u32, hidden widths u64 × hidden_layers, batch_size u64,
//!       epochs opt<u64>, config_seed u64, seed u64, lr f32, l1 f32,
//!       epoch u64, batch u64, step u64, networks u32
//! net:  activation u8 (0 rectifier, 1 tanh, 2 softplus, 3 sigmoid), diverged u8,
//!       epoch_loss f64, epoch_l1 f64, epoch_batches u64,
//!       layers: for each of hidden_layers + 1: weights f32s(fan_in × fan_out) row-major,
//!               bias f32s(fan_out)
//!       last_good opt<layers>   (absent when equal to the weights above)
//!       dead tracker: measured_at opt<u64>, then for each hidden layer, per unit
//!               u64 (the last epoch the unit was on; u64::MAX for never)
//! selection (version 2; after the last network), for each network in order:
//!       lr f32, l1 f32 (its own), best opt<(epoch u64, valid_error f64, test_error f64)>,
//!       since_best u64, stopped u8;
//!       then patience opt<u64>
//! pretrain (optional, after the selection record, only while `--pretrain` is in its phase): tag u8 = 0x50,
//!       epochs u64, lr f32, layer u64, epoch u64, batch u64, step u64,
//!       per network: decoder weights f32s(code × input), bias f32s(input),
//!               reconstruction sum f64, L1 sum f64, batches u64
//! ```
//! A version 1 file gives every network the run's lr and l1, no best epoch and no patience.
//!
//! # Why a hand-written layout
//! The file holds a few flat float arrays and a handful of integers, so a codec buys little,
//! and writing the reader by hand makes its safety easy to see: the container is checked
//! (magic, version, exact length, CRC) before any field is parsed; structural counts are
//! capped ([`MAX_NETWORKS`], [`MAX_HIDDEN_LAYERS`]); layer shapes are never read from the
//! file but derived from the widths, each bounded by [`config::MAX_WIDTH`]; and every array
//! is allocated only after its byte size has been checked against the bytes that remain. So a
//! hostile file costs at most its own size plus a small constant, and a wrong one gives an
//! error that names it, never a panic.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};

use crate::engine::config;
use crate::engine::hyper::{Best, Selection};
use crate::engine::nn::{Activation, Layer};
use crate::protocol::Position;

pub const MAGIC: [u8; 8] = *b"RELUTUIC";
pub const VERSION: u32 = 2;
/// The oldest version read: it lacks the per-network settings and the model selection.
pub const OLDEST_VERSION: u32 = 1;
/// Magic, version, payload length and CRC.
pub const HEADER_BYTES: usize = 24;
/// At most one network per activation.
pub const MAX_NETWORKS: usize = Activation::ALL.len();
/// Deeper networks are refused by `--hidden` too: the format keeps its bookkeeping bounded.
pub const MAX_HIDDEN_LAYERS: usize = config::MAX_HIDDEN_LAYERS;
/// In the dead-unit tracker: the unit was never seen on.
pub const NEVER_ON: u64 = u64::MAX;
/// Marks the optional pre-training section after the last network.
pub const PRETRAIN_TAG: u8 = 0x50;

/// The run-wide part of a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRun {
    /// The dataset's name (`DatasetKind::name`).
    pub dataset: String,
    /// `--data-dir` of the saved run, when it had one and it was UTF-8.
    pub data_dir: Option<String>,
    pub input_dim: usize,
    pub classes: usize,
    pub train_examples: usize,
    pub hidden: Vec<usize>,
    pub batch_size: usize,
    /// The epoch target (`--epochs`), if any.
    pub epochs: Option<usize>,
    /// The seed the run started with: it fixes the claims probe.
    pub config_seed: u64,
    /// The seed of the current networks (changed by re-initialisation): it fixes the order.
    pub seed: u64,
    /// The first network's learning rate and L1 penalty (each network's own are in
    /// [`SavedNet`]).
    pub lr: f32,
    pub l1: f32,
    pub position: Position,
    /// `--patience` of the saved run.
    pub patience: Option<usize>,
}

/// One network's state. The weights are borrowed when saving (a save copies no network) and
/// owned when loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedNet<'a> {
    pub activation: Activation,
    pub layers: Cow<'a, [Layer]>,
    /// The state a divergence rolls back to, when it differs from `layers`.
    pub last_good: Option<Cow<'a, [Layer]>>,
    pub diverged: bool,
    /// Sums over the current epoch's batches so far (the epoch report's loss is their mean).
    pub epoch_loss: f64,
    pub epoch_l1: f64,
    pub epoch_batches: u64,
    /// Dead-unit tracker: per hidden layer and unit, the last epoch the unit was on, or
    /// [`NEVER_ON`]. Kept as on disk so that reading costs no more memory than the file.
    pub dead_last_on: Vec<Vec<u64>>,
    pub dead_measured_at: Option<usize>,
    /// This network's own learning rate and L1 penalty.
    pub lr: f32,
    pub l1: f32,
    /// Model selection: best epoch so far, epochs since, stopped by `--patience`.
    pub selection: Selection,
}

/// A whole checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint<'a> {
    pub run: SavedRun,
    pub nets: Vec<SavedNet<'a>>,
    /// The pre-training phase, while it is going on (see [`SavedPretrain`]).
    pub pretrain: Option<SavedPretrain<'a>>,
}

/// A run in its pre-training phase (`--pretrain`): where it is and every network's decoder.
/// Written after the last network, only while the phase lasts, so that files without it are
/// read as before.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPretrain<'a> {
    /// Epochs per layer, and the phase's learning rate.
    pub epochs: usize,
    pub lr: f32,
    /// Hidden layer being pre-trained (from 0), the epoch of it done, the batch in that epoch.
    pub layer: usize,
    pub epoch: usize,
    pub batch: usize,
    pub step: u64,
    /// One per network, in the order of `nets`.
    pub nets: Vec<SavedPretrainNet<'a>>,
}

/// One network's decoder and its running epoch sums.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPretrainNet<'a> {
    /// `code × input` of the layer being pre-trained.
    pub decoder: Cow<'a, Layer>,
    pub epoch_reconstruction: f64,
    pub epoch_l1: f64,
    pub epoch_batches: u64,
}

/// What is wrong with a checkpoint's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not a relutui checkpoint (bad magic number)")]
    Magic,
    #[error(
        "checkpoint format version {0} is not supported (this relutui reads versions \
         {OLDEST_VERSION} to {VERSION})"
    )]
    Version(u32),
    #[error(
        "truncated or padded: the header declares {declared} bytes of data but {found} follow"
    )]
    Length { declared: u64, found: u64 },
    #[error("truncated: the file is {0} bytes, shorter than the {HEADER_BYTES}-byte header")]
    ShortHeader(usize),
    #[error("corrupt: the checksum does not match the contents")]
    Checksum,
    #[error("corrupt: {0}")]
    Invalid(String),
}

/// Why a checkpoint could not be read, written or used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{file}: cannot read the checkpoint: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: cannot write the checkpoint: {reason}")]
    Write { file: String, reason: String },
    #[error("{file}: {problem}")]
    Format { file: String, problem: FormatError },
    #[error("{file}: cannot resume from it: {problem}")]
    Mismatch { file: String, problem: String },
}

/// Why a checkpoint does not fit the run it should continue (other data, widths, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub String);

impl CheckpointError {
    fn read(path: &Path, e: &io::Error) -> Self {
        CheckpointError::Read {
            file: path.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn write(path: &Path, e: &io::Error) -> Self {
        CheckpointError::Write {
            file: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

impl Checkpoint<'_> {
    /// Reads and checks the checkpoint at `path`. The 24-byte header is read and checked
    /// first (magic, version, declared length against the file's length), so a file that is
    /// not a checkpoint, or is truncated or padded, costs a few bytes to refuse, whatever its
    /// size; only then is the payload read, into one buffer of its checked size.
    pub fn load(path: &Path) -> Result<Checkpoint<'static>, CheckpointError> {
        if let Some(why) = crate::os::paths::not_a_readable_file(path) {
            return Err(CheckpointError::Read {
                file: path.display().to_string(),
                reason: why,
            });
        }
        let format = |problem| CheckpointError::Format {
            file: path.display().to_string(),
            problem,
        };
        let mut file = File::open(path).map_err(|e| CheckpointError::read(path, &e))?;
        let len = file
            .metadata()
            .map_err(|e| CheckpointError::read(path, &e))?
            .len();
        let mut header = [0u8; HEADER_BYTES];
        let got =
            read_up_to(&mut file, &mut header).map_err(|e| CheckpointError::read(path, &e))?;
        check_header(&header[..got], len.saturating_sub(HEADER_BYTES as u64)).map_err(format)?;
        // Read at most one byte past the length the file system reported: a file that grows
        // while it is read is refused by the length check, and nothing grows without end.
        let payload_len = usize::try_from(len - HEADER_BYTES as u64).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(HEADER_BYTES + payload_len + 1);
        bytes.extend_from_slice(&header);
        file.take(len - HEADER_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CheckpointError::read(path, &e))?;
        Checkpoint::decode(&bytes).map_err(format)
    }

    /// Writes the checkpoint to `path` atomically (see [`write_atomic`]).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        write_atomic(path, &self.encode()).map_err(|e| CheckpointError::write(path, &e))
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        // One buffer of the final size, header first (its length and checksum are filled in
        // last): the weights are most of the file, and a payload grown by doubling and then
        // copied behind a header would be up to three copies of them at once.
        let floats: usize = self
            .nets
            .iter()
            .flat_map(|n| {
                n.layers
                    .iter()
                    .chain(n.last_good.iter().flat_map(|l| l.iter()))
            })
            .map(|l| l.weights.len() + l.bias.len())
            .sum();
        let units: usize = self.run.hidden.iter().sum();
        let mut w = Writer(Vec::with_capacity(
            HEADER_BYTES + 4 * floats + 8 * units * self.nets.len() + 1024,
        ));
        w.0.resize(HEADER_BYTES, 0);
        let r = &self.run;
        w.str(&r.dataset);
        w.opt(r.data_dir.as_ref(), |w, d| w.str(d));
        w.u64(r.input_dim as u64);
        w.u64(r.classes as u64);
        w.u64(r.train_examples as u64);
        w.u32(r.hidden.len() as u32);
        for &h in &r.hidden {
            w.u64(h as u64);
        }
        w.u64(r.batch_size as u64);
        w.opt(r.epochs.as_ref(), |w, &e| w.u64(e as u64));
        w.u64(r.config_seed);
        w.u64(r.seed);
        w.f32(r.lr);
        w.f32(r.l1);
        w.u64(r.position.epoch as u64);
        w.u64(r.position.batch as u64);
        w.u64(r.position.step);
        w.u32(self.nets.len() as u32);
        for n in &self.nets {
            let code = Activation::ALL
                .iter()
                .position(|&a| a == n.activation)
                .unwrap_or_default();
            w.u8(code as u8);
            w.u8(u8::from(n.diverged));
            w.f64(n.epoch_loss);
            w.f64(n.epoch_l1);
            w.u64(n.epoch_batches);
            w.layers(&n.layers);
            w.opt(n.last_good.as_ref(), |w, l| w.layers(l));
            w.opt(n.dead_measured_at.as_ref(), |w, &m| w.u64(m as u64));
            for layer in &n.dead_last_on {
                for &u in layer {
                    w.u64(u);
                }
            }
        }
        for n in &self.nets {
            w.f32(n.lr);
            w.f32(n.l1);
            let best = n
                .selection
                .best
                .map(|b| (b.epoch, b.valid_error, b.test_error));
            w.opt(best.as_ref(), |w, &(e, v, t)| {
                w.u64(e as u64);
                w.f64(v);
                w.f64(t);
            });
            w.u64(n.selection.since_best as u64);
            w.u8(u8::from(n.selection.stopped));
        }
        w.opt(r.patience.as_ref(), |w, &p| w.u64(p as u64));
        if let Some(p) = &self.pretrain {
            // The section's tag, then its fields (see `Reader::pretrain`).
            w.u8(PRETRAIN_TAG);
            w.u64(p.epochs as u64);
            w.f32(p.lr);
            w.u64(p.layer as u64);
            w.u64(p.epoch as u64);
            w.u64(p.batch as u64);
            w.u64(p.step);
            for n in &p.nets {
                w.layers(std::slice::from_ref(&*n.decoder));
                w.f64(n.epoch_reconstruction);
                w.f64(n.epoch_l1);
                w.u64(n.epoch_batches);
            }
        }
        let mut out = w.0;
        let (header, payload) = out.split_at_mut(HEADER_BYTES);
        let length = payload.len() as u64;
        let crc = crc32fast::hash(payload);
        header.copy_from_slice(
            &[
                &MAGIC[..],
                &VERSION.to_le_bytes(),
                &length.to_le_bytes(),
                &crc.to_le_bytes(),
            ]
            .concat(),
        );
        out
    }

    /// Parses and checks a checkpoint's bytes. Never panics, and never allocates more than
    /// the bytes given plus a small constant.
    pub fn decode(bytes: &[u8]) -> Result<Checkpoint<'static>, FormatError> {
        check_header(bytes, bytes.len().saturating_sub(HEADER_BYTES) as u64)?;
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(8);
        let payload = &bytes[HEADER_BYTES..];
        if crc32fast::hash(payload) != word(20) {
            return Err(FormatError::Checksum);
        }
        let mut r = Reader { rest: payload };
        let mut ck = r.checkpoint()?;
        if version >= 2 {
            r.selection(&mut ck)?;
        }
        if !r.rest.is_empty() && r.rest[0] == PRETRAIN_TAG {
            r.rest = &r.rest[1..];
            ck.pretrain = Some(r.pretrain(&ck)?);
        }
        if !r.rest.is_empty() {
            return Err(invalid(format!(
                "{} unexpected bytes after the last network",
                r.rest.len()
            )));
        }
        Ok(ck)
    }
}

/// Checks the container header (`head`: the file's first bytes, up to [`HEADER_BYTES`]) against
/// the number of payload bytes that follow it.
fn check_header(head: &[u8], found: u64) -> Result<(), FormatError> {
    if head.len() < MAGIC.len() || head[..MAGIC.len()] != MAGIC {
        return Err(FormatError::Magic);
    }
    if head.len() < HEADER_BYTES {
        return Err(FormatError::ShortHeader(head.len()));
    }
    let word = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let version = word(8);
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(FormatError::Version(version));
    }
    let declared = u64::from(word(12)) | (u64::from(word(16)) << 32);
    if declared != found {
        return Err(FormatError::Length { declared, found });
    }
    Ok(())
}

/// Fills as much of `buf` as the reader has.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn invalid(msg: impl Into<String>) -> FormatError {
    FormatError::Invalid(msg.into())
}

/// Little-endian encoder.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
    fn layers(&mut self, layers: &[Layer]) {
        for l in layers {
            self.0.reserve(4 * (l.weights.len() + l.bias.len()));
            for &v in &l.weights {
                self.f32(v);
            }
            for &v in &l.bias {
                self.f32(v);
            }
        }
    }
}

/// Little-endian decoder over the checked payload. Every read checks the bytes that remain
/// first, so nothing is allocated for data the file does not hold.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        if n > self.rest.len() {
            return Err(invalid(format!(
                "the data ends inside {what} ({n} bytes needed, {} left)",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        self.array(what).map(u32::from_le_bytes)
    }
    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        self.array(what).map(u64::from_le_bytes)
    }
    fn f32(&mut self, what: &str) -> Result<f32, FormatError> {
        self.array(what).map(f32::from_le_bytes)
    }
    fn f64(&mut self, what: &str) -> Result<f64, FormatError> {
        self.array(what).map(f64::from_le_bytes)
    }

    /// A `u64` that must fit `usize` and lie in `range`.
    fn count(
        &mut self,
        what: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<usize, FormatError> {
        let v = self.u64(what)?;
        if !range.contains(&v) {
            return Err(invalid(format!(
                "{what} is {v}, outside {}..={}",
                range.start(),
                range.end()
            )));
        }
        usize::try_from(v).map_err(|_| invalid(format!("{what} {v} is too large")))
    }

    fn flag(&mut self, what: &str) -> Result<bool, FormatError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(invalid(format!("{what} is {b}, expected 0 or 1"))),
        }
    }

    fn str(&mut self, what: &str) -> Result<String, FormatError> {
        let n = self.u32(what)? as usize;
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| invalid(format!("{what} is not UTF-8")))
    }

    /// `n` floats; `n` comes from shapes already checked, and is checked against the bytes left
    /// before anything is allocated.
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, FormatError> {
        let bytes = n
            .checked_mul(4)
            .ok_or_else(|| invalid(format!("{what} is too large")))?;
        let raw = self.take(bytes, what)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    fn layers(&mut self, sizes: &[usize]) -> Result<Vec<Layer>, FormatError> {
        sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let n = fan_in
                    .checked_mul(fan_out)
                    .ok_or_else(|| invalid("layer size overflows"))?;
                let weights = self.f32s(n, &format!("the weights of layer {}", i + 1))?;
                let bias = self.f32s(fan_out, &format!("the biases of layer {}", i + 1))?;
                Ok(Layer {
                    weights: Array2::from_shape_vec((fan_in, fan_out), weights)
                        .map_err(|e| invalid(e.to_string()))?,
                    bias: Array1::from(bias),
                })
            })
            .collect()
    }

    fn checkpoint(&mut self) -> Result<Checkpoint<'static>, FormatError> {
        let max_width = config::MAX_WIDTH as u64;
        let dataset = self.str("the dataset name")?;
        let data_dir = if self.flag("the data-dir flag")? {
            Some(self.str("the data dir")?)
        } else {
            None
        };
        // Inputs and classes bound the first and last layers, as the widths bound the rest.
        let input_dim = self.count("the input width", 1..=max_width)?;
        let classes = self.count("the number of classes", 2..=256)?;
        let train_examples = self.count("the number of training examples", 1..=u64::MAX)?;
        let layers = self.u32("the number of hidden layers")? as usize;
        if !(1..=MAX_HIDDEN_LAYERS).contains(&layers) {
            return Err(invalid(format!(
                "{layers} hidden layers (1 to {MAX_HIDDEN_LAYERS} allowed)"
            )));
        }
        let hidden = (0..layers)
            .map(|_| self.count("a hidden width", 1..=max_width))
            .collect::<Result<Vec<_>, _>>()?;
        let batch_size = self.count("the batch size", 1..=u64::MAX)?;
        let epochs = if self.flag("the epochs flag")? {
            Some(self.count("the epoch target", 1..=u64::MAX)?)
        } else {
            None
        };
        let config_seed = self.u64("the run's seed")?;
        let seed = self.u64("the networks' seed")?;
        let lr = self.f32("the learning rate")?;
        let l1 = self.f32("the L1 penalty")?;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(invalid(format!("learning rate {lr}")));
        }
        if !(l1.is_finite() && l1 >= 0.0) {
            return Err(invalid(format!("L1 penalty {l1}")));
        }
        let position = Position {
            epoch: self.count("the epoch", 0..=u64::MAX)?,
            batch: self.count("the batch", 0..=u64::MAX)?,
            step: self.u64("the step")?,
        };
        let nets = self.u32("the number of networks")? as usize;
        if !(1..=MAX_NETWORKS).contains(&nets) {
            return Err(invalid(format!(
                "{nets} networks (1 to {MAX_NETWORKS} allowed)"
            )));
        }
        let mut sizes = Vec::with_capacity(layers + 2);
        sizes.push(input_dim);
        sizes.extend_from_slice(&hidden);
        sizes.push(classes);
        let mut saved = Vec::with_capacity(nets);
        for i in 0..nets {
            let code = self.u8("an activation")?;
            let activation = *Activation::ALL
                .get(usize::from(code))
                .ok_or_else(|| invalid(format!("unknown activation code {code}")))?;
            if saved
                .iter()
                .any(|n: &SavedNet<'_>| n.activation == activation)
            {
                return Err(invalid(format!("network {activation} appears twice")));
            }
            let diverged = self.flag("a divergence flag")?;
            let epoch_loss = self.f64("an epoch loss sum")?;
            let epoch_l1 = self.f64("an epoch L1 sum")?;
            let epoch_batches = self.u64("an epoch batch count")?;
            let layers_now = self.layers(&sizes)?;
            let last_good = if self.flag("a last-good flag")? {
                Some(self.layers(&sizes)?)
            } else {
                None
            };
            let dead_measured_at = if self.flag("a measurement flag")? {
                Some(self.count("a measurement epoch", 0..=u64::MAX)?)
            } else {
                None
            };
            let mut dead_last_on = Vec::with_capacity(hidden.len());
            for &w in &hidden {
                // Eight bytes a unit: checked before the vector is made.
                if w.saturating_mul(8) > self.rest.len() {
                    return Err(invalid(format!(
                        "the data ends inside network {}'s dead-unit record",
                        i + 1
                    )));
                }
                let mut units = Vec::with_capacity(w);
                for _ in 0..w {
                    units.push(self.u64("a dead-unit record")?);
                }
                dead_last_on.push(units);
            }
            saved.push(SavedNet {
                activation,
                layers: Cow::Owned(layers_now),
                last_good: last_good.map(Cow::Owned),
                diverged,
                epoch_loss,
                epoch_l1,
                epoch_batches,
                dead_last_on,
                dead_measured_at,
                lr,
                l1,
                selection: Selection::default(),
            });
        }
        Ok(Checkpoint {
            run: SavedRun {
                dataset,
                data_dir,
                input_dim,
                classes,
                train_examples,
                hidden,
                batch_size,
                epochs,
                config_seed,
                seed,
                lr,
                l1,
                position,
                patience: None,
            },
            nets: saved,
            pretrain: None,
        })
    }

    /// The pre-training section, after its tag: shapes come from the run already read.
    fn pretrain(&mut self, ck: &Checkpoint<'_>) -> Result<SavedPretrain<'static>, FormatError> {
        let hidden = &ck.run.hidden;
        let epochs = self.count("the pre-training epochs", 1..=u64::MAX)?;
        let lr = self.f32("the pre-training rate")?;
        let layer = self.count("the pre-training layer", 0..=(hidden.len() as u64 - 1))?;
        let epoch = self.count("the pre-training epoch", 0..=(epochs as u64 - 1))?;
        let batch = self.count("the pre-training batch", 0..=u64::MAX)?;
        let step = self.u64("the pre-training step")?;
        let input = if layer == 0 {
            ck.run.input_dim
        } else {
            hidden[layer - 1]
        };
        let mut nets = Vec::with_capacity(ck.nets.len());
        for _ in 0..ck.nets.len() {
            let decoder = self
                .layers(&[hidden[layer], input])?
                .pop()
                .ok_or_else(|| invalid("a missing decoder"))?;
            nets.push(SavedPretrainNet {
                decoder: Cow::Owned(decoder),
                epoch_reconstruction: self.f64("a reconstruction sum")?,
                epoch_l1: self.f64("a pre-training L1 sum")?,
                epoch_batches: self.u64("a pre-training batch count")?,
            });
        }
        Ok(SavedPretrain {
            epochs,
            lr,
            layer,
            epoch,
            batch,
            step,
            nets,
        })
    }

    /// The version 2 record after the networks: each one's settings and model selection,
    /// then the run's patience.
    fn selection(&mut self, ck: &mut Checkpoint<'_>) -> Result<(), FormatError> {
        for (i, net) in ck.nets.iter_mut().enumerate() {
            let what = |f: &str| format!("network {}'s {f}", i + 1);
            net.lr = self.f32(&what("learning rate"))?;
            net.l1 = self.f32(&what("L1 penalty"))?;
            if !(net.lr.is_finite() && net.lr > 0.0) {
                return Err(invalid(format!("{} {}", what("learning rate"), net.lr)));
            }
            if !(net.l1.is_finite() && net.l1 >= 0.0) {
                return Err(invalid(format!("{} {}", what("L1 penalty"), net.l1)));
            }
            let best = if self.flag(&what("best-epoch flag"))? {
                let epoch = self.count(&what("best epoch"), 1..=u64::MAX)?;
                let valid_error = self.f64(&what("best validation error"))?;
                let test_error = self.f64(&what("test error at the best epoch"))?;
                if ![valid_error, test_error]
                    .iter()
                    .all(|e| (0.0..=1.0).contains(e))
                {
                    return Err(invalid(what("best-epoch errors are not rates")));
                }
                Some(Best {
                    epoch,
                    valid_error,
                    test_error,
                })
            } else {
                None
            };
            let since_best = self.count(&what("epochs since the best"), 0..=u64::MAX)?;
            let stopped = self.flag(&what("stopped flag"))?;
            net.selection = Selection {
                best,
                since_best,
                stopped,
            };
        }
        ck.run.patience = if self.flag("the patience flag")? {
            Some(self.count("the patience", 1..=u64::MAX)?)
        } else {
            None
        };
        Ok(())
    }
}

/// A fresh temporary name beside `path` for one save: `.NAME.PID-N.tmp`. Unique per process
/// and per save, so two processes (or two saves) never write the same temporary file.
pub fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "checkpoint".into(), |n| n.to_string_lossy().into_owned());
    let n = SAVES.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` so that a crash at any moment leaves either the old file or
/// the new one, never a mix: write a temporary file in the same directory, fsync it, rename
/// it over `path`, then fsync the directory so that the rename itself is durable. Only a
/// regular file (or a new name) is replaced: a FIFO, device node, socket or directory at
/// `path` is an error and stays as it is; a symbolic link to a regular file is followed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_inner(path, bytes, None)
}

/// [`write_atomic`] with a crash injected after `written` bytes of the temporary file: it
/// stops there as a killed process would, leaving the partial temporary file and never
/// renaming. For tests of crash safety.
#[doc(hidden)]
pub fn write_atomic_crashing_after(path: &Path, bytes: &[u8], written: usize) -> io::Result<()> {
    write_atomic_inner(path, bytes, Some(written))
}

fn write_atomic_inner(path: &Path, bytes: &[u8], crash_after: Option<usize>) -> io::Result<()> {
    let path = &crate::os::paths::replaceable_target(path).map_err(io::Error::other)?;
    let tmp = temp_path(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let result = (|| {
        if let Some(n) = crash_after {
            file.write_all(&bytes[..n.min(bytes.len())])?;
            return Err(io::Error::other("injected crash"));
        }
        file.write_all(bytes)?;
        file.sync_all()
    })();
    drop(file);
    if crash_after.is_some() {
        return result;
    }
    if let Err(e) = result.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_dir(path))
}

/// Makes a rename in `dir` durable. File systems that cannot fsync a directory say so with
/// `EINVAL`; that is no reason to fail a save.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Checks before a run starts that checkpoints can be written to `path`: it is a regular file
/// or a new name (not a directory, FIFO, device or socket, and not spelt with a trailing `/`),
/// and its directory exists and takes a new file.
pub fn check_writable(path: &Path) -> Result<(), CheckpointError> {
    let fail = |reason: String| CheckpointError::Write {
        file: path.display().to_string(),
        reason,
    };
    let target = crate::os::paths::replaceable_target(path).map_err(fail)?;
    let dir = parent_dir(&target);
    if !dir.is_dir() {
        return Err(fail(format!("{} is not a directory", dir.display())));
    }
    let tmp = temp_path(&target);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| fail(e.to_string()))?;
    let _ = fs::remove_file(&tmp);
    Ok(())
}

/// Takes the lock that keeps a second relutui off the checkpoint at `path` (a `.NAME.lock`
/// file beside it, see [`crate::os::lock`]). Held for the whole run.
pub fn lock(path: &Path) -> Result<crate::os::lock::Lock, crate::os::lock::LockError> {
    let target = crate::os::paths::replaceable_target(path).unwrap_or_else(|_| path.to_path_buf());
    crate::os::lock::Lock::exclusive(
        &crate::os::lock::Lock::path_beside(&target),
        &path.display().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Checkpoint<'static> {
        let layer = |i: usize, o: usize, k: f32| Layer {
            weights: Array2::from_shape_fn((i, o), |(r, c)| k + r as f32 - 0.5 * c as f32),
            bias: Array1::from_shape_fn(o, |c| k * c as f32),
        };
        let layers = |k| vec![layer(4, 3, k), layer(3, 2, k), layer(2, 2, k)];
        Checkpoint {
            run: SavedRun {
                dataset: "mnist10k".into(),
                data_dir: Some("/data/mnist".into()),
                input_dim: 4,
                classes: 2,
                train_examples: 100,
                hidden: vec![3, 2],
                batch_size: 10,
                epochs: Some(5),
                config_seed: 7,
                seed: 8,
                lr: 0.1,
                l1: 0.001,
                position: Position {
                    epoch: 2,
                    batch: 3,
                    step: 23,
                },
                patience: Some(4),
            },
            nets: vec![
                SavedNet {
                    activation: Activation::Rectifier,
                    layers: layers(1.0).into(),
                    last_good: Some(layers(2.0).into()),
                    diverged: false,
                    epoch_loss: 1.25,
                    epoch_l1: 0.5,
                    epoch_batches: 3,
                    dead_last_on: vec![vec![2, NEVER_ON, 0], vec![1, 2]],
                    dead_measured_at: Some(2),
                    lr: 0.1,
                    l1: 0.001,
                    selection: Selection {
                        best: Some(Best {
                            epoch: 2,
                            valid_error: 0.25,
                            test_error: 0.5,
                        }),
                        since_best: 0,
                        stopped: false,
                    },
                },
                SavedNet {
                    activation: Activation::Tanh,
                    layers: layers(-1.0).into(),
                    last_good: None,
                    diverged: true,
                    epoch_loss: 0.0,
                    epoch_l1: 0.0,
                    epoch_batches: 0,
                    dead_last_on: vec![vec![NEVER_ON; 3], vec![NEVER_ON; 2]],
                    dead_measured_at: None,
                    lr: 0.05,
                    l1: 0.0,
                    selection: Selection {
                        best: Some(Best {
                            epoch: 1,
                            valid_error: 0.5,
                            test_error: 0.75,
                        }),
                        since_best: 1,
                        stopped: true,
                    },
                },
            ],
            pretrain: None,
        }
    }

    #[test]
    fn the_pretraining_section_round_trips_and_is_checked() {
        let mut ck = sample();
        let decoder = |k: f32| Layer {
            weights: Array2::from_shape_fn((3, 4), |(r, c)| k * (r + 2 * c) as f32),
            bias: Array1::from_elem(4, k),
        };
        ck.pretrain = Some(SavedPretrain {
            epochs: 5,
            lr: 0.01,
            layer: 0,
            epoch: 4,
            batch: 2,
            step: 42,
            nets: vec![
                SavedPretrainNet {
                    decoder: Cow::Owned(decoder(1.0)),
                    epoch_reconstruction: 3.5,
                    epoch_l1: 0.25,
                    epoch_batches: 2,
                },
                SavedPretrainNet {
                    decoder: Cow::Owned(decoder(-2.0)),
                    epoch_reconstruction: 0.0,
                    epoch_l1: 0.0,
                    epoch_batches: 0,
                },
            ],
        });
        let bytes = ck.encode();
        assert_eq!(Checkpoint::decode(&bytes).unwrap(), ck);
        // Without the section the file is the plain one, byte for byte.
        let plain = sample().encode();
        assert_eq!(&bytes[HEADER_BYTES..plain.len()], &plain[HEADER_BYTES..]);
        // A section cut short, or one whose epoch is past its epochs, is refused.
        let reseal = |mut payload: Vec<u8>| {
            let mut out = MAGIC.to_vec();
            out.extend_from_slice(&VERSION.to_le_bytes());
            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            out.append(&mut payload);
            out
        };
        let payload = bytes[HEADER_BYTES..].to_vec();
        let cut = reseal(payload[..payload.len() - 9].to_vec());
        assert!(matches!(
            Checkpoint::decode(&cut),
            Err(FormatError::Invalid(_))
        ));
        if let Some(p) = ck.pretrain.as_mut() {
            p.epoch = 5;
        }
        let err = Checkpoint::decode(&ck.encode()).unwrap_err().to_string();
        assert!(err.contains("pre-training epoch"), "{err}");
    }

    #[test]
    fn encoding_fills_one_buffer_sized_up_front() {
        // Default-sized networks: had the buffer grown by doubling, its capacity would be far
        // past the file's length.
        let mut ck = sample();
        let big = |k: f32| {
            [(784, 1000), (1000, 1000), (1000, 10)]
                .iter()
                .map(|&(i, o)| Layer {
                    weights: Array2::from_elem((i, o), k),
                    bias: Array1::from_elem(o, k),
                })
                .collect::<Vec<_>>()
        };
        (ck.run.input_dim, ck.run.classes) = (784, 10);
        ck.run.hidden = vec![1000, 1000];
        for (n, k) in ck.nets.iter_mut().zip([1.0, 2.0]) {
            n.layers = big(k).into();
            n.dead_last_on = vec![vec![NEVER_ON; 1000]; 2];
        }
        ck.nets[0].last_good = Some(big(3.0).into());
        let bytes = ck.encode();
        assert!(bytes.len() > 3 * 4 * 1_794_000);
        assert!(
            bytes.capacity() - bytes.len() <= 1024,
            "{}",
            bytes.capacity()
        );
        assert_eq!(Checkpoint::decode(&bytes).unwrap(), ck);
    }

    /// Version 1 files (before per-network settings and model selection) still resume: every
    /// network gets the run's lr and l1, and nothing is selected or stopped yet.
    #[test]
    fn version_1_files_are_read() {
        let mut ck = sample();
        for n in &mut ck.nets {
            n.selection.best = None;
        }
        ck.run.patience = None;
        let v2 = ck.encode();
        // The version 2 record: per network lr, l1, best flag (no best), since_best,
        // stopped; then the patience flag.
        let tail = ck.nets.len() * (4 + 4 + 1 + 8 + 1) + 1;
        let payload = &v2[HEADER_BYTES..v2.len() - tail];
        let mut v1 = MAGIC.to_vec();
        v1.extend_from_slice(&1u32.to_le_bytes());
        v1.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        v1.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        v1.extend_from_slice(payload);
        let old = Checkpoint::decode(&v1).unwrap();
        for n in &old.nets {
            assert_eq!((n.lr, n.l1), (ck.run.lr, ck.run.l1));
            assert_eq!(n.selection, Selection::default());
        }
        assert_eq!(old.run.patience, None);
        assert_eq!(old.nets[0].layers, ck.nets[0].layers);
    }

    #[test]
    fn round_trips() {
        let ck = sample();
        let bytes = ck.encode();
        assert_eq!(&bytes[..8], b"RELUTUIC");
        assert_eq!(Checkpoint::decode(&bytes), Ok(ck));
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_an_error() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(Checkpoint::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            assert!(Checkpoint::decode(&b).is_err(), "flipped byte {i}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Checkpoint::decode(&longer),
            Err(FormatError::Length { .. })
        ));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let mut bytes = sample().encode();
        bytes[8] = 9;
        assert_eq!(
            Checkpoint::decode(&bytes).unwrap_err().to_string(),
            "checkpoint format version 9 is not supported (this relutui reads versions 1 to 2)"
        );
        assert_eq!(
            Checkpoint::decode(b"{\"json\": true}"),
            Err(FormatError::Magic)
        );
        let mut bytes = sample().encode();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(Checkpoint::decode(&bytes), Err(FormatError::Checksum));
    }

    /// A payload with a valid checksum but hostile contents: still an error, not a panic.
    #[test]
    fn hostile_payloads_with_valid_checksums() {
        let reframe = |payload: &[u8]| {
            let mut out = MAGIC.to_vec();
            out.extend_from_slice(&VERSION.to_le_bytes());
            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            out.extend_from_slice(payload);
            out
        };
        let good = sample().encode();
        let payload = &good[HEADER_BYTES..];
        // Huge string length, huge widths, absurd counts.
        let mut p = payload.to_vec();
        p[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Checkpoint::decode(&reframe(&p)).is_err());
        let mut p = payload.to_vec();
        // dataset str (4 + 8), data_dir opt (1 + 4 + 11): the input width follows.
        let at = 4 + 8 + 1 + 4 + "/data/mnist".len();
        p[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = Checkpoint::decode(&reframe(&p)).unwrap_err().to_string();
        assert!(err.contains("input width"), "{err}");
        p[at..at + 8].copy_from_slice(&(config::MAX_WIDTH as u64).to_le_bytes());
        let err = Checkpoint::decode(&reframe(&p)).unwrap_err().to_string();
        assert!(err.contains("ends inside"), "{err}");
        for cut in 0..payload.len() {
            assert!(Checkpoint::decode(&reframe(&payload[..cut])).is_err());
        }
    }

    #[test]
    fn atomic_write_replaces_and_a_crash_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.ckpt");
        let old = sample();
        old.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), old);
        let mut new = sample();
        new.run.position.step = 99;
        let bytes = new.encode();
        for at in [0, 1, HEADER_BYTES, bytes.len() / 2, bytes.len() - 1] {
            assert!(write_atomic_crashing_after(&path, &bytes, at).is_err());
            assert_eq!(
                temp_files(dir.path()).len(),
                1,
                "the crash leaves its temp file"
            );
            for t in temp_files(dir.path()) {
                fs::remove_file(t).unwrap();
            }
            assert_eq!(
                Checkpoint::load(&path).unwrap(),
                old,
                "crash after {at} bytes"
            );
        }
        new.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), new);
        assert!(temp_files(dir.path()).is_empty());
    }

    fn temp_files(dir: &Path) -> Vec<PathBuf> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn temporary_names_are_unique_per_save() {
        let p = Path::new("/x/run.ckpt");
        let (a, b) = (temp_path(p), temp_path(p));
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!(".run.ckpt.{}-", std::process::id())),
            "{name}"
        );
    }

    #[test]
    fn a_fifo_a_directory_or_a_trailing_slash_is_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let err = check_writable(&fifo).unwrap_err().to_string();
            assert!(err.contains("FIFO"), "{err}");
            let err = sample().save(&fifo).unwrap_err().to_string();
            assert!(err.contains("FIFO"), "{err}");
            assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        } else {
            eprintln!("skipped the FIFO case: mkfifo is not available here");
        }
        // A character device made by the test itself (needs CAP_MKNOD: root in most sandboxes).
        let dev = dir.path().join("null-like");
        let made = std::process::Command::new("mknod")
            .arg(&dev)
            .args(["c", "1", "3"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let err = sample().save(&dev).unwrap_err().to_string();
            assert!(err.contains("character device"), "{err}");
            assert!(fs::symlink_metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device());
        } else {
            eprintln!("skipped the device case: mknod is not allowed here");
        }
        let slash = PathBuf::from(format!("{}/", dir.path().join("sub").display()));
        let err = check_writable(&slash).unwrap_err().to_string();
        assert!(err.contains("'/'"), "{err}");
        assert!(check_writable(dir.path()).is_err());
        // Through a link, the file it points to is replaced and the link stays.
        let real = dir.path().join("real.ckpt");
        let link = dir.path().join("link.ckpt");
        fs::write(&real, b"the old file").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        sample().save(&link).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(Checkpoint::load(&real).unwrap(), sample());
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.ckpt");
        let err = Checkpoint::load(&missing).unwrap_err().to_string();
        assert!(err.contains("nope.ckpt"), "{err}");
        let junk = dir.path().join("junk.ckpt");
        fs::write(&junk, b"hello").unwrap();
        let err = Checkpoint::load(&junk).unwrap_err().to_string();
        assert!(err.contains("junk.ckpt") && err.contains("magic"), "{err}");
        let err = Checkpoint::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn writability_is_checked_up_front() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(&dir.path().join("ok.ckpt")).is_ok());
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(&dir.path().join("no/such/dir/x.ckpt")).is_err());
    }
}
