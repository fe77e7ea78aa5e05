//! The product dispatch: which product each layer's step takes and how it is shared out.
//!
//! [`Kernels`] and the density thresholds decide between the zero-skipping path
//! ([`kernels`]) and the dense one ([`small_batch`] up to its `MAX_ROWS` rows, [`gemm`]
//! above); `forward_layer` and `backward_layer` run that choice, split over threads;
//! `backprop_through_activation` carries the delta through the activation between them.
//! The training step ([`super::Mlp::train_step`]) and the pre-training
//! ([`crate::engine::pretrain`]) both go through here.

#![allow(
    clippy::inline_always,
    reason = "pulp compiles a kernel for the CPU's vector features only where it is inlined into its dispatch"
)]

use ndarray::{s, ArrayView2, ArrayViewMut2, Axis, Zip};

use super::{gemm, kernels, simd, small_batch, Activation};

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
/// faster at 20 % non-zero, even at 30 % and 0.8× at 40 % with batches of 100. With AVX2
/// (`bench --crossover --batch-size 100`, gemm's AVX2 kernels as the dense side) 1.12× at
/// 20 %, 0.93× at 30 %; the trained rectifier's layers, whose zeros leave whole weight rows
/// unused, gain more than those random zeros (batch 100, 2 threads: 9,828 against 6,715
/// dense-only). On a 2-vCPU AMD EPYC (Zen 4) with AVX2 forced, the crossover measured 1.19×
/// at 20 %, 1.07× at 30 % and 0.74× at 40 %, but the trained rectifier's third layer (31 %
/// non-zero) trained faster sparse: 10,886 against 10,114 examples/s (batch 100, 2 threads,
/// medians of 6 interleaved runs; 4 more: 10,605 against 9,638), so 40 %.
pub const SPARSE_MAX_DENSITY_LARGE_BATCH: f64 = 0.4;

/// The large-batch training threshold with AVX-512, whose GEMM is hardest to beat: random
/// zeros never paid in the crossover (0.82× at 5 %, 0.62× at 20 %), and the tanh network's
/// first layer (the pixels, 19 % non-zero) trained faster dense (batch 100, 2 threads: 12,831
/// against 11,642 examples/s). The rectifier's first layer (12-14 % non-zero after training,
/// whole rows unused) still takes the zero-skipping path.
pub const SPARSE_MAX_DENSITY_LARGE_BATCH_AVX512: f64 = 0.15;

/// The same on CPUs whose AVX-512 runs on 256-bit units ([`simd::avx512_on_half_width_units`],
/// AMD Zen 4), where the GEMM gains less over the zero-skipping walk. On a 2-vCPU AMD EPYC
/// (Zen 4), batch 100, 2 threads, 11 interleaved runs, 25 % against 15 % (the MNIST pixels,
/// 19 % non-zero, trained sparse instead of dense): tanh 9,302 against 8,455 and 8,284 against
/// 7,726 examples/s (medians of 6 and 5 runs), the rectifier 10,584 against 10,284 and 9,826
/// against 9,084.
pub const SPARSE_MAX_DENSITY_LARGE_BATCH_AVX512_HALF_WIDTH: f64 = 0.25;

/// The density below which `rows` examples take the sparse path in a training step, at the
/// level in force.
pub fn sparse_max_density(rows: usize) -> f64 {
    sparse_max_density_at(simd::active(), rows)
}

/// The same at `level`.
pub fn sparse_max_density_at(level: simd::Level, rows: usize) -> f64 {
    if rows <= small_batch::MAX_ROWS {
        SPARSE_MAX_DENSITY
    } else if level == simd::Level::Avx512 {
        if simd::avx512_on_half_width_units() {
            SPARSE_MAX_DENSITY_LARGE_BATCH_AVX512_HALF_WIDTH
        } else {
            SPARSE_MAX_DENSITY_LARGE_BATCH_AVX512
        }
    } else {
        SPARSE_MAX_DENSITY_LARGE_BATCH
    }
}

/// The same for forward-only passes (evaluation, the claims' probes) of more than
/// `small_batch::MAX_ROWS` examples, per SIMD level: without a backward walk to share, the
/// zero-skipping forward competes with the dense product alone, which wide vectors make
/// harder to beat. Measured (forward of a 1000×1000 layer, batch 100, randomly placed zeros,
/// one core of the shared Sapphire Rapids class machine, median of 30), sparse against dense:
/// AVX-512 (against the GEMM) 1.70× at 15 % non-zero, 1.29× at 20 %, 1.06× at 25 %, 0.90× at
/// 30 %; AVX2 (against the small-batch kernels, which a forced AVX2 level then used in place
/// of the GEMM) 1.78× at 30 %, 1.35× at 40 %, 1.11× at 50 %, 0.79× at 70 %; scalar 1.34× even
/// at 90 %. The MNIST pixels (19 % non-zero) went 1.51× faster with AVX-512 and 3.1× with AVX2.
/// `relutui bench --crossover --batch-size 100` in the same session put the AVX-512 crossover
/// lower (1.30× at 10 %, 0.92× at 20 %), AVX2 near 50 % (1.10× at 40 %, 0.92× at 50 %) and
/// scalar above 80 % (1.42×): the AVX-512 threshold sits between the two measurements, above
/// the pixels' density.
/// (A gathered variant, each group of 12 examples a small dense product over the union of its
/// non-zero inputs, measured slower than this at every density and level, and was dropped.)
pub fn forward_sparse_max_density(level: simd::Level) -> f64 {
    match level {
        simd::Level::Avx512 => 0.22,
        // Re-measured against gemm's AVX2 kernels (which a forced AVX2 level now runs):
        // 1.38× at 20 % non-zero, 1.03× at 30 %, 0.82× at 40 %.
        simd::Level::Avx2 => 0.3,
        // Four lanes: between AVX2 and scalar.
        simd::Level::Neon => 0.6,
        simd::Level::Scalar => 1.0,
    }
}

/// The density below which `rows` examples take the sparse path, in a training step or
/// (`training` false) a forward-only pass, at the level in force.
pub(super) fn sparse_threshold(rows: usize, training: bool) -> f64 {
    sparse_threshold_at(simd::active(), rows, training)
}

/// The same at `level` (what `relutui bench --crossover` prints beside its measurements).
pub fn sparse_threshold_at(level: simd::Level, rows: usize, training: bool) -> f64 {
    if training || rows <= small_batch::MAX_ROWS {
        sparse_max_density_at(level, rows)
    } else {
        forward_sparse_max_density(level)
    }
}

/// Layers narrower than this always use the dense path: per-row overhead dominates tiny rows.
pub(crate) const SPARSE_MIN_FAN_OUT: usize = 32;

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
    #[inline(always)]
    fn sign(h: f32) -> f32 {
        f32::from(h > 0.0) - f32::from(h < 0.0)
    }
    #[inline(always)]
    fn through(act: Activation, l1_step: f32, g: &mut f32, h: f32) {
        *g = match act {
            Activation::Rectifier => {
                if h > 0.0 {
                    *g + l1_step
                } else {
                    0.0
                }
            }
            Activation::Tanh => (*g + l1_step * sign(h)) * (1.0 - h * h),
            Activation::Sigmoid => (*g + l1_step) * h * (1.0 - h),
            Activation::Softplus => {
                (*g + l1_step * sign(h)) * Activation::Softplus.derivative_from_output(h)
            }
        };
    }
    // Plain loops over slices inside the dispatch, one per activation, so that each
    // vectorises at the level in force (ndarray's generic loops would be compiled without
    // the level's features; see `simd::vectorize`).
    let (Some(g), Some(h)) = (grad.as_slice_mut(), h.as_slice()) else {
        Zip::from(grad)
            .and(h)
            .for_each(|g, &h| through(act, l1_step, g, h));
        return;
    };
    simd::vectorize(
        #[inline(always)]
        || {
            // One loop per activation, the choice made outside it.
            macro_rules! each {
                ($act:expr) => {
                    for (g, &h) in g.iter_mut().zip(h) {
                        through($act, l1_step, g, h);
                    }
                };
            }
            match act {
                Activation::Rectifier => each!(Activation::Rectifier),
                Activation::Tanh => each!(Activation::Tanh),
                Activation::Sigmoid => each!(Activation::Sigmoid),
                Activation::Softplus => each!(Activation::Softplus),
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::tests::sparse_toy_batch;
    use crate::engine::nn::{Mlp, Workspace};
    use ndarray::Array2;

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
        // 45 % of the inputs non-zero: worth skipping at batch 10, not at batch 100 (GEMM),
        // on every level.
        let x = Array2::from_shape_fn(
            (100, 60),
            |(i, k)| {
                if (i * 7 + k * 3) % 20 < 9 {
                    0.5
                } else {
                    0.0
                }
            },
        );
        let mlp = Mlp::new(60, &[48], 5, Activation::Rectifier, 3);
        for level in simd::Level::available() {
            for (rows, sparse) in [(10, true), (100, false)] {
                let mut ws = Workspace::for_training(&mlp, rows);
                simd::with_level(level, || mlp.forward(x.slice(s![..rows, ..]), &mut ws));
                assert!((ws.input_density()[0] - 0.45).abs() < 0.01);
                assert_eq!(
                    ws.sparse_layers()[0],
                    sparse,
                    "batch {rows}, {}",
                    level.name()
                );
            }
        }
        // A forward-only pass of 100 goes by the level's own threshold, on every level.
        for level in simd::Level::available() {
            let mut ws = Workspace::new(&mlp, 100);
            simd::with_level(level, || mlp.forward(x.view(), &mut ws));
            let sparse = 0.45 <= forward_sparse_max_density(level);
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
}
