//! Variable-size representation (claim 2): how many units are on per example, how that count
//! is distributed, and whether it follows the amount of ink in the input.

use ndarray::{ArrayView2, Axis};

use super::OnRule;
use crate::protocol::ActiveUnitsHist;

/// Most bins an [`ActiveUnitsHist`] has.
pub const HIST_BINS: usize = 20;

/// The number of on-units in each row of `h` (`examples × units`).
pub fn on_counts(h: &ArrayView2<'_, f32>, rule: OnRule) -> Vec<usize> {
    h.axis_iter(Axis(0))
        .map(|row| row.iter().filter(|&&v| rule.on(v)).count())
        .collect()
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of `sorted`: the smallest value with at
/// least `p` % of the values at or below it. 0 for an empty slice.
pub fn percentile(sorted: &[usize], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// Percentiles, mean and a fixed-bin histogram of on-unit `counts` in a layer of `units`.
pub fn histogram(counts: &[usize], units: usize) -> ActiveUnitsHist {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let bin_width = units.div_ceil(HIST_BINS).max(1);
    let nbins = units.div_ceil(bin_width).max(1);
    let mut bins = vec![0u32; nbins];
    for &c in counts {
        bins[(c / bin_width).min(nbins - 1)] += 1;
    }
    let mean = if counts.is_empty() {
        0.0
    } else {
        counts.iter().sum::<usize>() as f64 / counts.len() as f64
    };
    ActiveUnitsHist {
        units,
        mean,
        p5: percentile(&sorted, 5.0),
        p25: percentile(&sorted, 25.0),
        p50: percentile(&sorted, 50.0),
        p75: percentile(&sorted, 75.0),
        p95: percentile(&sorted, 95.0),
        bin_width,
        bins,
    }
}

/// Pearson's correlation of `x` and `y`; `None` when they are shorter than 2 or either has
/// no variance.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "pearson needs paired samples");
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the expected values are exact in binary floating point"
)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn counts_follow_the_rule() {
        let h = array![[0.0f32, 0.2, -0.9], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]];
        assert_eq!(on_counts(&h.view(), OnRule::NonZero), vec![2, 0, 3]);
        assert_eq!(on_counts(&h.view(), OnRule::Above(0.5)), vec![1, 0, 3]);
    }

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let counts: Vec<usize> = (1..=100).collect();
        let h = histogram(&counts, 100);
        assert_eq!(
            (h.p5, h.p25, h.p50, h.p75, h.p95),
            (5.0, 25.0, 50.0, 75.0, 95.0)
        );
        assert!((h.mean - 50.5).abs() < 1e-12);
        // Width 5: bin 0 holds 1..=4, bins 1..=18 five each, the last 95..=100 (six).
        assert_eq!(h.bin_width, 5);
        assert_eq!(h.bins.len(), 20);
        assert_eq!(h.bins[0], 4);
        assert!(h.bins[1..19].iter().all(|&b| b == 5));
        assert_eq!(h.bins[19], 6);
        assert_eq!(h.bins.iter().sum::<u32>(), 100);
    }

    #[test]
    fn histogram_of_small_layers_and_known_counts() {
        let h = histogram(&[0, 0, 3, 16, 7], 16);
        assert_eq!((h.bin_width, h.bins.len()), (1, 16));
        assert_eq!(h.bins[0], 2);
        assert_eq!(h.bins[3], 1);
        assert_eq!(h.bins[7], 1);
        assert_eq!(h.bins[15], 1, "c == units goes in the last bin");
        assert_eq!((h.p5, h.p50, h.p95), (0.0, 3.0, 16.0));
        let one = histogram(&[4], 1000);
        assert_eq!(
            (one.p5, one.p95, one.bin_width, one.bins.len()),
            (4.0, 4.0, 50, 20)
        );
        assert_eq!(histogram(&[], 10).p50, 0.0);
    }

    #[test]
    fn pearson_on_known_vectors() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((pearson(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        // Hand-computed: x = 1..4, y = (1, 3, 2, 4): Sxy = 4, Sxx = Syy = 5, r = 0.8.
        assert!((pearson(&x[..4], &[1.0, 3.0, 2.0, 4.0]).unwrap() - 0.8).abs() < 1e-12);
        assert!(pearson(&[1.0, 2.0, 3.0], &[1.0, -2.0, 1.0]).unwrap().abs() < 1e-12);
        assert_eq!(pearson(&x, &[3.0; 5]), None);
        assert_eq!(pearson(&[1.0], &[2.0]), None);
    }
}
