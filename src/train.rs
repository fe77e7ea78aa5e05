//! The trainer: several networks trained in lockstep on the same mini-batches from the same
//! initial weights, driven by [`Command`]s and reporting through [`Update`]s and [`Sample`]s.
//!
//! The trainer runs on its own thread ([`spawn`]). Between batches it drains commands without
//! blocking; while paused (or done) it blocks on the command channel and uses no CPU.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TryRecvError, TrySendError};
use ndarray::{s, Array2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::RunConfig;
use crate::data::Splits;
use crate::message::{
    ActivationSnapshot, Command, EpochReport, NetInfo, Position, RunInfo, RunState, Sample, Update,
};
use crate::metrics::Claims;
use crate::nn::{Activation, Mlp, Workspace};
use crate::stats;

/// Examples in the fixed probe batch behind the activation heatmap.
pub const PROBE_EXAMPLES: usize = 48;
/// How often samples (batch loss, activation snapshots) are offered to the front end.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(200);
/// Rows per forward pass when evaluating: large enough for efficient products.
const EVAL_CHUNK: usize = 250;

/// One network of the lockstep run and its buffers.
struct Net {
    name: String,
    mlp: Mlp,
    ws: Workspace,
    eval_ws: Workspace,
    epoch_loss: f64,
    epoch_l1: f64,
    epoch_batches: usize,
    step_time: Duration,
    /// Train, validation and test evaluation at the end of the epoch.
    evaluation: [stats::Evaluation; 3],
    sample_loss: f64,
    sample_batches: usize,
}

impl Net {
    fn new(act: Activation, config: &RunConfig, input: usize, classes: usize, seed: u64) -> Self {
        let mlp = Mlp::new(input, &config.hidden, classes, act, seed);
        Self {
            name: act.name().into(),
            ws: Workspace::for_training(&mlp, config.batch_size),
            eval_ws: Workspace::new(&mlp, EVAL_CHUNK),
            mlp,
            epoch_loss: 0.0,
            epoch_l1: 0.0,
            epoch_batches: 0,
            step_time: Duration::ZERO,
            evaluation: Default::default(),
            sample_loss: 0.0,
            sample_batches: 0,
        }
    }
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
    /// Live measurements of the paper's claims for sparsity (see [`crate::metrics`]).
    claims: Claims,
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
            probe: data.valid.inputs.slice(s![..probe_n, ..]).to_owned(),
            focus: (0, 0),
            samples_enabled: true,
            parallel: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
            claims: Claims::new(&data, config.seed),
            config: config.clone(),
            data,
        };
        t.init_nets(config.seed);
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

    fn init_nets(&mut self, seed: u64) {
        let (input, classes) = (self.data.input_dim(), self.data.classes);
        self.seed = seed;
        self.nets = self
            .config
            .activations
            .iter()
            .map(|&a| Net::new(a, &self.config, input, classes, seed))
            .collect();
        self.claims.reset(self.nets.iter().map(|n| &n.mlp));
        self.pos = Position::default();
        self.shuffle();
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

    fn done(&self) -> bool {
        self.config.epochs.is_some_and(|e| self.pos.epoch >= e)
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
        let (y, lr, l1) = (&self.batch_y[..], self.lr, self.l1);
        for_each_net(&mut self.nets, self.parallel, |net| {
            let t0 = Instant::now();
            let st = net.mlp.train_step(x, y, lr, l1, &mut net.ws);
            net.step_time += t0.elapsed();
            net.epoch_loss += f64::from(st.loss);
            net.epoch_l1 += f64::from(st.l1_penalty);
            net.epoch_batches += 1;
            net.sample_loss += f64::from(st.loss);
            net.sample_batches += 1;
        });
        self.pos.batch += 1;
        self.pos.step += 1;
        n
    }

    fn epoch_complete(&self) -> bool {
        self.pos.batch >= self.batches_per_epoch()
    }

    /// Evaluates every network, moves to the next epoch and returns one report per network.
    pub fn finish_epoch(&mut self, epoch_seconds: f64) -> Vec<EpochReport> {
        self.pos.epoch += 1;
        self.pos.batch = 0;
        let epoch = self.pos.epoch;
        let train_n = self.data.train.len() as f64;
        let mut claims = self
            .claims
            .measure(self.nets.iter().map(|n| &n.mlp), epoch)
            .into_iter();
        let data = &self.data;
        for_each_net(&mut self.nets, self.parallel, |net| {
            net.evaluation = [
                stats::evaluate(&net.mlp, &data.train, &mut net.eval_ws, false),
                stats::evaluate(&net.mlp, &data.valid, &mut net.eval_ws, true),
                stats::evaluate(&net.mlp, &data.test, &mut net.eval_ws, false),
            ];
        });
        let reports = self
            .nets
            .iter_mut()
            .map(|net| {
                let [train, valid, test] = std::mem::take(&mut net.evaluation);
                let batches = net.epoch_batches.max(1) as f64;
                let report = EpochReport {
                    net: net.name.clone(),
                    epoch,
                    step: self.pos.step,
                    train_error: train.error,
                    valid_error: valid.error,
                    test_error: test.error,
                    loss: net.epoch_loss / batches,
                    l1_penalty: net.epoch_l1 / batches,
                    sparsity: valid.layers.iter().map(|l| l.sparsity).collect(),
                    dead_units: valid.layers.iter().map(|l| l.dead_units).collect(),
                    saturated_units: valid.layers.iter().map(|l| l.saturated_units).collect(),
                    mean_activation: valid.layers.iter().map(|l| l.mean_activation).collect(),
                    active_units: valid.layers.iter().map(|l| l.active_units).collect(),
                    lr: self.lr,
                    l1: self.l1,
                    seed: self.seed,
                    examples_per_sec: train_n / net.step_time.as_secs_f64().max(1e-9),
                    epoch_seconds,
                    claims: Box::new(claims.next().unwrap_or_default()),
                };
                net.epoch_loss = 0.0;
                net.epoch_l1 = 0.0;
                net.epoch_batches = 0;
                net.step_time = Duration::ZERO;
                report
            })
            .collect();
        self.shuffle();
        reports
    }

    fn snapshot(&mut self) -> Option<ActivationSnapshot> {
        let (net_i, layer) = self.focus;
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

    /// Runs until `Quit` or until the command channel closes.
    pub fn run(mut self, commands: &Receiver<Command>, out: &Outbox) {
        let mut state = if self.done() {
            RunState::Done
        } else {
            RunState::Running
        };
        if !out.send(Update::Started(self.info())) || !out.send(Update::State(state)) {
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
                    Flow::Refocus => last_sample = Instant::now() - SAMPLE_INTERVAL,
                    Flow::Go => {}
                }
                if was == RunState::Paused && state == RunState::Running {
                    epoch_start = Instant::now();
                }
                if state != RunState::Running && !step_once {
                    // Idle: still answer a focus change with a fresh snapshot.
                    if self.samples_enabled && last_sample.elapsed() >= SAMPLE_INTERVAL {
                        out.offer(self.make_sample(0, &mut last_sample));
                    }
                    continue;
                }
            }

            sample_examples += self.train_batch();
            if self.samples_enabled && (step_once || last_sample.elapsed() >= SAMPLE_INTERVAL) {
                out.offer(self.make_sample(sample_examples, &mut last_sample));
                sample_examples = 0;
            }
            if self.epoch_complete() {
                let secs = epoch_start.elapsed().as_secs_f64();
                for report in self.finish_epoch(secs) {
                    if !out.send(Update::Epoch(report)) {
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
                self.lr = lr;
                Update::LrChanged { at: self.pos, lr }
            }
            Command::SetL1(l1) if l1.is_finite() && l1 >= 0.0 => {
                self.l1 = l1;
                Update::L1Changed { at: self.pos, l1 }
            }
            Command::Reinit { seed } => {
                self.init_nets(seed);
                if !out.send(Update::Reinitialised { at: self.pos, seed }) {
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
            at: self.pos,
            losses,
            examples_per_sec: if elapsed > 0.0 {
                examples as f64 / elapsed
            } else {
                0.0
            },
            activations: self.snapshot(),
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
