//! Checkpoint and restore: the trainer's whole state as a [`Checkpoint`], and a run continued
//! from one so that every later number (timings aside) is the same as without the stop.

use super::Trainer;
use crate::engine::checkpoint;
use crate::engine::checkpoint::Checkpoint;
use crate::engine::checkpoint::Mismatch;
use crate::engine::checkpoint::SavedNet;
use crate::engine::checkpoint::SavedRun;
use crate::engine::claims::dead::DeadTracker;
use crate::engine::nn::Activation;
use crate::engine::nn::Layer;
use crate::engine::nn::Mlp;
use crate::protocol::Update;
use std::borrow::Cow;

impl Trainer {
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
                    .data_dir()
                    .and_then(|d| d.to_str())
                    .map(str::to_owned),
                input_dim: self.data.input_dim(),
                classes: self.data.classes,
                train_examples: self.data.train.len(),
                hidden: self.config.hidden().to_vec(),
                batch_size: self.config.batch_size(),
                epochs: self.config.epochs(),
                config_seed: self.config.seed(),
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
        if r.hidden != self.config.hidden() {
            return differ("--hidden", &r.hidden, &self.config.hidden().to_vec());
        }
        let acts: Vec<Activation> = ck.nets.iter().map(|n| n.activation).collect();
        if acts != self.config.activations() {
            return differ("--activations", &acts, &self.config.activations().to_vec());
        }
        if r.batch_size != self.config.batch_size() {
            return differ("--batch-size", &r.batch_size, &self.config.batch_size());
        }
        if r.config_seed != self.config.seed() {
            return differ("--seed", &r.config_seed, &self.config.seed());
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
                || widths != self.config.hidden()
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
    pub(super) fn save_checkpoint(&mut self) -> Option<Update> {
        let path = self.checkpoint.clone()?;
        Some(match self.checkpoint().save(&path) {
            Ok(()) => {
                self.unsaved = false;
                Update::CheckpointSaved { at: self.pos, path }
            }
            Err(e) => Update::CheckpointFailed(e.to_string()),
        })
    }
}
