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
use std::io;
use std::path::Path;

use crate::engine::config;
use crate::engine::hyper::Selection;
use crate::engine::nn::{Activation, Layer};
use crate::protocol::Position;

mod codec;
mod file;
mod writer;

pub use file::{check_writable, lock, temp_path, write_atomic, write_atomic_crashing_after};

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
    /// The seed the run started with: it fixes the claims subset.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::hyper::Best;
    use ndarray::{Array1, Array2};
    use std::fs;
    use std::path::PathBuf;

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

    /// A file whose settings break a run's rules (an edited or foreign checkpoint: the
    /// checksum matches) is refused by the rules of [`crate::engine::config`], naming the
    /// setting and the rule.
    #[test]
    fn settings_that_break_the_run_rules_are_refused_with_the_rule() {
        type Edit = fn(&mut Checkpoint<'static>);
        let with_pretrain = |ck: &mut Checkpoint<'static>, lr: f32| {
            let decoder = Layer {
                weights: Array2::zeros((3, 4)),
                bias: Array1::zeros(4),
            };
            ck.pretrain = Some(SavedPretrain {
                epochs: 2,
                lr,
                layer: 0,
                epoch: 0,
                batch: 0,
                step: 0,
                nets: (0..ck.nets.len())
                    .map(|_| SavedPretrainNet {
                        decoder: Cow::Owned(decoder.clone()),
                        epoch_reconstruction: 0.0,
                        epoch_l1: 0.0,
                        epoch_batches: 0,
                    })
                    .collect(),
            });
        };
        let cases: [(Edit, &str); 9] = [
            (
                |ck| ck.run.batch_size = 0,
                "the batch size must be at least 1",
            ),
            (
                |ck| ck.run.batch_size = config::MAX_BATCH_SIZE + 1,
                "the batch size 1000000001 is above the limit",
            ),
            (
                |ck| ck.run.lr = 0.0,
                "the learning rate must be a finite number above 0",
            ),
            (
                |ck| ck.run.lr = f32::NAN,
                "the learning rate must be a finite number above 0, got NaN",
            ),
            (
                |ck| ck.run.l1 = -1.0,
                "the L1 penalty must be a finite number of at least 0",
            ),
            (
                |ck| ck.nets[1].lr = -0.5,
                "network 2's learning rate must be a finite number above 0",
            ),
            (
                |ck| ck.nets[0].l1 = f32::INFINITY,
                "network 1's L1 penalty must be",
            ),
            (
                |ck| {
                    let decoder = Layer {
                        weights: Array2::zeros((3, 4)),
                        bias: Array1::zeros(4),
                    };
                    ck.pretrain = Some(SavedPretrain {
                        epochs: 2,
                        lr: f32::NAN,
                        layer: 0,
                        epoch: 0,
                        batch: 0,
                        step: 0,
                        nets: vec![
                            SavedPretrainNet {
                                decoder: Cow::Owned(decoder.clone()),
                                epoch_reconstruction: 0.0,
                                epoch_l1: 0.0,
                                epoch_batches: 0,
                            };
                            2
                        ],
                    });
                },
                "the pre-training rate must be a finite number above 0, got NaN",
            ),
            (|ck| ck.run.hidden = vec![3; 0], "hidden layers"),
        ];
        for (edit, message) in cases {
            let mut ck = sample();
            edit(&mut ck);
            let err = Checkpoint::decode(&ck.encode()).unwrap_err();
            assert!(matches!(err, FormatError::Invalid(_)), "{message}: {err:?}");
            assert!(err.to_string().contains(message), "{message}: {err}");
        }
        // A rate at the edge of the rule is kept.
        let mut ck = sample();
        with_pretrain(&mut ck, f32::from_bits(1));
        ck.nets[0].l1 = 0.0;
        assert_eq!(Checkpoint::decode(&ck.encode()).unwrap(), ck);
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

    /// A save streams the file through the encoder's chunk buffer: over several chunks it
    /// writes exactly the bytes of `encode`, and loads back the same checkpoint.
    #[test]
    fn a_streamed_save_writes_the_encoded_bytes() {
        let mut ck = sample();
        let wide = 20_000;
        ck.run.input_dim = wide;
        let first = Layer {
            weights: Array2::from_shape_fn((wide, 3), |(r, c)| (r * 7 + c) as f32 * 1e-3),
            bias: Array1::from_elem(3, 0.25),
        };
        for net in &mut ck.nets {
            net.layers.to_mut()[0] = first.clone();
            if let Some(good) = net.last_good.as_mut() {
                good.to_mut()[0] = first.clone();
            }
        }
        let bytes = ck.encode();
        assert!(bytes.len() > 3 * writer::CHUNK, "{} bytes", bytes.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ckpt");
        ck.save(&path).unwrap();
        assert!(
            fs::read(&path).unwrap() == bytes,
            "the saved file differs from encode()"
        );
        assert_eq!(Checkpoint::load(&path).unwrap(), ck);
    }

    #[test]
    fn writability_is_checked_up_front() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(&dir.path().join("ok.ckpt")).is_ok());
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(&dir.path().join("no/such/dir/x.ckpt")).is_err());
    }
}
