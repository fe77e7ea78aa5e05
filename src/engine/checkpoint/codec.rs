//! The checkpoint's bytes: [`Checkpoint::encode`] and [`Checkpoint::decode`], the header
//! check, and the little-endian writer and the bounds-checked reader behind them. The layout
//! is documented in [`super`].

use super::writer::Writer;
use super::{
    Checkpoint, FormatError, SavedNet, SavedPretrain, SavedPretrainNet, SavedRun, HEADER_BYTES,
    MAGIC, MAX_HIDDEN_LAYERS, MAX_NETWORKS, OLDEST_VERSION, PRETRAIN_TAG, VERSION,
};
use crate::engine::config::{self, BatchSize, L1Penalty, LearningRate, Widths};
use crate::engine::hyper::Best;
use crate::engine::hyper::Selection;
use crate::engine::nn::Activation;
use crate::engine::nn::Layer;
use crate::protocol::Position;
use ndarray::Array1;
use ndarray::Array2;
use std::borrow::Cow;
use std::io;

impl Checkpoint<'_> {
    /// The file's bytes (for tests and small files; a save streams, see [`Self::encode_to`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = io::Cursor::new(Vec::with_capacity(self.encoded_len_hint()));
        self.encode_to(&mut out)
            .expect("writing to memory cannot fail");
        out.into_inner()
    }

    /// About how many bytes [`Self::encode`] makes: the weights are most of the file.
    fn encoded_len_hint(&self) -> usize {
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
        HEADER_BYTES + 4 * floats + 8 * units * self.nets.len() + 1024
    }

    /// Writes the file to `sink` as it is encoded, through a buffer of [`super::writer::CHUNK`] bytes: a
    /// placeholder header, the payload (checksummed on the way), then the real header over
    /// the placeholder. A save never holds the whole file (22 MB for the default networks)
    /// in memory: allocated and freed at every epoch, such a buffer raised glibc's mmap
    /// threshold and left tens of megabytes of freed heap resident.
    ///
    /// # Errors
    /// The sink's first write, seek or flush error.
    pub fn encode_to<W: io::Write + io::Seek>(&self, mut sink: W) -> io::Result<()> {
        sink.write_all(&[0u8; HEADER_BYTES])?;
        let mut w = Writer::new(sink);
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
        let (mut sink, length, crc) = w.finish()?;
        sink.seek(io::SeekFrom::Start(0))?;
        sink.write_all(
            &[
                &MAGIC[..],
                &VERSION.to_le_bytes(),
                &length.to_le_bytes(),
                &crc.to_le_bytes(),
            ]
            .concat(),
        )?;
        sink.flush()
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
pub(super) fn check_header(head: &[u8], found: u64) -> Result<(), FormatError> {
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

pub(super) fn invalid(msg: impl Into<String>) -> FormatError {
    FormatError::Invalid(msg.into())
}

/// A setting that breaks the rule a [`crate::engine::config::RunConfig`] holds it to.
fn rule(what: &str, e: config::Invalid) -> FormatError {
    invalid(format!("{what} {e}"))
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

    /// A learning rate, checked by the rule a run's `--lr` obeys.
    fn lr(&mut self, what: &str) -> Result<f32, FormatError> {
        let v = self.f32(what)?;
        LearningRate::new(v)
            .map(LearningRate::get)
            .map_err(|e| rule(what, e))
    }

    /// An L1 penalty, checked by the rule a run's `--l1` obeys.
    fn l1(&mut self, what: &str) -> Result<f32, FormatError> {
        let v = self.f32(what)?;
        L1Penalty::new(v)
            .map(L1Penalty::get)
            .map_err(|e| rule(what, e))
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
        let hidden = Widths::new(hidden)
            .map_err(|e| rule("the hidden widths", e))?
            .get()
            .to_vec();
        let batch_size = self.u64("the batch size")?;
        let batch_size = BatchSize::new(usize::try_from(batch_size).unwrap_or(usize::MAX))
            .map_err(|e| rule("the batch size", e))?
            .get();
        let epochs = if self.flag("the epochs flag")? {
            Some(self.count("the epoch target", 1..=u64::MAX)?)
        } else {
            None
        };
        let config_seed = self.u64("the run's seed")?;
        let seed = self.u64("the networks' seed")?;
        let lr = self.lr("the learning rate")?;
        let l1 = self.l1("the L1 penalty")?;
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
        let lr = self.lr("the pre-training rate")?;
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
            net.lr = self.lr(&what("learning rate"))?;
            net.l1 = self.l1(&what("L1 penalty"))?;
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
