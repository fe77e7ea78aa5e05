//! The multilayer perceptron: Glorot-initialised layers, a forward pass that keeps the
//! activations, and a backward pass that applies plain SGD with the L1 activation penalty.
//!
//! The weight update is fused into the gradient product: `W ← W − lr·hᵀδ` goes straight into
//! `W` (in the same pass over the weights as the propagated delta for small batches, see
//! [`small_batch`]; as one accumulate-GEMM for larger ones), so no gradient matrix is ever
//! materialised. All buffers live in a [`Workspace`] that is allocated once and reused for
//! every step.

pub mod activation;
pub mod gemm;
pub mod kernels;
pub mod loss;
pub mod simd;
pub mod small_batch;

pub use activation::Activation;

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
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

/// Which products a workspace uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Per layer and per step: sparse where the layer input is sparse enough, else dense.
    #[default]
    Auto,
    /// Always the dense products: [`small_batch`] up to its `MAX_ROWS` rows, GEMM above.
    Dense,
    /// Always the zero-skipping path (for tests and benchmarks).
    Sparse,
}

/// The sparse path is taken when at most this fraction of a layer's inputs is non-zero, for
/// batches the small-batch dense kernels handle (up to `small_batch::MAX_ROWS` examples).
/// Measured on one 1000×1000 layer (forward and backward, one core): skipping zeros is 3.4×
/// faster at 10 % non-zero, 1.5× at 30 %, 1.1× at 40-50 % and 0.8× at 60 %.
pub const SPARSE_MAX_DENSITY: f64 = 0.5;
/// The same for larger batches, where the GEMM is more efficient: the sparse path was 1.6×
/// faster at 20 % non-zero, even at 30 % and 0.8× at 40 % with batches of 100.
pub const SPARSE_MAX_DENSITY_LARGE_BATCH: f64 = 0.3;

/// The density below which `rows` examples take the sparse path.
pub fn sparse_max_density(rows: usize) -> f64 {
    if rows <= small_batch::MAX_ROWS {
        SPARSE_MAX_DENSITY
    } else {
        SPARSE_MAX_DENSITY_LARGE_BATCH
    }
}

/// The same for forward-only passes (evaluation, the claims' probes) of more than
/// `small_batch::MAX_ROWS` examples, per SIMD level: without a backward walk to share, the
/// zero-skipping forward competes with the GEMM alone, which wide vectors make hard to beat.
/// Measured forward passes of one 1000×1000 layer at batch 100 (one core, Sapphire Rapids
/// class, the machine shared): sparse against dense 0.77× at 20 % non-zero with AVX-512;
/// 1.51× at 20 %, 1.09× at 30 %, 0.88× at 40 % with AVX2; 1.94× at 50 %, 1.28× at 70 %
/// scalar.
pub fn forward_sparse_max_density(level: simd::Level) -> f64 {
    match level {
        simd::Level::Avx512 => 0.1,
        simd::Level::Avx2 => 0.3,
        // Four lanes: between AVX2 and scalar.
        simd::Level::Neon => 0.4,
        simd::Level::Scalar => 0.8,
    }
}

/// The density below which `rows` examples take the sparse path, in a training step or
/// (`training` false) a forward-only pass, at the level in force.
fn sparse_threshold(rows: usize, training: bool) -> f64 {
    sparse_threshold_at(simd::active(), rows, training)
}

/// The same at `level` (what `relutui bench --crossover` prints beside its measurements).
pub fn sparse_threshold_at(level: simd::Level, rows: usize, training: bool) -> f64 {
    if training || rows <= small_batch::MAX_ROWS {
        sparse_max_density(rows)
    } else {
        forward_sparse_max_density(level)
    }
}

/// Layers narrower than this always use the dense path: per-row overhead dominates tiny rows.
pub(crate) const SPARSE_MIN_FAN_OUT: usize = 32;

/// Reusable buffers for forward and backward passes of up to `capacity` examples.
#[derive(Debug, Clone)]
pub struct Workspace {
    capacity: usize,
    kernels: Kernels,
    /// Threads that share one step's products.
    threads: usize,
    /// The output of every layer: hidden activations, then the softmax probabilities.
    outputs: Vec<Array2<f32>>,
    /// dCost/d(pre-activation) of every layer.
    deltas: Vec<Array2<f32>>,
    /// Every layer's non-zero inputs per example, for the sparse path.
    nonzeros: Vec<kernels::NonZeros>,
    /// Whether each layer took the sparse path in the last forward pass.
    sparse: Vec<bool>,
    /// Fraction of non-zero values in each layer's input in the last forward pass.
    density: Vec<f64>,
    nll: Vec<f32>,
    rows: usize,
    /// Made for training steps ([`Workspace::for_training`]), not only forward passes.
    training: bool,
}

impl Workspace {
    pub fn new(mlp: &Mlp, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let outputs: Vec<_> = mlp
            .layers
            .iter()
            .map(|l| Array2::zeros((capacity, l.fan_out())))
            .collect();
        let layers = mlp.layers.len();
        Self {
            capacity,
            kernels: Kernels::Auto,
            threads: 1,
            deltas: outputs
                .iter()
                .map(|o| Array2::zeros((0, o.ncols())))
                .collect(),
            outputs,
            nonzeros: mlp
                .layers
                .iter()
                .map(|l| kernels::NonZeros::with_capacity(capacity, l.fan_in()))
                .collect(),
            sparse: vec![false; layers],
            density: vec![1.0; layers],
            nll: vec![0.0; capacity],
            rows: 0,
            training: false,
        }
    }

    /// A workspace for training steps: forward buffers plus the backward pass's deltas.
    pub fn for_training(mlp: &Mlp, capacity: usize) -> Self {
        let mut ws = Self::new(mlp, capacity);
        ws.deltas = ws.outputs.clone();
        ws.training = true;
        ws
    }

    /// Chooses the products (the default is [`Kernels::Auto`]).
    #[must_use]
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Splits each product of a step over `threads` threads (by output columns forward, by
    /// weight rows backward). Small products stay on one thread.
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Per layer: the fraction of non-zero inputs in the last forward pass (measured only when
    /// the kernels are not [`Kernels::Dense`]).
    pub fn input_density(&self) -> &[f64] {
        &self.density
    }

    /// Per layer: whether the last forward pass took the sparse path.
    pub fn sparse_layers(&self) -> &[bool] {
        &self.sparse
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of hidden layers whose activations are kept.
    pub fn hidden_layers(&self) -> usize {
        self.outputs.len() - 1
    }

    /// Activations of hidden layer `layer` for the examples of the last forward pass.
    pub fn hidden(&self, layer: usize) -> ArrayView2<'_, f32> {
        assert!(
            layer < self.hidden_layers(),
            "hidden layer {layer} out of range"
        );
        self.outputs[layer].slice(s![..self.rows, ..])
    }

    /// Class probabilities of the last forward pass.
    pub fn probabilities(&self) -> ArrayView2<'_, f32> {
        self.outputs[self.outputs.len() - 1].slice(s![..self.rows, ..])
    }

    /// Number of examples whose most probable class differs from the label.
    pub fn count_errors(&self, labels: &[u8]) -> usize {
        self.probabilities()
            .axis_iter(Axis(0))
            .zip(labels)
            .filter(|(row, &label)| argmax(row.as_slice().expect("rows are contiguous")) != label)
            .count()
    }
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
                    let nnz = kernels::scan_input(flat, n, layer.fan_in(), &mut ws.nonzeros[i]);
                    let density = nnz as f64 / (n * layer.fan_in()).max(1) as f64;
                    ws.density[i] = density;
                    kernels == Kernels::Sparse
                        || (density <= sparse_threshold(n, ws.training)
                            && layer.fan_out() >= SPARSE_MIN_FAN_OUT)
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

/// Products smaller than this many multiply-adds stay on one thread: spawning costs more.
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// Whether each row of `a` is one contiguous slice (what the small-batch kernels read).
fn rows_contiguous(a: &ArrayView2<'_, f32>) -> bool {
    a.ncols() <= 1 || a.strides()[1] == 1
}

/// Sizes of `parts` near-equal blocks of `len`.
fn block_sizes(len: usize, parts: usize) -> impl Iterator<Item = usize> {
    (0..parts).map(move |t| (len * (t + 1)) / parts - (len * t) / parts)
}

/// How many threads a product of `macs` multiply-adds over `units` splittable units gets.
fn threads_for(threads: usize, macs: usize, units: usize) -> usize {
    if threads <= 1 || macs < PARALLEL_MIN_MACS {
        1
    } else {
        threads.min(units / 64).max(1)
    }
}

/// `out += input · w`, sparse or dense, split by output columns over threads.
pub(crate) fn forward_layer(
    sparse: bool,
    input: ArrayView2<'_, f32>,
    nonzeros: &kernels::NonZeros,
    w: ArrayView2<'_, f32>,
    out: ArrayViewMut2<'_, f32>,
    threads: usize,
) {
    let n = input.nrows();
    let small = !sparse && n <= small_batch::MAX_ROWS && rows_contiguous(&input);
    let w_flat = w.as_slice().expect("weights are in standard layout");
    let block = |cols: std::ops::Range<usize>, mut out: ArrayViewMut2<'_, f32>| {
        if sparse {
            kernels::sparse_forward(nonzeros, n, w_flat, w.ncols(), cols, &mut out);
        } else if small {
            small_batch::forward(&input, w_flat, w.ncols(), cols, &mut out);
        } else if simd::gemm_allowed() {
            gemm::mat_mul(1.0, &input, &w.slice(s![.., cols]), 1.0, &mut out);
        } else {
            // gemm cannot be held to a forced lower level: the small-batch kernel, in
            // groups of its rows, at the level in force.
            let input = input.as_standard_layout();
            for (x, mut o) in input
                .axis_chunks_iter(Axis(0), small_batch::MAX_ROWS)
                .zip(out.axis_chunks_iter_mut(Axis(0), small_batch::MAX_ROWS))
            {
                small_batch::forward(&x, w_flat, w.ncols(), cols.clone(), &mut o);
            }
        }
    };
    let threads = threads_for(threads, n * w.len(), w.ncols());
    if threads == 1 {
        block(0..w.ncols(), out);
        return;
    }
    let level = simd::active();
    std::thread::scope(|scope| {
        let mut out_rest = out;
        let mut c0 = 0;
        for (t, cols) in block_sizes(w.ncols(), threads).enumerate() {
            let (ob, or) = out_rest.split_at(Axis(1), cols);
            out_rest = or;
            let range = c0..c0 + cols;
            c0 += cols;
            if t + 1 == threads {
                block(range, ob);
            } else {
                let block = &block;
                scope.spawn(move || simd::with_level(level, || block(range, ob)));
            }
        }
    });
}

/// What one layer's backward pass reads.
#[derive(Clone, Copy)]
pub(crate) struct Backward<'a> {
    pub(crate) sparse: bool,
    pub(crate) input: ArrayView2<'a, f32>,
    pub(crate) delta: ArrayView2<'a, f32>,
    pub(crate) mask: kernels::BelowMask,
    pub(crate) lr: f32,
}

/// `below = δ·Wᵀ` (from the old weights) and `W −= lr·inputᵀδ`, sparse (one fused walk) or
/// dense (one fused pass for small batches, else two GEMMs), split by weight rows over threads.
pub(crate) fn backward_layer(
    b: Backward<'_>,
    w: ArrayViewMut2<'_, f32>,
    below: Option<ArrayViewMut2<'_, f32>>,
    threads: usize,
) {
    let n = b.input.nrows();
    let block =
        |k0: usize, mut w: ArrayViewMut2<'_, f32>, below: Option<ArrayViewMut2<'_, f32>>| {
            let k1 = k0 + w.nrows();
            if b.sparse {
                kernels::backward_walk(
                    b.input.as_slice().expect("layer inputs are contiguous"),
                    b.input.ncols(),
                    k0,
                    w.as_slice_mut().expect("weight rows are contiguous"),
                    b.delta.as_slice().expect("workspace rows are contiguous"),
                    below.map(|bl| (bl, b.mask)),
                    b.lr,
                );
            } else if n <= small_batch::MAX_ROWS
                && w.is_standard_layout()
                && rows_contiguous(&b.input)
                && rows_contiguous(&b.delta)
            {
                let mut below = below;
                small_batch::backward(
                    &b.input,
                    k0,
                    w.as_slice_mut().expect("standard layout"),
                    &b.delta,
                    below.as_mut(),
                    b.lr,
                );
            } else if !simd::gemm_allowed() {
                // gemm cannot be held to a forced lower level: the fused walk at the level in
                // force (it handles any batch, in groups of the small-batch kernel's rows).
                let input = b.input.as_standard_layout();
                let delta = b.delta.as_standard_layout();
                kernels::backward_walk(
                    input.as_slice().expect("standard layout"),
                    input.ncols(),
                    k0,
                    w.as_slice_mut().expect("weight rows are contiguous"),
                    delta.as_slice().expect("standard layout"),
                    below.map(|bl| (bl, b.mask)),
                    b.lr,
                );
            } else {
                if let Some(mut bl) = below {
                    gemm::mat_mul(1.0, &b.delta, &w.t(), 0.0, &mut bl);
                }
                let input = b.input.slice(s![.., k0..k1]);
                gemm::mat_mul(-b.lr, &input.t(), &b.delta, 1.0, &mut w);
            }
        };
    let threads = threads_for(threads, 2 * n * w.len(), w.nrows());
    if threads == 1 {
        block(0, w, below);
        return;
    }
    let level = simd::active();
    std::thread::scope(|scope| {
        let (mut w_rest, mut below_rest) = (w, below);
        let mut k0 = 0;
        for (t, rows) in block_sizes(w_rest.nrows(), threads).enumerate() {
            let (wb, wr) = w_rest.split_at(Axis(0), rows);
            w_rest = wr;
            let bb = match below_rest.take() {
                Some(bl) => {
                    let (bb, br) = bl.split_at(Axis(1), rows);
                    below_rest = Some(br);
                    Some(bb)
                }
                None => None,
            };
            if t + 1 == threads {
                block(k0, wb, bb);
            } else {
                let block = &block;
                scope.spawn(move || simd::with_level(level, || block(k0, wb, bb)));
            }
            k0 += rows;
        }
    });
}

/// Turns dCost/dh into dCost/d(pre-activation): adds the L1 subgradient `l1/n · sign(h)` and
/// multiplies by `f'`, written in terms of `h`.
pub(crate) fn backprop_through_activation(
    act: Activation,
    l1_step: f32,
    h: &ArrayView2<'_, f32>,
    grad: &mut ArrayViewMut2<'_, f32>,
) {
    // sign(h) for the L1 subgradient; 0 at 0.
    let sign = |h: f32| f32::from(h > 0.0) - f32::from(h < 0.0);
    let zip = Zip::from(grad).and(h);
    // One loop per activation, so that each vectorises, at the level in force.
    simd::vectorize(|| match act {
        Activation::Rectifier => zip.for_each(|g, &h| {
            *g = if h > 0.0 { *g + l1_step } else { 0.0 };
        }),
        Activation::Tanh => zip.for_each(|g, &h| *g = (*g + l1_step * sign(h)) * (1.0 - h * h)),
        Activation::Sigmoid => zip.for_each(|g, &h| *g = (*g + l1_step) * h * (1.0 - h)),
        Activation::Softplus => zip.for_each(|g, &h| {
            *g = (*g + l1_step * sign(h)) * Activation::Softplus.derivative_from_output(h);
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn toy_batch(n: usize, dim: usize, classes: u8, seed: u64) -> (Array2<f32>, Vec<u8>) {
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
    fn sparse_toy_batch(n: usize, dim: usize, seed: u64) -> (Array2<f32>, Vec<u8>) {
        let (mut x, y) = toy_batch(n, dim, 5, seed);
        x.mapv_inplace(|v| if v < 0.4 { 0.0 } else { v });
        (x, y)
    }

    #[test]
    fn sparse_and_dense_paths_train_the_same_network() {
        let (x, y) = sparse_toy_batch(10, 60, 4);
        for act in Activation::ALL {
            for l1 in [0.0, 0.01] {
                let mut dense = Mlp::new(60, &[48, 40], 5, act, 3);
                let mut sparse = dense.clone();
                let mut ws_d = Workspace::for_training(&dense, 10).with_kernels(Kernels::Dense);
                let mut ws_s = Workspace::for_training(&sparse, 10).with_kernels(Kernels::Sparse);
                for step in 0..20 {
                    let rows = if step % 3 == 2 { 7 } else { 10 };
                    let xb = x.slice(s![..rows, ..]);
                    let a = dense.train_step(xb, &y[..rows], 0.2, l1, &mut ws_d);
                    let b = sparse.train_step(xb, &y[..rows], 0.2, l1, &mut ws_s);
                    assert!((a.loss - b.loss).abs() < 1e-4, "{act} step {step}");
                    assert_eq!(a.errors, b.errors);
                }
                assert!(ws_s.sparse_layers().iter().all(|&s| s));
                assert!(ws_d.sparse_layers().iter().all(|&s| !s));
                for (ld, ls) in dense.layers().iter().zip(sparse.layers()) {
                    let diff = (&ld.weights - &ls.weights).mapv(f32::abs);
                    let max = diff.fold(0.0f32, |m, &v| m.max(v));
                    assert!(max < 1e-4, "{act} l1={l1}: weights differ by {max}");
                    let bdiff = (&ld.bias - &ls.bias).mapv(f32::abs);
                    assert!(bdiff.fold(0.0f32, |m, &v| m.max(v)) < 1e-4, "{act} bias");
                }
            }
        }
    }

    #[test]
    fn threads_split_the_products_without_changing_the_result() {
        // Batch 100 takes the GEMM on the dense path, batch 10 the small-batch kernels (with
        // layers wide enough for the products to be split: PARALLEL_MIN_MACS).
        for (act, rows, hidden) in [
            (Activation::Rectifier, 100, [256, 200]),
            (Activation::Tanh, 100, [256, 200]),
            (Activation::Tanh, 10, [1000, 300]),
        ] {
            assert!(rows * 300 * hidden[0] >= PARALLEL_MIN_MACS);
            let (x, y) = sparse_toy_batch(rows, 300, 6);
            for kernels in [Kernels::Dense, Kernels::Sparse] {
                let mut one = Mlp::new(300, &hidden, 5, act, 3);
                let mut three = one.clone();
                let mut ws1 = Workspace::for_training(&one, rows).with_kernels(kernels);
                let mut ws3 = Workspace::for_training(&three, rows)
                    .with_kernels(kernels)
                    .with_threads(3);
                for _ in 0..4 {
                    let a = one.train_step(x.view(), &y, 0.1, 0.001, &mut ws1);
                    let b = three.train_step(x.view(), &y, 0.1, 0.001, &mut ws3);
                    assert!((a.loss - b.loss).abs() < 1e-5, "{act} {kernels:?}");
                }
                for (l1, l3) in one.layers().iter().zip(three.layers()) {
                    let d = (&l1.weights - &l3.weights).mapv(f32::abs);
                    assert!(d.fold(0.0f32, |m, &v| m.max(v)) < 1e-5, "{act} {kernels:?}");
                }
            }
        }
    }

    #[test]
    fn auto_picks_the_sparse_path_only_for_sparse_inputs() {
        let (x, y) = sparse_toy_batch(10, 60, 4);
        let mut relu = Mlp::new(60, &[48, 40], 5, Activation::Rectifier, 3);
        let mut tanh = Mlp::new(60, &[48, 40], 5, Activation::Tanh, 3);
        let mut ws_r = Workspace::for_training(&relu, 10);
        let mut ws_t = Workspace::for_training(&tanh, 10);
        relu.train_step(x.view(), &y, 0.1, 0.0, &mut ws_r);
        tanh.train_step(x.view(), &y, 0.1, 0.0, &mut ws_t);
        // The pixels-like input is ~30 % non-zero: sparse for both. Tanh hidden layers are
        // dense (never exactly 0); the 5-wide output layer always uses the GEMM.
        assert!(ws_t.input_density()[0] < SPARSE_MAX_DENSITY);
        assert_eq!(ws_t.sparse_layers(), &[true, false, false]);
        assert!((ws_t.input_density()[1] - 1.0).abs() < 1e-12);
        assert!(!ws_r.sparse_layers()[2]);
    }

    #[test]
    fn larger_batches_need_sparser_inputs_for_the_sparse_path() {
        // 40 % of the inputs non-zero: worth skipping at batch 10, not at batch 100 (GEMM).
        let x = Array2::from_shape_fn(
            (100, 60),
            |(i, k)| {
                if (i * 7 + k * 3) % 5 < 2 {
                    0.5
                } else {
                    0.0
                }
            },
        );
        let mlp = Mlp::new(60, &[48], 5, Activation::Rectifier, 3);
        for (rows, sparse) in [(10, true), (100, false)] {
            let mut ws = Workspace::for_training(&mlp, rows);
            mlp.forward(x.slice(s![..rows, ..]), &mut ws);
            assert!((ws.input_density()[0] - 0.4).abs() < 0.01);
            assert_eq!(ws.sparse_layers()[0], sparse, "batch {rows}");
        }
        // A forward-only pass of 100 goes by the level's own threshold, on every level.
        for level in simd::Level::available() {
            let mut ws = Workspace::new(&mlp, 100);
            simd::with_level(level, || mlp.forward(x.view(), &mut ws));
            let sparse = 0.4 <= forward_sparse_max_density(level);
            assert_eq!(ws.sparse_layers()[0], sparse, "{}", level.name());
        }
    }

    #[test]
    fn inputs_in_any_layout_give_the_same_result() {
        let (x, y) = sparse_toy_batch(10, 60, 4);
        // The same values stored column by column: each example's inputs are 10 apart.
        let mut column_major = Array2::<f32>::zeros((60, 10));
        column_major.assign(&x.t());
        let x_f = column_major.t();
        assert!(!rows_contiguous(&x_f));
        for kernels in [Kernels::Auto, Kernels::Dense] {
            let mut std_net = Mlp::new(60, &[48], 5, Activation::Tanh, 3);
            let mut f_net = std_net.clone();
            let mut ws_a = Workspace::for_training(&std_net, 10).with_kernels(kernels);
            let mut ws_b = Workspace::for_training(&f_net, 10).with_kernels(kernels);
            for _ in 0..3 {
                let sa = std_net.train_step(x.view(), &y, 0.1, 0.001, &mut ws_a);
                let sb = f_net.train_step(x_f, &y, 0.1, 0.001, &mut ws_b);
                assert!((sa.loss - sb.loss).abs() < 1e-5, "{kernels:?}");
            }
            let d = (&std_net.layers()[0].weights - &f_net.layers()[0].weights).mapv(f32::abs);
            assert!(d.fold(0.0f32, |m, &v| m.max(v)) < 1e-5, "{kernels:?}");
        }
    }

    #[test]
    fn partial_batches_use_only_their_rows() {
        let (x, y) = toy_batch(10, 4, 3, 9);
        let mlp = Mlp::new(4, &[5], 3, Activation::Tanh, 1);
        let mut big = Workspace::new(&mlp, 10);
        let mut small = Workspace::new(&mlp, 3);
        mlp.forward(x.view(), &mut big);
        mlp.forward(x.slice(s![..3, ..]), &mut big);
        mlp.forward(x.slice(s![..3, ..]), &mut small);
        assert_eq!(big.probabilities(), small.probabilities());
        assert_eq!(big.count_errors(&y[..3]), small.count_errors(&y[..3]));
    }
}
