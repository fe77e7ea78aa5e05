//! Live sparsity: each network's exact sparsity per hidden layer while an epoch runs, counted
//! on the training batches themselves (the activations the trainer has just computed, so it
//! costs one pass over them and no extra forward pass).
//!
//! The figure is a *running* one, over the last [`LIVE_BATCHES`] training batches, and it is
//! sent with every [`crate::protocol::Sample`] (5 a second). The epoch-end figure on the whole
//! validation set ([`crate::protocol::EpochReport::sparsity`]) stays the figure of record: the
//! two differ because one is on training examples under the weights of the moment, the other
//! on the validation set under the epoch's final weights.

use std::collections::VecDeque;

use ndarray::ArrayView2;

pub use crate::protocol::LIVE_BATCHES;

/// Exact zeros and activations counted per hidden layer over the newest batches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveSparsity {
    /// Per batch, per layer: `(exact zeros, activations)`.
    batches: VecDeque<Vec<(u64, u64)>>,
    /// Sums over `batches`, per layer.
    sums: Vec<(u64, u64)>,
}

impl LiveSparsity {
    /// Counts one batch: `layers[l]` holds hidden layer `l`'s activations (examples × units).
    pub fn push<'a>(&mut self, layers: impl IntoIterator<Item = ArrayView2<'a, f32>>) {
        let counts: Vec<(u64, u64)> = layers
            .into_iter()
            .map(|h| {
                let zeros = h.iter().filter(|v| **v == 0.0).count() as u64;
                (zeros, h.len() as u64)
            })
            .collect();
        self.push_counts(counts);
    }

    /// Counts one batch given as `(exact zeros, activations)` per layer.
    pub fn push_counts(&mut self, counts: Vec<(u64, u64)>) {
        if self.sums.len() != counts.len() {
            self.clear();
            self.sums = vec![(0, 0); counts.len()];
        }
        for (sum, c) in self.sums.iter_mut().zip(&counts) {
            sum.0 += c.0;
            sum.1 += c.1;
        }
        self.batches.push_back(counts);
        if self.batches.len() > LIVE_BATCHES {
            if let Some(old) = self.batches.pop_front() {
                for (sum, c) in self.sums.iter_mut().zip(&old) {
                    sum.0 -= c.0;
                    sum.1 -= c.1;
                }
            }
        }
    }

    /// Forgets every batch (a re-initialisation, a divergence).
    pub fn clear(&mut self) {
        self.batches.clear();
        self.sums.iter_mut().for_each(|s| *s = (0, 0));
    }

    /// Batches behind the figure now (at most [`LIVE_BATCHES`]).
    pub fn batches(&self) -> usize {
        self.batches.len()
    }

    /// The fraction of exact zeros per layer; empty before the first batch.
    pub fn fractions(&self) -> Vec<f64> {
        if self.batches.is_empty() {
            return Vec::new();
        }
        self.sums
            .iter()
            .map(|&(z, n)| if n == 0 { 0.0 } else { z as f64 / n as f64 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn counts_exact_zeros_only() {
        let mut live = LiveSparsity::default();
        assert!(
            live.fractions().is_empty(),
            "nothing before the first batch"
        );
        let a = array![[0.0_f32, 1e-30, 0.0, -0.0], [2.0, 0.0, 0.5, 0.1]];
        let b = array![[0.0_f32, 0.0], [0.0, 3.0]];
        live.push([a.view(), b.view()]);
        // -0.0 == 0.0 is an exact zero; 1e-30 is not.
        assert_eq!(live.fractions(), vec![4.0 / 8.0, 3.0 / 4.0]);
    }

    #[test]
    fn the_window_forgets_old_batches() {
        let mut live = LiveSparsity::default();
        live.push_counts(vec![(10, 10)]);
        for _ in 0..LIVE_BATCHES {
            live.push_counts(vec![(0, 10)]);
        }
        assert_eq!(live.batches(), LIVE_BATCHES);
        assert_eq!(live.fractions(), vec![0.0], "the all-zero batch has left");
        live.push_counts(vec![(5, 10)]);
        assert!((live.fractions()[0] - 5.0 / (10.0 * LIVE_BATCHES as f64)).abs() < 1e-12);
        live.clear();
        assert!(live.fractions().is_empty());
    }
}
