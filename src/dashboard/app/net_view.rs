//! What the dashboard remembers about one network: its error and sparsity histories, the
//! loss sparkline's bars, and the marks of hyper-parameter changes on its charts.

use crate::dashboard::history::{Recent, Series};
use crate::protocol::{EpochReport, NetInfo, Position};

/// Points kept per error and sparsity history (per network, per layer).
const EPOCH_HISTORY: usize = 512;
/// Loss samples per sparkline bar: samples come 5 a second, so a bar is about a second and the
/// bars shift once a second (a shifting sparkline rewrites every one of its cells).
pub const LOSS_BUCKET: usize = 5;
/// Loss bars kept: more than the widest sparkline.
const LOSS_BARS: usize = 256;

/// A change of a hyper-parameter, marked on the charts where it happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    Lr(f32),
    L1(f32),
    /// `d` re-initialised this many dead units (all networks together).
    Revive(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub at: Position,
    pub change: Change,
}

/// One bar of the loss sparkline: the mean of up to [`LOSS_BUCKET`] consecutive samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossBar {
    /// Steps of the first and last sample in the bar.
    pub first_step: u64,
    pub last_step: u64,
    pub sum: f64,
    pub samples: usize,
}

impl LossBar {
    pub fn mean(&self) -> f32 {
        (self.sum / self.samples.max(1) as f64) as f32
    }
}

/// What the dashboard remembers about one network of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct NetView {
    pub info: NetInfo,
    /// Error rates (fractions) per epoch; x is the epoch number.
    pub train_error: Series,
    pub valid_error: Series,
    pub test_error: Series,
    /// Exact sparsity per hidden layer per epoch.
    pub sparsity: Vec<Series>,
    /// The running exact sparsity per hidden layer on the training batches, from the newest
    /// sample (`None` before the first one, and after a re-initialisation or divergence).
    pub live_sparsity: Vec<Option<f64>>,
    /// The running figure over the whole run, per hidden layer; x is the fractional epoch.
    pub live_history: Vec<Series>,
    /// Every loss sample since the start, coarser as the run grows (the full-history view).
    pub loss_all: Series,
    /// The lowest validation error so far: `(valid error, its epoch, test error then)`.
    pub best: Option<(f64, usize, f64)>,
    /// Mini-batch loss, a bar per second or so.
    pub loss: Recent<LossBar>,
    /// The newest loss samples, for the number beside the sparkline.
    recent_loss: Recent<f32>,
    pub last: Option<EpochReport>,
    /// Frozen after a divergence (shown as DIVERGED) until `u` restores it.
    pub diverged: bool,
    /// This network's own learning rate and L1 penalty, once the trainer has said.
    pub lr: Option<f32>,
    pub l1: Option<f32>,
    /// Early stopping (`--patience`) froze it (shown as STOPPED).
    pub stopped: bool,
}

impl NetView {
    pub(super) fn new(info: NetInfo, layers: usize) -> Self {
        Self {
            info,
            train_error: Series::new(EPOCH_HISTORY),
            valid_error: Series::new(EPOCH_HISTORY),
            test_error: Series::new(EPOCH_HISTORY),
            sparsity: (0..layers).map(|_| Series::new(EPOCH_HISTORY)).collect(),
            live_sparsity: vec![None; layers],
            live_history: (0..layers).map(|_| Series::new(EPOCH_HISTORY)).collect(),
            loss_all: Series::new(EPOCH_HISTORY),
            best: None,
            loss: Recent::new(LOSS_BARS),
            recent_loss: Recent::new(LOSS_BUCKET),
            last: None,
            diverged: false,
            lr: None,
            l1: None,
            stopped: false,
        }
    }

    /// The epoch of the lowest validation error so far and the test error there, from the
    /// latest report (`None` before the first, or from a log that predates model selection).
    pub fn best(&self) -> Option<(usize, f64)> {
        self.last
            .as_ref()
            .filter(|r| r.best_epoch > 0)
            .map(|r| (r.best_epoch, r.test_error_at_best))
    }

    pub(super) fn record(&mut self, r: &EpochReport) {
        let x = r.epoch as f64;
        self.train_error.push(x, r.train_error);
        self.valid_error.push(x, r.valid_error);
        self.test_error.push(x, r.test_error);
        for (series, &s) in self.sparsity.iter_mut().zip(&r.sparsity) {
            series.push(x, s);
        }
        if self.best.is_none_or(|(best, _, _)| r.valid_error < best) {
            self.best = Some((r.valid_error, r.epoch, r.test_error));
        }
        self.last = Some(r.clone());
    }

    pub(super) fn push_loss(&mut self, step: u64, loss: f32) {
        self.recent_loss.push(loss);
        self.loss_all.push(step as f64, f64::from(loss));
        match self.loss.last_mut() {
            Some(bar) if bar.samples < LOSS_BUCKET => {
                bar.last_step = step;
                bar.sum += f64::from(loss);
                bar.samples += 1;
            }
            _ => self.loss.push(LossBar {
                first_step: step,
                last_step: step,
                sum: f64::from(loss),
                samples: 1,
            }),
        }
    }

    /// Mean of the newest few loss samples (about a second's worth).
    pub fn recent_loss(&self) -> Option<f32> {
        let k = self.recent_loss.len();
        (k > 0).then(|| self.recent_loss.iter().sum::<f32>() / k as f32)
    }
}
