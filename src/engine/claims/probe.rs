//! Linear separability (claim 3): a multinomial logistic regression fitted on a frozen
//! representation. Its validation error says how linearly separable the classes are in that
//! representation; the same probe on raw pixels is the baseline.
//!
//! Features are standardised on the fitting set and divided by `sqrt(d)`, so that every
//! example has a squared norm of about 1 whatever the layer's scale. That bounds the curvature
//! of the loss by 1/2 and lets one fixed step size serve every representation. The budget is
//! fixed (a few passes of mini-batch SGD from zero weights): the probe is a cheap, comparable
//! measurement, not a converged classifier.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::nn::argmax;

/// How much work one probe fit may do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeBudget {
    /// Passes over the fitting set.
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    /// Weight decay on the standardised-feature weights.
    pub l2: f32,
}

/// The budget of the live probes: measured at well under 10 % of a default epoch.
pub const PROBE_BUDGET: ProbeBudget = ProbeBudget {
    epochs: 8,
    batch: 50,
    lr: 1.0,
    l2: 1e-4,
};

/// A fitted linear classifier on raw (unstandardised) features: `argmax(x · w + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearProbe {
    /// `features × classes`, with the standardisation folded in.
    weights: Array2<f32>,
    bias: Array1<f32>,
}

impl LinearProbe {
    /// Fits `x` (`examples × features`) to `labels` in `0..classes`; `seed` orders the batches.
    /// `x` is standardised in place (and so overwritten): a layer's representation of the
    /// fitting set is large, and a copy of it would double the probe's memory.
    pub fn fit(
        x: ArrayViewMut2<'_, f32>,
        labels: &[u8],
        classes: usize,
        budget: &ProbeBudget,
        seed: u64,
    ) -> Self {
        let (examples, features) = x.dim();
        assert_eq!(examples, labels.len(), "one label per example");
        assert!(
            examples > 0 && classes > 0,
            "a probe needs examples and classes"
        );
        let mean = x.mean_axis(Axis(0)).expect("at least one example");
        let var = x.var_axis(Axis(0), 0.0);
        let live = var.iter().filter(|&&v| v > 1e-12).count().max(1);
        let norm = 1.0 / (live as f32).sqrt();
        // Constant features carry nothing: scale 0 removes them.
        let scale = var.mapv(|v| if v > 1e-12 { norm / v.sqrt() } else { 0.0 });
        let mut standard = x;
        standard -= &mean;
        standard *= &scale;

        let batch = budget.batch.clamp(1, examples);
        let mut weights = Array2::<f32>::zeros((features, classes));
        let mut bias = Array1::<f32>::zeros(classes);
        let mut batch_x = Array2::<f32>::zeros((batch, features));
        let mut grad = Array2::<f32>::zeros((batch, classes));
        let mut order: Vec<usize> = (0..examples).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let decay = 1.0 - budget.lr * budget.l2;
        for _ in 0..budget.epochs {
            order.shuffle(&mut rng);
            for rows in order.chunks(batch) {
                let count = rows.len();
                for (dst, &src) in rows.iter().enumerate() {
                    batch_x.row_mut(dst).assign(&standard.row(src));
                }
                let bx = batch_x.slice(s![..count, ..]);
                let mut bg = grad.slice_mut(s![..count, ..]);
                bg.assign(&bias.broadcast((count, classes)).expect("bias row"));
                general_mat_mul(1.0, &bx, &weights, 1.0, &mut bg);
                // Softmax minus one-hot, over the batch: the gradient of the mean NLL.
                let inv = 1.0 / count as f32;
                for (mut row, &src) in bg.axis_iter_mut(Axis(0)).zip(rows) {
                    let max = row.fold(f32::NEG_INFINITY, |acc, &v| acc.max(v));
                    row.mapv_inplace(|v| (v - max).exp());
                    let sum = row.sum();
                    row.mapv_inplace(|v| v / sum * inv);
                    row[usize::from(labels[src])] -= inv;
                }
                weights *= decay;
                general_mat_mul(-budget.lr, &bx.t(), &bg, 1.0, &mut weights);
                bias.scaled_add(-budget.lr, &bg.sum_axis(Axis(0)));
            }
        }
        // Fold the standardisation in: (x − μ)·diag(s)·W + b = x·(diag(s)·W) + (b − (μ∘s)·W).
        let folded = &weights * &scale.view().insert_axis(Axis(1));
        let bias = bias - (&mean * &scale).dot(&weights);
        Self {
            weights: folded,
            bias,
        }
    }

    /// Fraction of the rows of `x` whose predicted class differs from the label.
    pub fn error(&self, x: &ArrayView2<'_, f32>, labels: &[u8]) -> f64 {
        assert_eq!(x.nrows(), labels.len(), "one label per example");
        if labels.is_empty() {
            return 0.0;
        }
        let logits = x.dot(&self.weights) + &self.bias;
        let wrong = logits
            .axis_iter(Axis(0))
            .zip(labels)
            .filter(|(row, &l)| argmax(row.as_slice().expect("contiguous rows")) != l)
            .count();
        wrong as f64 / labels.len() as f64
    }
}

/// Fits on `(fit_x, fit_y)` and returns the error on `(eval_x, eval_y)`.
/// `fit_x` is overwritten (see [`LinearProbe::fit`]).
pub fn probe_error(
    fit_x: ArrayViewMut2<'_, f32>,
    fit_y: &[u8],
    eval_x: &ArrayView2<'_, f32>,
    eval_y: &[u8],
    classes: usize,
    seed: u64,
) -> f64 {
    LinearProbe::fit(fit_x, fit_y, classes, &PROBE_BUDGET, seed).error(eval_x, eval_y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::claims::stability::standard_normal;
    use rand::Rng;

    /// `n` Gaussian points in `d` dimensions, labelled by the nearest of `k` separated
    /// centres, so that the classes are linearly separable with a wide margin.
    fn blobs(n: usize, d: usize, k: usize, seed: u64) -> (Array2<f32>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let labels: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            let centre = if j % k == i % k { 4.0 } else { 0.0 };
            // A large offset and scale: the probe must standardise to cope.
            100.0 + 30.0 * (centre + 0.5 * standard_normal(&mut rng))
        });
        (x, labels)
    }

    #[test]
    fn separable_classes_are_learned() {
        let (x, y) = blobs(600, 20, 4, 1);
        let (vx, vy) = blobs(400, 20, 4, 2);
        let probe = LinearProbe::fit(x.clone().view_mut(), &y, 4, &PROBE_BUDGET, 3);
        assert!(probe.error(&x.view(), &y) < 0.01);
        assert!(probe.error(&vx.view(), &vy) < 0.01);
    }

    #[test]
    fn random_labels_stay_near_chance_on_new_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x = Array2::from_shape_fn((1000, 30), |_| standard_normal(&mut rng));
        let y: Vec<u8> = (0..1000).map(|_| rng.random_range(0..10u8)).collect();
        let e = probe_error(
            x.slice(s![..500, ..]).to_owned().view_mut(),
            &y[..500],
            &x.slice(s![500.., ..]),
            &y[500..],
            10,
            1,
        );
        assert!((0.82..0.97).contains(&e), "error {e} should be near 0.9");
    }

    #[test]
    fn constant_features_are_ignored_and_fits_are_seeded() {
        let (mut x, y) = blobs(200, 10, 2, 4);
        x.column_mut(3).fill(7.0);
        let a = LinearProbe::fit(x.clone().view_mut(), &y, 2, &PROBE_BUDGET, 5);
        assert!(a.weights.row(3).iter().all(|&v| v == 0.0));
        assert!(a.weights.iter().chain(&a.bias).all(|v| v.is_finite()));
        assert_eq!(
            a,
            LinearProbe::fit(x.clone().view_mut(), &y, 2, &PROBE_BUDGET, 5)
        );
        assert!(a.error(&x.view(), &y) < 0.01);
    }
}
