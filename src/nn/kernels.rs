//! The products of a layer, dense (GEMM) and sparse (skipping exact zeros of the layer input).
//!
//! The sparse kernels walk the input unit by unit (`k`), so each weight row `W[k, :]` is read
//! once per step and used for every example where input `k` is non-zero; a unit that is zero on
//! the whole batch costs nothing. In the backward pass the propagated delta and the weight
//! update share that one walk over `W`: `below[i, k] = δ_i · W[k, :]` is read from the old row
//! before the row is updated in place with `W[k, :] −= lr · Σ_i in[i, k] δ_i`.

use ndarray::{ArrayView2, ArrayViewMut2};

/// Copies the `n × fan_in` block `x` (row-major, `fan_in` per row) into `xt` as `fan_in` rows of
/// `stride` values (the first `n` used) and returns the number of non-zero values.
pub fn transpose_count(x: &[f32], n: usize, fan_in: usize, xt: &mut [f32], stride: usize) -> usize {
    debug_assert!(x.len() >= n * fan_in && xt.len() >= fan_in * stride && n <= stride);
    let mut nnz = 0;
    for (i, row) in x.chunks_exact(fan_in).take(n).enumerate() {
        for (k, &v) in row.iter().enumerate() {
            xt[k * stride + i] = v;
            nnz += usize::from(v != 0.0);
        }
    }
    nnz
}

/// Columns per block in [`sparse_forward`]: a block of output rows stays in L1 while every
/// weight row's block streams past once.
const FORWARD_BLOCK: usize = 256;

/// `out[i, :] += Σ_k in[i, k] · w[k, :]`, skipping zero inputs. `xt` is the input transposed
/// (`fan_in` rows of `stride`), `w` is `fan_in × cols` with contiguous rows (a column block of
/// the weights), `out` is `n × cols` with contiguous rows.
pub fn sparse_forward(
    xt: &[f32],
    stride: usize,
    n: usize,
    w: ArrayView2<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
) {
    let cols = w.ncols();
    let mut j0 = 0;
    while j0 < cols {
        let j1 = (j0 + FORWARD_BLOCK).min(cols);
        for (xk, wk) in xt.chunks_exact(stride).zip(w.rows()) {
            let wb = &wk.to_slice().expect("weight rows are contiguous")[j0..j1];
            for (i, &v) in xk[..n].iter().enumerate() {
                if v != 0.0 {
                    let mut o = out.row_mut(i);
                    let o = o.as_slice_mut().expect("output rows are contiguous");
                    axpy(v, wb, &mut o[j0..j1]);
                }
            }
        }
        j0 = j1;
    }
}

/// Which examples need `below[i, k]` in [`backward_walk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BelowMask {
    /// Only where `in[i, k] ≠ 0`: right when a zero input means a zero derivative below
    /// (the rectifier), so the rest of `below` must be 0.
    NonZeroInputs,
    /// Every example (smooth activations).
    All,
}

/// The fused backward walk over one layer's weights, row `k` by row `k`.
///
/// If `below` is given, first sets `below[i, k] = δ_i · W[k, :]` from the old row (for the
/// examples the mask selects, 0 elsewhere); then updates the row in place,
/// `W[k, :] −= lr · Σ_i in[i, k] δ_i`, skipping zero inputs. Rows whose input is zero on the
/// whole batch are skipped entirely when the mask allows it.
///
/// `xt` holds the block's input units transposed (rows of `stride`), `w` the block's weight
/// rows (contiguous), `delta` is `n × fan_out` row-major and `below` is `n × block`.
pub fn backward_walk(
    xt: &[f32],
    stride: usize,
    n: usize,
    mut w: ArrayViewMut2<'_, f32>,
    delta: &[f32],
    mut below: Option<(ArrayViewMut2<'_, f32>, BelowMask)>,
    lr: f32,
) {
    let fan_out = w.ncols();
    if let Some((b, BelowMask::NonZeroInputs)) = below.as_mut() {
        b.fill(0.0);
    }
    for (k, (xk, mut wk)) in xt.chunks_exact(stride).zip(w.rows_mut()).enumerate() {
        let wk = wk.as_slice_mut().expect("weight rows are contiguous");
        let xk = &xk[..n];
        let all_zero = xk.iter().all(|&v| v == 0.0);
        let all_inputs = matches!(below, Some((_, BelowMask::All)));
        if all_zero && !all_inputs {
            continue;
        }
        // Every dot product reads the old row, so all of them come before any update.
        if let Some((b, _)) = below.as_mut() {
            for_groups(xk, all_inputs, lr, |rows, _| {
                let deltas = group_rows(delta, rows, fan_out);
                let dots = dot_group(&deltas[..rows.len()], wk);
                for (g, &i) in rows.iter().enumerate() {
                    b[[i, k]] = dots[g];
                }
            });
        }
        if !all_zero {
            for_groups(xk, false, lr, |rows, coef| {
                let deltas = group_rows(delta, rows, fan_out);
                update_row(wk, coef, &deltas[..rows.len()]);
            });
        }
    }
}

/// Calls `f(rows, coefs)` for groups of up to [`GROUP`] examples: those with a non-zero
/// input (or all of them), with coefficients `−lr · in[i, k]`.
fn for_groups(xk: &[f32], all: bool, lr: f32, mut f: impl FnMut(&[usize], &[f32])) {
    let mut rows = [0usize; GROUP];
    let mut coef = [0.0f32; GROUP];
    let mut count = 0;
    for (i, &v) in xk.iter().enumerate() {
        if v != 0.0 || all {
            rows[count] = i;
            coef[count] = -lr * v;
            count += 1;
            if count == GROUP {
                f(&rows, &coef);
                count = 0;
            }
        }
    }
    if count > 0 {
        f(&rows[..count], &coef[..count]);
    }
}

/// The delta rows of `rows` (padded with the first one).
fn group_rows<'a>(delta: &'a [f32], rows: &[usize], width: usize) -> [&'a [f32]; GROUP] {
    std::array::from_fn(|g| row(delta, rows[g.min(rows.len() - 1)], width))
}

/// Examples handled together by the backward walk: their dot products share each load of the
/// weight row, and their updates share one load and store of it.
const GROUP: usize = 8;
const LANES: usize = 16;

fn row(m: &[f32], i: usize, width: usize) -> &[f32] {
    &m[i * width..(i + 1) * width]
}

/// `[x_g · w for each g]`, with one accumulator vector per example.
fn dot_group(xs: &[&[f32]], w: &[f32]) -> [f32; GROUP] {
    let mut acc = [[0.0f32; LANES]; GROUP];
    let full = w.len() / LANES * LANES;
    for (c, wc) in w[..full].chunks_exact(LANES).enumerate() {
        for (a, x) in acc.iter_mut().zip(xs) {
            let xc = &x[c * LANES..(c + 1) * LANES];
            for l in 0..LANES {
                a[l] += xc[l] * wc[l];
            }
        }
    }
    let mut out = [0.0f32; GROUP];
    for ((o, a), x) in out.iter_mut().zip(&acc).zip(xs) {
        let tail: f32 = x[full..].iter().zip(&w[full..]).map(|(p, q)| p * q).sum();
        *o = a.iter().sum::<f32>() + tail;
    }
    out
}

/// `w += Σ_g coef_g · x_g` in one pass over `w`.
fn update_row(w: &mut [f32], coef: &[f32], xs: &[&[f32]]) {
    let full = w.len() / LANES * LANES;
    let (body, tail) = w.split_at_mut(full);
    for (c, wc) in body.chunks_exact_mut(LANES).enumerate() {
        let mut acc = [0.0f32; LANES];
        acc.copy_from_slice(wc);
        for (&k, x) in coef.iter().zip(xs) {
            let xc = &x[c * LANES..(c + 1) * LANES];
            for l in 0..LANES {
                acc[l] += k * xc[l];
            }
        }
        wc.copy_from_slice(&acc);
    }
    for (j, t) in tail.iter_mut().enumerate() {
        for (&k, x) in coef.iter().zip(xs) {
            *t += k * x[full + j];
        }
    }
}

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `x · y` with several independent accumulators, so that the compiler can vectorise it.
#[inline]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let xc = x.chunks_exact(LANES);
    let yc = y.chunks_exact(LANES);
    let tail: f32 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for j in 0..LANES {
            acc[j] += a[j] * b[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_axpy_match_naive_sums() {
        let x: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let y: Vec<f32> = (0..37).map(|i| 1.0 / (1.0 + i as f32)).collect();
        let naive: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        assert!((dot(&x, &y) - naive).abs() < 1e-4);
        let mut z = y.clone();
        axpy(2.0, &x, &mut z);
        assert!(z
            .iter()
            .zip(&x)
            .zip(&y)
            .all(|((z, x), y)| (z - (y + 2.0 * x)).abs() < 1e-6));
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "same products summed in the same order")]
    fn sparse_forward_equals_the_dense_product() {
        // 3 examples × 4 inputs, with zeros, → 2 outputs.
        let x = [
            1.0f32, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, -1.0, 0.0, 3.0,
        ];
        let w = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let stride = 5;
        let mut xt = vec![9.0; 4 * stride];
        assert_eq!(transpose_count(&x, 3, 4, &mut xt, stride), 5);
        let mut out = [0.0f32; 6];
        sparse_forward(
            &xt,
            stride,
            3,
            ArrayView2::from_shape((4, 2), &w).unwrap(),
            ArrayViewMut2::from_shape((3, 2), &mut out).unwrap(),
        );
        let mut dense = [0.0f32; 6];
        for i in 0..3 {
            for j in 0..2 {
                dense[i * 2 + j] = (0..4).map(|k| x[i * 4 + k] * w[k * 2 + j]).sum();
            }
        }
        assert_eq!(out, dense);
    }
}
