//! The multilayer perceptron: Glorot-initialised layers, a forward pass that keeps the
//! activations, and a backward pass that applies plain SGD with the L1 activation penalty.
//!
//! The weight update is fused into the gradient product: `W ← W − lr·hᵀδ` goes straight into
//! `W` (in the same pass over the weights as the propagated delta for small batches, see
//! [`small_batch`]; as one accumulate-GEMM for larger ones), so no gradient matrix is ever
//! materialised. All buffers live in a [`Workspace`] that is allocated once and reused for
//! every step.
//!
//! | module | what it holds |
//! | --- | --- |
//! | this file | [`Layer`], [`Mlp`]: initialisation, the forward pass, the training step |
//! | [`workspace`] | the reusable buffers of a forward or backward pass |
//! | [`products`] | the product dispatch: sparse or dense, small-batch or GEMM, threads |
//! | [`kernels`] | the zero-skipping products, per SIMD level |
//! | [`small_batch`] | the dense products for batches of up to `MAX_ROWS` examples |
//! | [`gemm`] | the dense products of larger batches |
//! | [`simd`] | the SIMD level in force, and forcing one |
//! | [`activation`] | the activation functions and their derivatives |
//! | [`loss`] | the softmax negative log-likelihood and the L1 term |

pub mod activation;
pub mod gemm;
pub mod kernels;
pub mod loss;
pub mod products;
pub mod simd;
pub mod small_batch;
pub mod workspace;

pub use activation::Activation;
use products::sparse_threshold;
pub(crate) use products::{
    backprop_through_activation, backward_layer, forward_layer, Backward, SPARSE_MIN_FAN_OUT,
};
pub use products::{
    forward_sparse_max_density, sparse_max_density, sparse_max_density_at, sparse_threshold_at,
    Kernels, SPARSE_MAX_DENSITY, SPARSE_MAX_DENSITY_LARGE_BATCH,
    SPARSE_MAX_DENSITY_LARGE_BATCH_AVX512, SPARSE_MAX_DENSITY_LARGE_BATCH_AVX512_HALF_WIDTH,
};
pub use workspace::Workspace;

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::distr::{Distribution, Uniform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// One fully connected layer: `out = in · weights + bias`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// `fan_in × fan_out`.
    pub weights: Array2<f32>,
    pub bias: Array1<f32>,
}

impl Layer {
    pub fn fan_in(&self) -> usize {
        self.weights.nrows()
    }

    pub fn fan_out(&self) -> usize {
        self.weights.ncols()
    }
}

/// A multilayer perceptron with one activation in every hidden layer and a softmax output.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    activation: Activation,
    layers: Vec<Layer>,
}

/// What one training step measured, before its update.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepStats {
    /// Mean negative log-likelihood over the batch.
    pub loss: f32,
    /// The L1 term `l1 · (batch mean of Σ|h|)`.
    pub l1_penalty: f32,
    /// Misclassified examples in the batch.
    pub errors: usize,
}

/// Index of the largest value; the first one wins ties. NaN never wins.
pub fn argmax(values: &[f32]) -> u8 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u8
}

impl Mlp {
    /// A network `input → hidden[0] → … → classes`, with uniform Glorot weights
    /// `U(±sqrt(6/(fan_in+fan_out)))` drawn from `seed` and zero biases. The weights depend
    /// only on the shape and the seed, so networks with different activations start equal.
    pub fn new(
        input: usize,
        hidden: &[usize],
        classes: usize,
        activation: Activation,
        seed: u64,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sizes = Vec::with_capacity(hidden.len() + 2);
        sizes.push(input);
        sizes.extend_from_slice(hidden);
        sizes.push(classes);
        let layers = sizes
            .windows(2)
            .map(|w| {
                let (fan_in, fan_out) = (w[0], w[1]);
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
                let dist = Uniform::new_inclusive(-limit, limit).expect("finite Glorot limit");
                Layer {
                    weights: Array2::from_shape_simple_fn((fan_in, fan_out), || {
                        dist.sample(&mut rng)
                    }),
                    bias: Array1::zeros(fan_out),
                }
            })
            .collect();
        Self { activation, layers }
    }

    /// Builds a network from existing layers (for checkpoints and tests).
    pub fn from_layers(activation: Activation, layers: Vec<Layer>) -> Self {
        assert!(
            !layers.is_empty(),
            "a network needs at least an output layer"
        );
        for pair in layers.windows(2) {
            assert_eq!(
                pair[0].fan_out(),
                pair[1].fan_in(),
                "layer shapes must chain"
            );
        }
        Self { activation, layers }
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    pub fn layers_mut(&mut self) -> &mut [Layer] {
        &mut self.layers
    }

    pub fn hidden_layers(&self) -> usize {
        self.layers.len() - 1
    }

    pub fn input_dim(&self) -> usize {
        self.layers[0].fan_in()
    }

    pub fn parameter_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + l.bias.len())
            .sum()
    }

    /// Runs `x` through the network, leaving every layer's output in `ws`. The last layer
    /// holds raw logits afterwards; use [`Mlp::forward`] for probabilities.
    fn forward_logits(&self, x: ArrayView2<'_, f32>, ws: &mut Workspace) {
        self.forward_layers(x, ws, self.layers.len());
    }

    /// Runs `x` through the hidden layers `0..=layer` only: enough for [`Workspace::hidden`]
    /// of that layer and the ones below it, at a fraction of a full pass.
    pub fn forward_hidden(&self, x: ArrayView2<'_, f32>, ws: &mut Workspace, layer: usize) {
        assert!(
            layer < self.hidden_layers(),
            "hidden layer {layer} out of range"
        );
        self.forward_layers(x, ws, layer + 1);
    }

    /// Runs hidden layer `layer` alone on `h`, the activations of the layer below (the
    /// network's input for layer 0): [`Workspace::hidden`] of `layer` afterwards holds what
    /// [`Mlp::forward_hidden`] would have left there for the input that gave `h`.
    pub fn forward_hidden_from(&self, h: ArrayView2<'_, f32>, ws: &mut Workspace, layer: usize) {
        assert!(
            layer < self.hidden_layers(),
            "hidden layer {layer} out of range"
        );
        self.forward_range(h, ws, layer..layer + 1);
    }

    fn forward_layers(&self, x: ArrayView2<'_, f32>, ws: &mut Workspace, depth: usize) {
        self.forward_range(x, ws, 0..depth);
    }

    /// Runs `x`, the input of layer `layers.start`, through `layers`.
    fn forward_range(&self, x: ArrayView2<'_, f32>, ws: &mut Workspace, layers: Range<usize>) {
        let n = x.nrows();
        assert!(n <= ws.capacity, "batch of {n} exceeds workspace capacity");
        assert_eq!(
            x.ncols(),
            self.layers[layers.start].fan_in(),
            "input width mismatch"
        );
        ws.rows = n;
        let last = self.layers.len() - 1;
        let first = layers.start;
        for (i, layer) in self.layers.iter().enumerate().take(layers.end).skip(first) {
            let (done, rest) = ws.outputs.split_at_mut(i);
            let input = if i == first {
                x
            } else {
                done[i - 1].slice(s![..n, ..])
            };
            let mut out = rest[0].slice_mut(s![..n, ..]);
            // Start from the bias, then accumulate the product into it.
            out.assign(
                &layer
                    .bias
                    .broadcast((n, layer.fan_out()))
                    .expect("bias row"),
            );
            let sparse = match (ws.kernels, input.as_slice()) {
                (Kernels::Dense, _) | (_, None) => false,
                (kernels, Some(flat)) => {
                    // Count first; record where the non-zeros are only for the sparse path.
                    let flat = &flat[..n * layer.fan_in()];
                    let nnz = kernels::count_nonzeros(flat);
                    let density = nnz as f64 / flat.len().max(1) as f64;
                    ws.density[i] = density;
                    let sparse = kernels == Kernels::Sparse
                        || (density <= sparse_threshold(n, ws.training)
                            && layer.fan_out() >= SPARSE_MIN_FAN_OUT);
                    if sparse {
                        kernels::scan_input(flat, n, layer.fan_in(), &mut ws.nonzeros[i]);
                    }
                    sparse
                }
            };
            ws.sparse[i] = sparse;
            forward_layer(
                sparse,
                input,
                &ws.nonzeros[i],
                layer.weights.view(),
                out.view_mut(),
                ws.threads,
            );
            if i != last {
                self.activation.apply_in_place(out);
            }
        }
    }

    /// Forward pass: hidden activations and class probabilities end up in `ws`.
    pub fn forward(&self, x: ArrayView2<'_, f32>, ws: &mut Workspace) {
        self.forward_logits(x, ws);
        let n = x.nrows();
        let last = ws.outputs.len() - 1;
        let mut probs = ws.outputs[last].slice_mut(s![..n, ..]);
        for mut row in probs.axis_iter_mut(Axis(0)) {
            let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0;
            row.mapv_inplace(|v| {
                let e = (v - max).exp();
                sum += e;
                e
            });
            row.mapv_inplace(|e| e / sum);
        }
    }

    /// The cost that [`Mlp::train_step`] descends, without changing anything:
    /// mean NLL plus `l1 · (batch mean of Σ|h|)` over all hidden units.
    pub fn cost(&self, x: ArrayView2<'_, f32>, labels: &[u8], l1: f32, ws: &mut Workspace) -> f64 {
        let stats = self.evaluate_batch(x, labels, l1, ws);
        f64::from(stats.loss) + f64::from(stats.l1_penalty)
    }

    fn evaluate_batch(
        &self,
        x: ArrayView2<'_, f32>,
        labels: &[u8],
        l1: f32,
        ws: &mut Workspace,
    ) -> StepStats {
        let n = x.nrows();
        self.forward_logits(x, ws);
        let last = ws.outputs.len() - 1;
        loss::softmax_nll_in_place(
            ws.outputs[last].slice_mut(s![..n, ..]),
            labels,
            &mut ws.nll[..n],
        );
        let loss = ws.nll[..n].iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let l1_penalty = if l1 == 0.0 {
            0.0
        } else {
            let total: f64 = (0..last).map(|l| loss::l1_sum(&ws.hidden(l))).sum();
            f64::from(l1) * total / n as f64
        };
        StepStats {
            loss: loss as f32,
            l1_penalty: l1_penalty as f32,
            errors: ws.count_errors(labels),
        }
    }

    /// One step of plain SGD on the batch `(x, labels)` with learning rate `lr` and L1
    /// penalty `l1` on the hidden activations. Returns the batch's loss before the update.
    pub fn train_step(
        &mut self,
        x: ArrayView2<'_, f32>,
        labels: &[u8],
        lr: f32,
        l1: f32,
        ws: &mut Workspace,
    ) -> StepStats {
        assert!(
            ws.deltas[0].nrows() == ws.capacity,
            "train_step needs a Workspace::for_training"
        );
        let stats = self.evaluate_batch(x, labels, l1, ws);
        let n = x.nrows();
        let inv_n = 1.0 / n as f32;
        let last = self.layers.len() - 1;

        // Output delta: (softmax − onehot) / n.
        {
            let mut delta = ws.deltas[last].slice_mut(s![..n, ..]);
            delta.assign(&ws.outputs[last].slice(s![..n, ..]));
            for (mut row, &label) in delta.axis_iter_mut(Axis(0)).zip(labels) {
                row[usize::from(label)] -= 1.0;
            }
            delta.mapv_inplace(|v| v * inv_n);
        }

        let act = self.activation;
        let l1_step = l1 * inv_n;
        for i in (0..=last).rev() {
            let (lower, upper) = ws.deltas.split_at_mut(i);
            let delta = upper[0].slice(s![..n, ..]);
            let layer = &mut self.layers[i];
            let input = if i == 0 {
                x
            } else {
                ws.outputs[i - 1].slice(s![..n, ..])
            };
            // Zeros below a rectifier have zero derivative: their deltas need no dot product.
            let mask = if act == Activation::Rectifier {
                kernels::BelowMask::NonZeroInputs
            } else {
                kernels::BelowMask::All
            };
            backward_layer(
                Backward {
                    sparse: ws.sparse[i],
                    input,
                    delta,
                    mask,
                    lr,
                },
                layer.weights.view_mut(),
                (i > 0).then(|| lower[i - 1].slice_mut(s![..n, ..])),
                ws.threads,
            );
            for row in delta.axis_iter(Axis(0)) {
                layer.bias.scaled_add(-lr, &row);
            }
            if i > 0 {
                let h = ws.outputs[i - 1].slice(s![..n, ..]);
                let mut below = lower[i - 1].slice_mut(s![..n, ..]);
                backprop_through_activation(act, l1_step, &h, &mut below);
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    pub(super) fn toy_batch(
        n: usize,
        dim: usize,
        classes: u8,
        seed: u64,
    ) -> (Array2<f32>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array2::from_shape_simple_fn((n, dim), || rng.random_range(-1.0..1.0));
        let y = (0..n).map(|_| rng.random_range(0..classes)).collect();
        (x, y)
    }

    /// Kinks (the rectifier at 0, and |h| in the L1 term at 0) make finite differences
    /// meaningless where a perturbation flips the sign of a unit; such parameters are skipped.
    fn sign_pattern(mlp: &Mlp, x: ArrayView2<'_, f32>, ws: &mut Workspace) -> Vec<i8> {
        mlp.forward(x, ws);
        (0..mlp.hidden_layers())
            .flat_map(|l| {
                ws.hidden(l)
                    .iter()
                    .map(|&v| v.total_cmp(&0.0) as i8)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn check_gradients(act: Activation, l1: f32, kernels: Kernels) {
        let (mut x, y) = toy_batch(6, 5, 3, 7);
        if kernels == Kernels::Sparse {
            x.mapv_inplace(|v| if v < 0.0 { 0.0 } else { v });
        }
        let mut mlp = Mlp::new(5, &[7, 4], 3, act, 11);
        // Non-zero biases so that every parameter matters.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for layer in mlp.layers_mut() {
            layer.bias.mapv_inplace(|_| rng.random_range(-0.3..0.3));
        }
        let mut ws = Workspace::for_training(&mlp, 6).with_kernels(kernels);

        // The production update with lr = 1 moves every parameter by exactly −gradient.
        let mut stepped = mlp.clone();
        stepped.train_step(x.view(), &y, 1.0, l1, &mut ws);

        let eps = 1e-2f32;
        let mut checked = 0;
        for li in 0..mlp.layers().len() {
            let shape = mlp.layers()[li].weights.dim();
            let params: Vec<(Option<(usize, usize)>, usize)> = (0..shape.0)
                .flat_map(|r| (0..shape.1).map(move |c| (Some((r, c)), 0)))
                .chain((0..shape.1).map(|c| (None, c)))
                .collect();
            for (pos, c) in params {
                let analytic = match pos {
                    Some(rc) => mlp.layers()[li].weights[rc] - stepped.layers()[li].weights[rc],
                    None => mlp.layers()[li].bias[c] - stepped.layers()[li].bias[c],
                };
                let mut plus = mlp.clone();
                let mut minus = mlp.clone();
                set(&mut plus, li, pos, c, eps);
                set(&mut minus, li, pos, c, -eps);
                if (act == Activation::Rectifier || l1 > 0.0)
                    && sign_pattern(&plus, x.view(), &mut ws)
                        != sign_pattern(&minus, x.view(), &mut ws)
                {
                    continue;
                }
                let numeric = ((plus.cost(x.view(), &y, l1, &mut ws)
                    - minus.cost(x.view(), &y, l1, &mut ws))
                    / (2.0 * f64::from(eps))) as f32;
                let tol = 2e-3 + 2e-2 * numeric.abs().max(analytic.abs());
                assert!(
                    (numeric - analytic).abs() <= tol,
                    "{act} l1={l1} layer {li} {pos:?}/{c}: numeric {numeric} analytic {analytic}"
                );
                checked += 1;
            }
        }
        assert!(checked > 80, "only {checked} parameters were checked");
    }

    fn set(m: &mut Mlp, li: usize, pos: Option<(usize, usize)>, c: usize, delta: f32) {
        match pos {
            Some(rc) => m.layers_mut()[li].weights[rc] += delta,
            None => m.layers_mut()[li].bias[c] += delta,
        }
    }

    #[test]
    fn gradients_match_finite_differences_without_l1() {
        for act in Activation::ALL {
            check_gradients(act, 0.0, Kernels::Dense);
            check_gradients(act, 0.0, Kernels::Sparse);
        }
    }

    #[test]
    fn gradients_match_finite_differences_with_l1() {
        for act in Activation::ALL {
            check_gradients(act, 0.05, Kernels::Dense);
            check_gradients(act, 0.05, Kernels::Sparse);
        }
    }

    #[test]
    fn glorot_init_is_bounded_seeded_and_shared_across_activations() {
        let a = Mlp::new(784, &[100, 50], 10, Activation::Rectifier, 5);
        let b = Mlp::new(784, &[100, 50], 10, Activation::Tanh, 5);
        let c = Mlp::new(784, &[100, 50], 10, Activation::Rectifier, 6);
        assert_eq!(a.layers(), b.layers());
        assert_ne!(a.layers(), c.layers());
        let limit = (6.0f32 / 884.0).sqrt();
        let w = &a.layers()[0].weights;
        assert!(w.iter().all(|v| v.abs() <= limit));
        // Uniform on ±limit: the largest draw sits near the limit, the mean near 0.
        assert!(w.iter().any(|v| v.abs() > 0.99 * limit));
        assert!(w.mean().unwrap().abs() < 0.01 * limit);
        assert!(a.layers().iter().all(|l| l.bias.iter().all(|&b| b == 0.0)));
    }

    #[test]
    fn training_reduces_the_loss_on_a_fixed_batch() {
        let (x, y) = toy_batch(20, 8, 4, 1);
        for act in Activation::ALL {
            let mut mlp = Mlp::new(8, &[16, 16], 4, act, 2);
            let mut ws = Workspace::for_training(&mlp, 20);
            let first = mlp.train_step(x.view(), &y, 1.0, 0.0, &mut ws).loss;
            let mut last = first;
            for _ in 0..400 {
                last = mlp.train_step(x.view(), &y, 1.0, 0.0, &mut ws).loss;
            }
            assert!(last < 0.3 * first, "{act}: loss {first} -> {last}");
        }
    }

    /// Sparse inputs (as MNIST pixels are) and a rectifier: both paths must agree.
    pub(super) fn sparse_toy_batch(n: usize, dim: usize, seed: u64) -> (Array2<f32>, Vec<u8>) {
        let (mut x, y) = toy_batch(n, dim, 5, seed);
        x.mapv_inplace(|v| if v < 0.4 { 0.0 } else { v });
        (x, y)
    }
}
