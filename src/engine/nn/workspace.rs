//! The [`Workspace`]: every buffer a forward or backward pass needs (each layer's outputs and
//! deltas, its non-zero inputs, which path it took), allocated once per network and batch
//! capacity and reused for every step.

use ndarray::{s, Array2, ArrayView2, Axis};

use super::kernels;
use super::products::Kernels;
use super::{argmax, Mlp};

/// Reusable buffers for forward and backward passes of up to `capacity` examples.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub(super) capacity: usize,
    pub(super) kernels: Kernels,
    /// Threads that share one step's products.
    pub(super) threads: usize,
    /// The output of every layer: hidden activations, then the softmax probabilities.
    pub(super) outputs: Vec<Array2<f32>>,
    /// dCost/d(pre-activation) of every layer.
    pub(super) deltas: Vec<Array2<f32>>,
    /// Every layer's non-zero inputs per example, for the sparse path.
    pub(super) nonzeros: Vec<kernels::NonZeros>,
    /// Whether each layer took the sparse path in the last forward pass.
    pub(super) sparse: Vec<bool>,
    /// Fraction of non-zero values in each layer's input in the last forward pass.
    pub(super) density: Vec<f64>,
    pub(super) nll: Vec<f32>,
    pub(super) rows: usize,
    /// Made for training steps ([`Workspace::for_training`]), not only forward passes.
    pub(super) training: bool,
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

    /// [`Workspace::with_threads`] on a workspace in use.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::tests::toy_batch;
    use crate::engine::nn::Activation;

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
