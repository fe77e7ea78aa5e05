//! `relutui bench --crossover`: where skipping zeros starts to pay, per SIMD level.
//!
//! One W×W layer (W: the first `--hidden` width, 1000 by default) in a W-W-10 network gets
//! an input with a chosen fraction of non-zeros, and the zero-skipping kernels forced are
//! timed against the dense ones forced, interleaved (sparse, dense, sparse, dense, ...) so that
//! the machine's load falls on both alike, medians of the repeats. Two kinds of pass: a
//! training step (forward, backward and update, as `Workspace::for_training` runs it) and a
//! forward-only pass (evaluation and the claims). The thresholds in `engine::nn`
//! (`sparse_max_density`, `forward_sparse_max_density`) come from these tables.

use std::time::{Duration, Instant};

use ndarray::Array2;
use serde::Serialize;

use crate::engine::nn::simd::{self, Level};
use crate::engine::nn::{self, Activation, Kernels, Mlp, Workspace};

/// The input densities measured, as fractions of non-zero values.
pub const DENSITIES: [f64; 8] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8];

/// Which pass a crossover line times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// A training step: forward, backward, update.
    Train,
    /// A forward pass only (evaluation, the claims).
    Forward,
}

/// One JSON line of `relutui bench --crossover`.
#[derive(Debug, Clone, Serialize)]
pub struct CrossoverMeasurement {
    /// Always `"crossover"`.
    pub measurement: &'static str,
    pub simd: String,
    pub pass: Pass,
    pub batch_size: usize,
    pub width: usize,
    /// Fraction of the layer's input that is non-zero.
    pub density: f64,
    pub sparse_examples_per_sec: f64,
    pub dense_examples_per_sec: f64,
    /// Sparse ÷ dense: above 1, skipping zeros wins.
    pub speedup: f64,
    /// Whether relutui's automatic choice takes the sparse path at this density, level,
    /// pass and batch size.
    pub auto_takes_sparse: bool,
}

/// A fixed pseudo-random input in which exactly `density` of the values are non-zero.
fn input(rows: usize, cols: usize, density: f64) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let h = (i * 7919 + j * 104_729) % 1000;
        if (h as f64) < density * 1000.0 {
            0.1 + (h % 89) as f32 / 100.0
        } else {
            0.0
        }
    })
}

/// Examples per second of `kernels` on `net` for `secs` seconds.
fn rate(net: &Mlp, x: &Array2<f32>, y: &[u8], pass: Pass, kernels: Kernels, secs: f64) -> f64 {
    let mut net = net.clone();
    let mut ws = match pass {
        Pass::Train => Workspace::for_training(&net, x.nrows()),
        Pass::Forward => Workspace::new(&net, x.nrows()),
    }
    .with_kernels(kernels);
    let budget = Duration::from_secs_f64(secs);
    let (start, mut passes) = (Instant::now(), 0usize);
    while start.elapsed() < budget {
        match pass {
            // lr 0: the weights stay as they are, so every step times the same products.
            Pass::Train => {
                net.train_step(x.view(), y, 0.0, 0.0, &mut ws);
            }
            Pass::Forward => net.forward(x.view(), &mut ws),
        }
        passes += 1;
    }
    (passes * x.nrows()) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        f64::midpoint(v[m - 1], v[m])
    }
}

/// Measures every level, pass, batch size and density; `each` gets every line as it is made.
pub fn measure(
    levels: &[Level],
    batches: &[usize],
    width: usize,
    secs: f64,
    repeats: usize,
    mut each: impl FnMut(&CrossoverMeasurement),
) -> Vec<CrossoverMeasurement> {
    let net = Mlp::new(width, &[width], 10, Activation::Rectifier, 1);
    let mut lines = Vec::new();
    for &level in levels {
        for pass in [Pass::Train, Pass::Forward] {
            for &batch in batches {
                let y: Vec<u8> = (0..batch).map(|i| (i % 10) as u8).collect();
                for density in DENSITIES {
                    let x = input(batch, width, density);
                    let (mut sparse, mut dense) = (Vec::new(), Vec::new());
                    simd::with_level(level, || {
                        for _ in 0..repeats {
                            sparse.push(rate(&net, &x, &y, pass, Kernels::Sparse, secs));
                            dense.push(rate(&net, &x, &y, pass, Kernels::Dense, secs));
                        }
                    });
                    let (s, d) = (median(sparse), median(dense));
                    let line = CrossoverMeasurement {
                        measurement: "crossover",
                        simd: level.name().into(),
                        pass,
                        batch_size: batch,
                        width,
                        density,
                        sparse_examples_per_sec: s,
                        dense_examples_per_sec: d,
                        speedup: s / d,
                        auto_takes_sparse: density
                            <= nn::sparse_threshold_at(level, batch, pass == Pass::Train),
                    };
                    each(&line);
                    lines.push(line);
                }
            }
        }
    }
    lines
}

/// Per level, pass and batch size: the largest density at which the sparse path still won,
/// beside the threshold relutui uses, for the table on stderr.
pub fn summary(lines: &[CrossoverMeasurement]) -> Vec<String> {
    let mut out = vec![format!(
        "{:<7} {:<8} {:>5}  {:>24}  {:>9}  sparse ÷ dense at {}",
        "simd",
        "pass",
        "batch",
        "sparse wins up to (dens.)",
        "threshold",
        DENSITIES.map(|d| format!("{:.0}%", d * 100.0)).join(" ")
    )];
    let mut i = 0;
    while i < lines.len() {
        let first = &lines[i];
        let group: Vec<&CrossoverMeasurement> = lines[i..]
            .iter()
            .take_while(|l| {
                l.simd == first.simd && l.pass == first.pass && l.batch_size == first.batch_size
            })
            .collect();
        i += group.len();
        let wins = group
            .iter()
            .take_while(|l| l.speedup >= 1.0)
            .last()
            .map_or_else(
                || "none".to_string(),
                |l| format!("{:.0} %", l.density * 100.0),
            );
        let threshold = group.iter().rfind(|l| l.auto_takes_sparse).map_or_else(
            || "never".to_string(),
            |l| format!("{:.0} %", l.density * 100.0),
        );
        let ratios: Vec<String> = group.iter().map(|l| format!("{:.2}", l.speedup)).collect();
        out.push(format!(
            "{:<7} {:<8} {:>5}  {:>24}  {:>9}  {}",
            first.simd,
            match first.pass {
                Pass::Train => "train",
                Pass::Forward => "forward",
            },
            first.batch_size,
            wins,
            threshold,
            ratios.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_has_the_density_asked_for() {
        for d in DENSITIES {
            let x = input(100, 1000, d);
            let nz = x.iter().filter(|&&v| v != 0.0).count() as f64 / x.len() as f64;
            assert!((nz - d).abs() < 0.01, "asked {d}, got {nz}");
        }
    }

    #[test]
    fn a_tiny_crossover_measures_both_passes_on_every_level_asked() {
        let mut seen = 0;
        let lines = measure(&[Level::Scalar], &[3], 40, 0.002, 1, |_| seen += 1);
        assert_eq!(lines.len(), 2 * DENSITIES.len());
        assert_eq!(seen, lines.len());
        assert!(lines.iter().all(|l| l.simd == "scalar" && l.width == 40));
        assert!(lines.iter().any(|l| l.pass == Pass::Train));
        assert!(lines.iter().any(|l| l.pass == Pass::Forward));
        assert!(lines
            .iter()
            .all(|l| l.sparse_examples_per_sec > 0.0 && l.dense_examples_per_sec > 0.0));
        // One header and one row per pass.
        assert_eq!(summary(&lines).len(), 3);
    }
}
