//! Dead units over time: for each hidden unit, the last epoch in which it was on for some
//! claims-subset example, and the re-initialisation that brings silent units back.

use ndarray::{ArrayView2, Axis};
use rand::distr::{Distribution, Uniform};
use rand::Rng;

use super::OnRule;
use crate::engine::nn::Mlp;

/// The last epoch each unit was on (`None`: never seen on). Epoch 0 is the initialisation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeadTracker {
    last_on: Vec<Vec<Option<usize>>>,
    /// The epoch of the latest measurement.
    measured_at: Option<usize>,
}

/// What one measurement found in one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerDeaths {
    /// Units on for no probe example now.
    pub silent: usize,
    /// Units on at the previous measurement and silent now.
    pub died: usize,
}

/// For each unit (column of `h`), whether it is on for at least one example (row).
pub fn on_for_any(h: &ArrayView2<'_, f32>, rule: OnRule) -> Vec<bool> {
    let mut any = vec![false; h.ncols()];
    for row in h.axis_iter(Axis(0)) {
        for (a, &v) in any.iter_mut().zip(row) {
            *a |= rule.on(v);
        }
    }
    any
}

impl DeadTracker {
    /// A tracker for hidden layers of the given widths, with nothing measured yet.
    pub fn new(widths: &[usize]) -> Self {
        Self {
            last_on: widths.iter().map(|&w| vec![None; w]).collect(),
            measured_at: None,
        }
    }

    /// Records which units of every layer were on for some example at `epoch`.
    pub fn record(&mut self, epoch: usize, on_any: &[Vec<bool>]) -> Vec<LayerDeaths> {
        assert_eq!(
            on_any.len(),
            self.last_on.len(),
            "one mask per hidden layer"
        );
        let prev = self.measured_at;
        let out = self
            .last_on
            .iter_mut()
            .zip(on_any)
            .map(|(last, on)| {
                assert_eq!(last.len(), on.len(), "layer width changed");
                let mut d = LayerDeaths::default();
                for (l, &on) in last.iter_mut().zip(on) {
                    if on {
                        *l = Some(epoch);
                    } else {
                        d.silent += 1;
                        d.died += usize::from(prev.is_some() && *l == prev);
                    }
                }
                d
            })
            .collect();
        self.measured_at = Some(epoch);
        out
    }

    /// Per layer, the units that were silent at the latest measurement.
    pub fn silent(&self) -> Vec<Vec<usize>> {
        let Some(at) = self.measured_at else {
            return vec![Vec::new(); self.last_on.len()];
        };
        self.last_on
            .iter()
            .map(|last| (0..last.len()).filter(|&u| last[u] != Some(at)).collect())
            .collect()
    }

    /// Per layer and unit, the last epoch the unit was on.
    pub fn last_on(&self) -> &[Vec<Option<usize>>] {
        &self.last_on
    }

    /// The epoch of the latest measurement.
    pub fn measured_at(&self) -> Option<usize> {
        self.measured_at
    }

    /// A tracker in a saved state (from a checkpoint): [`DeadTracker::last_on`] and
    /// [`DeadTracker::measured_at`] as they were.
    pub fn from_parts(last_on: Vec<Vec<Option<usize>>>, measured_at: Option<usize>) -> Self {
        Self {
            last_on,
            measured_at,
        }
    }

    /// Counts revived units as on at the latest measurement, so that dying again shows up in
    /// the next epoch's `died_this_epoch`.
    pub fn mark_revived(&mut self, layer: usize, units: &[usize]) {
        for &u in units {
            self.last_on[layer][u] = self.measured_at;
        }
    }
}

/// Gives the `units` of hidden layer `layer` fresh incoming weights, uniform Glorot
/// `U(±sqrt(6/(fan_in+fan_out)))` as at initialisation, and a zero bias. Outgoing weights
/// are left alone.
pub fn reinit_units<R: Rng>(mlp: &mut Mlp, layer: usize, units: &[usize], rng: &mut R) {
    let l = &mut mlp.layers_mut()[layer];
    let limit = (6.0 / (l.fan_in() + l.fan_out()) as f64).sqrt() as f32;
    let dist = Uniform::new_inclusive(-limit, limit).expect("finite Glorot limit");
    for &u in units {
        l.weights.column_mut(u).mapv_inplace(|_| dist.sample(rng));
        l.bias[u] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::Activation;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn deaths_are_counted_once_when_they_happen() {
        let mut t = DeadTracker::new(&[4]);
        assert_eq!(t.silent(), vec![Vec::<usize>::new()]);
        // Initialisation: unit 3 never on.
        let d0 = t.record(0, &[vec![true, true, true, false]]);
        assert_eq!(d0[0], LayerDeaths { silent: 1, died: 0 });
        // Epoch 1: unit 1 dies.
        let d1 = t.record(1, &[vec![true, false, true, false]]);
        assert_eq!(d1[0], LayerDeaths { silent: 2, died: 1 });
        // Epoch 2: unit 1 still dead (not counted again), unit 2 dies, unit 3 wakes.
        let d2 = t.record(2, &[vec![true, false, false, true]]);
        assert_eq!(d2[0], LayerDeaths { silent: 2, died: 1 });
        assert_eq!(t.last_on()[0], vec![Some(2), Some(0), Some(1), Some(2)]);
        assert_eq!(t.silent(), vec![vec![1, 2]]);
        // Revived units that stay silent die again.
        t.mark_revived(0, &[1]);
        let d3 = t.record(3, &[vec![true, false, false, true]]);
        assert_eq!(d3[0], LayerDeaths { silent: 2, died: 1 });
    }

    #[test]
    fn on_for_any_unit() {
        let h = array![[0.0f32, 1.0, 0.0], [0.0, 0.0, 0.2]];
        assert_eq!(
            on_for_any(&h.view(), OnRule::NonZero),
            vec![false, true, true]
        );
        assert_eq!(
            on_for_any(&h.view(), OnRule::Above(0.5)),
            vec![false, true, false]
        );
    }

    #[test]
    fn reinit_touches_only_the_chosen_units_incoming_weights() {
        let mut mlp = Mlp::new(6, &[5, 4], 3, Activation::Rectifier, 1);
        for l in mlp.layers_mut() {
            l.weights.fill(9.0);
            l.bias.fill(9.0);
        }
        let before = mlp.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        reinit_units(&mut mlp, 1, &[0, 2], &mut rng);
        let (l, b) = (&mlp.layers()[1], &before.layers()[1]);
        let limit = (6.0f32 / 9.0).sqrt();
        for u in 0..4 {
            let changed = u == 0 || u == 2;
            assert_eq!(l.bias[u] == 0.0, changed);
            assert_eq!(l.weights.column(u) != b.weights.column(u), changed);
            if changed {
                assert!(l.weights.column(u).iter().all(|v| v.abs() <= limit));
            }
        }
        assert_eq!(mlp.layers()[0], before.layers()[0]);
        assert_eq!(mlp.layers()[2], before.layers()[2]);
    }
}
