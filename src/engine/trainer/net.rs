//! One network of the lockstep run: its weights, buffers, hyper-parameters and the record of
//! its last good state, and how a divergence is found and rolled back.

use super::{EVAL_CHUNK, MAX_ACTIVATION};
use crate::engine::config::RunConfig;
use crate::engine::data::Dataset;
use crate::engine::data::InputBuffer;
use crate::engine::data::Splits;
use crate::engine::evaluate;
use crate::engine::hyper::Selection;
use crate::engine::live::LiveSparsity;
use crate::engine::nn::loss;
use crate::engine::nn::Activation;
use crate::engine::nn::Mlp;
use crate::engine::nn::StepStats;
use crate::engine::nn::Workspace;
use crate::protocol::EpochReport;
use std::time::Duration;
use std::time::Instant;

/// One network of the lockstep run and its buffers.
pub(super) struct Net {
    pub(super) name: String,
    pub(super) mlp: Mlp,
    pub(super) ws: Workspace,
    pub(super) eval_ws: Workspace,
    /// The evaluation chunk, scaled from the dataset's bytes.
    pub(super) eval_x: InputBuffer,
    pub(super) epoch_loss: f64,
    pub(super) epoch_l1: f64,
    pub(super) epoch_batches: usize,
    pub(super) step_time: Duration,
    /// Time spent evaluating the three splits at the last epoch end.
    pub(super) eval_time: Duration,
    /// Train, validation and test evaluation at the end of the epoch.
    pub(super) evaluation: [evaluate::Evaluation; 3],
    pub(super) sample_loss: f64,
    pub(super) sample_batches: usize,
    /// The weights at the latest epoch end (or initialisation): what a divergence rolls back to.
    pub(super) last_good: Mlp,
    /// Frozen at `last_good` after a divergence, until [`Command::RestoreLastGood`].
    pub(super) diverged: bool,
    /// Why the network diverged in the batch or check just done, to be reported.
    pub(super) just_diverged: Option<String>,
    /// A frozen network's loss and L1 term over the training set, measured at the epoch end.
    pub(super) frozen_loss: Option<(f64, f64)>,
    /// Exact sparsity per layer over the newest training batches, for the live gauges.
    pub(super) live: LiveSparsity,
    /// This network's own learning rate and L1 penalty.
    pub(super) lr: f32,
    pub(super) l1: f32,
    /// Model selection: best epoch so far, and whether `--patience` stopped it.
    pub(super) sel: Selection,
    /// The latest report, repeated (with the new epoch) while early stopping froze the
    /// network: its weights do not change, so neither does anything measured on them.
    pub(super) last_report: Option<EpochReport>,
}

impl Net {
    pub(super) fn new(
        act: Activation,
        config: &RunConfig,
        input: usize,
        classes: usize,
        seed: u64,
    ) -> Self {
        let mlp = Mlp::new(input, config.hidden(), classes, act, seed);
        Self {
            name: act.name().into(),
            ws: Workspace::for_training(&mlp, config.batch_size()),
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
    pub(super) fn reinit(&mut self, config: &RunConfig, input: usize, classes: usize, seed: u64) {
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
        let fresh = Mlp::new(input, config.hidden(), classes, mlp.activation(), seed);
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
    pub(super) fn diverge(&mut self, reason: String) {
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

    /// Error rates and layer statistics on every split (the training error on
    /// `train_sample`); for a frozen network also its loss (on the whole training split). The
    /// products split over `threads` threads.
    pub(super) fn evaluate(&mut self, data: &Splits, train_sample: &Dataset, threads: usize) {
        let t0 = Instant::now();
        let l1 = self.l1;
        self.eval_ws.set_threads(threads);
        let (ws, x) = (&mut self.eval_ws, &mut self.eval_x);
        self.evaluation = [
            evaluate::evaluate(&self.mlp, train_sample, ws, x, false),
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
pub(super) fn step_problem(st: &StepStats, ws: &Workspace) -> Option<String> {
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
pub(super) fn copy_weights(dst: &mut Mlp, src: &Mlp) {
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
pub(super) fn weights_problem(mlp: &Mlp) -> Option<String> {
    mlp.layers().iter().enumerate().find_map(|(i, l)| {
        let finite = l.weights.iter().chain(&l.bias).all(|v| v.is_finite());
        (!finite).then(|| format!("layer {} has non-finite weights", i + 1))
    })
}

/// Whether every statistic of an evaluation is finite (error rates always are).
pub(super) fn evaluation_finite(e: &[evaluate::Evaluation; 3]) -> bool {
    e.iter().flat_map(|e| &e.layers).all(|l| {
        l.sparsity.is_finite() && l.mean_activation.is_finite() && l.active_units.is_finite()
    })
}

/// A network's mean loss and L1 term `l1 · mean Σ|h|` over `data`, as a diverged (frozen)
/// network reports them.
pub(super) fn frozen_loss(
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

/// Runs `f` on every network: one thread each when `parallel`, else one after another. The
/// networks share nothing, so both give the same numbers.
pub(super) fn for_each_net(nets: &mut [Net], parallel: bool, f: impl Fn(&mut Net) + Sync) {
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
