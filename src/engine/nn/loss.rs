//! Numerically stable softmax with negative log-likelihood, and the L1 activation penalty.

use ndarray::{ArrayViewMut2, Axis};

/// Replaces each row of `logits` by its softmax in place and returns, for each example,
/// its negative log-likelihood `-ln p(label)`, computed from the log-sum-exp so that it
/// stays finite when a probability underflows.
pub fn softmax_nll_in_place(mut logits: ArrayViewMut2<'_, f32>, labels: &[u8], nll: &mut [f32]) {
    debug_assert_eq!(logits.nrows(), labels.len());
    for ((mut row, &label), out) in logits
        .axis_iter_mut(Axis(0))
        .zip(labels)
        .zip(nll.iter_mut())
    {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let target = row[usize::from(label)] - max;
        let mut sum = 0.0f32;
        row.mapv_inplace(|v| {
            let e = (v - max).exp();
            sum += e;
            e
        });
        let inv = 1.0 / sum;
        row.mapv_inplace(|e| e * inv);
        *out = sum.ln() - target;
    }
}

/// `Σ|h|` over a block of activations.
pub fn l1_sum(h: &ndarray::ArrayView2<'_, f32>) -> f64 {
    h.iter().map(|v| f64::from(v.abs())).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_rows_sum_to_one_and_nll_matches_definition() {
        let mut z = array![[1.0f32, 2.0, 3.0], [0.0, 0.0, 0.0]];
        let mut nll = [0.0; 2];
        softmax_nll_in_place(z.view_mut(), &[2, 0], &mut nll);
        for row in z.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6);
        }
        let expected = -(3.0f32.exp() / (1.0f32.exp() + 2.0f32.exp() + 3.0f32.exp())).ln();
        assert!((nll[0] - expected).abs() < 1e-6);
        assert!((nll[1] - 3.0f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn huge_logits_stay_finite() {
        let mut z = array![[1000.0f32, -1000.0, 0.0]];
        let mut nll = [0.0; 1];
        softmax_nll_in_place(z.view_mut(), &[1], &mut nll);
        assert!(z.iter().all(|v| v.is_finite()));
        assert!((nll[0] - 2000.0).abs() < 1e-2, "nll {}", nll[0]);
    }
}
