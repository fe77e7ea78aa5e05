//! What the paper measures: error rates, and per hidden layer the exact sparsity, dead and
//! saturated units, the mean activation and the number of active units per example.

use ndarray::{ArrayView2, Axis};

use crate::engine::data::{Dataset, InputBuffer};
use crate::engine::nn::{Mlp, Workspace};

/// Statistics of one hidden layer over a set of examples.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LayerStats {
    /// Fraction of activations that are exactly 0.0.
    pub sparsity: f64,
    /// Units that are 0.0 on every example.
    pub dead_units: usize,
    /// Units within 1 % of a bound of the activation on every example (bounded activations only).
    pub saturated_units: usize,
    pub mean_activation: f64,
    /// Mean number of non-zero units per example.
    pub active_units: f64,
}

/// Accumulates [`LayerStats`] over blocks of activations (`examples × units`).
#[derive(Debug, Clone)]
pub struct LayerAccumulator {
    bounds: Option<(f32, f32)>,
    examples: u64,
    zeros: u64,
    sum: f64,
    ever_active: Vec<bool>,
    always_saturated: Vec<bool>,
}

impl LayerAccumulator {
    /// `bounds` is the activation's range where it has one (tanh, sigmoid).
    pub fn new(units: usize, bounds: Option<(f32, f32)>) -> Self {
        Self {
            bounds,
            examples: 0,
            zeros: 0,
            sum: 0.0,
            ever_active: vec![false; units],
            always_saturated: vec![true; units],
        }
    }

    pub fn add(&mut self, h: &ArrayView2<'_, f32>) {
        assert_eq!(h.ncols(), self.ever_active.len(), "unit count changed");
        self.examples += h.nrows() as u64;
        // A bound b is reached when |h − b| ≤ 1 % of the larger |bound| (0.01 for tanh and sigmoid).
        let near = self
            .bounds
            .map(|(lo, hi)| (lo, hi, 0.01 * lo.abs().max(hi.abs())));
        for row in h.axis_iter(Axis(0)) {
            let mut row_sum = 0.0f32;
            for ((&v, alive), sat) in row
                .iter()
                .zip(self.ever_active.iter_mut())
                .zip(self.always_saturated.iter_mut())
            {
                row_sum += v;
                if v == 0.0 {
                    self.zeros += 1;
                } else {
                    *alive = true;
                }
                if let Some((lo, hi, tol)) = near {
                    *sat &= (v - lo).abs() <= tol || (v - hi).abs() <= tol;
                }
            }
            self.sum += f64::from(row_sum);
        }
    }

    pub fn finish(&self) -> LayerStats {
        let units = self.ever_active.len();
        let total = (self.examples * units as u64).max(1) as f64;
        let saturated_units = if self.bounds.is_some() && self.examples > 0 {
            self.always_saturated.iter().filter(|&&s| s).count()
        } else {
            0
        };
        let nonzero = total - self.zeros as f64;
        LayerStats {
            sparsity: self.zeros as f64 / total,
            dead_units: if self.examples == 0 {
                0
            } else {
                self.ever_active.iter().filter(|&&a| !a).count()
            },
            saturated_units,
            mean_activation: self.sum / total,
            active_units: nonzero / self.examples.max(1) as f64,
        }
    }
}

/// A network's error on a dataset and, when asked, its hidden-layer statistics there.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub error: f64,
    pub layers: Vec<LayerStats>,
}

/// Evaluates `mlp` on `data` in chunks of the workspace's capacity, scaled into `x` (which
/// must hold as many examples as the workspace).
pub fn evaluate(
    mlp: &Mlp,
    data: &Dataset,
    ws: &mut Workspace,
    x: &mut InputBuffer,
    with_layers: bool,
) -> Evaluation {
    let bounds = mlp.activation().bounds();
    let mut accs: Vec<LayerAccumulator> = if with_layers {
        mlp.layers()[..mlp.hidden_layers()]
            .iter()
            .map(|l| LayerAccumulator::new(l.fan_out(), bounds))
            .collect()
    } else {
        Vec::new()
    };
    let mut errors = 0;
    let chunk = ws.capacity();
    let mut start = 0;
    while start < data.len() {
        let end = (start + chunk).min(data.len());
        mlp.forward(x.load(data, start..end), ws);
        errors += ws.count_errors(&data.labels()[start..end]);
        for (l, acc) in accs.iter_mut().enumerate() {
            acc.add(&ws.hidden(l));
        }
        start = end;
    }
    Evaluation {
        error: errors as f64 / data.len().max(1) as f64,
        layers: accs.iter().map(LayerAccumulator::finish).collect(),
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the expected values are exact in binary floating point"
)]
mod tests {
    use super::*;
    use crate::engine::nn::Activation;
    use ndarray::array;

    #[test]
    fn rectifier_layer_stats_on_hand_made_activations() {
        // 3 examples × 4 units; unit 2 is zero everywhere (dead), unit 3 is active once.
        let h = array![
            [0.0f32, 1.0, 0.0, 0.0],
            [2.0, 0.0, 0.0, 0.0],
            [1.0, 3.0, 0.0, 5.0],
        ];
        let mut acc = LayerAccumulator::new(4, None);
        acc.add(&h.slice(ndarray::s![..2, ..]));
        acc.add(&h.slice(ndarray::s![2.., ..]));
        let s = acc.finish();
        assert!((s.sparsity - 7.0 / 12.0).abs() < 1e-12);
        assert_eq!(s.dead_units, 1);
        assert_eq!(s.saturated_units, 0);
        assert!((s.mean_activation - 12.0 / 12.0).abs() < 1e-12);
        assert!((s.active_units - 5.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn tanh_saturation_needs_every_example_near_a_bound() {
        let h = array![[0.995f32, -0.999, 0.5, 0.98], [-0.992, -1.0, 0.999, 0.999],];
        let mut acc = LayerAccumulator::new(4, Activation::Tanh.bounds());
        acc.add(&h.view());
        let s = acc.finish();
        // Units 0 and 1 sit within 0.01 of ±1 on both examples; 2 and 3 leave the band once.
        assert_eq!(s.saturated_units, 2);
        assert_eq!(s.dead_units, 0);
        assert_eq!(s.sparsity, 0.0);
        assert!((s.active_units - 4.0).abs() < 1e-12);
    }

    #[test]
    fn sigmoid_saturation_at_both_bounds() {
        let h = array![[0.005f32, 0.5], [0.999, 0.995]];
        let mut acc = LayerAccumulator::new(2, Activation::Sigmoid.bounds());
        acc.add(&h.view());
        assert_eq!(acc.finish().saturated_units, 1);
    }

    #[test]
    fn evaluate_counts_errors_over_chunks() {
        let mlp = Mlp::new(4, &[3], 2, Activation::Rectifier, 1);
        let data = Dataset::from_bytes(vec![10; 4 * 7], vec![0, 1, 0, 1, 0, 1, 1], 4);
        // All inputs are equal, so every prediction is the same class.
        let mut ws = Workspace::new(&mlp, 3);
        let e = evaluate(&mlp, &data, &mut ws, &mut InputBuffer::new(3, 4), true);
        assert!(e.error == 3.0 / 7.0 || e.error == 4.0 / 7.0, "{}", e.error);
        assert_eq!(e.layers.len(), 1);
        let mut ws_big = Workspace::new(&mlp, 100);
        let mut x_big = InputBuffer::new(100, 4);
        assert_eq!(evaluate(&mlp, &data, &mut ws_big, &mut x_big, true), e);
    }
}
