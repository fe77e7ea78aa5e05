//! The end of an epoch: every network evaluated on the three splits, the claims measured on
//! the claims subset, early stopping, the last good state kept, one report per network.

use super::{copy_weights, evaluation_finite, for_each_net, weights_problem, Net, Trainer};
use crate::protocol::ActivationSnapshot;
use crate::protocol::EpochReport;
use std::time::Duration;
use std::time::Instant;

impl Trainer {
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
        let train_sample = self.train_sample.as_ref().unwrap_or(&data.train);
        // The networks evaluate side by side, and share the cores left: a network alone (or
        // beside networks stopped early) splits its products over all of them. The results
        // are the same on any number of threads (each output is one thread's sum).
        let evaluated = self.nets.iter().filter(|n| !frozen(n)).count().max(1);
        let cores = if self.parallel {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            1
        };
        let threads = (cores / evaluated).max(1);
        for_each_net(&mut self.nets, self.parallel, |net| {
            if !frozen(net) {
                net.evaluate(data, train_sample, threads);
            }
        });
        for net in self.nets.iter_mut().filter(|n| !n.diverged && !frozen(n)) {
            if !evaluation_finite(&net.evaluation) {
                net.diverge("its statistics on the data overflow".into());
                net.evaluate(data, train_sample, threads);
            }
        }
        self.collect_divergences();
        let mut claims = self
            .claims
            // One network after another, each with the cores the run may use: measured in
            // parallel (one thread and one set of buffers each) the default run's peak RSS rose
            // from 166 MB to 236 MB (`relutui bench --memory-epochs 3`), for claims about as
            // fast on a loaded 2-core machine. With both cores each network's claims took
            // 0.21-0.26 s an epoch on a 2-vCPU Zen 4, against 0.26-0.35 s on one.
            .measure(self.nets.iter().map(|n| &n.mlp), epoch, false, cores)
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

    /// The snapshot of `(net, layer)` on the heatmap batch; while a layer is pre-trained, of
    /// that layer's code whatever the focus.
    fn snapshot_of(&mut self, (net_i, layer): (usize, usize)) -> Option<ActivationSnapshot> {
        let layer = self.pretrain.as_ref().map_or(layer, |p| p.layer);
        let net = self.nets.get_mut(net_i)?;
        if layer >= net.mlp.hidden_layers() || self.heatmap_batch.nrows() == 0 {
            return None;
        }
        net.mlp.forward(self.heatmap_batch.view(), &mut net.eval_ws);
        let h = net.eval_ws.hidden(layer);
        Some(ActivationSnapshot {
            net: net_i,
            layer,
            examples: h.nrows(),
            units: h.ncols(),
            values: h.iter().copied().collect(),
        })
    }

    /// The front end's snapshot, and one for each other layer an attached viewer watches.
    pub(super) fn snapshots(&mut self) -> (Option<ActivationSnapshot>, Vec<ActivationSnapshot>) {
        let main = self.snapshot_of(self.focus);
        let mut seen: Vec<(usize, usize)> = main.iter().map(|a| (a.net, a.layer)).collect();
        let mut watched = Vec::new();
        let focuses: Vec<(usize, usize)> = self.watchers.values().copied().collect();
        for focus in focuses {
            let layer = self.pretrain.as_ref().map_or(focus.1, |p| p.layer);
            if seen.contains(&(focus.0, layer)) {
                continue;
            }
            seen.push((focus.0, layer));
            watched.extend(self.snapshot_of(focus));
        }
        (main, watched)
    }
}
