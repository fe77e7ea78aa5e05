//! The pre-training phase of a run (`--pretrain EPOCHS`): before supervised training, every
//! hidden layer in turn is trained for `EPOCHS` epochs as a denoising auto-encoder on the
//! clean output of the layers below it (see [`crate::engine::pretrain`]), for every network of the
//! lockstep run, with the same batch order and the same masks for all of them. Supervised
//! training then starts from these weights, at epoch 0, with its own rate (`--lr`).
//!
//! The phase goes through the trainer's loop like supervised epochs: commands (pause, step,
//! lr, checkpoint, quit) are drained between batches; each epoch ends with one
//! [`PretrainReport`] per network; checkpoints hold the phase's position and decoders, so a
//! run resumed mid-layer or between layers goes on exactly as it would have.

use std::time::{Duration, Instant};

use ndarray::s;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{weights_problem, Net, Outbox, Trainer, EVAL_CHUNK, MAX_ACTIVATION};
use crate::engine::checkpoint::{SavedPretrain, SavedPretrainNet};
use crate::engine::nn::Layer;
use crate::engine::pretrain::{self, DaeWorkspace, Reconstruction, MASKING_NOISE};
use crate::protocol::{Position, PretrainAt, PretrainReport, Update};

/// What `--pretrain` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PretrainSettings {
    /// Epochs per hidden layer.
    pub epochs: usize,
    /// The pre-training learning rate.
    pub lr: f32,
}

/// One network's auto-encoder for the layer being pre-trained.
pub(super) struct NetPhase {
    decoder: Layer,
    ws: DaeWorkspace,
    eval_ws: DaeWorkspace,
    epoch_reconstruction: f64,
    epoch_l1: f64,
    epoch_batches: u64,
    step_time: Duration,
    /// The validation pass at the epoch's end: summed cost, zeros in the code, code size.
    valid: (f64, usize, usize),
}

/// The phase's position and its networks' decoders.
pub(super) struct Phase {
    settings: PretrainSettings,
    /// The phase's own rate (`lr` in the dashboard changes it while the phase lasts).
    pub(super) lr: f32,
    pub(super) layer: usize,
    epoch: usize,
    batch: usize,
    step: u64,
    nets: Vec<NetPhase>,
    order: Vec<usize>,
    mask: Vec<f32>,
}

impl Phase {
    pub(super) fn at(&self, layers: usize) -> PretrainAt {
        PretrainAt {
            layer: self.layer,
            layers,
            epoch: self.epoch,
            epochs: self.settings.epochs,
            lr: self.lr,
        }
    }
}

/// Runs `f` on every network and its auto-encoder, one thread each when `parallel`.
fn for_each_pair(
    nets: &mut [Net],
    phases: &mut [NetPhase],
    parallel: bool,
    f: impl Fn(&mut Net, &mut NetPhase) + Sync,
) {
    if parallel && nets.len() > 1 {
        std::thread::scope(|scope| {
            let f = &f;
            let mut pairs = nets.iter_mut().zip(phases.iter_mut());
            let first = pairs.next();
            for (net, ph) in pairs {
                scope.spawn(move || f(net, ph));
            }
            if let Some((net, ph)) = first {
                f(net, ph);
            }
        });
    } else {
        for (net, ph) in nets.iter_mut().zip(phases.iter_mut()) {
            f(net, ph);
        }
    }
}

impl Trainer {
    /// Pre-trains every hidden layer for `settings.epochs` epochs before supervised training
    /// (`--pretrain`). A run restored from a checkpoint takes its phase from the file instead.
    #[must_use]
    pub fn with_pretrain(mut self, settings: PretrainSettings) -> Self {
        self.pretrain_settings = Some(settings);
        self.start_pretrain();
        self
    }

    /// Whether the run is in its pre-training phase.
    pub fn pretraining(&self) -> Option<PretrainAt> {
        let layers = self.config.hidden().len();
        self.pretrain.as_ref().map(|p| p.at(layers))
    }

    /// (Re)starts the phase at layer 0, as a fresh run does.
    pub(super) fn start_pretrain(&mut self) {
        self.pretrain = self.pretrain_settings.map(|settings| {
            Box::new(Phase {
                settings,
                lr: settings.lr,
                layer: 0,
                epoch: 0,
                batch: 0,
                step: 0,
                nets: Vec::new(),
                order: Vec::new(),
                mask: Vec::new(),
            })
        });
        self.enter_layer(None);
        self.unsaved = true;
    }

    /// Widths of layer `layer`: its input and its code.
    fn layer_widths(&self, layer: usize) -> (usize, usize) {
        let input = if layer == 0 {
            self.data.input_dim()
        } else {
            self.config.hidden()[layer - 1]
        };
        (input, self.config.hidden()[layer])
    }

    /// Sets up the phase's current layer: fresh decoders (or the saved ones), buffers, the
    /// epoch's order.
    fn enter_layer(&mut self, saved: Option<&SavedPretrain<'_>>) {
        let Some(layer) = self.pretrain.as_ref().map(|p| p.layer) else {
            return;
        };
        let (input, code) = self.layer_widths(layer);
        let (bs, seed) = (self.config.batch_size(), self.seed);
        let nets = (0..self.nets.len())
            .map(|i| {
                let sv = saved.and_then(|s| s.nets.get(i));
                NetPhase {
                    decoder: sv.map_or_else(
                        || pretrain::new_decoder(code, input, pretrain::decoder_seed(seed, layer)),
                        |s| s.decoder.clone().into_owned(),
                    ),
                    ws: DaeWorkspace::new(input, code, bs),
                    eval_ws: DaeWorkspace::new(input, code, EVAL_CHUNK),
                    epoch_reconstruction: sv.map_or(0.0, |s| s.epoch_reconstruction),
                    epoch_l1: sv.map_or(0.0, |s| s.epoch_l1),
                    epoch_batches: sv.map_or(0, |s| s.epoch_batches),
                    step_time: Duration::ZERO,
                    valid: (0.0, 0, 0),
                }
            })
            .collect();
        if let Some(p) = self.pretrain.as_mut() {
            p.nets = nets;
            p.mask = vec![0.0; bs * input];
        }
        self.shuffle_pretrain();
    }

    /// The batch order of the phase's current epoch: a function of the seed, layer and epoch.
    fn shuffle_pretrain(&mut self) {
        let n = self.data.train.len();
        let seed = self.seed;
        if let Some(p) = self.pretrain.as_mut() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(pretrain::order_stream(p.layer, p.epoch));
            p.order = (0..n).collect();
            p.order.shuffle(&mut rng);
        }
    }

    /// The phase's part of a checkpoint.
    pub(super) fn saved_pretrain(&self) -> Option<SavedPretrain<'_>> {
        let p = self.pretrain.as_ref()?;
        Some(SavedPretrain {
            epochs: p.settings.epochs,
            lr: p.lr,
            layer: p.layer,
            epoch: p.epoch,
            batch: p.batch,
            step: p.step,
            nets: p
                .nets
                .iter()
                .map(|n| SavedPretrainNet {
                    decoder: std::borrow::Cow::Borrowed(&n.decoder),
                    epoch_reconstruction: n.epoch_reconstruction,
                    epoch_l1: n.epoch_l1,
                    epoch_batches: n.epoch_batches,
                })
                .collect(),
        })
    }

    /// Checks a saved phase against this run, before anything is changed.
    pub(super) fn check_saved_pretrain(
        &self,
        saved: Option<&SavedPretrain<'_>>,
    ) -> Result<(), String> {
        let Some(s) = saved else { return Ok(()) };
        if s.layer >= self.config.hidden().len() || s.nets.len() != self.nets.len() {
            return Err("its pre-training phase does not fit --hidden and --activations".into());
        }
        if s.batch >= self.batches_per_epoch() {
            return Err(format!(
                "its pre-training position, batch {} of an epoch, is past the end of an epoch ({} batches)",
                s.batch,
                self.batches_per_epoch()
            ));
        }
        let (input, code) = self.layer_widths(s.layer);
        if s.nets
            .iter()
            .any(|n| n.decoder.weights.dim() != (code, input))
        {
            return Err("its pre-training decoders do not have the shapes of --hidden".into());
        }
        Ok(())
    }

    /// Continues the saved phase (or none: the phase was over or never asked for).
    pub(super) fn restore_pretrain(&mut self, saved: Option<&SavedPretrain<'_>>) {
        self.pretrain = None;
        let Some(s) = saved else { return };
        let settings = PretrainSettings {
            epochs: s.epochs,
            lr: s.lr,
        };
        self.pretrain_settings = Some(settings);
        self.pretrain = Some(Box::new(Phase {
            settings,
            lr: s.lr,
            layer: s.layer,
            epoch: s.epoch,
            batch: s.batch,
            step: s.step,
            nets: Vec::new(),
            order: Vec::new(),
            mask: Vec::new(),
        }));
        self.enter_layer(Some(s));
    }

    /// Whether the phase's current epoch has had all its batches.
    pub fn pretrain_epoch_complete(&self) -> bool {
        self.pretrain
            .as_ref()
            .is_some_and(|p| p.batch >= p.order.len().div_ceil(self.config.batch_size()))
    }

    /// The position a sample reports during the phase: the epoch and batch of the layer.
    pub(super) fn pretrain_position(&self) -> Option<Position> {
        self.pretrain.as_ref().map(|p| Position {
            epoch: p.epoch,
            batch: p.batch,
            step: p.step,
        })
    }

    /// Trains every network's current layer on the next mini-batch. Returns the batch's
    /// examples.
    pub fn pretrain_batch(&mut self) -> usize {
        let bs = self.config.batch_size();
        let (seed, parallel) = (self.seed, self.parallel);
        let Some(p) = self.pretrain.as_mut() else {
            return 0;
        };
        let start = p.batch * bs;
        let end = (start + bs).min(p.order.len());
        let n = end - start;
        self.data.train.gather(
            &p.order[start..end],
            &mut self.batch_x.view_mut(),
            &mut self.batch_y,
        );
        let x = self.batch_x.slice(s![..n, ..]);
        let layer = p.layer;
        let width = p.mask.len() / bs.max(1);
        let mask = &mut p.mask[..n * width];
        pretrain::fill_mask(seed, layer, p.epoch, p.batch, mask);
        let mask = &*mask;
        let lr = p.lr;
        for_each_pair(&mut self.nets, &mut p.nets, parallel, |net, ph| {
            if net.diverged {
                return;
            }
            let t0 = Instant::now();
            let act = net.mlp.activation();
            let recon = Reconstruction::for_activation(act);
            let from_tanh = pretrain::target_from_tanh(act, layer);
            if layer == 0 {
                ph.ws.load(x, Some(mask), from_tanh);
            } else {
                net.mlp.forward_hidden(x, &mut net.ws, layer - 1);
                ph.ws.load(net.ws.hidden(layer - 1), Some(mask), from_tanh);
            }
            let enc = &mut net.mlp.layers_mut()[layer];
            let st = pretrain::step(enc, &mut ph.decoder, act, recon, lr, net.l1, &mut ph.ws);
            ph.step_time += t0.elapsed();
            let worst = ph.ws.code().iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if !st.reconstruction.is_finite() || !st.l1_penalty.is_finite() {
                net.diverge(format!(
                    "the reconstruction error of hidden layer {} is {}",
                    layer + 1,
                    st.reconstruction
                ));
                return;
            }
            if worst.is_nan() || worst > MAX_ACTIVATION {
                net.diverge(format!(
                    "hidden layer {} has an activation of {worst:e} (limit {MAX_ACTIVATION:e})",
                    layer + 1
                ));
                return;
            }
            ph.epoch_reconstruction += st.reconstruction;
            ph.epoch_l1 += st.l1_penalty;
            ph.epoch_batches += 1;
            net.sample_loss += st.reconstruction;
            net.sample_batches += 1;
        });
        p.batch += 1;
        p.step += 1;
        self.unsaved = true;
        self.collect_divergences();
        n
    }

    /// Evaluates every network's layer on the validation set, moves to the next epoch (or
    /// layer, or to supervised training) and returns one report per network.
    pub fn finish_pretrain_epoch(&mut self, epoch_seconds: f64) -> Vec<PretrainReport> {
        let (seed, parallel) = (self.seed, self.parallel);
        let train_n = self.data.train.len() as f64;
        let Some(p) = self.pretrain.as_mut() else {
            return Vec::new();
        };
        p.epoch += 1;
        p.batch = 0;
        let (layer, epoch, step, lr) = (p.layer, p.epoch, p.step, p.lr);
        for net in self.nets.iter_mut().filter(|n| !n.diverged) {
            if let Some(reason) = weights_problem(&net.mlp) {
                net.diverge(reason);
            }
        }
        let valid = &self.data.valid;
        for_each_pair(&mut self.nets, &mut p.nets, parallel, |net, ph| {
            let act = net.mlp.activation();
            let recon = Reconstruction::for_activation(act);
            let from_tanh = pretrain::target_from_tanh(act, layer);
            let (mut total, mut zeros, mut values) = (0.0, 0, 0);
            let mut start = 0;
            while start < valid.len() {
                let end = (start + EVAL_CHUNK).min(valid.len());
                let x = net.eval_x.load(valid, start..end);
                if layer == 0 {
                    ph.eval_ws.load(x, None, from_tanh);
                } else {
                    net.mlp.forward_hidden(x, &mut net.eval_ws, layer - 1);
                    ph.eval_ws
                        .load(net.eval_ws.hidden(layer - 1), None, from_tanh);
                }
                let enc = &net.mlp.layers()[layer];
                let st = pretrain::evaluate(enc, &ph.decoder, act, recon, 0.0, &mut ph.eval_ws);
                total += st.reconstruction * (end - start) as f64;
                zeros += st.zeros;
                values += st.values;
                start = end;
            }
            ph.valid = (total, zeros, values);
        });
        let reports = self
            .nets
            .iter_mut()
            .zip(p.nets.iter_mut())
            .map(|(net, ph)| {
                let (total, zeros, values) = ph.valid;
                let batches = ph.epoch_batches.max(1) as f64;
                let act = net.mlp.activation();
                let report = PretrainReport {
                    phase: "pretrain".into(),
                    net: net.name.clone(),
                    layer: layer + 1,
                    epoch,
                    epochs: p.settings.epochs,
                    step,
                    diverged: net.diverged,
                    reconstruction: Reconstruction::for_activation(act).name().into(),
                    reconstruction_error: ph.epoch_reconstruction / batches,
                    valid_reconstruction_error: total / valid.len().max(1) as f64,
                    l1_penalty: ph.epoch_l1 / batches,
                    sparsity: zeros as f64 / values.max(1) as f64,
                    masking_noise: MASKING_NOISE,
                    lr,
                    l1: net.l1,
                    seed,
                    examples_per_sec: if ph.step_time.is_zero() {
                        0.0
                    } else {
                        train_n / ph.step_time.as_secs_f64()
                    },
                    epoch_seconds,
                };
                ph.epoch_reconstruction = 0.0;
                ph.epoch_l1 = 0.0;
                ph.epoch_batches = 0;
                ph.step_time = Duration::ZERO;
                if !net.diverged {
                    super::copy_weights(&mut net.last_good, &net.mlp);
                }
                report
            })
            .collect();
        if epoch >= p.settings.epochs {
            p.layer += 1;
            p.epoch = 0;
            if p.layer >= self.config.hidden().len() {
                // The phase is over: supervised training starts from these weights.
                self.pretrain = None;
                self.shuffle();
            } else {
                self.enter_layer(None);
            }
        } else {
            self.shuffle_pretrain();
        }
        self.collect_divergences();
        reports
    }

    /// One pass of the run loop in the phase: a batch, its sample, and at an epoch's end the
    /// reports, the checkpoint and any change of layer or phase. `false` when the front end
    /// is gone.
    pub(super) fn pretrain_iteration(
        &mut self,
        out: &Outbox,
        sample: &mut (usize, Instant),
        step_once: bool,
        epoch_start: &mut Instant,
    ) -> bool {
        sample.0 += self.pretrain_batch();
        if !self.report_divergences(out) {
            return false;
        }
        if self.samples_enabled && (step_once || sample.1.elapsed() >= super::SAMPLE_INTERVAL) {
            let s = self.make_sample(sample.0, &mut sample.1);
            out.offer(s);
            sample.0 = 0;
        }
        if !self.pretrain_epoch_complete() {
            return true;
        }
        let layer = self.pretrain.as_ref().map(|p| p.layer);
        let reports = self.finish_pretrain_epoch(epoch_start.elapsed().as_secs_f64());
        if !self.report_divergences(out) {
            return false;
        }
        for report in reports {
            if !out.send(Update::PretrainEpoch(report)) {
                return false;
            }
        }
        if self.pretrain.as_ref().map(|p| p.layer) != layer && !self.announce_phase(out) {
            return false;
        }
        if let Some(update) = self.save_checkpoint() {
            if !out.send(update) {
                return false;
            }
        }
        *epoch_start = Instant::now();
        true
    }

    /// Tells the front end which phase the run is in; `false` when it is gone.
    pub(super) fn announce_phase(&self, out: &Outbox) -> bool {
        if self.pretrain_settings.is_none() {
            return true;
        }
        out.send(Update::Pretraining(self.pretraining()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::Activation;

    #[test]
    fn reconstructions_follow_the_paper() {
        assert_eq!(
            Reconstruction::for_activation(Activation::Rectifier),
            Reconstruction::SoftplusQuadratic
        );
        assert_eq!(
            Reconstruction::for_activation(Activation::Tanh),
            Reconstruction::SigmoidCrossEntropy
        );
    }
}
