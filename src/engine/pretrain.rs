//! Unsupervised pre-training: greedy layer-wise denoising auto-encoders (Vincent et al.
//! 2008), as Glorot, Bordes & Bengio (2011) used for the "with pre-training" column of their
//! Table 1.
//!
//! Hidden layer `l` of a network is trained as the encoder of an auto-encoder whose input is
//! the (clean) output of layer `l − 1`, or the pixels for the first layer:
//! ```text
//! x̃ = x ⊙ m            m ~ Bernoulli(1 − MASKING_NOISE), one mask per batch, shared by every net
//! h = f(x̃·W + b)       the layer itself (W, b are the network's own weights)
//! z = h·W′ + c          an untied decoder (W′, c), thrown away when the layer is done
//! cost = Σ_i ℓ(z_i, t_i) + l1 · Σ_j |h_j|     (mean over the batch)
//! ```
//! with the reconstruction the paper names for each activation ([`Reconstruction`]):
//! a softplus reconstruction with the quadratic cost `(t − softplus(z))²` below rectifier and
//! softplus layers, a sigmoid reconstruction with the cross-entropy
//! `−t ln σ(z) − (1 − t) ln(1 − σ(z))` below tanh (and sigmoid) layers. The targets are the
//! clean inputs `x`; a tanh layer's output lies in [−1, 1], so as a cross-entropy target it is
//! mapped to `(x + 1) / 2`.
//!
//! The products are the supervised ones ([`nn::forward_layer`], [`nn::backward_layer`]):
//! sparse where the input is sparse enough, fused small-batch kernels otherwise, and the
//! update goes straight into the weights.

use ndarray::{s, Array1, Array2, ArrayView2, Axis, Zip};
use rand::distr::{Distribution, Uniform};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::nn::{self, kernels, Activation, Kernels, Layer};

/// Probability that an input is set to 0 in a training batch (the paper's masking noise).
pub const MASKING_NOISE: f64 = 0.25;

/// The reconstruction layer and its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconstruction {
    /// `‖t − softplus(z)‖²`: for rectifier and softplus layers, whose inputs are ≥ 0 and
    /// unbounded above.
    SoftplusQuadratic,
    /// Cross-entropy of `σ(z)` against targets in [0, 1]: for tanh and sigmoid layers.
    SigmoidCrossEntropy,
}

impl Reconstruction {
    /// The reconstruction the paper uses below a layer of `act` units.
    pub fn for_activation(act: Activation) -> Self {
        match act {
            Activation::Rectifier | Activation::Softplus => Reconstruction::SoftplusQuadratic,
            Activation::Tanh | Activation::Sigmoid => Reconstruction::SigmoidCrossEntropy,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Reconstruction::SoftplusQuadratic => "softplus-quadratic",
            Reconstruction::SigmoidCrossEntropy => "sigmoid-cross-entropy",
        }
    }

    /// The cost of one reconstructed value with pre-activation `z` and target `t`.
    #[inline]
    fn cost(self, z: f32, t: f32) -> f32 {
        match self {
            Reconstruction::SoftplusQuadratic => {
                let d = t - Activation::Softplus.apply(z);
                d * d
            }
            // −t ln σ(z) − (1 − t) ln(1 − σ(z)) = softplus(z) − t·z, finite for any z.
            Reconstruction::SigmoidCrossEntropy => Activation::Softplus.apply(z) - t * z,
        }
    }

    /// d cost / d z.
    #[inline]
    fn grad(self, z: f32, t: f32) -> f32 {
        match self {
            // softplus′(z) = σ(z).
            Reconstruction::SoftplusQuadratic => {
                2.0 * (Activation::Softplus.apply(z) - t) * Activation::Sigmoid.apply(z)
            }
            Reconstruction::SigmoidCrossEntropy => Activation::Sigmoid.apply(z) - t,
        }
    }
}

/// How a clean input becomes a reconstruction target.
fn needs_shift(act: Activation, layer: usize, recon: Reconstruction) -> bool {
    layer > 0 && act == Activation::Tanh && recon == Reconstruction::SigmoidCrossEntropy
}

/// A decoder `code → input` (the transpose shape of the layer it reconstructs through), with
/// uniform Glorot weights drawn from `seed` and a zero bias.
pub fn new_decoder(code: usize, input: usize, seed: u64) -> Layer {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let limit = (6.0 / (code + input) as f64).sqrt() as f32;
    let dist = Uniform::new_inclusive(-limit, limit).expect("finite Glorot limit");
    Layer {
        weights: Array2::from_shape_simple_fn((code, input), || dist.sample(&mut rng)),
        bias: Array1::zeros(input),
    }
}

/// The seed of layer `layer`'s decoder in a run seeded `seed`: the same for every network.
pub fn decoder_seed(seed: u64, layer: usize) -> u64 {
    seed ^ 0xDAE0_0000_0000_0000 ^ (layer as u64 + 1)
}

/// Fills `mask` (one batch, row-major) with 1 for a kept input and 0 for a masked one. A
/// pure function of the seed and the batch's place, so that every network of the run (and a
/// resumed run) draws the same masks.
pub fn fill_mask(seed: u64, layer: usize, epoch: usize, batch: usize, mask: &mut [f32]) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5052_4554_5241_494E);
    rng.set_stream(((layer as u64) << 56) ^ ((epoch as u64) << 32) ^ batch as u64);
    // P(masked) = threshold / 2³², exactly 0.25 here.
    let threshold = (MASKING_NOISE * 4_294_967_296.0) as u64;
    for m in mask {
        *m = f32::from(u64::from(rng.random::<u32>()) >= threshold);
    }
}

/// The stream of the batch order of pre-training epoch `epoch` of layer `layer` (the
/// supervised epochs use the streams `1..`).
pub fn order_stream(layer: usize, epoch: usize) -> u64 {
    (1 << 63) | ((layer as u64) << 32) | epoch as u64
}

/// What one auto-encoder step (or evaluation) measured, before its update.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DaeStats {
    /// Mean over the batch of the summed reconstruction cost.
    pub reconstruction: f64,
    /// `l1 · (batch mean of Σ|h|)`.
    pub l1_penalty: f64,
    /// Exact zeros in the code, and the code's size.
    pub zeros: usize,
    pub values: usize,
}

/// Buffers for auto-encoder steps on up to `capacity` examples of one layer.
#[derive(Debug, Clone)]
pub struct DaeWorkspace {
    capacity: usize,
    kernels: Kernels,
    /// The corrupted input `x̃`.
    input: Array2<f32>,
    target: Array2<f32>,
    code: Array2<f32>,
    /// The decoder's pre-activation `z`, then `dcost/dz`.
    recon: Array2<f32>,
    /// dcost/dh, then dcost/d(pre-activation of h).
    dcode: Array2<f32>,
    nz_input: kernels::NonZeros,
    nz_code: kernels::NonZeros,
    sparse_input: bool,
    sparse_code: bool,
    rows: usize,
}

impl DaeWorkspace {
    /// For a layer `input → code`.
    pub fn new(input: usize, code: usize, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            kernels: Kernels::Auto,
            input: Array2::zeros((capacity, input)),
            target: Array2::zeros((capacity, input)),
            code: Array2::zeros((capacity, code)),
            recon: Array2::zeros((capacity, input)),
            dcode: Array2::zeros((capacity, code)),
            nz_input: kernels::NonZeros::with_capacity(capacity, input),
            nz_code: kernels::NonZeros::with_capacity(capacity, code),
            sparse_input: false,
            sparse_code: false,
            rows: 0,
        }
    }

    #[must_use]
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The code of the last forward pass.
    pub fn code(&self) -> ArrayView2<'_, f32> {
        self.code.slice(s![..self.rows, ..])
    }

    /// Whether the encoder and the decoder took the sparse path in the last forward pass.
    pub fn sparse_paths(&self) -> (bool, bool) {
        (self.sparse_input, self.sparse_code)
    }

    /// Loads a batch of clean inputs: the corrupted copy (`mask` is `None` for none, else
    /// row-major 0/1 of the batch's shape) and the targets of `recon`.
    pub fn load(
        &mut self,
        clean: ArrayView2<'_, f32>,
        mask: Option<&[f32]>,
        target_from_tanh: bool,
    ) {
        let n = clean.nrows();
        assert!(n <= self.capacity, "batch of {n} exceeds the workspace");
        assert_eq!(clean.ncols(), self.input.ncols(), "input width mismatch");
        self.rows = n;
        let mut input = self.input.slice_mut(s![..n, ..]);
        input.assign(&clean);
        if let Some(mask) = mask {
            let flat = input.as_slice_mut().expect("workspace rows are contiguous");
            assert_eq!(flat.len(), mask.len(), "mask shape");
            for (v, &m) in flat.iter_mut().zip(mask) {
                *v *= m;
            }
        }
        let mut target = self.target.slice_mut(s![..n, ..]);
        if target_from_tanh {
            Zip::from(&mut target)
                .and(&clean)
                .for_each(|t, &x| *t = 0.5f32.mul_add(x, 0.5));
        } else {
            target.assign(&clean);
        }
    }

    fn choose_sparse(&self, rows: usize, fan_out: usize, nnz: usize, fan_in: usize) -> bool {
        match self.kernels {
            Kernels::Dense => false,
            Kernels::Sparse => true,
            Kernels::Auto => {
                let density = nnz as f64 / (rows * fan_in).max(1) as f64;
                density <= nn::sparse_max_density(rows) && fan_out >= nn::SPARSE_MIN_FAN_OUT
            }
        }
    }

    /// `code = f(x̃·W + b)` and `recon = code·W′ + c` for the loaded batch.
    fn forward(&mut self, enc: &Layer, dec: &Layer, act: Activation) {
        let n = self.rows;
        let (d, k) = (enc.fan_in(), enc.fan_out());
        assert_eq!((dec.fan_in(), dec.fan_out()), (k, d), "decoder shape");
        let input = self.input.slice(s![..n, ..]);
        let nnz = if self.kernels == Kernels::Dense {
            0
        } else {
            kernels::scan_input(
                input.as_slice().expect("contiguous"),
                n,
                d,
                &mut self.nz_input,
            )
        };
        self.sparse_input = self.choose_sparse(n, k, nnz, d);
        let mut code = self.code.slice_mut(s![..n, ..]);
        code.assign(&enc.bias.broadcast((n, k)).expect("bias row"));
        nn::forward_layer(
            self.sparse_input,
            input,
            &self.nz_input,
            enc.weights.view(),
            code.view_mut(),
            1,
        );
        act.apply_in_place(code.view_mut());
        let code = self.code.slice(s![..n, ..]);
        let nnz = if self.kernels == Kernels::Dense {
            0
        } else {
            kernels::scan_input(
                code.as_slice().expect("contiguous"),
                n,
                k,
                &mut self.nz_code,
            )
        };
        self.sparse_code = self.choose_sparse(n, d, nnz, k);
        let mut recon = self.recon.slice_mut(s![..n, ..]);
        recon.assign(&dec.bias.broadcast((n, d)).expect("bias row"));
        nn::forward_layer(
            self.sparse_code,
            code,
            &self.nz_code,
            dec.weights.view(),
            recon,
            1,
        );
    }

    /// The statistics of the last forward pass.
    fn measure(&self, recon: Reconstruction, l1: f32) -> DaeStats {
        let n = self.rows;
        let z = self.recon.slice(s![..n, ..]);
        let t = self.target.slice(s![..n, ..]);
        let mut total = 0.0f64;
        for (zr, tr) in z.axis_iter(Axis(0)).zip(t.axis_iter(Axis(0))) {
            let row: f32 = zr.iter().zip(tr).map(|(&z, &t)| recon.cost(z, t)).sum();
            total += f64::from(row);
        }
        let code = self.code();
        let abs = if l1 == 0.0 {
            0.0
        } else {
            crate::engine::nn::loss::l1_sum(&code)
        };
        let rows = n.max(1) as f64;
        DaeStats {
            reconstruction: total / rows,
            l1_penalty: f64::from(l1) * abs / rows,
            zeros: code.iter().filter(|&&v| v == 0.0).count(),
            values: code.len(),
        }
    }
}

/// The auto-encoder cost `reconstruction + L1` of the loaded batch, changing nothing.
pub fn evaluate(
    enc: &Layer,
    dec: &Layer,
    act: Activation,
    recon: Reconstruction,
    l1: f32,
    ws: &mut DaeWorkspace,
) -> DaeStats {
    ws.forward(enc, dec, act);
    ws.measure(recon, l1)
}

/// One step of plain SGD with rate `lr` on the auto-encoder cost of the loaded batch,
/// updating the encoder `enc` (the network's layer) and the decoder `dec`. Returns the
/// batch's statistics before the update.
pub fn step(
    enc: &mut Layer,
    dec: &mut Layer,
    act: Activation,
    recon: Reconstruction,
    lr: f32,
    l1: f32,
    ws: &mut DaeWorkspace,
) -> DaeStats {
    ws.forward(enc, dec, act);
    let stats = ws.measure(recon, l1);
    let n = ws.rows;
    let inv_n = 1.0 / n.max(1) as f32;
    // dcost/dz, in place of z.
    {
        let t = ws.target.slice(s![..n, ..]);
        let mut z = ws.recon.slice_mut(s![..n, ..]);
        Zip::from(&mut z)
            .and(&t)
            .for_each(|z, &t| *z = recon.grad(*z, t) * inv_n);
    }
    let mask = if act == Activation::Rectifier {
        kernels::BelowMask::NonZeroInputs
    } else {
        kernels::BelowMask::All
    };
    // Decoder: dcode = dz·W′ᵀ from the old W′, then W′ −= lr·hᵀ·dz.
    let dz = ws.recon.slice(s![..n, ..]);
    nn::backward_layer(
        nn::Backward {
            sparse: ws.sparse_code,
            input: ws.code.slice(s![..n, ..]),
            delta: dz,
            mask,
            lr,
        },
        dec.weights.view_mut(),
        Some(ws.dcode.slice_mut(s![..n, ..])),
        1,
    );
    for row in dz.axis_iter(Axis(0)) {
        dec.bias.scaled_add(-lr, &row);
    }
    let h = ws.code.slice(s![..n, ..]);
    let mut dh = ws.dcode.slice_mut(s![..n, ..]);
    nn::backprop_through_activation(act, l1 * inv_n, &h, &mut dh);
    // Encoder: W −= lr·x̃ᵀ·dpre.
    let dpre = ws.dcode.slice(s![..n, ..]);
    nn::backward_layer(
        nn::Backward {
            sparse: ws.sparse_input,
            input: ws.input.slice(s![..n, ..]),
            delta: dpre,
            mask,
            lr,
        },
        enc.weights.view_mut(),
        None,
        1,
    );
    for row in dpre.axis_iter(Axis(0)) {
        enc.bias.scaled_add(-lr, &row);
    }
    stats
}

/// Whether a layer's cross-entropy targets are tanh outputs mapped to [0, 1].
pub fn target_from_tanh(act: Activation, layer: usize) -> bool {
    needs_shift(act, layer, Reconstruction::for_activation(act))
}

/// Parses `--pretrain EPOCHS`.
pub fn parse_epochs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (leave --pretrain out for no pre-training)".into()),
        Ok(v) if v > 100_000 => Err(format!("{v} epochs per layer is above the limit 100000")),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize, d: usize, seed: u64, sparse: bool) -> Array2<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_simple_fn((n, d), || {
            let v: f32 = rng.random_range(0.0..1.0);
            if sparse && v < 0.5 {
                0.0
            } else {
                v
            }
        })
    }

    fn layers(d: usize, k: usize, seed: u64) -> (Layer, Layer) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut enc = new_decoder(d, k, seed + 1);
        let mut dec = new_decoder(k, d, seed + 2);
        enc.bias.mapv_inplace(|_| rng.random_range(-0.3..0.3));
        dec.bias.mapv_inplace(|_| rng.random_range(-0.3..0.3));
        (enc, dec)
    }

    /// The production step with lr = 1 moves every parameter by exactly −gradient; finite
    /// differences of [`evaluate`] must agree, for every parameter of both layers.
    #[expect(
        clippy::many_single_char_names,
        reason = "the shapes and layers are named as in the formulas above"
    )]
    fn check(act: Activation, recon: Reconstruction, l1: f32, kernels: Kernels, from_tanh: bool) {
        let (d, k, n) = (6, 5, 4);
        let mut x = batch(n, d, 3, kernels == Kernels::Sparse);
        if from_tanh {
            x.mapv_inplace(|v| 2.0 * v - 1.0);
        }
        let mut mask = vec![0.0; n * d];
        fill_mask(9, 1, 0, 0, &mut mask);
        let (enc, dec) = layers(d, k, 5);
        let mut ws = DaeWorkspace::new(d, k, n).with_kernels(kernels);
        ws.load(x.view(), Some(&mask), from_tanh);
        let (mut enc1, mut dec1) = (enc.clone(), dec.clone());
        step(&mut enc1, &mut dec1, act, recon, 1.0, l1, &mut ws);
        let eps = 1e-2f32;
        let mut checked = 0;
        for which in 0..2 {
            let (base, stepped) = if which == 0 {
                (&enc, &enc1)
            } else {
                (&dec, &dec1)
            };
            let count = base.weights.len() + base.bias.len();
            for p in 0..count {
                let analytic = param(base, p) - param(stepped, p);
                let cost = |delta: f32, ws: &mut DaeWorkspace| {
                    let (mut e, mut c) = (enc.clone(), dec.clone());
                    param_mut(if which == 0 { &mut e } else { &mut c }, p, delta);
                    let st = evaluate(&e, &c, act, recon, l1, ws);
                    let signs = ws.code().iter().map(|&v| v.total_cmp(&0.0) as i8).collect();
                    (st.reconstruction + st.l1_penalty, signs)
                };
                let (plus, sp): (f64, Vec<i8>) = cost(eps, &mut ws);
                let (minus, sm) = cost(-eps, &mut ws);
                if (act == Activation::Rectifier || l1 > 0.0) && sp != sm {
                    continue;
                }
                let numeric = ((plus - minus) / (2.0 * f64::from(eps))) as f32;
                let tol = 2e-3 + 2e-2 * numeric.abs().max(analytic.abs());
                assert!(
                    (numeric - analytic).abs() <= tol,
                    "{act} {recon:?} l1={l1} {kernels:?} layer {which} param {p}: \
                     numeric {numeric} analytic {analytic}"
                );
                checked += 1;
            }
        }
        // 6×5+5 encoder and 5×6+6 decoder parameters: most must have been compared.
        assert!(checked > 50, "only {checked} parameters were checked");
    }

    fn param(l: &Layer, p: usize) -> f32 {
        let w = l.weights.len();
        if p < w {
            l.weights.as_slice().unwrap()[p]
        } else {
            l.bias[p - w]
        }
    }

    fn param_mut(l: &mut Layer, p: usize, delta: f32) {
        let w = l.weights.len();
        if p < w {
            l.weights.as_slice_mut().unwrap()[p] += delta;
        } else {
            l.bias[p - w] += delta;
        }
    }

    const RECONS: [Reconstruction; 2] = [
        Reconstruction::SoftplusQuadratic,
        Reconstruction::SigmoidCrossEntropy,
    ];

    #[test]
    fn gradients_of_every_reconstruction_match_finite_differences_without_l1() {
        for act in Activation::ALL {
            for recon in RECONS {
                for kernels in [Kernels::Dense, Kernels::Sparse] {
                    check(act, recon, 0.0, kernels, false);
                }
            }
        }
        check(
            Activation::Tanh,
            Reconstruction::SigmoidCrossEntropy,
            0.0,
            Kernels::Dense,
            true,
        );
    }

    #[test]
    fn gradients_of_every_reconstruction_match_finite_differences_with_l1() {
        for act in Activation::ALL {
            for recon in RECONS {
                for kernels in [Kernels::Dense, Kernels::Sparse] {
                    check(act, recon, 0.05, kernels, false);
                }
            }
        }
        check(
            Activation::Tanh,
            Reconstruction::SigmoidCrossEntropy,
            0.05,
            Kernels::Dense,
            true,
        );
    }

    #[test]
    #[expect(
        clippy::many_single_char_names,
        reason = "the shapes are named as in the formulas above"
    )]
    fn a_step_lowers_the_reconstruction_error_on_a_fixed_batch() {
        let (n, d, k) = (10, 40, 30);
        let x = batch(n, d, 4, true);
        let mut mask = vec![0.0; n * d];
        fill_mask(2, 0, 0, 0, &mut mask);
        for act in [
            Activation::Rectifier,
            Activation::Tanh,
            Activation::Softplus,
        ] {
            let recon = Reconstruction::for_activation(act);
            let mut enc = new_decoder(d, k, 7);
            let mut dec = new_decoder(k, d, 8);
            let mut ws = DaeWorkspace::new(d, k, n);
            ws.load(x.view(), Some(&mask), false);
            let before = evaluate(&enc, &dec, act, recon, 0.001, &mut ws);
            let first = step(&mut enc, &mut dec, act, recon, 0.01, 0.001, &mut ws);
            assert_eq!(first, before, "a step reports the cost before its update");
            let after_one = evaluate(&enc, &dec, act, recon, 0.001, &mut ws);
            assert!(
                after_one.reconstruction < before.reconstruction,
                "{act}: one step {} -> {}",
                before.reconstruction,
                after_one.reconstruction
            );
            for _ in 0..200 {
                step(&mut enc, &mut dec, act, recon, 0.01, 0.001, &mut ws);
            }
            let last = evaluate(&enc, &dec, act, recon, 0.001, &mut ws);
            // The cross-entropy cannot go below the entropy of the targets.
            let floor = if recon == Reconstruction::SigmoidCrossEntropy {
                let h = |t: f32| {
                    if t <= 0.0 || t >= 1.0 {
                        0.0
                    } else {
                        -t * t.ln() - (1.0 - t) * (1.0 - t).ln()
                    }
                };
                f64::from(x.iter().map(|&t| h(t)).sum::<f32>()) / n as f64
            } else {
                0.0
            };
            assert!(
                last.reconstruction - floor < 0.7 * (before.reconstruction - floor),
                "{act}: {} -> {}",
                before.reconstruction,
                last.reconstruction
            );
        }
    }

    #[test]
    fn masks_are_seeded_mask_a_quarter_and_differ_by_batch() {
        let mut a = vec![0.0; 100_000];
        let mut b = vec![0.0; 100_000];
        fill_mask(5, 1, 2, 3, &mut a);
        fill_mask(5, 1, 2, 3, &mut b);
        assert_eq!(a, b);
        let masked = a.iter().filter(|&&m| m == 0.0).count() as f64 / a.len() as f64;
        assert!((masked - MASKING_NOISE).abs() < 0.005, "masked {masked}");
        assert!(a
            .iter()
            .all(|&m| m.to_bits() == 0 || m.to_bits() == 1f32.to_bits()));
        for (s, l, e, bt) in [(6, 1, 2, 3), (5, 0, 2, 3), (5, 1, 3, 3), (5, 1, 2, 4)] {
            fill_mask(s, l, e, bt, &mut b);
            assert_ne!(a, b, "seed {s} layer {l} epoch {e} batch {bt}");
        }
    }

    #[test]
    fn the_loaded_batch_is_masked_and_tanh_targets_are_mapped() {
        let x = Array2::from_shape_vec((1, 4), vec![-1.0, 0.0, 0.5, 1.0]).unwrap();
        let mask = [1.0, 0.0, 0.0, 1.0];
        let mut ws = DaeWorkspace::new(4, 3, 2);
        ws.load(x.view(), Some(&mask), true);
        assert_eq!(ws.input.row(0).to_vec(), vec![-1.0, 0.0, 0.0, 1.0]);
        assert_eq!(ws.target.row(0).to_vec(), vec![0.0, 0.5, 0.75, 1.0]);
        assert!(target_from_tanh(Activation::Tanh, 1));
        assert!(!target_from_tanh(Activation::Tanh, 0));
        assert!(!target_from_tanh(Activation::Rectifier, 2));
    }

    #[test]
    fn pretrain_flag_values() {
        assert_eq!(parse_epochs("3"), Ok(3));
        for bad in ["0", "-1", "x", "", "1000000"] {
            assert!(parse_epochs(bad).is_err(), "{bad}");
        }
    }
}
