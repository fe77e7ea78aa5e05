//! `relutui bench`: the figure of record for training speed.
//!
//! It trains the default networks for a warm-up epoch on mnist10k (so the rectifier is as
//! sparse as in real use), then times training steps of copies of each warmed network for
//! every requested batch size and thread count, repeating each measurement and reporting the
//! median. The repeats of the engines take turns (A B C, A B C, ...), so that load from
//! elsewhere on a shared machine falls on every engine alike and the ratios hold. `--baseline` also times a plain ndarray implementation (`.dot` with fresh
//! temporaries, a gradient then a separate update) on the same networks and batches, so every
//! run carries its own ratio.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use ndarray::{s, Array2, ArrayView2, Axis};
use serde::Serialize;

use crate::cli::bench::BenchArgs;
use crate::engine::config::{self, RunConfig};
use crate::engine::data::{self, Dataset};
use crate::engine::nn::simd::{self, Level};
use crate::engine::nn::{Kernels, Mlp, Workspace};
use crate::engine::trainer::{self, Trainer};
use crate::protocol::{RunState, Update};

mod crossover;
mod viewers;

/// Which implementation a measurement times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// relutui's engine as it trains: sparse or dense per layer and step.
    Relutui,
    /// relutui's engine forced onto the dense path.
    RelutuiDense,
    /// Plain ndarray: `.dot` with temporaries, gradient then update.
    NdarrayBaseline,
}

/// One line of `relutui bench` output.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub net: String,
    pub engine: Engine,
    pub batch_size: usize,
    pub threads: usize,
    /// The vector instructions the step really ran with: relutui's kernels' level (see
    /// `nn::simd`), or for the ndarray baseline what matrixmultiply picks on this CPU.
    pub simd: String,
    /// Median over the repeats.
    pub examples_per_sec: f64,
    pub runs: Vec<f64>,
    /// Per hidden layer, the exact sparsity of its output while timing.
    pub sparsity: Vec<f64>,
    /// 6 × parameters × examples/s ÷ 1e9: the GFLOP/s a dense implementation would need.
    pub dense_gflops_equiv: f64,
    /// Layers (of all, output included) that took the sparse path in the last timed step.
    pub sparse_layers: Vec<bool>,
}

/// The `--memory-epochs` line of `relutui bench`.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryMeasurement {
    /// Always `"default_run_peak_rss"`.
    pub measurement: &'static str,
    pub epochs: usize,
    pub seed: u64,
    /// The process's peak resident set size after the run (`VmHWM`).
    pub peak_rss_bytes: u64,
    pub seconds: f64,
}

/// Runs the default dashboard run headless for `epochs` epochs and reads the peak RSS.
fn measure_memory(epochs: usize, seed: u64) -> io::Result<MemoryMeasurement> {
    let config = RunConfig::default()
        .with_epochs(Some(epochs))
        .with_seed(seed);
    let splits = data::load(config.dataset(), None).map_err(io::Error::other)?;
    let t0 = Instant::now();
    let handle = trainer::spawn(Trainer::new(&config, splits))?;
    loop {
        crossbeam_channel::select! {
            recv(handle.updates) -> u => match u {
                Ok(Update::State(RunState::Done)) | Err(_) => break,
                Ok(_) => {}
            },
            recv(handle.samples) -> _ => {}
        }
    }
    handle.stop().map_err(io::Error::other)?;
    Ok(MemoryMeasurement {
        measurement: "default_run_peak_rss",
        epochs,
        seed,
        peak_rss_bytes: peak_rss_bytes()?,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// This process's peak resident set size so far (`VmHWM` in `/proc/self/status`, Linux).
pub fn peak_rss_bytes() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other("no VmHWM line in /proc/self/status"))
}

/// Checks what the flags ask of the machine before anything runs: no more `--threads` than
/// there are cores (a figure measured with more threads than cores would be labelled with a
/// thread count that never ran at once), and networks and batches that fit in memory.
pub fn check_args(args: &BenchArgs) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if let Some(&t) = args.threads.iter().find(|&&t| t > cores) {
        return Err(format!(
            "--threads {t} is more than the {cores} cores this machine has: a measurement \
             with more threads than cores would not show what {t} threads do (use at most {cores})"
        ));
    }
    for &batch_size in &args.batch_size {
        let run = RunConfig::default()
            .with_activations(args.activations.clone())
            .with_hidden(args.hidden.clone())
            .with_batch_size(batch_size);
        // Twice the networks: the baseline engines keep copies of their own.
        let mut est = crate::engine::memory::estimate(&run, 784, 10_000, args.baseline);
        est.total *= 2.0;
        crate::engine::memory::check(&est, crate::engine::memory::available(), "this benchmark")?;
    }
    Ok(())
}

/// The `relutui bench` front end: the flags are checked against the machine first (a
/// usage error), then the measurements run; `main` prints the error and exits with its code.
pub fn run(args: &BenchArgs) -> Result<(), crate::frontend::runtime::Error> {
    use crate::frontend::runtime::Error;
    check_args(args).map_err(Error::Usage)?;
    measure_all(args).map_err(|e| Error::Tool(e.to_string()))
}

fn measure_all(args: &BenchArgs) -> Result<(), io::Error> {
    let mut stdout = io::stdout().lock();
    if let Some(n) = args.viewers {
        let m = viewers::measure(
            usize::from(n),
            usize::from(args.viewer_epochs),
            args.hidden.get(),
        )?;
        serde_json::to_writer(&mut stdout, &m)?;
        stdout.write_all(b"\n")?;
        crate::say!(
            "{} viewers on {} of {} epochs ({}): median epoch {:.3} s with, {:.3} s without, ratio {:.3}",
            m.viewers,
            m.attached.iter().filter(|&&a| a).count(),
            m.epochs,
            m.simd,
            m.median_epoch_seconds_with,
            m.median_epoch_seconds_without,
            m.ratio
        );
        return Ok(());
    }
    if args.crossover {
        return run_crossover(args, &mut stdout);
    }
    // First, in a process that has loaded nothing else yet.
    if args.memory_epochs > 0 {
        let m = measure_memory(args.memory_epochs, args.seed)?;
        serde_json::to_writer(&mut stdout, &m)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
        crate::say!(
            "default run, {} epochs (seed {}): peak RSS {:.1} MB in {:.0} s",
            m.epochs,
            m.seed,
            m.peak_rss_bytes as f64 / 1e6,
            m.seconds
        );
    }
    let splits = data::mnist10k().map_err(io::Error::other)?;
    let train = &splits.train;
    let (input, classes) = (splits.input_dim(), splits.classes);

    // Warm up every network as the dashboard would train it.
    let mut nets: Vec<Mlp> = args
        .activations
        .get()
        .iter()
        .map(|&a| Mlp::new(input, args.hidden.get(), classes, a, args.seed))
        .collect();
    let per_net = (train.len() / config::DEFAULT_BATCH_SIZE) as u64;
    for epoch in 0..args.warmup_epochs {
        let t0 = Instant::now();
        let bar = warmup_bar(per_net * nets.len() as u64, epoch + 1, args.warmup_epochs);
        for net in &mut nets {
            let mut ws = Workspace::for_training(net, config::DEFAULT_BATCH_SIZE);
            let mut batches = Batches::new(train, config::DEFAULT_BATCH_SIZE);
            for _ in 0..per_net {
                let (x, y) = batches.next_batch();
                net.train_step(x, y, config::DEFAULT_LR, config::DEFAULT_L1, &mut ws);
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        crate::say!(
            "warm-up epoch {} of {}: {:.1} s",
            epoch + 1,
            args.warmup_epochs,
            t0.elapsed().as_secs_f64()
        );
    }

    let mut engines = vec![Engine::Relutui];
    if args.baseline {
        engines.extend([Engine::RelutuiDense, Engine::NdarrayBaseline]);
    }
    let mut table = Vec::new();
    for &bs in &args.batch_size {
        for &threads in &args.threads {
            for net in &nets {
                for m in measure(net, train, bs.get(), threads, &engines, args) {
                    serde_json::to_writer(&mut stdout, &m)?;
                    stdout.write_all(b"\n")?;
                    stdout.flush()?;
                    table.push(m);
                }
            }
        }
    }
    print_table(&table);
    Ok(())
}

/// `--seconds` of the step measurements and of `--crossover`.
const DEFAULT_SECONDS: f64 = 2.0;
const DEFAULT_CROSSOVER_SECONDS: f64 = 0.3;

fn run_crossover(args: &BenchArgs, stdout: &mut impl Write) -> Result<(), io::Error> {
    let levels = args.levels.clone().unwrap_or_else(Level::available);
    // The step measurements' default batch of 10 alone would miss the large-batch threshold.
    let batches: Vec<usize> = args.batch_size.iter().map(|b| b.get()).collect();
    let batches = if batches == [config::DEFAULT_BATCH_SIZE] {
        vec![config::DEFAULT_BATCH_SIZE, 100]
    } else {
        batches
    };
    let width = args.hidden.get().first().copied().unwrap_or(1000);
    let secs = args.seconds.unwrap_or(DEFAULT_CROSSOVER_SECONDS);
    let mut failed = None;
    let lines = crossover::measure(&levels, &batches, width, secs, args.repeats, |line| {
        if failed.is_none() {
            failed = serde_json::to_writer(&mut *stdout, line)
                .map_err(io::Error::from)
                .and_then(|()| stdout.write_all(b"\n"))
                .and_then(|()| stdout.flush())
                .err();
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    crate::say!();
    for row in crossover::summary(&lines) {
        crate::say!("{row}");
    }
    Ok(())
}

/// A bar of warm-up batches with an ETA on stderr, only when stderr is a terminal.
fn warmup_bar(batches: u64, epoch: usize, epochs: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(batches);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "warm-up epoch {epoch}/{epochs} {{bar:30}} {{pos}}/{{len}} batches, eta {{eta}}"
        ))
        .expect("a valid template"),
    );
    Some(bar)
}

/// Consecutive mini-batches of a dataset, in file order, wrapping around. The inputs are
/// scaled once here, so that the timed loop only takes views.
struct Batches<'a> {
    inputs: Array2<f32>,
    labels: &'a [u8],
    size: usize,
    next: usize,
}

impl<'a> Batches<'a> {
    fn new(data: &'a Dataset, size: usize) -> Self {
        Self {
            inputs: data.inputs(0..data.len()),
            labels: data.labels(),
            size: size.min(data.len()),
            next: 0,
        }
    }

    fn next_batch(&mut self) -> (ArrayView2<'_, f32>, &'a [u8]) {
        if self.next + self.size > self.labels.len() {
            self.next = 0;
        }
        let r = self.next..self.next + self.size;
        self.next += self.size;
        (self.inputs.slice(s![r.clone(), ..]), &self.labels[r])
    }
}

/// One timed run: examples/s, the hidden layers' sparsity while timing and the layers that
/// took the sparse path in the last step.
struct Run {
    examples_per_sec: f64,
    sparsity: Vec<f64>,
    sparse_layers: Vec<bool>,
}

fn measure_once(
    warmed: &Mlp,
    batches: &mut Batches<'_>,
    threads: usize,
    engine: Engine,
    args: &BenchArgs,
) -> Run {
    let lr = config::DEFAULT_LR;
    let l1 = config::DEFAULT_L1;
    let mut net = warmed.clone();
    let kernels = match engine {
        Engine::RelutuiDense => Kernels::Dense,
        _ => args.kernels,
    };
    let mut ws = Workspace::for_training(&net, batches.size)
        .with_kernels(kernels)
        .with_threads(threads);
    let budget = Duration::from_secs_f64(args.seconds.unwrap_or(DEFAULT_SECONDS));
    let mut examples = 0usize;
    let mut zeros = vec![0usize; net.hidden_layers()];
    let mut seen = 0usize;
    let start = Instant::now();
    while start.elapsed() < budget {
        let (x, y) = batches.next_batch();
        if engine == Engine::NdarrayBaseline {
            baseline_step(&mut net, x, y, lr, l1);
        } else {
            net.train_step(x, y, lr, l1, &mut ws);
            for (l, z) in zeros.iter_mut().enumerate() {
                *z += ws.hidden(l).iter().filter(|&&v| v == 0.0).count();
            }
            seen += x.nrows();
        }
        examples += x.nrows();
    }
    let examples_per_sec = examples as f64 / start.elapsed().as_secs_f64();
    if seen == 0 {
        return Run {
            examples_per_sec,
            sparsity: Vec::new(),
            sparse_layers: Vec::new(),
        };
    }
    Run {
        examples_per_sec,
        sparsity: zeros
            .iter()
            .zip(&net.layers()[..net.hidden_layers()])
            .map(|(&z, l)| z as f64 / (seen * l.fan_out()) as f64)
            .collect(),
        sparse_layers: ws.sparse_layers().to_vec(),
    }
}

/// Times every engine on one network, `args.repeats` rounds of one run per engine, so that
/// a burst of load elsewhere on the machine falls on all engines alike; one measurement per
/// engine with the median of its runs.
fn measure(
    warmed: &Mlp,
    train: &Dataset,
    batch: usize,
    threads: usize,
    engines: &[Engine],
    args: &BenchArgs,
) -> Vec<Measurement> {
    let mut batches = Batches::new(train, batch);
    let levels = args.levels.clone().unwrap_or_else(|| vec![simd::active()]);
    // Every level of relutui's engines; the ndarray baseline does not depend on the level.
    let cases: Vec<(Engine, Level)> = engines
        .iter()
        .flat_map(|&e| {
            let levels = if e == Engine::NdarrayBaseline {
                &levels[..1]
            } else {
                &levels[..]
            };
            levels.iter().map(move |&l| (e, l))
        })
        .collect();
    let mut runs: Vec<Vec<Run>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.repeats {
        for (&(engine, level), runs) in cases.iter().zip(&mut runs) {
            runs.push(simd::with_level(level, || {
                measure_once(warmed, &mut batches, threads, engine, args)
            }));
        }
    }
    cases
        .iter()
        .zip(runs)
        .map(|(&(engine, level), runs)| {
            let rates: Vec<f64> = runs.iter().map(|r| r.examples_per_sec).collect();
            let examples_per_sec = median(&rates);
            let last = runs.into_iter().last().expect("at least one repeat");
            Measurement {
                net: warmed.activation().name().into(),
                engine,
                batch_size: batch,
                threads,
                simd: if engine == Engine::NdarrayBaseline {
                    matrixmultiply_level().into()
                } else {
                    level.name().into()
                },
                examples_per_sec,
                runs: rates,
                sparsity: last.sparsity,
                dense_gflops_equiv: 6.0 * warmed.parameter_count() as f64 * examples_per_sec / 1e9,
                sparse_layers: last.sparse_layers,
            }
        })
        .collect()
}

/// The kernel matrixmultiply (ndarray's `dot`) picks at run time on this CPU.
fn matrixmultiply_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx")
        {
            return "avx2";
        }
        if std::arch::is_x86_feature_detected!("avx") {
            return "avx";
        }
        "sse2"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        f64::midpoint(s[m - 1], s[m])
    }
}

/// What most people would write with ndarray: `.dot` products with fresh temporaries, the
/// full gradient first, then a separate update. Same cost function as [`Mlp::train_step`].
pub fn baseline_step(net: &mut Mlp, x: ArrayView2<'_, f32>, y: &[u8], lr: f32, l1: f32) {
    let act = net.activation();
    let n = x.nrows() as f32;
    let hidden = net.hidden_layers();
    let mut acts: Vec<Array2<f32>> = Vec::with_capacity(hidden + 1);
    for (i, layer) in net.layers().iter().enumerate() {
        let input = if i == 0 { x } else { acts[i - 1].view() };
        let mut z = input.dot(&layer.weights) + &layer.bias;
        if i < hidden {
            z.mapv_inplace(|v| act.apply(v));
        } else {
            for mut row in z.axis_iter_mut(Axis(0)) {
                let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                row.mapv_inplace(|v| (v - max).exp());
                let sum = row.sum();
                row.mapv_inplace(|v| v / sum);
            }
        }
        acts.push(z);
    }
    let mut delta = acts[hidden].clone();
    for (mut row, &label) in delta.axis_iter_mut(Axis(0)).zip(y) {
        row[usize::from(label)] -= 1.0;
    }
    delta /= n;
    let mut grads = Vec::with_capacity(hidden + 1);
    for i in (0..=hidden).rev() {
        let input = if i == 0 { x } else { acts[i - 1].view() };
        let gw = input.t().dot(&delta);
        let gb = delta.sum_axis(Axis(0));
        if i > 0 {
            let h = &acts[i - 1];
            let mut below = delta.dot(&net.layers()[i].weights.t());
            ndarray::Zip::from(&mut below).and(h).for_each(|g, &h| {
                *g = (*g + l1 / n * h.signum() * f32::from(h != 0.0))
                    * act.derivative_from_output(h);
            });
            delta = below;
        }
        grads.push((gw, gb));
    }
    for (layer, (gw, gb)) in net.layers_mut().iter_mut().rev().zip(grads) {
        layer.weights.scaled_add(-lr, &gw);
        layer.bias.scaled_add(-lr, &gb);
    }
}

fn print_table(rows: &[Measurement]) {
    crate::say!();
    crate::say!(
        "{:<10} {:<17} {:<7} {:>5} {:>7} {:>12} {:>10}  sparsity",
        "net",
        "engine",
        "simd",
        "batch",
        "threads",
        "examples/s",
        "dense GF/s"
    );
    for m in rows {
        let sp: Vec<String> = m
            .sparsity
            .iter()
            .map(|s| format!("{:.0}%", s * 100.0))
            .collect();
        let engine = match m.engine {
            Engine::Relutui => "relutui",
            Engine::RelutuiDense => "relutui dense-only",
            Engine::NdarrayBaseline => "ndarray baseline",
        };
        crate::say!(
            "{:<10} {:<17} {:<7} {:>5} {:>7} {:>12.0} {:>10.1}  [{}]",
            m.net,
            engine,
            m.simd,
            m.batch_size,
            m.threads,
            m.examples_per_sec,
            m.dense_gflops_equiv,
            sp.join(" ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::Activation;
    use rand::{Rng, SeedableRng};

    #[test]
    #[expect(clippy::many_single_char_names, reason = "x, y, a, b as in the maths")]
    fn the_baseline_computes_the_same_update_as_the_engine() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let x = Array2::from_shape_simple_fn((10, 30), || {
            let v: f32 = rng.random_range(-0.5..1.0);
            v.max(0.0)
        });
        let y: Vec<u8> = (0..10).map(|i| (i % 4) as u8).collect();
        for act in Activation::ALL {
            let mut a = Mlp::new(30, &[40, 20], 4, act, 2);
            let mut b = a.clone();
            let mut ws = Workspace::for_training(&a, 10);
            for _ in 0..5 {
                a.train_step(x.view(), &y, 0.3, 0.01, &mut ws);
                baseline_step(&mut b, x.view(), &y, 0.3, 0.01);
            }
            for (la, lb) in a.layers().iter().zip(b.layers()) {
                let d = (&la.weights - &lb.weights).mapv(f32::abs);
                assert!(d.fold(0.0f32, |m, &v| m.max(v)) < 1e-4, "{act}");
            }
        }
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "medians of small exact values")]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
