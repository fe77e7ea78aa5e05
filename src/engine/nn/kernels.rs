//! The products of a layer that skip exact zeros of the layer input.
//!
//! [`scan_input`] records where a batch's inputs are non-zero, twice: per example (a
//! compressed row list, for the forward pass) and per input unit (the input transposed, for the
//! backward pass).
//!
//! - [`sparse_forward`] works example by example over column blocks of [`BLOCK_VECTORS`]
//!   vectors: the block of the example's output sits in registers while the matching pieces
//!   of the weight rows of its non-zero inputs stream past, so each multiply-add costs one
//!   load (of a weight) and the output is stored once per block. A block of every weight row
//!   (128 columns × 1,000 rows, 512 KB) stays in L2 while the batch's examples go by.
//! - [`backward_walk`] walks the weights row `k` by row `k`. Row `k` serves only the examples
//!   whose input `k` is non-zero; a row no example uses is skipped. For those examples one
//!   pass over the row computes the propagated delta `below[i, k] = δ_i · W[k, :]` from the old
//!   values and updates the row in place, `W[k, :] −= lr · Σ_i in[i, k] δ_i` (the same pass as
//!   the small-batch dense kernel, [`super::small_batch`]).
//!
//! Vectors come from `pulp`, which picks AVX-512, AVX2 or scalar code at run time.
#![allow(
    clippy::inline_always,
    reason = "pulp compiles a kernel for the CPU's vector features only where it is inlined into its dispatch"
)]

use super::small_batch::{row_pass, MAX_ROWS};
use ndarray::{ArrayViewMut2, Axis};
use pulp::{Simd, WithSimd};
use std::ops::Range;

/// Where a batch's inputs are non-zero: for each example, its non-zero inputs' indices and
/// values in increasing index order.
#[derive(Debug, Clone, Default)]
pub struct NonZeros {
    /// `start[i]..start[i + 1]` indexes example `i`'s entries.
    start: Vec<usize>,
    /// Room for every input of a full batch plus one, so that the scan writes without
    /// branching and never allocates.
    index: Vec<u32>,
    value: Vec<f32>,
}

impl NonZeros {
    /// Room for `rows × width` entries.
    pub fn with_capacity(rows: usize, width: usize) -> Self {
        Self {
            start: Vec::with_capacity(rows + 1),
            index: vec![0; rows * width + 1],
            value: vec![0.0; rows * width + 1],
        }
    }

    fn example(&self, i: usize) -> (&[u32], &[f32]) {
        let r = self.start[i]..self.start[i + 1];
        (&self.index[r.clone()], &self.value[r])
    }
}

/// The number of non-zero values in `x`: what [`scan_input`] returns, without recording
/// where they are. A layer input the dense path will take anyway (a tanh hidden layer, never
/// exactly 0) costs only this count, a few vector compares per cache line, not the scan.
pub fn count_nonzeros(x: &[f32]) -> usize {
    // Compiled for the SIMD level in force; blocks of 64 keep the per-lane counts in
    // 32-bit lanes that the compiler vectorises.
    super::simd::vectorize(
        #[inline(always)]
        || {
            let mut chunks = x.chunks_exact(64);
            let mut total = 0usize;
            for c in chunks.by_ref() {
                total += c.iter().map(|&v| u32::from(v != 0.0)).sum::<u32>() as usize;
            }
            total + chunks.remainder().iter().filter(|&&v| v != 0.0).count()
        },
    )
}

/// Scans the `n × fan_in` block `x` (row-major) into `nz` and returns the number of non-zero
/// values.
///
/// # Panics
/// If `x` is too short or `nz` has no room for `n × fan_in` entries.
pub fn scan_input(x: &[f32], n: usize, fan_in: usize, nz: &mut NonZeros) -> usize {
    assert!(x.len() >= n * fan_in, "input too short");
    assert!(nz.index.len() > n * fan_in, "no room for the scan");
    nz.start.clear();
    nz.start.push(0);
    // Compiled for the SIMD level in force.
    super::simd::vectorize(
        #[inline(always)]
        || {
            let mut at = 0;
            for row in x.chunks_exact(fan_in).take(n) {
                for (k, &v) in row.iter().enumerate() {
                    // Written every time, kept only when non-zero: no branch to mispredict.
                    nz.index[at] = u32::try_from(k).expect("layer widths fit in u32");
                    nz.value[at] = v;
                    at += usize::from(v != 0.0);
                }
                nz.start.push(at);
            }
            at
        },
    )
}

/// Vectors per column block of [`sparse_forward`] (8 × 16 = 128 columns with AVX-512).
const BLOCK_VECTORS: usize = 8;

/// `out[i, :] += Σ_k in[i, k] · W[k, cols]`, skipping zero inputs. `nz` describes the `n`
/// examples' inputs, `w` is the whole weight matrix (rows of `ldw`), `out` is `n × cols.len()`
/// with contiguous rows.
///
/// # Panics
/// If the shapes disagree.
pub fn sparse_forward(
    nz: &NonZeros,
    n: usize,
    w: &[f32],
    ldw: usize,
    cols: Range<usize>,
    out: &mut ArrayViewMut2<'_, f32>,
) {
    assert_eq!(out.dim(), (n, cols.len()), "output shape differs");
    assert!(cols.end <= ldw, "columns beyond the weights");
    assert!(nz.start.len() > n, "fewer scanned examples than rows");
    super::simd::arch().dispatch(Forward {
        nz,
        w,
        ldw,
        cols,
        out,
    });
}

struct Forward<'a, 'b> {
    nz: &'a NonZeros,
    w: &'a [f32],
    ldw: usize,
    cols: Range<usize>,
    out: &'a mut ArrayViewMut2<'b, f32>,
}

impl WithSimd for Forward<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            nz,
            w,
            ldw,
            cols,
            out,
        } = self;
        let lanes = std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>();
        let block = BLOCK_VECTORS * lanes;
        // Column blocks outside, examples inside: one block of the weights stays in L2
        // while every example of the batch goes by (examples outside streamed all the
        // weights from memory once per example). Each output still sums its inputs in the
        // same order, so the result is the same to the bit.
        let mut j = 0;
        while j < cols.len() {
            let width = if cols.len() - j >= block {
                block
            } else {
                cols.len() - j
            };
            let col = cols.start + j;
            for (i, mut row) in out.axis_iter_mut(Axis(0)).enumerate() {
                let o = row.as_slice_mut().expect("output rows are contiguous");
                let (index, value) = nz.example(i);
                let (head, tail) = S::as_mut_simd_f32s(&mut o[j..j + width]);
                if let Ok(head) = <&mut [S::f32s; BLOCK_VECTORS]>::try_from(&mut *head) {
                    let mut acc = *head;
                    for (&k, &v) in index.iter().zip(value) {
                        let at = k as usize * ldw + col;
                        let (wv, _) = S::as_simd_f32s(&w[at..at + block]);
                        let wv: &[S::f32s; BLOCK_VECTORS] = wv.try_into().expect("a whole block");
                        let x = simd.splat_f32s(v);
                        for (a, &wc) in acc.iter_mut().zip(wv) {
                            *a = simd.mul_add_e_f32s(x, wc, *a);
                        }
                    }
                    *head = acc;
                } else {
                    // The last, narrower block: vector by vector, then lane by lane.
                    for (&k, &v) in index.iter().zip(value) {
                        let at = k as usize * ldw + col;
                        let (wv, wt) = S::as_simd_f32s(&w[at..at + width]);
                        let x = simd.splat_f32s(v);
                        for (a, &wc) in head.iter_mut().zip(wv) {
                            *a = simd.mul_add_e_f32s(x, wc, *a);
                        }
                        for (t, &wc) in tail.iter_mut().zip(wt) {
                            *t = v.mul_add(wc, *t);
                        }
                    }
                }
            }
            j += width;
        }
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
/// If `below` is given, sets `below[i, k] = δ_i · W[k, :]` from the old row (for the examples
/// the mask selects, 0 elsewhere); and updates the row in place, `W[k, :] −= lr · Σ_i in[i, k]
/// δ_i`, skipping zero inputs. Rows whose input is zero on the whole batch are skipped
/// entirely when the mask allows it.
///
/// `x` is the layer input (`n` rows of `fan_in`, row-major) and `w` holds the weight rows
/// `k0..` (row-major, contiguous); `delta` is `n × fan_out` row-major and `below` is
/// `n × (rows of w)`.
///
/// # Panics
/// If the shapes disagree.
pub fn backward_walk(
    x: &[f32],
    fan_in: usize,
    k0: usize,
    w: &mut [f32],
    delta: &[f32],
    below: Option<(ArrayViewMut2<'_, f32>, BelowMask)>,
    lr: f32,
) {
    let n = x.len() / fan_in.max(1);
    assert_eq!(x.len(), n * fan_in, "input is not whole rows");
    let fan_out = delta.len() / n.max(1);
    assert_eq!(delta.len(), n * fan_out, "delta is not n whole rows");
    let units = w.len() / fan_out.max(1);
    assert_eq!(w.len(), units * fan_out, "weights are not whole rows");
    assert!(k0 + units <= fan_in, "weight rows beyond the input");
    if let Some((b, _)) = &below {
        assert_eq!(b.dim(), (n, units), "below shape differs");
    }
    if n == 0 {
        return;
    }
    super::simd::arch().dispatch(Walk {
        x,
        fan_in,
        k0,
        n,
        w,
        fan_out,
        delta,
        below,
        lr,
    });
}

struct Walk<'a, 'b> {
    x: &'a [f32],
    fan_in: usize,
    k0: usize,
    n: usize,
    w: &'a mut [f32],
    fan_out: usize,
    delta: &'a [f32],
    below: Option<(ArrayViewMut2<'b, f32>, BelowMask)>,
    lr: f32,
}

impl WithSimd for Walk<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            x,
            fan_in,
            k0,
            n,
            w,
            fan_out,
            delta,
            mut below,
            lr,
        } = self;
        if let Some((b, BelowMask::NonZeroInputs)) = below.as_mut() {
            b.fill(0.0);
        }
        let all = matches!(below, Some((_, BelowMask::All)));
        let dots_wanted = below.is_some();
        for (k, wrow) in w.chunks_exact_mut(fan_out).enumerate() {
            // Input `k0 + k` of every example: a column of `x`, read in place.
            let xk = x[k0 + k..].iter().step_by(fan_in).take(n);
            let active = xk.clone().filter(|&&v| v != 0.0).count();
            if active == 0 && !all {
                continue;
            }
            let mut put = |i: usize, d: f32| {
                if let Some((b, _)) = below.as_mut() {
                    b[[i, k]] = d;
                }
            };
            let served = if all { n } else { active };
            if served <= MAX_ROWS {
                // One pass: the dots read each old value just before it is updated.
                for_groups(
                    xk.clone(),
                    all,
                    lr,
                    #[inline(always)]
                    |rows, coef| match (dots_wanted, active > 0) {
                        (true, true) => {
                            pass::<S, true, true>(simd, wrow, delta, rows, coef, &mut put);
                        }
                        (true, false) => {
                            pass::<S, true, false>(simd, wrow, delta, rows, coef, &mut put);
                        }
                        (false, true) => {
                            pass::<S, false, true>(simd, wrow, delta, rows, coef, &mut put);
                        }
                        (false, false) => {}
                    },
                );
            } else {
                // Several groups: every dot must read the old row, so they all come first.
                if dots_wanted {
                    for_groups(
                        xk.clone(),
                        all,
                        lr,
                        #[inline(always)]
                        |rows, coef| {
                            pass::<S, true, false>(simd, wrow, delta, rows, coef, &mut put);
                        },
                    );
                }
                if active > 0 {
                    for_groups(
                        xk.clone(),
                        false,
                        lr,
                        #[inline(always)]
                        |rows, coef| {
                            pass::<S, false, true>(simd, wrow, delta, rows, coef, &mut put);
                        },
                    );
                }
            }
        }
    }
}

/// Calls `f(rows, coefs)` for groups of up to [`MAX_ROWS`] examples: those with a non-zero
/// input (or all of them), with coefficients `−lr · in[i, k]`.
#[inline(always)]
fn for_groups<'x>(
    xk: impl Iterator<Item = &'x f32>,
    all: bool,
    lr: f32,
    mut f: impl FnMut(&[usize], &[f32]),
) {
    let mut rows = [0usize; MAX_ROWS];
    let mut coef = [0.0f32; MAX_ROWS];
    let mut count = 0;
    for (i, &v) in xk.enumerate() {
        if v != 0.0 || all {
            rows[count] = i;
            coef[count] = -lr * v;
            count += 1;
            if count == MAX_ROWS {
                f(&rows, &coef);
                count = 0;
            }
        }
    }
    if count > 0 {
        f(&rows[..count], &coef[..count]);
    }
}

/// [`row_pass`] over `wrow` for the delta rows `rows` (1 to [`MAX_ROWS`] of them), handing
/// each dot product to `put(example, dot)`.
#[inline(always)]
fn pass<S: Simd, const DOTS: bool, const UPDATE: bool>(
    simd: S,
    wrow: &mut [f32],
    delta: &[f32],
    rows: &[usize],
    coef: &[f32],
    put: &mut impl FnMut(usize, f32),
) {
    let width = wrow.len();
    macro_rules! run {
        ($r:literal) => {{
            let ds: [(&[S::f32s], &[f32]); $r] = std::array::from_fn(
                #[inline(always)]
                |g| S::as_simd_f32s(&delta[rows[g] * width..(rows[g] + 1) * width]),
            );
            let c: &[f32; $r] = coef.try_into().expect("group size");
            let dots = row_pass::<S, $r, DOTS, UPDATE>(simd, S::as_mut_simd_f32s(wrow), &ds, c);
            if DOTS {
                for (&i, d) in rows.iter().zip(dots) {
                    put(i, d);
                }
            }
        }};
    }
    match rows.len() {
        0 => {}
        1 => run!(1),
        2 => run!(2),
        3 => run!(3),
        4 => run!(4),
        5 => run!(5),
        6 => run!(6),
        7 => run!(7),
        8 => run!(8),
        9 => run!(9),
        10 => run!(10),
        11 => run!(11),
        _ => run!(12),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn sparse_forward_equals_the_dense_product() {
        // 3 examples × 4 inputs, with zeros, → 2 outputs.
        let x = [
            1.0f32, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, -1.0, 0.0, 3.0,
        ];
        let w = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mut nz = NonZeros::with_capacity(3, 4);
        assert_eq!(scan_input(&x, 3, 4, &mut nz), 5);
        assert_eq!(nz.example(1), (&[][..], &[][..]));
        assert_eq!(nz.example(2), (&[0, 1, 3][..], &[0.5, -1.0, 3.0][..]));
        let mut out = Array2::<f32>::zeros((3, 2));
        sparse_forward(&nz, 3, &w, 2, 0..2, &mut out.view_mut());
        let mut dense = Array2::<f32>::zeros((3, 2));
        for i in 0..3 {
            for j in 0..2 {
                dense[[i, j]] = (0..4).map(|k| x[i * 4 + k] * w[k * 2 + j]).sum();
            }
        }
        assert_eq!(out, dense);
    }

    #[test]
    fn the_count_agrees_with_the_scan_on_every_level_and_length() {
        // Exact zeros of both signs, NaN, subnormals and tiny values; lengths around the
        // 64-value blocks and every vector width.
        let values = [
            0.0f32,
            -0.0,
            1.0,
            f32::NAN,
            1e-40,
            -3.5,
            0.0,
            f32::MIN_POSITIVE,
        ];
        for level in super::super::simd::Level::available() {
            for len in [1usize, 7, 63, 64, 65, 130, 1000, 1001] {
                let x: Vec<f32> = (0..len).map(|i| values[(i * 5 + i / 3) % 8]).collect();
                let mut nz = NonZeros::with_capacity(1, len);
                let (count, scanned) = super::super::simd::with_level(level, || {
                    (count_nonzeros(&x), scan_input(&x, 1, len, &mut nz))
                });
                let expected = x.iter().filter(|&&v| v != 0.0).count();
                assert_eq!(
                    (count, scanned),
                    (expected, expected),
                    "{level}, {len} values"
                );
            }
            assert_eq!(
                super::super::simd::with_level(level, || count_nonzeros(&[])),
                0
            );
        }
    }

    /// A matrix with about a third exact zeros, like a rectifier layer's output.
    fn sparse_matrix(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            let h = (i * 131 + j * 71 + seed * 17) % 97;
            if h % 3 == 0 {
                0.0
            } else {
                h as f32 / 97.0 - 0.4
            }
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
    fn sparse_forward_matches_a_naive_product_on_wide_blocks_and_column_ranges() {
        // 300 columns: two full blocks of 128 and a 44-wide rest (two vectors and 12 lanes).
        let (n, fan_in, width) = (7, 50, 300);
        let x = sparse_matrix(n, fan_in, 1);
        let w = sparse_matrix(fan_in, width, 2);
        let mut nz = NonZeros::with_capacity(n, fan_in);
        scan_input(x.as_slice().unwrap(), n, fan_in, &mut nz);
        let bias = sparse_matrix(n, width, 3);
        let expected = &bias + &x.dot(&w);
        let mut out = bias.clone();
        sparse_forward(
            &nz,
            n,
            w.as_slice().unwrap(),
            width,
            0..width,
            &mut out.view_mut(),
        );
        assert!(max_diff(&out, &expected) < 1e-5);
        let mut part = bias.slice(ndarray::s![.., 33..170]).to_owned();
        sparse_forward(
            &nz,
            n,
            w.as_slice().unwrap(),
            width,
            33..170,
            &mut part.view_mut(),
        );
        assert!(max_diff(&part, &expected.slice(ndarray::s![.., 33..170]).to_owned()) < 1e-5);
    }

    #[test]
    fn backward_walk_matches_the_two_dense_products() {
        // 7 and 10 examples take one pass per row; 30 take groups (dots first, then updates).
        let (fan_in, fan_out, lr) = (40, 70, 0.3);
        for n in [7, 10, 30] {
            let x = sparse_matrix(n, fan_in, n);
            let delta = sparse_matrix(n, fan_out, 5);
            let w0 = sparse_matrix(fan_in, fan_out, 7);
            let w_expected = &w0 - &(lr * x.t().dot(&delta));
            let dots = delta.dot(&w0.t());
            for mask in [BelowMask::All, BelowMask::NonZeroInputs] {
                let mut w = w0.clone();
                let mut below = Array2::from_elem((n, fan_in), f32::NAN);
                backward_walk(
                    x.as_slice().unwrap(),
                    fan_in,
                    0,
                    w.as_slice_mut().unwrap(),
                    delta.as_slice().unwrap(),
                    Some((below.view_mut(), mask)),
                    lr,
                );
                assert!(max_diff(&w, &w_expected) < 1e-5, "n {n} {mask:?}");
                let expected = match mask {
                    BelowMask::All => dots.clone(),
                    BelowMask::NonZeroInputs => Array2::from_shape_fn(dots.dim(), |(i, k)| {
                        if x[[i, k]] == 0.0 {
                            0.0
                        } else {
                            dots[[i, k]]
                        }
                    }),
                };
                assert!(max_diff(&below, &expected) < 1e-5, "n {n} {mask:?}");
            }
            // Without `below`, only the update.
            let mut w = w0.clone();
            backward_walk(
                x.as_slice().unwrap(),
                fan_in,
                0,
                w.as_slice_mut().unwrap(),
                delta.as_slice().unwrap(),
                None,
                lr,
            );
            assert!(max_diff(&w, &w_expected) < 1e-5, "n {n} update only");
        }
    }
}
