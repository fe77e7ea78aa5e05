//! The trainer: several networks trained in lockstep on the same mini-batches from the same
//! initial weights, driven by [`Command`]s and reporting through [`Update`]s and [`Sample`]s.
//!
//! The trainer runs on its own thread ([`spawn`]). Between batches it drains commands without
//! blocking; while paused (or done) it blocks on the command channel and uses no CPU.
//!
//! Nothing is lost: with a checkpoint file ([`Trainer::with_checkpoint`]) the trainer saves
//! at every epoch end, on [`Command::Checkpoint`](crate::protocol::Command::Checkpoint) and when it stops, and
//! [`Trainer::restore`] continues a saved run so that every later number (timings aside) is
//! the same as without the interruption. A network whose loss goes non-finite, whose
//! activations explode (`|h| >` [`MAX_ACTIVATION`]) or whose weights go non-finite is
//! *diverged*: it is rolled back at once to its last good state (its weights at the latest
//! epoch end), stops training while the others go on, and reports `"diverged": true` with
//! finite numbers until [`Command::RestoreLastGood`](crate::protocol::Command::RestoreLastGood) lets it train again.
//!
//! [`Command`]: crate::protocol::Command
//! [`Sample`]: crate::protocol::Sample

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ndarray::{s, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::claims::Claims;
use crate::engine::config::RunConfig;
use crate::engine::data::{Dataset, Splits};
use crate::engine::nn::Mlp;
use crate::protocol::{NetInfo, Position, RunInfo, Update};

mod epoch;
mod net;
mod outbox;
mod pretrain_phase;
mod resume;
mod run_loop;

use net::{copy_weights, evaluation_finite, for_each_net, step_problem, weights_problem, Net};
pub use outbox::{spawn, Outbox, TrainerHandle, TrainerPanicked};
pub use pretrain_phase::PretrainSettings;

/// Examples in the fixed heatmap batch behind the activation heatmap.
pub const HEATMAP_EXAMPLES: usize = 48;
/// How often samples (batch loss, activation snapshots) are offered to the front end.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(200);
/// Rows per forward pass when evaluating: large enough for efficient products. 250 rather
/// than 100 took 8-14 % off the evaluation of full MNIST (rectifier, seed 1, 2 vCPUs, avx512
/// and avx2 forced: 0.91-0.95 s to 0.79-0.85 s, and 1.09-1.15 s to 0.94-1.05 s) for about
/// 6 MB more resident memory in a default run.
pub(crate) const EVAL_CHUNK: usize = 250;
/// The training error at an epoch's end is measured on this many training examples spread
/// evenly over the split ([`Dataset::spread`]; all of them in smaller splits, as the embedded
/// 8,000): on the full MNIST's 50,000 the whole split took over half of the epoch's
/// evaluation, for a figure whose standard error at 2 % error is 0.14 points on 10,000.
/// Validation and test errors use their whole splits.
///
/// [`Dataset::spread`]: crate::engine::data::Dataset::spread
pub const TRAIN_ERROR_EXAMPLES: usize = 10_000;
/// A hidden activation beyond this (or a non-finite one) in a training batch marks the network
/// as diverged.
pub const MAX_ACTIVATION: f32 = 1e6;

/// Owns the networks, the data and the run's position.
pub struct Trainer {
    config: RunConfig,
    data: Splits,
    /// The training examples the training error is measured on, when fewer than the split
    /// ([`TRAIN_ERROR_EXAMPLES`]).
    train_sample: Option<Dataset>,
    nets: Vec<Net>,
    lr: f32,
    l1: f32,
    seed: u64,
    pos: Position,
    order: Vec<usize>,
    batch_x: Array2<f32>,
    batch_y: Vec<u8>,
    heatmap_batch: Array2<f32>,
    focus: (usize, usize),
    /// What attached viewers watch, by viewer ([`Command::Watch`]).
    ///
    /// [`Command::Watch`]: crate::protocol::Command::Watch
    watchers: std::collections::BTreeMap<u64, (usize, usize)>,
    samples_enabled: bool,
    /// Train the networks on one thread each (the default when the machine has several cores).
    parallel: bool,
    /// Live measurements of the paper's claims for sparsity (see [`crate::engine::claims`]).
    claims: Claims,
    /// Where checkpoints go (`--checkpoint FILE`).
    checkpoint: Option<PathBuf>,
    /// Something changed since the last checkpoint (or the start).
    unsaved: bool,
    /// Divergences found but not yet reported: network, where, why.
    diverged_now: Vec<(usize, Position, String)>,
    /// `--patience`: epochs without a better validation error before a network stops.
    patience: Option<usize>,
    /// Early stops found but not yet reported: network, where, its best epoch.
    stopped_now: Vec<(usize, Position, usize)>,
    /// `--pretrain`, and the pre-training phase while it lasts (see [`pretrain_phase`]).
    pretrain_settings: Option<PretrainSettings>,
    pretrain: Option<Box<pretrain_phase::Phase>>,
}

impl Trainer {
    pub fn new(config: &RunConfig, data: Splits) -> Self {
        let input = data.input_dim();
        let heatmap_n = HEATMAP_EXAMPLES.min(data.valid.len());
        let mut t = Self {
            nets: Vec::new(),
            lr: config.lr(),
            l1: config.l1(),
            seed: config.seed(),
            pos: Position::default(),
            order: (0..data.train.len()).collect(),
            batch_x: Array2::zeros((config.batch_size(), input)),
            batch_y: Vec::with_capacity(config.batch_size()),
            heatmap_batch: data.valid.inputs(0..heatmap_n),
            focus: (0, 0),
            watchers: std::collections::BTreeMap::new(),
            samples_enabled: true,
            parallel: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
            claims: Claims::new(&data, config.seed()),
            checkpoint: None,
            unsaved: false,
            diverged_now: Vec::new(),
            patience: config.patience(),
            stopped_now: Vec::new(),
            pretrain_settings: None,
            pretrain: None,
            config: config.clone(),
            train_sample: (data.train.len() > TRAIN_ERROR_EXAMPLES)
                .then(|| data.train.spread(TRAIN_ERROR_EXAMPLES)),
            data,
        };
        t.init_nets(config.seed());
        t.sync_plain_settings();
        // Nothing to save before the first batch.
        t.unsaved = false;
        t
    }

    /// Trains the networks one after another on the calling thread, or in parallel.
    #[must_use]
    pub fn with_parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// Headless runs have no screen to feed: skip the snapshots.
    #[must_use]
    pub fn without_samples(mut self) -> Self {
        self.samples_enabled = false;
        self
    }

    /// Saves checkpoints to `path`: at every epoch end, on [`Command::Checkpoint`](crate::protocol::Command::Checkpoint), and when
    /// the trainer stops with anything unsaved.
    #[must_use]
    pub fn with_checkpoint(mut self, path: PathBuf) -> Self {
        // A run stopped before its first batch (a signal during start-up) still leaves a
        // checkpoint to resume from, when there is none yet.
        self.unsaved |= !path.exists();
        self.checkpoint = Some(path);
        self
    }

    /// Where checkpoints go, if anywhere.
    pub fn checkpoint_path(&self) -> Option<&std::path::Path> {
        self.checkpoint.as_deref()
    }

    /// Reports the divergences found since the last call; `false` when the front end is gone.
    fn report_divergences(&mut self, out: &Outbox) -> bool {
        self.diverged_now
            .drain(..)
            .all(|(net, at, reason)| out.send(Update::Diverged { net, at, reason }))
    }

    /// Reports the early stops found since the last call; `false` when the front end is gone.
    fn report_stops(&mut self, out: &Outbox) -> bool {
        self.stopped_now.drain(..).all(|(net, at, best_epoch)| {
            out.send(Update::Stopped {
                net,
                at,
                best_epoch,
            })
        })
    }

    /// Every network's learning rate and L1 penalty, for the front end.
    fn net_settings(&self) -> Update {
        Update::NetSettings {
            at: self.pos,
            lrs: self.nets.iter().map(|n| n.lr).collect(),
            l1s: self.nets.iter().map(|n| n.l1).collect(),
        }
    }

    /// The run-wide `lr` / `l1` (in [`RunInfo`] and the checkpoint's run record) are the
    /// first network's.
    fn sync_plain_settings(&mut self) {
        if let Some(first) = self.nets.first() {
            (self.lr, self.l1) = (first.lr, first.l1);
        }
    }

    /// The learning rate of each network, in order.
    pub fn lrs(&self) -> Vec<f32> {
        self.nets.iter().map(|n| n.lr).collect()
    }

    /// The L1 penalty of each network, in order.
    pub fn l1s(&self) -> Vec<f32> {
        self.nets.iter().map(|n| n.l1).collect()
    }

    /// Moves the reasons of fresh divergences into the queue of reports.
    fn collect_divergences(&mut self) {
        let at = self.pos;
        for (i, net) in self.nets.iter_mut().enumerate() {
            if let Some(reason) = net.just_diverged.take() {
                self.diverged_now.push((i, at, reason));
            }
        }
    }

    fn init_nets(&mut self, seed: u64) {
        let (input, classes) = (self.data.input_dim(), self.data.classes);
        self.seed = seed;
        if self.nets.is_empty() {
            self.nets = self
                .config
                .activations()
                .iter()
                .map(|&a| Net::new(a, &self.config, input, classes, seed))
                .collect();
        } else {
            for net in &mut self.nets {
                net.reinit(&self.config, input, classes, seed);
            }
        }
        self.claims.reset(self.nets.iter().map(|n| &n.mlp));
        self.pos = Position::default();
        self.unsaved = true;
        self.shuffle();
        self.start_pretrain();
    }

    /// The training order of the current epoch: a function of the seed and the epoch only.
    fn shuffle(&mut self) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(self.pos.epoch as u64 + 1);
        self.order = (0..self.data.train.len()).collect();
        self.order.shuffle(&mut rng);
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.data.train.len().div_ceil(self.config.batch_size())
    }

    pub fn info(&self) -> RunInfo {
        RunInfo {
            dataset: self.data.name.clone(),
            input_dim: self.data.input_dim(),
            hidden: self.config.hidden().to_vec(),
            classes: self.data.classes,
            nets: self
                .nets
                .iter()
                .map(|n| NetInfo {
                    name: n.name.clone(),
                    bounded: n.mlp.activation().bounds().is_some(),
                })
                .collect(),
            batch_size: self.config.batch_size(),
            batches_per_epoch: self.batches_per_epoch(),
            train_examples: self.data.train.len(),
            valid_examples: self.data.valid.len(),
            test_examples: self.data.test.len(),
            epochs: self.config.epochs(),
            lr: self.lr,
            l1: self.l1,
            seed: self.seed,
            probe_examples: self.heatmap_batch.nrows(),
        }
    }

    pub fn position(&self) -> Position {
        self.pos
    }

    pub fn networks(&self) -> impl Iterator<Item = &Mlp> {
        self.nets.iter().map(|n| &n.mlp)
    }

    /// The epoch target is reached, or early stopping stopped every network.
    fn done(&self) -> bool {
        self.config.epochs().is_some_and(|e| self.pos.epoch >= e)
            || (!self.nets.is_empty() && self.nets.iter().all(|n| n.sel.stopped))
    }

    /// Trains every network on the next mini-batch. Returns the batch's examples.
    pub fn train_batch(&mut self) -> usize {
        let bs = self.config.batch_size();
        let start = self.pos.batch * bs;
        let end = (start + bs).min(self.order.len());
        let n = end - start;
        self.data.train.gather(
            &self.order[start..end],
            &mut self.batch_x.view_mut(),
            &mut self.batch_y,
        );
        let x = self.batch_x.slice(s![..n, ..]);
        let y = &self.batch_y[..];
        for_each_net(&mut self.nets, self.parallel, |net| {
            if net.diverged || net.sel.stopped {
                return;
            }
            let t0 = Instant::now();
            let st = net.mlp.train_step(x, y, net.lr, net.l1, &mut net.ws);
            net.step_time += t0.elapsed();
            if let Some(reason) = step_problem(&st, &net.ws) {
                net.diverge(reason);
                return;
            }
            net.epoch_loss += f64::from(st.loss);
            net.epoch_l1 += f64::from(st.l1_penalty);
            net.epoch_batches += 1;
            net.sample_loss += f64::from(st.loss);
            net.sample_batches += 1;
            let ws = &net.ws;
            net.live.push((0..ws.hidden_layers()).map(|l| ws.hidden(l)));
        });
        self.pos.batch += 1;
        self.pos.step += 1;
        self.unsaved = true;
        self.collect_divergences();
        n
    }

    fn epoch_complete(&self) -> bool {
        self.pos.batch >= self.batches_per_epoch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::Activation;

    #[test]
    fn copy_weights_copies_in_place_and_falls_back_to_a_clone() {
        let src = Mlp::new(6, &[5, 4], 3, Activation::Tanh, 1);
        let mut dst = Mlp::new(6, &[5, 4], 3, Activation::Tanh, 2);
        assert_ne!(dst, src);
        let before: Vec<*const f32> = dst.layers().iter().map(|l| l.weights.as_ptr()).collect();
        copy_weights(&mut dst, &src);
        assert_eq!(dst, src);
        let after: Vec<*const f32> = dst.layers().iter().map(|l| l.weights.as_ptr()).collect();
        assert_eq!(before, after, "the weights were copied into the old arrays");

        // Another shape or activation cannot be copied into: it becomes a clone.
        let mut other = Mlp::new(6, &[7], 3, Activation::Rectifier, 3);
        copy_weights(&mut other, &src);
        assert_eq!(other, src);
    }
}
