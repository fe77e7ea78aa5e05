//! Every SIMD level this machine can run computes the same products: the zero-skipping
//! kernels against the small-batch dense kernels against a naive product, and whole training
//! steps of every path, on each level; and the level is visible and forceable from the binary.

#[path = "support/common.rs"]
mod common;

use common::{json_lines, relutui};
use ndarray::{s, Array2};
use relutui::engine::nn::simd::{self, Level};
use relutui::engine::nn::{kernels, small_batch, Activation, Kernels, Mlp, Workspace};
use serde_json::Value;

/// About a third exact zeros, like a rectifier layer's output; odd values elsewhere.
fn matrix(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let h = (i * 131 + j * 71 + seed * 17) % 97;
        if h % 3 == 0 {
            0.0
        } else {
            h as f32 / 97.0 - 0.4
        }
    })
}

fn naive(a: &Array2<f32>, b: &Array2<f32>) -> Array2<f32> {
    Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
        (0..a.ncols()).map(|k| a[[i, k]] * b[[k, j]]).sum()
    })
}

fn max_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_levels_include_scalar_and_the_detected_one() {
    let levels = Level::available();
    assert_eq!(levels.last(), Some(&Level::Scalar));
    assert_eq!(levels.first(), Some(&Level::detected()));
    for l in levels {
        assert_eq!(
            simd::with_level(l, simd::dispatched_lanes),
            l.lanes(),
            "{l}"
        );
    }
}

#[test]
fn forward_kernels_agree_with_a_naive_product_on_every_level() {
    // 8- and 16-lane blocks, their remainders and a tail of lanes: 300 = 2·128 + 44 (AVX-512),
    // 4·64 + 44 (AVX2); 77 leaves 13 lanes on AVX-512 and 5 on AVX2.
    for (n, fan_in, width) in [(10, 50, 300), (7, 45, 77), (1, 33, 16), (12, 20, 9)] {
        let x = matrix(n, fan_in, 1);
        let w = matrix(fan_in, width, 2);
        let bias = matrix(n, width, 3);
        let expected = &bias + &naive(&x, &w);
        for level in Level::available() {
            simd::with_level(level, || {
                let mut nz = kernels::NonZeros::with_capacity(n, fan_in);
                kernels::scan_input(x.as_slice().unwrap(), n, fan_in, &mut nz);
                let mut sparse = bias.clone();
                kernels::sparse_forward(
                    &nz,
                    n,
                    w.as_slice().unwrap(),
                    width,
                    0..width,
                    &mut sparse.view_mut(),
                );
                let mut dense = bias.clone();
                small_batch::forward(
                    &x.view(),
                    w.as_slice().unwrap(),
                    width,
                    0..width,
                    &mut dense.view_mut(),
                );
                assert!(
                    max_diff(&sparse, &expected) < 1e-5,
                    "{level} sparse {n}×{width}"
                );
                assert!(
                    max_diff(&dense, &expected) < 1e-5,
                    "{level} dense {n}×{width}"
                );
                // A column block, as a thread gets it.
                let cols = width / 3..width - 1;
                let mut part = bias.slice(s![.., cols.clone()]).to_owned();
                kernels::sparse_forward(
                    &nz,
                    n,
                    w.as_slice().unwrap(),
                    width,
                    cols.clone(),
                    &mut part.view_mut(),
                );
                let want = expected.slice(s![.., cols]).to_owned();
                assert!(max_diff(&part, &want) < 1e-5, "{level} block");
            });
        }
    }
}

#[test]
fn backward_kernels_agree_with_the_two_naive_products_on_every_level() {
    let lr = 0.3;
    for (n, fan_in, fan_out) in [(10, 40, 1100), (7, 23, 77), (12, 30, 9)] {
        let x = matrix(n, fan_in, n);
        let delta = matrix(n, fan_out, 5);
        let w0 = matrix(fan_in, fan_out, 7);
        let w_expected = &w0 - &(lr * naive(&x.t().to_owned(), &delta));
        let below_expected = naive(&delta, &w0.t().to_owned());
        for level in Level::available() {
            simd::with_level(level, || {
                let mut w = w0.clone();
                let mut below = Array2::from_elem((n, fan_in), f32::NAN);
                small_batch::backward(
                    &x.view(),
                    0,
                    w.as_slice_mut().unwrap(),
                    &delta.view(),
                    Some(&mut below.view_mut()),
                    lr,
                );
                assert!(max_diff(&w, &w_expected) < 1e-5, "{level} dense update");
                assert!(
                    max_diff(&below, &below_expected) < 1e-4,
                    "{level} dense below"
                );

                let mut w = w0.clone();
                let mut below = Array2::from_elem((n, fan_in), f32::NAN);
                kernels::backward_walk(
                    x.as_slice().unwrap(),
                    fan_in,
                    0,
                    w.as_slice_mut().unwrap(),
                    delta.as_slice().unwrap(),
                    Some((below.view_mut(), kernels::BelowMask::All)),
                    lr,
                );
                assert!(max_diff(&w, &w_expected) < 1e-5, "{level} sparse update");
                assert!(
                    max_diff(&below, &below_expected) < 1e-4,
                    "{level} sparse below"
                );
            });
        }
    }
}

/// Trains copies of one network for a few steps on every level and path (sparse, dense; a
/// batch of 10 for the small-batch kernels and of 30 for the GEMM, or for relutui's own
/// kernels where gemm cannot run at the forced level) and checks that all end up with the same
/// weights.
#[test]
fn training_steps_agree_across_levels_paths_and_threads() {
    for act in [Activation::Rectifier, Activation::Tanh] {
        for n in [10usize, 30] {
            let x = matrix(n, 60, 9);
            let y: Vec<u8> = (0..n).map(|i| (i % 5) as u8).collect();
            let start = Mlp::new(60, &[70, 50], 5, act, 3);
            let mut results = Vec::new();
            for level in Level::available() {
                for kernels in [Kernels::Sparse, Kernels::Dense, Kernels::Auto] {
                    for threads in [1, 2] {
                        let net = simd::with_level(level, || {
                            let mut net = start.clone();
                            let mut ws = Workspace::for_training(&net, n)
                                .with_kernels(kernels)
                                .with_threads(threads);
                            for _ in 0..4 {
                                net.train_step(x.view(), &y, 0.2, 0.001, &mut ws);
                            }
                            net
                        });
                        results.push((format!("{level} {kernels:?} {threads}"), net));
                    }
                }
            }
            let (first_name, first) = &results[0];
            for (name, net) in &results[1..] {
                for (a, b) in first.layers().iter().zip(net.layers()) {
                    let d = max_diff(&a.weights, &b.weights);
                    assert!(d < 1e-4, "{act} batch {n}: {first_name} vs {name}: {d}");
                }
            }
        }
    }
}

#[test]
fn bench_lines_carry_the_level_that_ran() {
    let levels: Vec<&str> = Level::available().iter().map(|l| l.name()).collect();
    let list = levels.join(",");
    let out = relutui(&[
        "bench",
        "--hidden",
        "40",
        "--warmup-epochs",
        "0",
        "--seconds",
        "0.02",
        "--repeats",
        "1",
        "--activations",
        "tanh",
        "--levels",
        &list,
    ]);
    let lines: Vec<Value> = json_lines(&out);
    let got: Vec<&str> = lines.iter().map(|m| m["simd"].as_str().unwrap()).collect();
    assert_eq!(got, levels);
    // --simd sets the level of every line; RELUTUI_SIMD too.
    let out = relutui(&[
        "bench",
        "--simd",
        "scalar",
        "--hidden",
        "40",
        "--warmup-epochs",
        "0",
        "--seconds",
        "0.02",
        "--repeats",
        "1",
    ]);
    let lines: Vec<Value> = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|m| m["simd"] == "scalar"), "{lines:?}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relutui"))
        .env("RELUTUI_SIMD", "scalar")
        .args(["--version"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("simd: scalar, forced"), "{text}");
}

#[test]
fn version_names_the_level_and_a_missing_level_exits_2() {
    let out = relutui(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("simd: {}", Level::detected())),
        "{text}"
    );
    if let Some(missing) = Level::ALL.into_iter().find(|l| !l.is_available()) {
        for args in [
            vec!["--simd", missing.name(), "--headless", "--epochs", "1"],
            vec!["bench", "--simd", missing.name()],
        ] {
            let out = relutui(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.contains("--simd") && err.contains(missing.name()),
                "{err}"
            );
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_relutui"))
            .env("RELUTUI_SIMD", missing.name())
            .args(["--headless", "--epochs", "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("RELUTUI_SIMD"), "{err}");
    }
    let out = relutui(&["--simd", "sse9"]);
    assert_eq!(out.status.code(), Some(2));
}
