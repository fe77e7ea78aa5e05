//! Dense matrix products through the `gemm` crate, behind a safe, shape-checked function.
//!
//! With the global allocator (`src/os/allocator.rs`), the only `unsafe` in relutui. `gemm`
//! takes raw pointers and strides; we call it with views whose shapes are checked here and
//! whose borrows (one `&mut`, two `&`) the compiler has already proven disjoint. Why not
//! ndarray's `general_mat_mul` (matrixmultiply): on the paper's skinny batch-10 shapes `gemm` with its AVX-512 kernels
//! ran about twice as fast on the development machine (10×1000·1000×1000: 73 vs 25 GFLOP/s;
//! the rank-10 weight update: 50 vs 33 GFLOP/s; see README, "Speed").
//!
//! `gemm::gemm` picks its kernels itself, once per process (AVX-512F, else FMA, else scalar)
//! and cannot be told otherwise. So that a forced `--simd avx2` or `scalar` runs what a CPU of
//! that level would, [`mat_mul`] calls gemm's generic driver with gemm's own AVX2+FMA or
//! scalar kernel set at those levels ([`runs_at`]), the same instantiation `gemm` makes for
//! itself on such a CPU.
#![allow(unsafe_code)]

use super::simd::{self, Level};
use ndarray::{ArrayView2, ArrayViewMut2};

#[expect(
    clippy::many_single_char_names,
    reason = "BLAS names: a·b into c, m×k·k×n"
)]
/// `c ← alpha · a·b + beta · c`, single-threaded (relutui splits work over threads itself).
/// With `beta == 0` the old contents of `c` are never read (NaN included).
pub fn mat_mul(
    alpha: f32,
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    beta: f32,
    c: &mut ArrayViewMut2<'_, f32>,
) {
    let (m, k) = a.dim();
    let (kb, n) = b.dim();
    assert_eq!(k, kb, "inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "output shape differs");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.mapv_inplace(|v| v * beta);
        }
        return;
    }
    let (cs, rs) = (c.strides()[1], c.strides()[0]);
    let level = simd::active();
    assert!(runs_at(level), "gemm cannot run at {level}");
    // SAFETY: `a`, `b` and `c` are live views whose shapes were checked above to be m×k,
    // k×n and m×n; the pointers and element strides come from those same views, so every
    // element gemm touches lies inside them. `c` is borrowed mutably while `a` and `b` are
    // borrowed shared, so the output cannot overlap an input. The kernel set matches the
    // level, which `simd` only lets be one this CPU has.
    unsafe {
        let (dst, lhs, rhs) = (c.as_mut_ptr(), a.as_ptr(), b.as_ptr());
        let (lcs, lrs, rcs, rrs) = (
            a.strides()[1],
            a.strides()[0],
            b.strides()[1],
            b.strides()[0],
        );
        let read_dst = beta != 0.0;
        // The operands, written once: `gemm::gemm` and gemm's generic driver take the same
        // ones, the driver with its kernel set around them.
        macro_rules! call {
            ($f:expr, [$($before:expr),*], [$($after:expr),*]) => {
                ($f)(
                    $($before,)* m, n, k, dst, cs, rs, read_dst, lhs, lcs, lrs, rhs, rcs, rrs,
                    beta, alpha, false, false, false, $($after),*
                )
            };
        }
        macro_rules! generic {
            ($simd:expr, $kernels:path, $lanes:expr) => {{
                use $kernels as k;
                call!(
                    gemm_common::gemm::gemm_basic_generic::<
                        _,
                        f32,
                        { $lanes },
                        { k::MR_DIV_N * $lanes },
                        { k::NR },
                        { k::MR_DIV_N },
                        { k::H_M },
                        { k::H_N },
                    >,
                    [$simd],
                    [
                        |x, y, z| x * y + z,
                        &k::UKR,
                        &k::H_UKR,
                        false,
                        gemm_common::Parallelism::None
                    ]
                );
            }};
        }
        if level == Level::of_gemm() {
            call!(gemm::gemm, [], [gemm::Parallelism::None]);
        } else if level == Level::Scalar {
            generic!(
                gemm_common::simd::Scalar,
                gemm_f32::microkernel::scalar::f32,
                1
            );
        } else {
            #[cfg(target_arch = "x86_64")]
            {
                generic!(
                    gemm_common::simd::V3::try_new()
                        .expect("AVX2 is in force only where the CPU has it"),
                    gemm_f32::microkernel::fma::f32,
                    8
                );
            }
        }
    }
}

/// Whether [`mat_mul`] can run at `level`: the level `gemm` picks itself, or one whose kernel
/// set relutui instantiates (AVX2 with FMA on x86-64, and scalar everywhere).
pub fn runs_at(level: Level) -> bool {
    level == Level::of_gemm()
        || level == Level::Scalar
        || (cfg!(target_arch = "x86_64") && level == Level::Avx2 && level.is_available())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    fn naive(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f32> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|k| a[[i, k]] * b[[k, j]]).sum()
        })
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "untouched elements must keep their exact value"
    )]
    fn matches_a_naive_product_for_every_layout() {
        let a = Array2::from_shape_fn((7, 33), |(i, j)| (i * 3 + j) as f32 * 0.01 - 0.2);
        let b = Array2::from_shape_fn((33, 19), |(i, j)| (i + 2 * j) as f32 * 0.02 - 0.3);
        let bt = b.t().to_owned();
        let expected = naive(&a.view(), &b.view());
        // Row-major, transposed and sliced operands, into a fresh and into a strided output.
        for rhs in [b.view(), bt.t()] {
            let mut c = Array2::from_elem((7, 19), f32::NAN);
            mat_mul(1.0, &a.view(), &rhs, 0.0, &mut c.view_mut());
            assert!((&c - &expected).iter().all(|d| d.abs() < 1e-4));
        }
        let mut big = Array2::from_elem((7, 40), 1.0f32);
        let mut block = big.slice_mut(s![.., 10..29]);
        mat_mul(-2.0, &a.view(), &b.view(), 1.0, &mut block);
        assert!((&block - &(1.0 - 2.0 * &expected))
            .iter()
            .all(|d| d.abs() < 1e-4));
        assert!(big.slice(s![.., ..10]).iter().all(|&v| v == 1.0));
    }

    /// Every level this CPU has runs gemm's kernels of that level (not relutui's fallback),
    /// and each matches the naive product, on a shape large enough for gemm's packed path.
    #[test]
    fn every_level_has_its_kernel_set_and_matches_a_naive_product() {
        let a = Array2::from_shape_fn((37, 300), |(i, j)| {
            ((i * 7 + j * 3) % 17) as f32 * 0.01 - 0.08
        });
        let b = Array2::from_shape_fn((300, 45), |(i, j)| ((i + 5 * j) % 13) as f32 * 0.02 - 0.12);
        let expected = naive(&a.view(), &b.view());
        for level in Level::available() {
            if level != Level::Neon {
                assert!(runs_at(level), "{level}");
            }
            if !runs_at(level) {
                continue;
            }
            let mut c = Array2::from_elem((37, 45), 0.5f32);
            simd::with_level(level, || {
                mat_mul(2.0, &a.view(), &b.view(), 1.0, &mut c.view_mut());
            });
            let worst = (&c - &(0.5 + 2.0 * &expected))
                .iter()
                .fold(0.0f32, |m, d| m.max(d.abs()));
            assert!(worst < 1e-3, "{level}: off by {worst}");
        }
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "4 × 0.5 is exact")]
    fn empty_inner_dimension_scales_the_output() {
        let a = Array2::<f32>::zeros((2, 0));
        let b = Array2::<f32>::zeros((0, 3));
        let mut c = Array2::from_elem((2, 3), 4.0f32);
        mat_mul(1.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
        assert!(c.iter().all(|&v| v == 2.0));
    }
}
