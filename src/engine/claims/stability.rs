//! Disentangling (claim 1): how much the set of on-units of an example changes under a small,
//! fixed perturbation of its input. A sparse code whose active set barely moves is the
//! paper's "information disentangling" argument made measurable.
//!
//! The overlap of on-sets depends on what counts as on: for tanh (on when `|h| > 0.1·max`)
//! nearly every unit is on, and two near-full sets overlap near 1 whatever the code does. So
//! a second figure needs no on-rule: the relative change of the whole activation vector,
//! `‖h(x+ε) − h(x)‖ / ‖h(x)‖` ([`relative_change_sum`]), comparable across activations.

use ndarray::{Array2, ArrayView2, Axis, Zip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::OnRule;

/// Standard deviation of the input noise, on the [0, 1] pixel scale.
pub const NOISE_SIGMA: f32 = 0.05;

/// `x` plus Gaussian noise of standard deviation `sigma` drawn from `seed`, clamped to [0, 1]
/// so that the perturbed inputs stay in the domain the network was trained on. The same seed
/// gives the same noise, so that across epochs only the network changes.
pub fn noisy_copy(x: &ArrayView2<'_, f32>, sigma: f32, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = x.to_owned();
    out.mapv_inplace(|v| (v + sigma * standard_normal(&mut rng)).clamp(0.0, 1.0));
    out
}

/// One draw of N(0, 1) by the Box-Muller transform.
pub fn standard_normal<R: Rng>(rng: &mut R) -> f32 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// `|A∩B| / |A∪B|` of two sets given as membership masks; `None` when both are empty.
pub fn jaccard(
    a: impl IntoIterator<Item = bool>,
    b: impl IntoIterator<Item = bool>,
) -> Option<f64> {
    let (mut inter, mut union) = (0usize, 0usize);
    for (x, y) in a.into_iter().zip(b) {
        inter += usize::from(x && y);
        union += usize::from(x || y);
    }
    (union > 0).then(|| inter as f64 / union as f64)
}

/// Mean over the rows of the Jaccard overlap between the on-sets of `clean` and `noisy`
/// (row by row, both `examples × units`). Rows where both sets are empty say nothing about
/// stability and are left out, so that a silent layer does not look perfectly stable;
/// `None` when every row is such a row.
pub fn mean_jaccard(
    clean: &ArrayView2<'_, f32>,
    noisy: &ArrayView2<'_, f32>,
    rule: OnRule,
) -> Option<f64> {
    let (sum, rows) = jaccard_sum(clean, noisy, rule);
    (rows > 0).then(|| sum / rows as f64)
}

/// The sum of the per-example Jaccard overlaps and the number of examples that count (those
/// with a unit on in either input), so that blocks of examples can be combined exactly.
pub fn jaccard_sum(
    clean: &ArrayView2<'_, f32>,
    noisy: &ArrayView2<'_, f32>,
    rule: OnRule,
) -> (f64, usize) {
    assert_eq!(
        clean.dim(),
        noisy.dim(),
        "clean and noisy activations differ in shape"
    );
    let (mut sum, mut rows) = (0.0, 0usize);
    Zip::from(clean.axis_iter(Axis(0)))
        .and(noisy.axis_iter(Axis(0)))
        .for_each(|c, n| {
            if let Some(j) = jaccard(c.iter().map(|&v| rule.on(v)), n.iter().map(|&v| rule.on(v))) {
                sum += j;
                rows += 1;
            }
        });
    (sum, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn jaccard_of_known_sets() {
        let set = |bits: &[u8]| bits.iter().map(|&b| b == 1).collect::<Vec<_>>();
        // {0,1,2} vs {1,2,3}: 2 shared of 4.
        assert_eq!(jaccard(set(&[1, 1, 1, 0]), set(&[0, 1, 1, 1])), Some(0.5));
        assert_eq!(jaccard(set(&[1, 0, 1]), set(&[1, 0, 1])), Some(1.0));
        assert_eq!(jaccard(set(&[1, 0, 0]), set(&[0, 1, 0])), Some(0.0));
        assert_eq!(jaccard(set(&[0, 0]), set(&[0, 0])), None);
        // {0} vs {0,1,2,3,4}: 1 / 5.
        assert_eq!(jaccard(set(&[1, 0, 0, 0, 0]), set(&[1; 5])), Some(0.2));
    }

    #[test]
    fn mean_jaccard_uses_the_rule_and_skips_empty_pairs() {
        let clean = array![
            [0.0f32, 1.0, 2.0, 0.0],
            [0.5, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0]
        ];
        let noisy = array![
            [0.0f32, 0.5, 0.0, 3.0],
            [0.7, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0]
        ];
        // Row 0: {1,2} vs {1,3} = 1/3; row 1: {0} vs {0} = 1; row 2: both empty, left out;
        // mean (1/3 + 1) / 2 = 2/3.
        let s = mean_jaccard(&clean.view(), &noisy.view(), OnRule::NonZero).unwrap();
        assert!((s - 2.0 / 3.0).abs() < 1e-12, "{s}");
        // With |h| > 0.6 row 0 is {1,2} vs {3} = 0 and row 1 is {} vs {0} = 0.
        let t = mean_jaccard(&clean.view(), &noisy.view(), OnRule::Above(0.6)).unwrap();
        assert!(t.abs() < 1e-12, "{t}");
        // A silent layer has no stability to measure.
        let silent = Array2::<f32>::zeros((3, 4));
        assert_eq!(
            mean_jaccard(&silent.view(), &silent.view(), OnRule::NonZero),
            None
        );
    }

    #[test]
    fn noise_is_seeded_clamped_and_of_the_right_size() {
        let grey = Array2::from_elem((200, 50), 0.5f32);
        let noisy = noisy_copy(&grey.view(), NOISE_SIGMA, 7);
        assert_eq!(noisy, noisy_copy(&grey.view(), NOISE_SIGMA, 7));
        assert_ne!(noisy, noisy_copy(&grey.view(), NOISE_SIGMA, 8));
        let diff = &noisy - &grey;
        let count = diff.len() as f32;
        let mean = diff.sum() / count;
        let sd = (diff.mapv(|v| v * v).sum() / count).sqrt();
        assert!(
            mean.abs() < 0.005 && (sd - NOISE_SIGMA).abs() < 0.003,
            "{mean} {sd}"
        );
        let zeros = Array2::<f32>::zeros((10, 10));
        let clamped = noisy_copy(&zeros.view(), NOISE_SIGMA, 1);
        assert!(clamped.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}

/// The sum over rows of `‖noisy − clean‖₂ / ‖clean‖₂` and the number of rows that count (those
/// whose clean activations are not all 0), so that blocks of examples combine exactly. Lower
/// is more stable; it needs no on-rule.
pub fn relative_change_sum(
    clean: &ArrayView2<'_, f32>,
    noisy: &ArrayView2<'_, f32>,
) -> (f64, usize) {
    assert_eq!(
        clean.dim(),
        noisy.dim(),
        "clean and noisy activations differ in shape"
    );
    let (mut sum, mut rows) = (0.0, 0usize);
    Zip::from(clean.axis_iter(Axis(0)))
        .and(noisy.axis_iter(Axis(0)))
        .for_each(|c, n| {
            let (mut diff, mut norm) = (0.0f64, 0.0f64);
            for (&a, &b) in c.iter().zip(n) {
                diff += f64::from(b - a).powi(2);
                norm += f64::from(a).powi(2);
            }
            if norm > 0.0 {
                sum += (diff / norm).sqrt();
                rows += 1;
            }
        });
    (sum, rows)
}

#[cfg(test)]
mod change_tests {
    use ndarray::array;

    use super::relative_change_sum;

    #[test]
    fn relative_change_is_the_norm_ratio_and_skips_silent_rows() {
        let clean = array![[3.0f32, 4.0], [0.0, 0.0], [1.0, 0.0]];
        let noisy = array![[3.0f32, 4.0], [5.0, 5.0], [1.0, 2.0]];
        let (sum, rows) = relative_change_sum(&clean.view(), &noisy.view());
        // Row 1: no change (0); row 2: silent, left out; row 3: ‖(0, 2)‖ / ‖(1, 0)‖ = 2.
        assert_eq!(rows, 2);
        assert!((sum - 2.0).abs() < 1e-12, "{sum}");
    }
}
