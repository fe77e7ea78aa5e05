//! The trainer: several networks trained in lockstep on the same mini-batches from the same
//! initial weights, driven by [`Command`]s and reporting through [`Update`]s and [`Sample`]s.
//!
//! The trainer runs on its own thread ([`spawn`]). Between batches it drains commands without
//! blocking; while paused (or done) it blocks on the command channel and uses no CPU.
//!
//! Nothing is lost: with a checkpoint file ([`Trainer::with_checkpoint`]) the trainer saves
//! at every epoch end, on [`Command::Checkpoint`] and when it stops, and
//! [`Trainer::restore`] continues a saved run so that every later number (timings aside) is
//! the same as without the interruption. A network whose loss goes non-finite, whose
//! activations explode (`|h| >` [`MAX_ACTIVATION`]) or whose weights go non-finite is
//! *diverged*: it is rolled back at once to its last good state (its weights at the latest
//! epoch end), stops training while the others go on, and reports `"diverged": true` with
//! finite numbers until [`Command::RestoreLastGood`] lets it train again.

use std::borrow::Cow;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TryRecvError, TrySendError};
use ndarray::{s, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::checkpoint::{self, Checkpoint, Mismatch, SavedNet, SavedRun};
use crate::engine::claims::dead::DeadTracker;
use crate::engine::claims::Claims;
use crate::engine::config::RunConfig;
use crate::engine::data::{Dataset, InputBuffer, Splits};
use crate::engine::evaluate;
use crate::engine::hyper::Selection;
use crate::engine::live::LiveSparsity;
use crate::engine::nn::{loss, Activation, Layer, Mlp, StepStats, Workspace};
use crate::protocol::{
    ActivationSnapshot, Command, EpochReport, NetInfo, Position, RunInfo, RunState, Sample, Update,
};

mod pretrain_phase;
pub use pretrain_phase::PretrainSettings;

/// Examples in the fixed probe batch behind the activation heatmap.
pub const PROBE_EXAMPLES: usize = 48;
/// How often samples (batch loss, activation snapshots) are offered to the front end.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(200);
/// Rows per forward pass when evaluating: large enough for efficient products.
const EVAL_CHUNK: usize = 100;
/// A hidden activation beyond this (or a non-finite one) in a training batch marks the network
/// as diverged.
pub const MAX_ACTIVATION: f32 = 1e6;

/// One network of the lockstep run and its buffers.
struct Net {
    name: String,
    mlp: Mlp,
    ws: Workspace,
    eval_ws: Workspace,
    /// The evaluation chunk, scaled from the dataset's bytes.
    eval_x: InputBuffer,
    epoch_loss: f64,
    epoch_l1: f64,
    epoch_batches: usize,
    step_time: Duration,
    /// Time spent evaluating the three splits at the last epoch end.
    eval_time: Duration,
    /// Train, validation and test evaluation at the end of the epoch.
    evaluation: [evaluate::Evaluation; 3],
    sample_loss: f64,
    sample_batches: usize,
    /// The weights at the latest epoch end (or initialisation): what a divergence rolls back to.
    last_good: Mlp,
    /// Frozen at `last_good` after a divergence, until [`Command::RestoreLastGood`].
    diverged: bool,
    /// Why the network diverged in the batch or check just done, to be reported.
    just_diverged: Option<String>,
    /// A frozen network's loss and L1 term over the training set, measured at the epoch end.
    frozen_loss: Option<(f64, f64)>,
    /// Exact sparsity per layer over the newest training batches, for the live gauges.
    live: LiveSparsity,
    /// This network's own learning rate and L1 penalty.
    lr: f32,
    l1: f32,
    /// Model selection: best epoch so far, and whether `--patience` stopped it.
    sel: Selection,
    /// The latest report, repeated (with the new epoch) while early stopping froze the
    /// network: its weights do not change, so neither does anything measured on them.
    last_report: Option<EpochReport>,
}

impl Net {
    fn new(act: Activation, config: &RunConfig, input: usize, classes: usize, seed: u64) -> Self {
        let mlp = Mlp::new(input, &config.hidden, classes, act, seed);
        Self {
            name: act.name().into(),
            ws: Workspace::for_training(&mlp, config.batch_size),
            eval_ws: Workspace::new(&mlp, EVAL_CHUNK),
            eval_x: InputBuffer::new(EVAL_CHUNK, input),
            epoch_loss: 0.0,
            epoch_l1: 0.0,
            epoch_batches: 0,
            step_time: Duration::ZERO,
            eval_time: Duration::ZERO,
            evaluation: Default::default(),
            sample_loss: 0.0,
            sample_batches: 0,
            last_good: mlp.clone(),
            diverged: false,
            just_diverged: None,
            frozen_loss: None,
            live: LiveSparsity::default(),
            lr: config.lr_for(act),
            l1: config.l1_for(act),
            sel: Selection::default(),
            last_report: None,
            mlp,
        }
    }

    /// Starts again from the initial weights of `seed`, as [`Net::new`] would, in the arrays
    /// and buffers it has: a fresh network beside the old one would be one more copy of the
    /// weights per press of `r`, which the allocator keeps.
    fn reinit(&mut self, config: &RunConfig, input: usize, classes: usize, seed: u64) {
        // Every field, so that a new one cannot be forgotten here.
        let Net {
            name: _,
            mlp,
            ws: _,
            eval_ws: _,
            eval_x: _,
            epoch_loss,
            epoch_l1,
            epoch_batches,
            step_time,
            eval_time,
            evaluation,
            sample_loss,
            sample_batches,
            last_good,
            diverged,
            just_diverged,
            frozen_loss,
            live,
            // Settings, not state: a fresh start keeps them.
            lr: _,
            l1: _,
            sel,
            last_report,
        } = self;
        let fresh = Mlp::new(input, &config.hidden, classes, mlp.activation(), seed);
        copy_weights(mlp, &fresh);
        copy_weights(last_good, &fresh);
        (*epoch_loss, *epoch_l1, *epoch_batches) = (0.0, 0.0, 0);
        *step_time = Duration::ZERO;
        *eval_time = Duration::ZERO;
        *evaluation = Default::default();
        (*sample_loss, *sample_batches) = (0.0, 0);
        *diverged = false;
        *just_diverged = None;
        *frozen_loss = None;
        live.clear();
        *sel = Selection::default();
        *last_report = None;
    }

    /// Rolls back to the last good state and stops training; the epoch's sums so far belong to
    /// the abandoned weights and are dropped.
    fn diverge(&mut self, reason: String) {
        copy_weights(&mut self.mlp, &self.last_good);
        self.diverged = true;
        self.just_diverged = Some(reason);
        self.epoch_loss = 0.0;
        self.epoch_l1 = 0.0;
        self.epoch_batches = 0;
        self.sample_loss = 0.0;
        self.sample_batches = 0;
        self.live.clear();
    }

    /// Error rates and layer statistics on every split; for a frozen network also its loss.
    fn evaluate(&mut self, data: &Splits) {
        let t0 = Instant::now();
        let l1 = self.l1;
        let (ws, x) = (&mut self.eval_ws, &mut self.eval_x);
        self.evaluation = [
            evaluate::evaluate(&self.mlp, &data.train, ws, x, false),
            evaluate::evaluate(&self.mlp, &data.valid, ws, x, true),
            evaluate::evaluate(&self.mlp, &data.test, ws, x, false),
        ];
        self.frozen_loss = (self.diverged || self.epoch_batches == 0)
            .then(|| frozen_loss(&self.mlp, &data.train, l1, ws, x));
        self.eval_time = t0.elapsed();
    }
}

/// What is wrong with a training step, if anything: a non-finite loss, or a hidden activation
/// that is non-finite or beyond [`MAX_ACTIVATION`].
fn step_problem(st: &StepStats, ws: &Workspace) -> Option<String> {
    if !st.loss.is_finite() {
        return Some(format!("the loss is {}", st.loss));
    }
    if !st.l1_penalty.is_finite() {
        return Some(format!("the L1 term is {}", st.l1_penalty));
    }
    (0..ws.hidden_layers()).find_map(|l| {
        let h = ws.hidden(l);
        let bad = h.iter().find(|v| v.is_nan() || v.abs() > MAX_ACTIVATION)?;
        Some(format!(
            "hidden layer {} has an activation of {bad:e} (limit {MAX_ACTIVATION:e})",
            l + 1
        ))
    })
}

/// Makes `dst` equal to `src` by copying the weights into `dst`'s own arrays. `Mlp`'s derived
/// `clone_from` builds a whole new network and drops the old one: at every epoch end that was
/// a third copy of every network for a moment, made on the trainer thread, whose memory the
/// allocator kept.
fn copy_weights(dst: &mut Mlp, src: &Mlp) {
    let same_shape = dst.activation() == src.activation()
        && dst.layers().len() == src.layers().len()
        && dst
            .layers()
            .iter()
            .zip(src.layers())
            .all(|(d, s)| d.weights.dim() == s.weights.dim() && d.bias.dim() == s.bias.dim());
    if !same_shape {
        dst.clone_from(src);
        return;
    }
    for (d, s) in dst.layers_mut().iter_mut().zip(src.layers()) {
        d.weights.assign(&s.weights);
        d.bias.assign(&s.bias);
    }
}

/// Non-finite weights or biases, if any.
fn weights_problem(mlp: &Mlp) -> Option<String> {
    mlp.layers().iter().enumerate().find_map(|(i, l)| {
        let finite = l.weights.iter().chain(&l.bias).all(|v| v.is_finite());
        (!finite).then(|| format!("layer {} has non-finite weights", i + 1))
    })
}

/// Whether every statistic of an evaluation is finite (error rates always are).
fn evaluation_finite(e: &[evaluate::Evaluation; 3]) -> bool {
    e.iter().flat_map(|e| &e.layers).all(|l| {
        l.sparsity.is_finite() && l.mean_activation.is_finite() && l.active_units.is_finite()
    })
}

/// A network's mean loss and L1 term `l1 · mean Σ|h|` over `data`, as a diverged (frozen)
/// network reports them.
fn frozen_loss(
    mlp: &Mlp,
    data: &Dataset,
    l1: f32,
    ws: &mut Workspace,
    x: &mut InputBuffer,
) -> (f64, f64) {
    let (mut nll, mut abs) = (0.0, 0.0);
    let mut start = 0;
    while start < data.len() {
        let end = (start + ws.capacity()).min(data.len());
        let x = x.load(data, start..end);
        nll += mlp.cost(x, &data.labels()[start..end], 0.0, ws) * (end - start) as f64;
        abs += (0..mlp.hidden_layers())
            .map(|l| loss::l1_sum(&ws.hidden(l)))
            .sum::<f64>();
        start = end;
    }
    let n = data.len().max(1) as f64;
    (nll / n, f64::from(l1) * abs / n)
}

/// Owns the networks, the data and the run's position.
pub struct Trainer {
    config: RunConfig,
    data: Splits,
    nets: Vec<Net>,
    lr: f32,
    l1: f32,
    seed: u64,
    pos: Position,
    order: Vec<usize>,
    batch_x: Array2<f32>,
    batch_y: Vec<u8>,
    probe: Array2<f32>,
    focus: (usize, usize),
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

/// Runs `f` on every network: one thread each when `parallel`, else one after another. The
/// networks share nothing, so both give the same numbers.
fn for_each_net(nets: &mut [Net], parallel: bool, f: impl Fn(&mut Net) + Sync) {
    match nets {
        [first, rest @ ..] if parallel && !rest.is_empty() => std::thread::scope(|scope| {
            let f = &f;
            for net in rest {
                scope.spawn(move || f(net));
            }
            f(first);
        }),
        _ => nets.iter_mut().for_each(f),
    }
}

/// The front end's side of a running trainer.
pub struct TrainerHandle {
    pub commands: Sender<Command>,
    pub updates: Receiver<Update>,
    pub samples: Receiver<Sample>,
    pub thread: JoinHandle<()>,
}

/// The trainer thread panicked: what [`TrainerHandle::stop`] says then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the trainer thread panicked")]
pub struct TrainerPanicked;

impl TrainerHandle {
    /// The one way every front end stops a trainer: asks it to quit (it also stops when it
    /// finds the command channel closed), joins it, and returns the updates it sent that
    /// nobody has read yet, in order (the epoch reports the log must still get).
    pub fn stop(self) -> Result<Vec<Update>, TrainerPanicked> {
        let TrainerHandle {
            commands,
            updates,
            samples,
            thread,
        } = self;
        let _ = commands.send(Command::Quit);
        drop(commands);
        drop(samples);
        // The updates channel is unbounded: the trainer never waits on it while stopping.
        let panicked = thread.join().is_err();
        let left = updates.try_iter().collect();
        if panicked {
            Err(TrainerPanicked)
        } else {
            Ok(left)
        }
    }
}

impl Trainer {
    pub fn new(config: &RunConfig, data: Splits) -> Self {
        let input = data.input_dim();
        let probe_n = PROBE_EXAMPLES.min(data.valid.len());
        let mut t = Self {
            nets: Vec::new(),
            lr: config.lr,
            l1: config.l1,
            seed: config.seed,
            pos: Position::default(),
            order: (0..data.train.len()).collect(),
            batch_x: Array2::zeros((config.batch_size, input)),
            batch_y: Vec::with_capacity(config.batch_size),
            probe: data.valid.inputs(0..probe_n),
            focus: (0, 0),
            samples_enabled: true,
            parallel: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
            claims: Claims::new(&data, config.seed),
            checkpoint: None,
            unsaved: false,
            diverged_now: Vec::new(),
            patience: config.patience,
            stopped_now: Vec::new(),
            pretrain_settings: None,
            pretrain: None,
            config: config.clone(),
            data,
        };
        t.init_nets(config.seed);
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

    /// Saves checkpoints to `path`: at every epoch end, on [`Command::Checkpoint`], and when
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

    /// Everything needed to continue this run exactly (see [`crate::engine::checkpoint`]). The
    /// weights are borrowed: nothing is copied until the checkpoint is encoded.
    pub fn checkpoint(&self) -> Checkpoint<'_> {
        let nets = self
            .nets
            .iter()
            .zip(self.claims.nets())
            .map(|(n, c)| SavedNet {
                activation: n.mlp.activation(),
                layers: Cow::Borrowed(n.mlp.layers()),
                last_good: (n.last_good != n.mlp).then(|| Cow::Borrowed(n.last_good.layers())),
                diverged: n.diverged,
                epoch_loss: n.epoch_loss,
                epoch_l1: n.epoch_l1,
                epoch_batches: n.epoch_batches as u64,
                dead_last_on: c
                    .tracker()
                    .last_on()
                    .iter()
                    .map(|l| {
                        l.iter()
                            .map(|u| u.map_or(checkpoint::NEVER_ON, |e| e as u64))
                            .collect()
                    })
                    .collect(),
                dead_measured_at: c.tracker().measured_at(),
                lr: n.lr,
                l1: n.l1,
                selection: n.sel,
            })
            .collect();
        Checkpoint {
            run: SavedRun {
                dataset: self.data.name.clone(),
                data_dir: self
                    .config
                    .data_dir
                    .as_ref()
                    .and_then(|d| d.to_str())
                    .map(str::to_owned),
                input_dim: self.data.input_dim(),
                classes: self.data.classes,
                train_examples: self.data.train.len(),
                hidden: self.config.hidden.clone(),
                batch_size: self.config.batch_size,
                epochs: self.config.epochs,
                config_seed: self.config.seed,
                seed: self.seed,
                lr: self.lr,
                l1: self.l1,
                position: self.pos,
                patience: self.patience,
            },
            nets,
            pretrain: self.saved_pretrain(),
        }
    }

    /// Continues the run saved in `ck`. The trainer must have been made with the saved run's
    /// data, activations, widths, batch size and seed (the learning rate, L1 penalty and
    /// epoch target may differ: they come from this trainer's config).
    pub fn restore(&mut self, ck: &Checkpoint<'_>) -> Result<(), Mismatch> {
        let r = &ck.run;
        let differ = |what: &str, saved: &dyn std::fmt::Debug, now: &dyn std::fmt::Debug| {
            Err(Mismatch(format!(
                "it was saved with {what} {saved:?}, but this run has {now:?}"
            )))
        };
        if r.dataset != self.data.name {
            return differ("dataset", &r.dataset, &self.data.name);
        }
        let shape = (r.input_dim, r.classes, r.train_examples);
        let now = (
            self.data.input_dim(),
            self.data.classes,
            self.data.train.len(),
        );
        if shape != now {
            return differ("(input width, classes, training examples)", &shape, &now);
        }
        if r.hidden != self.config.hidden {
            return differ("--hidden", &r.hidden, &self.config.hidden);
        }
        let acts: Vec<Activation> = ck.nets.iter().map(|n| n.activation).collect();
        if acts != self.config.activations {
            return differ("--activations", &acts, &self.config.activations);
        }
        if r.batch_size != self.config.batch_size {
            return differ("--batch-size", &r.batch_size, &self.config.batch_size);
        }
        if r.config_seed != self.config.seed {
            return differ("--seed", &r.config_seed, &self.config.seed);
        }
        if r.position.batch >= self.batches_per_epoch() {
            return Err(Mismatch(format!(
                "its position, batch {} of epoch {}, is past the end of an epoch ({} batches)",
                r.position.batch,
                r.position.epoch + 1,
                self.batches_per_epoch()
            )));
        }
        let same_shapes = |a: &[Layer], b: &[Layer]| {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| {
                    x.weights.dim() == y.weights.dim() && x.bias.dim() == y.bias.dim()
                })
        };
        for (net, saved) in self.nets.iter().zip(&ck.nets) {
            let layers = net.mlp.layers();
            let widths: Vec<usize> = saved.dead_last_on.iter().map(Vec::len).collect();
            if !same_shapes(layers, &saved.layers)
                || saved
                    .last_good
                    .as_ref()
                    .is_some_and(|g| !same_shapes(layers, g))
                || widths != self.config.hidden
            {
                return Err(Mismatch(format!(
                    "its {} network does not have the shapes of --hidden",
                    saved.activation
                )));
            }
        }
        self.check_saved_pretrain(ck.pretrain.as_ref())
            .map_err(Mismatch)?;
        for (i, (net, saved)) in self.nets.iter_mut().zip(&ck.nets).enumerate() {
            let act = saved.activation;
            net.mlp = Mlp::from_layers(act, saved.layers.to_vec());
            net.last_good = saved
                .last_good
                .as_ref()
                .map_or_else(|| net.mlp.clone(), |g| Mlp::from_layers(act, g.to_vec()));
            net.diverged = saved.diverged;
            net.epoch_loss = saved.epoch_loss;
            net.epoch_l1 = saved.epoch_l1;
            net.epoch_batches = saved.epoch_batches as usize;
            net.sel = saved.selection;
            let last_on = saved
                .dead_last_on
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|&e| (e != checkpoint::NEVER_ON).then_some(e as usize))
                        .collect()
                })
                .collect();
            self.claims
                .restore_tracker(i, DeadTracker::from_parts(last_on, saved.dead_measured_at));
        }
        self.seed = r.seed;
        self.pos = r.position;
        // A stopped network repeats its last report: measure it once more at the next epoch.
        for net in &mut self.nets {
            net.last_report = None;
        }
        self.shuffle();
        self.restore_pretrain(ck.pretrain.as_ref());
        self.unsaved = false;
        Ok(())
    }

    /// Writes a checkpoint when there is a file for it; the update to report.
    fn save_checkpoint(&mut self) -> Option<Update> {
        let path = self.checkpoint.clone()?;
        Some(match self.checkpoint().save(&path) {
            Ok(()) => {
                self.unsaved = false;
                Update::CheckpointSaved { at: self.pos, path }
            }
            Err(e) => Update::CheckpointFailed(e.to_string()),
        })
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
                .activations
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
        self.data.train.len().div_ceil(self.config.batch_size)
    }

    pub fn info(&self) -> RunInfo {
        RunInfo {
            dataset: self.data.name.clone(),
            input_dim: self.data.input_dim(),
            hidden: self.config.hidden.clone(),
            classes: self.data.classes,
            nets: self
                .nets
                .iter()
                .map(|n| NetInfo {
                    name: n.name.clone(),
                    bounded: n.mlp.activation().bounds().is_some(),
                })
                .collect(),
            batch_size: self.config.batch_size,
            batches_per_epoch: self.batches_per_epoch(),
            train_examples: self.data.train.len(),
            valid_examples: self.data.valid.len(),
            test_examples: self.data.test.len(),
            epochs: self.config.epochs,
            lr: self.lr,
            l1: self.l1,
            seed: self.seed,
            probe_examples: self.probe.nrows(),
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
        self.config.epochs.is_some_and(|e| self.pos.epoch >= e)
            || (!self.nets.is_empty() && self.nets.iter().all(|n| n.sel.stopped))
    }

    /// Trains every network on the next mini-batch. Returns the batch's examples.
    pub fn train_batch(&mut self) -> usize {
        let bs = self.config.batch_size;
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

    /// Evaluates every network, moves to the next epoch and returns one report per network.
    pub fn finish_epoch(&mut self, epoch_seconds: f64) -> Vec<EpochReport> {
        let finishing = Instant::now();
        self.pos.epoch += 1;
        self.pos.batch = 0;
        let epoch = self.pos.epoch;
        let train_n = self.data.train.len() as f64;
        // Weights that went non-finite in the last update are caught before anything is
        // measured on them, and so are statistics that overflow.
        // A network stopped early (and already measured) has nothing new to measure.
        let frozen = |n: &Net| n.sel.stopped && n.last_report.is_some();
        for net in self.nets.iter_mut().filter(|n| !n.diverged && !frozen(n)) {
            if let Some(reason) = weights_problem(&net.mlp) {
                net.diverge(reason);
            }
        }
        let data = &self.data;
        for_each_net(&mut self.nets, self.parallel, |net| {
            if !frozen(net) {
                net.evaluate(data);
            }
        });
        for net in self.nets.iter_mut().filter(|n| !n.diverged && !frozen(n)) {
            if !evaluation_finite(&net.evaluation) {
                net.diverge("its statistics on the data overflow".into());
                net.evaluate(data);
            }
        }
        self.collect_divergences();
        let mut claims = self
            .claims
            .measure(self.nets.iter().map(|n| &n.mlp), epoch)
            .into_iter();
        // The epoch's wall time includes its evaluation and claims.
        let epoch_seconds = epoch_seconds + finishing.elapsed().as_secs_f64();
        let (pos, patience) = (self.pos, self.patience);
        let stopped_now = &mut self.stopped_now;
        let reports = self
            .nets
            .iter_mut()
            .enumerate()
            .map(|(i, net)| {
                let fresh_claims = claims.next().unwrap_or_default();
                if let Some(last) = net.last_report.as_ref().filter(|_| net.sel.stopped) {
                    let mut report = last.clone();
                    report.epoch = epoch;
                    report.step = pos.step;
                    report.examples_per_sec = 0.0;
                    report.epoch_seconds = epoch_seconds;
                    report.train_seconds = 0.0;
                    report.evaluate_seconds = 0.0;
                    report.claims_seconds = 0.0;
                    report.lr = net.lr;
                    report.l1 = net.l1;
                    net.step_time = Duration::ZERO;
                    net.last_report = Some(report.clone());
                    return report;
                }
                let [train, valid, test] = std::mem::take(&mut net.evaluation);
                if net.sel.observe(epoch, valid.error, test.error, patience) {
                    let best = net.sel.best.map_or(epoch, |b| b.epoch);
                    stopped_now.push((i, pos, best));
                }
                let best = net.sel.best.unwrap_or(crate::engine::hyper::Best {
                    epoch,
                    valid_error: valid.error,
                    test_error: test.error,
                });
                let batches = net.epoch_batches.max(1) as f64;
                let (loss, l1_penalty) = net
                    .frozen_loss
                    .take()
                    .unwrap_or((net.epoch_loss / batches, net.epoch_l1 / batches));
                let report = EpochReport {
                    net: net.name.clone(),
                    epoch,
                    step: self.pos.step,
                    diverged: net.diverged,
                    train_error: train.error,
                    valid_error: valid.error,
                    test_error: test.error,
                    best_epoch: best.epoch,
                    best_valid_error: best.valid_error,
                    test_error_at_best: best.test_error,
                    stopped: net.sel.stopped,
                    loss,
                    l1_penalty,
                    sparsity: valid.layers.iter().map(|l| l.sparsity).collect(),
                    dead_units: valid.layers.iter().map(|l| l.dead_units).collect(),
                    saturated_units: valid.layers.iter().map(|l| l.saturated_units).collect(),
                    mean_activation: valid.layers.iter().map(|l| l.mean_activation).collect(),
                    active_units: valid.layers.iter().map(|l| l.active_units).collect(),
                    lr: net.lr,
                    l1: net.l1,
                    seed: self.seed,
                    // A network frozen all epoch trained nothing: 0, not a division by ~0.
                    examples_per_sec: if net.step_time.is_zero() {
                        0.0
                    } else {
                        train_n / net.step_time.as_secs_f64()
                    },
                    epoch_seconds,
                    train_seconds: net.step_time.as_secs_f64(),
                    evaluate_seconds: net.eval_time.as_secs_f64(),
                    claims_seconds: 0.0,
                    claims: Box::new(fresh_claims),
                };
                let report = EpochReport {
                    claims_seconds: report.claims.claims_seconds,
                    ..report
                };
                net.epoch_loss = 0.0;
                net.epoch_l1 = 0.0;
                net.epoch_batches = 0;
                net.step_time = Duration::ZERO;
                if !net.diverged {
                    copy_weights(&mut net.last_good, &net.mlp);
                }
                if net.sel.stopped {
                    net.last_report = Some(report.clone());
                }
                report
            })
            .collect();
        self.shuffle();
        reports
    }

    fn snapshot(&mut self) -> Option<ActivationSnapshot> {
        let (net_i, layer) = self.focus;
        // While a layer is pre-trained, the heatmap shows its code.
        let layer = self.pretrain.as_ref().map_or(layer, |p| p.layer);
        let net = self.nets.get_mut(net_i)?;
        if layer >= net.mlp.hidden_layers() || self.probe.nrows() == 0 {
            return None;
        }
        net.mlp.forward(self.probe.view(), &mut net.eval_ws);
        let h = net.eval_ws.hidden(layer);
        Some(ActivationSnapshot {
            net: net_i,
            layer,
            examples: h.nrows(),
            units: h.ncols(),
            values: h.iter().copied().collect(),
        })
    }

    /// Runs until `Quit` or until the command channel closes, then saves a checkpoint when
    /// there is a file for it and anything changed since the last one.
    pub fn run(mut self, commands: &Receiver<Command>, out: &Outbox) {
        self.run_loop(commands, out);
        if self.unsaved {
            if let Some(update) = self.save_checkpoint() {
                let _ = out.send(update);
            }
        }
    }

    fn run_loop(&mut self, commands: &Receiver<Command>, out: &Outbox) {
        let mut state = if self.done() {
            RunState::Done
        } else {
            RunState::Running
        };
        if !out.send(Update::Started(self.info()))
            || !out.send(self.net_settings())
            || !out.send(Update::State(state))
            || !self.announce_phase(out)
        {
            return;
        }
        let mut epoch_start = Instant::now();
        let mut last_sample = Instant::now();
        let mut sample_examples = 0usize;
        loop {
            // Poll for commands while running; block (no CPU) while paused or done.
            let cmd = if state == RunState::Running {
                match commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            let mut step_once = false;
            if let Some(cmd) = cmd {
                let was = state;
                match self.apply(cmd, &mut state, out) {
                    Flow::Quit => return,
                    Flow::Step => step_once = true,
                    Flow::Refocus => {
                        last_sample = Instant::now()
                            .checked_sub(SAMPLE_INTERVAL)
                            .unwrap_or_else(Instant::now);
                    }
                    Flow::Go => {}
                }
                if was == RunState::Paused && state == RunState::Running {
                    epoch_start = Instant::now();
                }
                if state != RunState::Running && !step_once {
                    // Idle: still answer a focus change with a fresh snapshot. A pause is
                    // answered at once, so that the paused screen shows the exact position.
                    let paused_now = was == RunState::Running && state == RunState::Paused;
                    if self.samples_enabled
                        && (paused_now || last_sample.elapsed() >= SAMPLE_INTERVAL)
                    {
                        out.offer(self.make_sample(sample_examples, &mut last_sample));
                        sample_examples = 0;
                    }
                    continue;
                }
            }

            if self.pretrain.is_some() {
                let mut sample = (sample_examples, last_sample);
                if !self.pretrain_iteration(out, &mut sample, step_once, &mut epoch_start) {
                    return;
                }
                (sample_examples, last_sample) = sample;
                continue;
            }
            sample_examples += self.train_batch();
            if !self.report_divergences(out) {
                return;
            }
            if self.samples_enabled && (step_once || last_sample.elapsed() >= SAMPLE_INTERVAL) {
                out.offer(self.make_sample(sample_examples, &mut last_sample));
                sample_examples = 0;
            }
            if self.epoch_complete() {
                let secs = epoch_start.elapsed().as_secs_f64();
                let reports = self.finish_epoch(secs);
                if !self.report_divergences(out) || !self.report_stops(out) {
                    return;
                }
                for report in reports {
                    if !out.send(Update::Epoch(report)) {
                        return;
                    }
                }
                if let Some(update) = self.save_checkpoint() {
                    if !out.send(update) {
                        return;
                    }
                }
                epoch_start = Instant::now();
                if self.done() {
                    state = RunState::Done;
                    if !out.send(Update::State(state)) {
                        return;
                    }
                }
            }
        }
    }

    /// Applies one command, reporting what changed. A closed update channel means quit.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "commands arrive by value from the channel and are used up here"
    )]
    fn apply(&mut self, cmd: Command, state: &mut RunState, out: &Outbox) -> Flow {
        let update = match cmd {
            Command::Quit => return Flow::Quit,
            Command::Pause if *state == RunState::Running => {
                *state = RunState::Paused;
                Update::State(*state)
            }
            Command::Resume if *state == RunState::Paused => {
                *state = RunState::Running;
                Update::State(*state)
            }
            Command::Step if *state == RunState::Paused => return Flow::Step,
            Command::SetLr(lr) if lr.is_finite() && lr > 0.0 => {
                // In the pre-training phase the phase's own rate.
                if let Some(p) = self.pretrain.as_mut() {
                    p.lr = lr;
                } else {
                    self.nets.iter_mut().for_each(|n| n.lr = lr);
                    self.lr = lr;
                }
                self.unsaved = true;
                if !out.send(self.net_settings()) {
                    return Flow::Quit;
                }
                Update::LrChanged { at: self.pos, lr }
            }
            Command::SetL1(l1) if l1.is_finite() && l1 >= 0.0 => {
                self.nets.iter_mut().for_each(|n| n.l1 = l1);
                self.l1 = l1;
                self.unsaved = true;
                if !out.send(self.net_settings()) {
                    return Flow::Quit;
                }
                Update::L1Changed { at: self.pos, l1 }
            }
            Command::SetNetLr { net, lr }
                if lr.is_finite() && lr > 0.0 && net < self.nets.len() =>
            {
                self.nets[net].lr = lr;
                self.sync_plain_settings();
                self.unsaved = true;
                self.net_settings()
            }
            Command::SetNetL1 { net, l1 }
                if l1.is_finite() && l1 >= 0.0 && net < self.nets.len() =>
            {
                self.nets[net].l1 = l1;
                self.sync_plain_settings();
                self.unsaved = true;
                self.net_settings()
            }
            Command::Checkpoint => self.save_checkpoint().unwrap_or_else(|| {
                Update::CheckpointFailed(
                    "no checkpoint file: start relutui with --checkpoint FILE".into(),
                )
            }),
            Command::RestoreLastGood => {
                let nets: Vec<usize> = self
                    .nets
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, n)| n.diverged)
                    .map(|(i, n)| {
                        copy_weights(&mut n.mlp, &n.last_good);
                        n.diverged = false;
                        i
                    })
                    .collect();
                self.unsaved |= !nets.is_empty();
                Update::Restored { at: self.pos, nets }
            }
            Command::Reinit { seed } => {
                self.init_nets(seed);
                if !out.send(Update::Reinitialised { at: self.pos, seed })
                    || !self.announce_phase(out)
                {
                    return Flow::Quit;
                }
                if *state != RunState::Done {
                    return Flow::Refocus;
                }
                *state = RunState::Running;
                Update::State(*state)
            }
            Command::ReviveDead => {
                let nets = self.nets.iter_mut().map(|n| &mut n.mlp);
                let units = self.claims.revive(nets, self.seed, self.pos.step);
                self.unsaved = true;
                Update::Revived {
                    at: self.pos,
                    units,
                }
            }
            Command::Focus { net, layer } => {
                self.focus = (net, layer);
                return Flow::Refocus;
            }
            // Commands that do not apply in this state (pause while paused, …) change nothing.
            _ => return Flow::Go,
        };
        if out.send(update) {
            Flow::Go
        } else {
            Flow::Quit
        }
    }

    fn make_sample(&mut self, examples: usize, last: &mut Instant) -> Sample {
        let elapsed = last.elapsed().as_secs_f64();
        *last = Instant::now();
        let losses = self
            .nets
            .iter_mut()
            .map(|n| {
                let l = if n.sample_batches == 0 {
                    f32::NAN
                } else {
                    (n.sample_loss / n.sample_batches as f64) as f32
                };
                n.sample_loss = 0.0;
                n.sample_batches = 0;
                l
            })
            .collect();
        Sample {
            at: self.pretrain_position().unwrap_or(self.pos),
            losses,
            examples_per_sec: if elapsed > 0.0 {
                examples as f64 / elapsed
            } else {
                0.0
            },
            activations: self.snapshot(),
            live_sparsity: self.nets.iter().map(|n| n.live.fractions()).collect(),
        }
    }
}

/// What the run loop does after a command.
enum Flow {
    Go,
    Step,
    Refocus,
    Quit,
}

/// The trainer's sending side: reliable updates and lossy, newest-wins samples.
pub struct Outbox {
    updates: Sender<Update>,
    samples: Sender<Sample>,
    /// The trainer's own handle on the sample queue, to drop a stale sample for a newer one.
    stale: Receiver<Sample>,
}

impl Outbox {
    /// Sends a reliable update; `false` when the front end is gone.
    fn send(&self, u: Update) -> bool {
        self.updates.send(u).is_ok()
    }

    /// Offers a sample without ever blocking: a full queue loses its oldest sample.
    fn offer(&self, s: Sample) {
        match self.samples.try_send(s) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(s)) => {
                let _ = self.stale.try_recv();
                let _ = self.samples.try_send(s);
            }
        }
    }
}

/// Starts `trainer` on its own thread.
pub fn spawn(trainer: Trainer) -> std::io::Result<TrainerHandle> {
    let (cmd_tx, cmd_rx) = unbounded();
    let (upd_tx, upd_rx) = unbounded();
    let (smp_tx, smp_rx) = bounded(2);
    let out = Outbox {
        updates: upd_tx,
        samples: smp_tx,
        stale: smp_rx.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("trainer".into())
        .spawn(move || trainer.run(&cmd_rx, &out))?;
    Ok(TrainerHandle {
        commands: cmd_tx,
        updates: upd_rx,
        samples: smp_rx,
        thread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
