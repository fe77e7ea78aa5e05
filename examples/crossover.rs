//! Measures the sparse/dense crossover of one 1000×1000 layer (forward and backward, one
//! core) on every SIMD level this CPU has: training steps of a 1000-1000-10 network whose
//! input has a chosen fraction of non-zeros, with the zero-skipping kernels forced against the
//! dense ones forced, interleaved (A B, A B, ...), medians of the repeats.
//!
//! `cargo run --release --example crossover -- [SECONDS] [REPEATS]` prints one line per level,
//! batch and density: the speed-up of the sparse path (above 1: skipping zeros wins).

use ndarray::Array2;
use relutui::engine::nn::simd::{self, Level};
use relutui::engine::nn::{Activation, Kernels, Mlp, Workspace};
use std::time::{Duration, Instant};

fn input(rows: usize, cols: usize, density: f64) -> Array2<f32> {
    // A fixed pseudo-random pattern: exactly `density` of the values are non-zero.
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
fn rate(net: &Mlp, x: &Array2<f32>, y: &[u8], kernels: Kernels, secs: f64) -> f64 {
    let mut net = net.clone();
    let mut ws = Workspace::for_training(&net, x.nrows()).with_kernels(kernels);
    let budget = Duration::from_secs_f64(secs);
    let (start, mut steps) = (Instant::now(), 0usize);
    while start.elapsed() < budget {
        // lr 0: the weights stay as they are, so every step times the same products.
        net.train_step(x.view(), y, 0.0, 0.0, &mut ws);
        steps += 1;
    }
    (steps * x.nrows()) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0.3);
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let net = Mlp::new(1000, &[1000], 10, Activation::Rectifier, 1);
    println!("level   batch  non-zero  sparse ex/s  dense ex/s  sparse speed-up");
    for level in Level::available() {
        for batch in [10usize, 100] {
            let y: Vec<u8> = (0..batch).map(|i| (i % 10) as u8).collect();
            for density in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7] {
                let x = input(batch, 1000, density);
                let (mut sparse, mut dense) = (Vec::new(), Vec::new());
                simd::with_level(level, || {
                    for _ in 0..repeats {
                        sparse.push(rate(&net, &x, &y, Kernels::Sparse, secs));
                        dense.push(rate(&net, &x, &y, Kernels::Dense, secs));
                    }
                });
                let (s, d) = (median(sparse), median(dense));
                println!(
                    "{:<7} {batch:>5}  {:>7.0} %  {s:>11.0}  {d:>10.0}  {:>8.2}×",
                    level.name(),
                    density * 100.0,
                    s / d
                );
            }
        }
    }
}
