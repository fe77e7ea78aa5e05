//! Dense products for small mini-batches (up to [`MAX_ROWS`] examples), without packing.
//!
//! A GEMM library copies ("packs") its operands into cache-friendly panels before it
//! multiplies. With the paper's batch of 10 the weight matrix is by far the larger operand,
//! so packing it costs another full pass over 4 MB per product: `relutui bench` under `perf`
//! showed `gemm`'s `pack_lhs` at 31 % of a tanh training step, beside 48 % in its
//! microkernels. These kernels read the weights where they lie instead:
//!
//! - [`forward`]: `out[r, :] += Σ_k x[r, k] · W[k, :]` streams the weights in blocks of
//!   [`K_BLOCK`] rows, front to back: each vector of a block's rows meets every example's
//!   output vector once, so an output vector is loaded and stored once per [`K_BLOCK`]
//!   multiply-adds. (Walking column strips of `W` with the sums in registers instead jumps
//!   4 KB per row and measured 3× slower: the prefetchers lose the stream.)
//! - [`backward`]: one pass over the weights does both backward products of a layer, row by
//!   row: the propagated delta `below[r, k] = δ_r · W[k, :]` from the old row, and the
//!   update `W[k, :] −= lr · Σ_r x[r, k] δ_r` in place. A GEMM needs two passes (and two
//!   packs). The weights stream past once, front to back; tiling the pass over column
//!   pieces (to keep the deltas in L1) measured 1.6× slower, as the stream broke up.
//!
//! The vectors come from `pulp` (already inside `gemm`), which picks AVX-512, AVX2 or scalar
//! code at run time behind a safe interface; `relutui` itself stays free of `unsafe` here.

#![allow(
    clippy::inline_always,
    reason = "pulp compiles a kernel for the CPU's vector features only where it is inlined into its dispatch"
)]

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use pulp::{Simd, WithSimd};
use std::ops::Range;

/// The most rows (examples) these kernels take; larger batches use the GEMM, where packing is
/// paid back over the rows.
pub const MAX_ROWS: usize = 12;

/// Weight rows per block in [`forward`].
const K_BLOCK: usize = 8;

/// Calls `$f::<R>` with the const `R` equal to `$rows` (1 to [`MAX_ROWS`]).
macro_rules! by_rows {
    ($rows:expr, $f:ident($($arg:expr),*)) => {
        match $rows {
            0 => {}
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            8 => $f::<8>($($arg),*),
            9 => $f::<9>($($arg),*),
            10 => $f::<10>($($arg),*),
            11 => $f::<11>($($arg),*),
            _ => $f::<12>($($arg),*),
        }
    };
}

/// `out[r, :] += Σ_k x[r, k] · W[k, cols]` for every row `r` of `x`.
///
/// `x` is `rows × fan_in` with contiguous rows, `w` the whole weight matrix (`fan_in` rows of
/// `ldw` values, row-major) and `out` is `rows × cols.len()` with contiguous rows.
///
/// # Panics
/// If `x` has more than [`MAX_ROWS`] rows or the shapes disagree.
pub fn forward(
    x: &ArrayView2<'_, f32>,
    w: &[f32],
    ldw: usize,
    cols: Range<usize>,
    out: &mut ArrayViewMut2<'_, f32>,
) {
    let (rows, fan_in) = x.dim();
    assert!(rows <= MAX_ROWS, "{rows} rows exceed {MAX_ROWS}");
    assert!(
        cols.end <= ldw && w.len() >= fan_in * ldw,
        "weights too small"
    );
    assert_eq!(out.dim(), (rows, cols.len()), "output shape differs");
    by_rows!(rows, forward_rows(x, w, ldw, cols, out));
}

fn forward_rows<const R: usize>(
    x: &ArrayView2<'_, f32>,
    w: &[f32],
    ldw: usize,
    cols: Range<usize>,
    out: &mut ArrayViewMut2<'_, f32>,
) {
    let fan_in = x.ncols();
    let xs: [&[f32]; R] =
        std::array::from_fn(|r| &x.row(r).to_slice().expect("input rows are contiguous")[..fan_in]);
    let mut rows = out.axis_iter_mut(Axis(0));
    let outs: [&mut [f32]; R] = std::array::from_fn(|_| {
        rows.next()
            .expect("R output rows")
            .into_slice()
            .expect("output rows are contiguous")
    });
    super::simd::arch().dispatch(Forward {
        xs,
        w,
        ldw,
        cols,
        outs,
    });
}

struct Forward<'a, const R: usize> {
    xs: [&'a [f32]; R],
    w: &'a [f32],
    ldw: usize,
    cols: Range<usize>,
    outs: [&'a mut [f32]; R],
}

impl<const R: usize> WithSimd for Forward<'_, R> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            xs,
            w,
            ldw,
            cols,
            outs,
        } = self;
        let fan_in = xs[0].len();
        let mut outs = outs.map(
            #[inline(always)]
            |o| S::as_mut_simd_f32s(o),
        );
        let mut k = 0;
        while k < fan_in {
            if k + K_BLOCK <= fan_in {
                forward_block::<S, R, K_BLOCK>(simd, &xs, k, (w, ldw, &cols), &mut outs);
                k += K_BLOCK;
            } else {
                forward_block::<S, R, 1>(simd, &xs, k, (w, ldw, &cols), &mut outs);
                k += 1;
            }
        }
    }
}

/// Adds the weight rows `k..k + KB` times the inputs' columns `k..k + KB` to the outputs.
#[inline(always)]
fn forward_block<S: Simd, const R: usize, const KB: usize>(
    simd: S,
    xs: &[&[f32]; R],
    k: usize,
    (w, ldw, cols): (&[f32], usize, &Range<usize>),
    outs: &mut [(&mut [S::f32s], &mut [f32]); R],
) {
    let parts: [(&[S::f32s], &[f32]); KB] = std::array::from_fn(
        #[inline(always)]
        |q| {
            let at = (k + q) * ldw;
            S::as_simd_f32s(&w[at + cols.start..at + cols.end])
        },
    );
    let xk: [[f32; KB]; R] = std::array::from_fn(
        #[inline(always)]
        |r| {
            std::array::from_fn(
                #[inline(always)]
                |q| xs[r][k + q],
            )
        },
    );
    let zero = simd.splat_f32s(0.0);
    for c in 0..outs[0].0.len() {
        let wv: [S::f32s; KB] = std::array::from_fn(
            #[inline(always)]
            |q| parts[q].0[c],
        );
        for (r, (head, _)) in outs.iter_mut().enumerate() {
            let mut even = head[c];
            let mut odd = zero;
            for q in 0..KB {
                let x = simd.splat_f32s(xk[r][q]);
                if q % 2 == 0 {
                    even = simd.mul_add_e_f32s(x, wv[q], even);
                } else {
                    odd = simd.mul_add_e_f32s(x, wv[q], odd);
                }
            }
            head[c] = simd.add_f32s(even, odd);
        }
    }
    for (r, (_, tail)) in outs.iter_mut().enumerate() {
        for (l, o) in tail.iter_mut().enumerate() {
            for q in 0..KB {
                *o = xk[r][q].mul_add(parts[q].1[l], *o);
            }
        }
    }
}

/// Both backward products of a layer in one pass over its weights.
///
/// `w` holds the weight rows `k0..k0 + w.len() / fan_out` (row-major, contiguous), `x` the
/// layer input (`rows × fan_in`, contiguous rows; column `k` feeds weight row `k`) and
/// `delta` the `rows × fan_out` deltas. If `below` is given (`rows × (rows of w)`), it is set
/// to `δ · Wᵀ` from the old weights; then `W −= lr · xᵀ · δ`.
///
/// # Panics
/// If there are more than [`MAX_ROWS`] rows or the shapes disagree.
pub fn backward(
    x: &ArrayView2<'_, f32>,
    k0: usize,
    w: &mut [f32],
    delta: &ArrayView2<'_, f32>,
    below: Option<&mut ArrayViewMut2<'_, f32>>,
    lr: f32,
) {
    let rows = x.nrows();
    assert!(rows <= MAX_ROWS, "{rows} rows exceed {MAX_ROWS}");
    assert_eq!(delta.nrows(), rows, "delta rows differ");
    by_rows!(rows, backward_rows(x, k0, w, delta, below, lr));
}

fn backward_rows<const R: usize>(
    x: &ArrayView2<'_, f32>,
    k0: usize,
    w: &mut [f32],
    delta: &ArrayView2<'_, f32>,
    below: Option<&mut ArrayViewMut2<'_, f32>>,
    lr: f32,
) {
    let fan_out = delta.ncols();
    let units = w.len() / fan_out.max(1);
    assert_eq!(w.len(), units * fan_out, "weights are not whole rows");
    assert!(k0 + units <= x.ncols(), "weight rows beyond the input");
    if let Some(b) = below.as_deref() {
        assert_eq!(b.dim(), (R, units), "below shape differs");
    }
    let xs: [&[f32]; R] = std::array::from_fn(|r| {
        &x.row(r).to_slice().expect("input rows are contiguous")[k0..k0 + units]
    });
    let ds: [&[f32]; R] =
        std::array::from_fn(|r| delta.row(r).to_slice().expect("delta rows are contiguous"));
    super::simd::arch().dispatch(Backward {
        xs,
        ds,
        w,
        fan_out,
        below,
        lr,
    });
}

struct Backward<'a, 'b, const R: usize> {
    xs: [&'a [f32]; R],
    ds: [&'a [f32]; R],
    w: &'a mut [f32],
    fan_out: usize,
    below: Option<&'a mut ArrayViewMut2<'b, f32>>,
    lr: f32,
}

impl<const R: usize> WithSimd for Backward<'_, '_, R> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            xs,
            ds,
            w,
            fan_out,
            mut below,
            lr,
        } = self;
        let deltas: [(&[S::f32s], &[f32]); R] = std::array::from_fn(
            #[inline(always)]
            |r| S::as_simd_f32s(ds[r]),
        );
        for (k, wrow) in w.chunks_exact_mut(fan_out).enumerate() {
            let coef: [f32; R] = std::array::from_fn(
                #[inline(always)]
                |r| -lr * xs[r][k],
            );
            let seg = S::as_mut_simd_f32s(wrow);
            if let Some(b) = below.as_deref_mut() {
                let dots = row_pass::<S, R, true, true>(simd, seg, &deltas, &coef);
                for (r, d) in dots.into_iter().enumerate() {
                    b[[r, k]] = d;
                }
            } else if coef.iter().any(|&c| c != 0.0) {
                row_pass::<S, R, false, true>(simd, seg, &deltas, &coef);
            }
        }
    }
}

/// One pass over a weight row's piece `head ++ tail` against `R` delta rows (their matching
/// pieces in `deltas`): returns `δ_r · piece` from the old values if `DOTS` (zeros
/// otherwise), and adds `Σ_r coef_r · δ_r` to the piece if `UPDATE`.
#[inline(always)]
pub(super) fn row_pass<S: Simd, const R: usize, const DOTS: bool, const UPDATE: bool>(
    simd: S,
    (head, tail): (&mut [S::f32s], &mut [f32]),
    deltas: &[(&[S::f32s], &[f32]); R],
    coef: &[f32; R],
) -> [f32; R] {
    let zero = simd.splat_f32s(0.0);
    let coefs: [S::f32s; R] = std::array::from_fn(
        #[inline(always)]
        |r| simd.splat_f32s(coef[r]),
    );
    let mut acc = [zero; R];
    for (c, wc) in head.iter_mut().enumerate() {
        let old = *wc;
        // Two partial sums halve the chain of dependent multiply-adds.
        let mut even = old;
        let mut odd = zero;
        for r in 0..R {
            let d = deltas[r].0[c];
            if DOTS {
                acc[r] = simd.mul_add_e_f32s(d, old, acc[r]);
            }
            if UPDATE {
                if r % 2 == 0 {
                    even = simd.mul_add_e_f32s(coefs[r], d, even);
                } else {
                    odd = simd.mul_add_e_f32s(coefs[r], d, odd);
                }
            }
        }
        if UPDATE {
            *wc = simd.add_f32s(even, odd);
        }
    }
    let mut dots = [0.0f32; R];
    if DOTS {
        for r in 0..R {
            let mut t = 0.0f32;
            for (&d, &wv) in deltas[r].1.iter().zip(tail.iter()) {
                t = d.mul_add(wv, t);
            }
            dots[r] = simd.reduce_sum_f32s(acc[r]) + t;
        }
    }
    if UPDATE {
        for (l, wv) in tail.iter_mut().enumerate() {
            let mut u = *wv;
            for r in 0..R {
                u = coef[r].mul_add(deltas[r].1[l], u);
            }
            *wv = u;
        }
    }
    dots
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    fn matrix(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            let v = ((i * 131 + j * 71 + seed * 17) % 97) as f32 / 97.0 - 0.5;
            // Some exact zeros, as below a rectifier.
            if (i + j + seed) % 5 == 0 {
                0.0
            } else {
                v
            }
        })
    }

    fn close(a: &Array2<f32>, b: &Array2<f32>, tol: f32) -> bool {
        a.dim() == b.dim() && a.iter().zip(b).all(|(p, q)| (p - q).abs() <= tol)
    }

    #[test]
    fn forward_matches_a_naive_product_for_every_row_count_and_odd_widths() {
        // 77 columns: strips of 32, 32, 8 and five single columns.
        let (fan_in, width) = (45, 77);
        let w = matrix(fan_in, width, 1);
        for rows in 1..=MAX_ROWS {
            let x = matrix(rows, fan_in, rows);
            let bias = matrix(rows, width, 3);
            let expected = &bias + &x.dot(&w);
            let mut out = bias.clone();
            forward(
                &x.view(),
                w.as_slice().unwrap(),
                width,
                0..width,
                &mut out.view_mut(),
            );
            assert!(close(&out, &expected, 1e-5), "rows {rows}");
            // A column block, as a thread gets it.
            let mut block = bias.slice(s![.., 20..61]).to_owned();
            forward(
                &x.view(),
                w.as_slice().unwrap(),
                width,
                20..61,
                &mut block.view_mut(),
            );
            assert!(close(
                &block,
                &expected.slice(s![.., 20..61]).to_owned(),
                1e-5
            ));
        }
    }

    #[test]
    fn backward_matches_the_two_products_it_replaces() {
        // 1,100 columns: two full tiles and a partial one, with a tail of 12 lanes.
        let (fan_in, fan_out, lr) = (23, 1100, 0.3);
        for rows in [1, 2, 7, 10, MAX_ROWS] {
            let x = matrix(rows, fan_in, rows);
            let delta = matrix(rows, fan_out, 5);
            let w0 = matrix(fan_in, fan_out, 7);
            let below_expected = delta.dot(&w0.t());
            let w_expected = &w0 - &(lr * x.t().dot(&delta));

            let mut w = w0.clone();
            let mut below = Array2::from_elem((rows, fan_in), f32::NAN);
            backward(
                &x.view(),
                0,
                w.as_slice_mut().unwrap(),
                &delta.view(),
                Some(&mut below.view_mut()),
                lr,
            );
            assert!(close(&below, &below_expected, 1e-4), "rows {rows}");
            assert!(close(&w, &w_expected, 1e-5), "rows {rows}");

            // Rows 5..17 of the weights alone (a thread's block), without `below`.
            let mut w = w0.clone();
            let block = w.slice_mut(s![5..17, ..]).into_slice().unwrap();
            backward(&x.view(), 5, block, &delta.view(), None, lr);
            assert!(close(
                &w.slice(s![5..17, ..]).to_owned(),
                &w_expected.slice(s![5..17, ..]).to_owned(),
                1e-5
            ));
            assert_eq!(
                w.slice(s![..5, ..]),
                w0.slice(s![..5, ..]),
                "rows outside the block are untouched"
            );
        }
    }
}
