//! The dashboard's view of the pre-training phase (`--pretrain`): which layer, the
//! reconstruction error of its batches as they come (bounded), the last epoch's report and the
//! exact sparsity of the code on the heatmap batch as it forms.

use crate::protocol::ActivationSnapshot;
use crate::protocol::{PretrainAt, PretrainReport};

/// Reconstruction errors kept per network for the sparkline: the newest win.
pub const RECON_POINTS: usize = 256;

/// One network's side of the phase.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PretrainNet {
    /// Mean reconstruction error of the recent batches, one point per sample, oldest first.
    pub recent: std::collections::VecDeque<f32>,
    /// The layer's last epoch report, if it has had one.
    pub last: Option<PretrainReport>,
    /// Fraction of exact zeros in the code on the heatmap batch, from the latest snapshot of
    /// this network.
    pub probe_sparsity: Option<f64>,
}

/// The phase as the dashboard shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PretrainView {
    pub at: PretrainAt,
    pub nets: Vec<PretrainNet>,
    /// The batch within the layer's current epoch and the batches per epoch.
    pub batch: usize,
}

impl PretrainView {
    pub fn new(at: PretrainAt, nets: usize) -> Self {
        Self {
            at,
            nets: vec![PretrainNet::default(); nets],
            batch: 0,
        }
    }

    /// A new layer: its history starts empty.
    pub fn enter(&mut self, at: PretrainAt) {
        if at.layer != self.at.layer {
            for n in &mut self.nets {
                *n = PretrainNet::default();
            }
        }
        self.at = at;
    }

    pub fn on_losses(&mut self, epoch: usize, batch: usize, losses: &[f32]) {
        self.at.epoch = epoch;
        self.batch = batch;
        for (n, &l) in self.nets.iter_mut().zip(losses) {
            if l.is_finite() {
                if n.recent.len() == RECON_POINTS {
                    n.recent.pop_front();
                }
                n.recent.push_back(l);
            }
        }
    }

    pub fn on_snapshot(&mut self, s: &ActivationSnapshot) {
        if s.layer != self.at.layer || s.values.is_empty() {
            return;
        }
        if let Some(n) = self.nets.get_mut(s.net) {
            let zeros = s.values.iter().filter(|&&v| v == 0.0).count();
            n.probe_sparsity = Some(zeros as f64 / s.values.len() as f64);
        }
    }

    pub fn on_report(&mut self, net: usize, report: &PretrainReport) {
        if let Some(n) = self.nets.get_mut(net) {
            n.last = Some(report.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(layer: usize) -> PretrainAt {
        PretrainAt {
            layer,
            layers: 3,
            epoch: 0,
            epochs: 2,
            lr: 0.01,
        }
    }

    #[test]
    fn history_is_bounded_and_restarts_with_each_layer() {
        let mut v = PretrainView::new(at(0), 2);
        for i in 0..(RECON_POINTS + 10) {
            v.on_losses(0, i, &[i as f32, f32::NAN]);
        }
        assert_eq!(v.nets[0].recent.len(), RECON_POINTS);
        assert_eq!(v.nets[0].recent.front(), Some(&10.0));
        assert!(
            v.nets[1].recent.is_empty(),
            "NaN means the net did not train"
        );
        v.enter(at(0));
        assert_eq!(v.nets[0].recent.len(), RECON_POINTS, "same layer: kept");
        v.enter(at(1));
        assert!(v.nets[0].recent.is_empty());
    }

    #[test]
    fn probe_sparsity_counts_exact_zeros_of_the_current_layer() {
        let mut v = PretrainView::new(at(1), 1);
        let snap = |layer| ActivationSnapshot {
            net: 0,
            layer,
            examples: 2,
            units: 2,
            values: vec![0.0, 0.5, 0.0, 1e-9],
        };
        v.on_snapshot(&snap(0));
        assert_eq!(v.nets[0].probe_sparsity, None);
        v.on_snapshot(&snap(1));
        assert_eq!(v.nets[0].probe_sparsity, Some(0.5));
    }
}
