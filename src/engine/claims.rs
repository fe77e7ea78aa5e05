//! Why sparsity matters: the four claims of Glorot, Bordes & Bengio (2011, section 3.2) as live
//! measurements, taken by the trainer at the end of every epoch on a fixed subset of the
//! validation set (the *claims subset*) and reported in [`ClaimsReport`]:
//!
//! 1. information disentangling: the stability of the set of on-units under input noise
//!    ([`stability`]);
//! 2. variable-size representation: the distribution of on-units per example and its
//!    correlation with the ink of the input ([`representation`]);
//! 3. linear separability: a logistic-regression probe on each frozen layer ([`probe`]);
//! 4. efficiency: the multiply-adds a forward pass would need if zeros were skipped
//!    ([`flops`]);
//!
//! and, beside them, when units die and a way to revive them ([`dead`]).

pub mod dead;
pub mod flops;
pub mod probe;
pub mod representation;
pub mod stability;

use std::time::Instant;

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::data::{Dataset, InputBuffer, Splits};
use crate::engine::nn::{simd, Activation, Mlp, Workspace};
use crate::protocol::ClaimsReport;
use dead::DeadTracker;

/// Validation examples in the claims subset (fewer when the validation set is smaller).
pub const CLAIMS_SUBSET_EXAMPLES: usize = 1000;
/// Training examples the linear probes are fitted on.
pub const PROBE_FIT_EXAMPLES: usize = 2000;
/// A unit of an activation without exact zeros is on when `|h|` exceeds this fraction of the
/// layer's largest `|h|` on the clean probe.
pub const RELATIVE_THRESHOLD: f32 = 0.1;
/// Rows per forward pass.
const CHUNK: usize = 100;

/// When a unit counts as on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OnRule {
    /// `h != 0`: for activations with exact zeros.
    NonZero,
    /// `|h| > threshold`.
    Above(f32),
}

impl OnRule {
    /// The rule for a layer of `activation` whose clean-probe activations are `h`:
    /// `h != 0` for the rectifier, else `|h| > 0.1 · max|h|`.
    pub fn for_layer(activation: Activation, h: &ArrayView2<'_, f32>) -> Self {
        if activation == Activation::Rectifier {
            OnRule::NonZero
        } else {
            let max = h.fold(0.0f32, |m, &v| m.max(v.abs()));
            OnRule::Above(RELATIVE_THRESHOLD * max)
        }
    }

    #[inline]
    pub fn on(self, v: f32) -> bool {
        match self {
            OnRule::NonZero => v != 0.0,
            OnRule::Above(t) => v.abs() > t,
        }
    }

    pub fn threshold(self) -> f64 {
        match self {
            OnRule::NonZero => 0.0,
            OnRule::Above(t) => f64::from(t),
        }
    }

    /// The name the JSON line gives the rule (`active_rule`).
    pub fn name(self) -> &'static str {
        match self {
            OnRule::NonZero => "nonzero",
            OnRule::Above(_) => "above_0.1_max",
        }
    }
}

/// The fixed data behind the measurements, built once per run.
#[derive(Debug, Clone)]
pub struct ClaimsProbe {
    /// The first `CLAIMS_SUBSET_EXAMPLES` validation examples (as bytes, like every dataset).
    examples: Dataset,
    /// The same inputs with fixed noise (see [`stability::noisy_copy`]).
    noisy: Array2<f32>,
    /// Sum of the pixel values of each probe example.
    ink: Vec<f64>,
    /// Mean non-zero pixels per probe example.
    pixel_nnz: f64,
    /// The first `PROBE_FIT_EXAMPLES` training examples, for fitting the linear probes.
    fit: Dataset,
    classes: usize,
    pixel_probe_error: f64,
    seed: u64,
}

impl ClaimsProbe {
    /// Takes the probe subsets from `data`; `seed` fixes the noise and the probes' batch order.
    pub fn new(data: &Splits, seed: u64) -> Self {
        Self::with_sizes(data, seed, CLAIMS_SUBSET_EXAMPLES, PROBE_FIT_EXAMPLES)
    }

    /// [`ClaimsProbe::new`] with other subset sizes (for small tests).
    pub fn with_sizes(data: &Splits, seed: u64, probe: usize, fit: usize) -> Self {
        let examples = data.valid.slice(0..probe.min(data.valid.len()));
        let fit = data.train.slice(0..fit.min(data.train.len()));
        let (p, f) = (examples.len(), fit.len());
        // Scaled while the probe is built, then dropped: measurements scale chunk by chunk.
        let inputs = examples.inputs(0..p);
        // A stream of its own, so the noise never coincides with the weights' draws.
        let noise_seed = seed ^ 0x6e6f_6973_655f_7631;
        let noisy = stability::noisy_copy(&inputs.view(), stability::NOISE_SIGMA, noise_seed);
        let ink = inputs
            .axis_iter(Axis(0))
            .map(|r| r.iter().map(|&v| f64::from(v)).sum())
            .collect();
        let pixel_probe_error = if f == 0 || p == 0 {
            f64::NAN
        } else {
            probe::probe_error(
                fit.inputs(0..f).view_mut(),
                fit.labels(),
                &inputs.view(),
                examples.labels(),
                data.classes,
                seed,
            )
        };
        Self {
            pixel_nnz: flops::mean_nonzeros(&inputs.view()),
            examples,
            noisy,
            ink,
            fit,
            classes: data.classes,
            pixel_probe_error,
            seed,
        }
    }

    pub fn examples(&self) -> usize {
        self.examples.len()
    }

    pub fn pixel_probe_error(&self) -> f64 {
        self.pixel_probe_error
    }
}

/// One network's measurement state: the dead-unit history.
#[derive(Debug, Clone)]
pub struct NetClaims {
    tracker: DeadTracker,
}

/// The buffers of a measurement, made once for a network shape and reused by every network
/// (they are measured one after another) at every epoch: tens of megabytes found anew each
/// epoch, on the trainer's thread, were kept by the allocator long after they were freed.
#[derive(Debug, Clone)]
struct Scratch {
    ws: Workspace,
    /// The input chunk, scaled from the probe's bytes.
    x: InputBuffer,
    /// Every hidden layer's activations on the clean probe, `examples × units` each.
    clean: Vec<Array2<f32>>,
    /// One layer's activations on the fitting set (or the pixels), standardised in place by
    /// the linear probe: room for the widest.
    fit: Vec<f32>,
    /// The same layer's activations as they were, for the layer above.
    fit_raw: Vec<f32>,
}

impl Scratch {
    fn new(mlp: &Mlp, probe: &ClaimsProbe) -> Self {
        let chunk = CHUNK.min(probe.examples().max(1));
        let hidden = &mlp.layers()[..mlp.hidden_layers()];
        let widest = hidden
            .iter()
            .map(crate::engine::nn::Layer::fan_out)
            .max()
            .unwrap_or(0);
        Self {
            ws: Workspace::new(mlp, chunk),
            x: InputBuffer::new(chunk, mlp.input_dim()),
            clean: hidden
                .iter()
                .map(|l| Array2::zeros((probe.examples(), l.fan_out())))
                .collect(),
            fit: vec![0.0; probe.fit.len() * widest],
            fit_raw: vec![0.0; probe.fit.len() * widest],
        }
    }

    /// Whether these buffers are made for networks of `mlp`'s shape.
    fn fits(&self, mlp: &Mlp) -> bool {
        self.x.dim() == mlp.input_dim()
            && self.clean.len() == mlp.hidden_layers()
            && self
                .clean
                .iter()
                .zip(mlp.layers())
                .all(|(c, l)| c.ncols() == l.fan_out())
    }
}

/// Every hidden layer's activations for the examples of `data`, into `out` (one
/// `examples × units` array per layer), chunk by chunk.
fn hidden_activations(
    mlp: &Mlp,
    data: &Dataset,
    ws: &mut Workspace,
    x: &mut InputBuffer,
    out: &mut [Array2<f32>],
) {
    let mut start = 0;
    while start < data.len() {
        let end = (start + ws.capacity()).min(data.len());
        mlp.forward(x.load(data, start..end), ws);
        for (l, o) in out.iter_mut().enumerate() {
            o.slice_mut(s![start..end, ..]).assign(&ws.hidden(l));
        }
        start = end;
    }
}

/// Hidden layer `layer`'s activations for the examples of `data`, in the front of `fit`, for
/// the linear probe to standardise in place. The layers are taken in order, each from the one
/// below: `raw` keeps the last layer's activations (the probe overwrites its copy in `fit`),
/// so layer `layer` costs one layer's products, not `layer + 1` layers'. Two buffers of the
/// widest layer hold what that needs.
fn next_layer_activations<'b>(
    mlp: &Mlp,
    data: &Dataset,
    layer: usize,
    ws: &mut Workspace,
    x: &mut InputBuffer,
    raw: &mut Vec<f32>,
    fit: &'b mut Vec<f32>,
) -> ArrayViewMut2<'b, f32> {
    let rows = data.len();
    let shape = (rows, mlp.layers()[layer].fan_out());
    let cells = shape.0 * shape.1;
    // The layer below's activations move to `fit`, out of the way of this layer's.
    std::mem::swap(raw, fit);
    let below = mlp.layers()[layer].fan_in();
    let input = (layer > 0).then(|| {
        ArrayView2::from_shape((rows, below), &fit[..rows * below])
            .expect("the buffer holds the layer below")
    });
    let mut out = ArrayViewMut2::from_shape(shape, &mut raw[..cells])
        .expect("the buffer holds the widest layer");
    let mut start = 0;
    while start < rows {
        let end = (start + ws.capacity()).min(rows);
        match &input {
            Some(h) => mlp.forward_hidden_from(h.slice(s![start..end, ..]), ws, layer),
            None => mlp.forward_hidden(x.load(data, start..end), ws, layer),
        }
        out.slice_mut(s![start..end, ..]).assign(&ws.hidden(layer));
        start = end;
    }
    fit[..cells].copy_from_slice(&raw[..cells]);
    ArrayViewMut2::from_shape(shape, &mut fit[..cells]).expect("the buffer holds the widest layer")
}

/// Per hidden layer, the mean Jaccard overlap between the on-units for the clean probe inputs
/// (`clean`, already computed) and for their noisy copies, and the mean relative change of
/// the activations ([`stability::relative_change_sum`]). The noisy copies are run chunk by
/// chunk and never stored whole.
fn noisy_stability(
    mlp: &Mlp,
    noisy: &ArrayView2<'_, f32>,
    clean: &[Array2<f32>],
    rules: &[OnRule],
    ws: &mut Workspace,
) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let mut sums = vec![(0.0, 0usize); clean.len()];
    let mut changes = vec![(0.0, 0usize); clean.len()];
    let mut start = 0;
    while start < noisy.nrows() {
        let end = (start + ws.capacity()).min(noisy.nrows());
        mlp.forward(noisy.slice(s![start..end, ..]), ws);
        for (l, ((sum, rows), (change, counted))) in
            sums.iter_mut().zip(changes.iter_mut()).enumerate()
        {
            let block = clean[l].slice(s![start..end, ..]);
            let (overlap, overlap_rows) = stability::jaccard_sum(&block, &ws.hidden(l), rules[l]);
            *sum += overlap;
            *rows += overlap_rows;
            let (moved, moved_rows) = stability::relative_change_sum(&block, &ws.hidden(l));
            *change += moved;
            *counted += moved_rows;
        }
        start = end;
    }
    let mean = |v: Vec<(f64, usize)>| -> Vec<Option<f64>> {
        v.into_iter()
            .map(|(sum, rows)| (rows > 0).then(|| sum / rows as f64))
            .collect()
    };
    (mean(sums), mean(changes))
}

impl NetClaims {
    /// Starts tracking `mlp`, recording which units are on at initialisation (epoch 0).
    fn new(mlp: &Mlp, probe: &ClaimsProbe, scratch: &mut Scratch) -> Self {
        let widths: Vec<usize> = mlp.layers()[..mlp.hidden_layers()]
            .iter()
            .map(crate::engine::nn::Layer::fan_out)
            .collect();
        let mut me = Self {
            tracker: DeadTracker::new(&widths),
        };
        let Scratch { ws, x, clean, .. } = scratch;
        hidden_activations(mlp, &probe.examples, ws, x, clean);
        let on: Vec<Vec<bool>> = clean
            .iter()
            .map(|h| dead::on_for_any(&h.view(), OnRule::for_layer(mlp.activation(), &h.view())))
            .collect();
        me.tracker.record(0, &on);
        me
    }

    pub fn tracker(&self) -> &DeadTracker {
        &self.tracker
    }

    /// Measures everything for `mlp` at the end of `epoch`.
    fn measure(
        &mut self,
        mlp: &Mlp,
        probe: &ClaimsProbe,
        scratch: &mut Scratch,
        epoch: usize,
    ) -> ClaimsReport {
        let t0 = Instant::now();
        let n = probe.examples();
        let Scratch {
            ws,
            x,
            clean,
            fit,
            fit_raw,
        } = scratch;
        hidden_activations(mlp, &probe.examples, ws, x, clean);
        let rules: Vec<OnRule> = clean
            .iter()
            .map(|h| OnRule::for_layer(mlp.activation(), &h.view()))
            .collect();
        let (stability, change) = noisy_stability(mlp, &probe.noisy.view(), clean, &rules, ws);

        let mut input_nnz = vec![probe.pixel_nnz];
        let mut report = ClaimsReport {
            probe_examples: n,
            active_rule: rules.first().map_or("", |r| r.name()).to_string(),
            linear_probe_error_pixels: probe.pixel_probe_error,
            linear_probe_fit_examples: probe.fit.len(),
            flops_dense: flops::dense(mlp),
            ..ClaimsReport::default()
        };
        let mut on_any = Vec::with_capacity(clean.len());
        for (l, (h, &rule)) in clean.iter().zip(&rules).enumerate() {
            let hv = h.view();
            report.active_threshold.push(rule.threshold());
            report.active_set_stability.push(stability[l]);
            report.activation_change.push(change[l]);
            let counts = representation::on_counts(&hv, rule);
            report
                .active_units_hist
                .push(representation::histogram(&counts, h.ncols()));
            let counts_f: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
            report
                .active_ink_correlation
                .push(representation::pearson(&counts_f, &probe.ink));
            report
                .linear_probe_error
                .push(if probe.fit.is_empty() || n == 0 {
                    f64::NAN
                } else {
                    probe::probe_error(
                        next_layer_activations(mlp, &probe.fit, l, ws, x, fit_raw, fit),
                        probe.fit.labels(),
                        &hv,
                        probe.examples.labels(),
                        probe.classes,
                        probe.seed,
                    )
                });
            input_nnz.push(flops::mean_nonzeros(&hv));
            on_any.push(dead::on_for_any(&hv, rule));
        }
        report.flops_if_sparse = flops::if_sparse(mlp, &input_nnz);
        for d in self.tracker.record(epoch, &on_any) {
            report.silent_units.push(d.silent);
            report.died_this_epoch.push(d.died);
        }
        report.claims_seconds = t0.elapsed().as_secs_f64();
        report
    }

    /// Re-initialises the units that were silent at the latest measurement (see
    /// [`dead::reinit_units`]) and returns them per layer.
    pub fn revive(&mut self, mlp: &mut Mlp, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let silent = self.tracker.silent();
        for (l, units) in silent.iter().enumerate() {
            dead::reinit_units(mlp, l, units, rng);
            self.tracker.mark_revived(l, units);
        }
        silent
    }
}

/// The trainer's claims state: the fixed probe data, the buffers of the measurements and one
/// [`NetClaims`] per network.
#[derive(Debug, Clone)]
pub struct Claims {
    probe: ClaimsProbe,
    /// One set of buffers per network measured at the same time: one when they are measured
    /// one after another, one per network when in parallel.
    scratch: Vec<Option<Scratch>>,
    nets: Vec<NetClaims>,
}

impl Claims {
    pub fn new(data: &Splits, seed: u64) -> Self {
        Self::from_probe(ClaimsProbe::new(data, seed))
    }

    pub fn from_probe(probe: ClaimsProbe) -> Self {
        Self {
            probe,
            scratch: Vec::new(),
            nets: Vec::new(),
        }
    }

    pub fn probe(&self) -> &ClaimsProbe {
        &self.probe
    }

    pub fn nets(&self) -> &[NetClaims] {
        &self.nets
    }

    /// Puts back network `net`'s dead-unit history (from a checkpoint). The widths must be
    /// the network's, or the next measurement panics: the caller checks them.
    pub fn restore_tracker(&mut self, net: usize, tracker: DeadTracker) {
        if let Some(c) = self.nets.get_mut(net) {
            c.tracker = tracker;
        }
    }

    /// Starts tracking freshly initialised networks, forgetting the old ones.
    pub fn reset<'a>(&mut self, nets: impl IntoIterator<Item = &'a Mlp>) {
        if self.scratch.is_empty() {
            self.scratch.push(None);
        }
        let (probe, scratch) = (&self.probe, &mut self.scratch[0]);
        self.nets = nets
            .into_iter()
            .map(|m| NetClaims::new(m, probe, Self::scratch_for(scratch, m, probe)))
            .collect();
    }

    /// The buffers for measuring `mlp`: the ones there are, unless they were made for another
    /// shape.
    fn scratch_for<'s>(
        scratch: &'s mut Option<Scratch>,
        mlp: &Mlp,
        probe: &ClaimsProbe,
    ) -> &'s mut Scratch {
        if scratch.as_ref().is_some_and(|s| !s.fits(mlp)) {
            *scratch = None;
        }
        scratch.get_or_insert_with(|| Scratch::new(mlp, probe))
    }

    /// One report per network at the end of `epoch`: one network after another through one
    /// set of buffers, or (`parallel`) one thread and one set of buffers per network, which
    /// keeps every network's representations of the probe sets alive at once (about 20 MB
    /// each with 1000-unit layers). One after another, each network's products split over
    /// `threads` threads. The reports are the same either way and on any number of threads.
    pub fn measure<'a>(
        &mut self,
        nets: impl IntoIterator<Item = &'a Mlp>,
        epoch: usize,
        parallel: bool,
        threads: usize,
    ) -> Vec<ClaimsReport> {
        let mlps: Vec<&Mlp> = nets.into_iter().collect();
        let sets = if parallel { mlps.len().max(1) } else { 1 };
        if self.scratch.len() != sets {
            self.scratch.resize_with(sets, || None);
        }
        let probe = &self.probe;
        if sets == 1 {
            let scratch = &mut self.scratch[0];
            return mlps
                .into_iter()
                .zip(&mut self.nets)
                .map(|(mlp, c)| {
                    let s = Self::scratch_for(scratch, mlp, probe);
                    s.ws.set_threads(threads);
                    c.measure(mlp, probe, s, epoch)
                })
                .collect();
        }
        // Made here, not on the measuring threads: glibc gives each thread its own arena, and
        // buffers made there were kept as tens of megabytes more resident memory.
        for (mlp, scratch) in mlps.iter().zip(&mut self.scratch) {
            Self::scratch_for(scratch, mlp, probe);
        }
        let level = simd::active();
        std::thread::scope(|scope| {
            let handles: Vec<_> = mlps
                .into_iter()
                .zip(&mut self.nets)
                .zip(&mut self.scratch)
                .map(|((mlp, c), scratch)| {
                    scope.spawn(move || {
                        simd::with_level(level, || {
                            c.measure(mlp, probe, Self::scratch_for(scratch, mlp, probe), epoch)
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    /// Revives every network's silent units with weights drawn from `(seed, step)`; returns
    /// the units per network and layer.
    pub fn revive<'a>(
        &mut self,
        nets: impl IntoIterator<Item = &'a mut Mlp>,
        seed: u64,
        step: u64,
    ) -> Vec<Vec<Vec<usize>>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_7669_7665);
        rng.set_stream(step);
        nets.into_iter()
            .zip(&mut self.nets)
            .map(|(mlp, c)| c.revive(mlp, &mut rng))
            .collect()
    }
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "the expected values are exact in binary floating point"
)]
mod tests {
    use super::*;
    use rand::Rng;

    /// A small synthetic dataset: 4-class blobs in 12 sparse "pixels" in [0, 1].
    fn splits(seed: u64) -> Splits {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut make = |n: usize| {
            let labels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
            let pixels: Vec<u8> = (0..n * 12)
                .map(|k| {
                    let (i, j) = (k / 12, k % 12);
                    if j / 3 == i % 4 {
                        rng.random_range(150..=255)
                    } else if rng.random_bool(0.2) {
                        rng.random_range(0..60)
                    } else {
                        0
                    }
                })
                .collect();
            Dataset::from_bytes(pixels, labels, 12)
        };
        Splits {
            name: "toy".into(),
            train: make(300),
            valid: make(120),
            test: make(40),
            classes: 4,
        }
    }

    #[test]
    fn on_rule_per_activation() {
        let h = ndarray::array![[0.0f32, -0.5], [0.04, 0.2]];
        assert_eq!(
            OnRule::for_layer(Activation::Rectifier, &h.view()),
            OnRule::NonZero
        );
        let r = OnRule::for_layer(Activation::Tanh, &h.view());
        assert_eq!(r, OnRule::Above(0.05));
        assert!(r.on(-0.06) && !r.on(0.04) && !r.on(0.05));
        assert_eq!(
            (r.name(), OnRule::NonZero.name()),
            ("above_0.1_max", "nonzero")
        );
    }

    #[test]
    fn reports_have_one_entry_per_layer_and_sane_values() {
        let data = splits(1);
        let probe = ClaimsProbe::with_sizes(&data, 3, 100, 200);
        assert_eq!(probe.examples(), 100);
        assert!(
            probe.pixel_probe_error() < 0.05,
            "{}",
            probe.pixel_probe_error()
        );
        for act in [Activation::Rectifier, Activation::Tanh] {
            let mlp = Mlp::new(12, &[16, 8], 4, act, 2);
            let mut scratch = Scratch::new(&mlp, &probe);
            let mut c = NetClaims::new(&mlp, &probe, &mut scratch);
            let r = c.measure(&mlp, &probe, &mut scratch, 1);
            assert_eq!(r.probe_examples, 100);
            assert_eq!(r.linear_probe_fit_examples, 200);
            for v in [&r.active_threshold, &r.linear_probe_error] {
                assert_eq!(v.len(), 2);
            }
            assert_eq!(r.active_set_stability.len(), 2);
            assert!(r
                .active_set_stability
                .iter()
                .all(|s| s.is_some_and(|s| (0.0..=1.0).contains(&s))));
            assert!(r.linear_probe_error.iter().all(|e| (0.0..=1.0).contains(e)));
            assert_eq!(r.active_units_hist[0].units, 16);
            assert_eq!(r.active_units_hist[1].bins.iter().sum::<u32>(), 100);
            assert_eq!(r.flops_dense, f64::from(12 * 16 + 16 * 8 + 8 * 4));
            assert!(r.flops_if_sparse < r.flops_dense);
            // Nothing trained between initialisation and this measurement: nothing died.
            assert_eq!(r.died_this_epoch, vec![0, 0]);
            if act == Activation::Rectifier {
                assert_eq!(r.active_rule, "nonzero");
                assert!(r.active_threshold.iter().all(|&t| t == 0.0));
            } else {
                assert_eq!(r.active_rule, "above_0.1_max");
                assert!(r.active_threshold.iter().all(|&t| t > 0.0));
            }
            // The same network and data measure the same, timing aside.
            let mut again = c.measure(&mlp, &probe, &mut scratch, 2);
            again.claims_seconds = r.claims_seconds;
            assert_eq!(again, r);
        }
    }

    #[test]
    fn networks_measured_in_parallel_report_what_they_report_one_by_one() {
        let data = splits(4);
        let probe = ClaimsProbe::with_sizes(&data, 3, 60, 100);
        let nets = [
            Mlp::new(12, &[16, 8], 4, Activation::Rectifier, 2),
            Mlp::new(12, &[16, 8], 4, Activation::Tanh, 2),
        ];
        let mut one = Claims::from_probe(probe.clone());
        let mut both = Claims::from_probe(probe);
        one.reset(&nets);
        both.reset(&nets);
        let strip = |mut r: Vec<ClaimsReport>| {
            for c in &mut r {
                c.claims_seconds = 0.0;
            }
            r
        };
        for epoch in 1..3 {
            let a = strip(one.measure(&nets, epoch, false, 2));
            let b = strip(both.measure(&nets, epoch, true, 1));
            assert_eq!(a.len(), 2);
            assert_eq!(a, b, "epoch {epoch}");
        }
    }

    #[test]
    fn killed_units_are_reported_and_revived() {
        let data = splits(2);
        let probe = ClaimsProbe::with_sizes(&data, 3, 60, 100);
        let mut mlp = Mlp::new(12, &[16, 8], 4, Activation::Rectifier, 2);
        let mut claims = Claims::from_probe(probe);
        claims.reset([&mlp]);
        // Kill units 1 and 5 of the first layer: a large negative bias keeps them at 0.
        for u in [1, 5] {
            mlp.layers_mut()[0].bias[u] = -1e3;
        }
        let r = claims.measure([&mlp], 1, false, 1).remove(0);
        assert!(r.died_this_epoch[0] >= 2, "{:?}", r.died_this_epoch);
        let silent = claims.nets()[0].tracker().silent();
        assert!(silent[0].contains(&1) && silent[0].contains(&5));
        let revived = claims.revive([&mut mlp], 1, 800);
        assert_eq!(revived[0], silent);
        assert_eq!(mlp.layers()[0].bias[1], 0.0);
        let r2 = claims.measure([&mlp], 2, true, 1).remove(0);
        assert!(r2.silent_units[0] < r.silent_units[0], "{r2:?}");
    }
}
