//! Dense matrix products through the `gemm` crate, behind a safe, shape-checked function.
//!
//! This is the only `unsafe` in relutui. `gemm` takes raw pointers and strides; we call it
//! with views whose shapes are checked here and whose borrows (one `&mut`, two `&`) the
//! compiler has already proven disjoint. Why not ndarray's `general_mat_mul`
//! (matrixmultiply): on the paper's skinny batch-10 shapes `gemm` with its AVX-512 kernels
//! ran about twice as fast on the development machine (10×1000·1000×1000: 73 vs 25 GFLOP/s;
//! the rank-10 weight update: 50 vs 33 GFLOP/s; see README, "Speed").
#![allow(unsafe_code)]

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
    // SAFETY: `a`, `b` and `c` are live views whose shapes were checked above to be m×k,
    // k×n and m×n; the pointers and element strides come from those same views, so every
    // element gemm touches lies inside them. `c` is borrowed mutably while `a` and `b` are
    // borrowed shared, so the output cannot overlap an input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            cs,
            rs,
            beta != 0.0,
            a.as_ptr(),
            a.strides()[1],
            a.strides()[0],
            b.as_ptr(),
            b.strides()[1],
            b.strides()[0],
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
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
