//! Efficiency (claim 4): multiply-adds of a forward pass, dense and if every exactly-zero input
//! to a layer were skipped. With exact zeros a layer's cost is `nnz(input) · fan_out`.

use ndarray::{ArrayView2, Axis};

use crate::engine::nn::Mlp;

/// Multiply-adds of one dense forward pass of one example: `Σ fan_in · fan_out` over every
/// layer, the output layer included; bias additions are not counted.
pub fn dense(mlp: &Mlp) -> f64 {
    mlp.layers()
        .iter()
        .map(|l| (l.fan_in() * l.fan_out()) as f64)
        .sum()
}

/// Mean number of entries of each row of `x` that are not exactly 0.0.
pub fn mean_nonzeros(x: &ArrayView2<'_, f32>) -> f64 {
    if x.nrows() == 0 {
        return 0.0;
    }
    let nnz: usize = x
        .axis_iter(Axis(0))
        .map(|row| row.iter().filter(|&&v| v != 0.0).count())
        .sum();
    nnz as f64 / x.nrows() as f64
}

/// Multiply-adds per example when zero inputs are skipped: `input_nnz[l]` is the mean number
/// of non-zero inputs to layer `l` (the pixels for layer 0, hidden layer `l − 1` after it).
pub fn if_sparse(mlp: &Mlp, input_nnz: &[f64]) -> f64 {
    assert_eq!(
        input_nnz.len(),
        mlp.layers().len(),
        "one input count per layer"
    );
    mlp.layers()
        .iter()
        .zip(input_nnz)
        .map(|(l, &nnz)| nnz * l.fan_out() as f64)
        .sum()
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the expected values are exact in binary floating point"
)]
mod tests {
    use super::*;
    use crate::engine::nn::{Activation, Workspace};
    use ndarray::array;

    #[test]
    fn flops_of_a_tiny_known_net() {
        // 4 → 3 → 2 → 5: dense 4·3 + 3·2 + 2·5 = 28.
        let mlp = Mlp::new(4, &[3, 2], 5, Activation::Rectifier, 1);
        assert_eq!(dense(&mlp), 28.0);
        // Inputs with 1 and 3 non-zeros: 2 on average.
        let x = array![[0.0f32, 0.5, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0]];
        assert_eq!(mean_nonzeros(&x.view()), 2.0);
        // 2 pixels, 1 active unit in layer 1, 2 in layer 2: 2·3 + 1·2 + 2·5 = 18.
        assert_eq!(if_sparse(&mlp, &[2.0, 1.0, 2.0]), 18.0);
        // All dense: the same as dense().
        assert_eq!(if_sparse(&mlp, &[4.0, 3.0, 2.0]), dense(&mlp));
    }

    #[test]
    fn a_real_forward_pass_never_costs_more_than_dense() {
        let mlp = Mlp::new(4, &[8, 8], 3, Activation::Rectifier, 2);
        let x = array![[0.0f32, 0.5, 0.0, 0.2], [1.0, 0.0, 0.0, 0.3]];
        let mut ws = Workspace::new(&mlp, 2);
        mlp.forward(x.view(), &mut ws);
        let nnz = [
            mean_nonzeros(&x.view()),
            mean_nonzeros(&ws.hidden(0)),
            mean_nonzeros(&ws.hidden(1)),
        ];
        let sparse = if_sparse(&mlp, &nnz);
        assert!(sparse <= dense(&mlp) && sparse > 0.0);
    }
}
