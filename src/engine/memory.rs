//! What a run will need in memory, estimated from its flags before anything is allocated, and
//! what the machine has (`MemAvailable`, or a smaller cgroup limit). A run that would not fit
//! is refused with exit code 2 and a message naming the flag that asks for the most and the
//! estimate, instead of aborting part-way with "memory allocation failed" (exit 134) or an
//! ndarray panic on an overflowing shape.
//!
//! The estimate counts what grows with the flags: every network's weights twice (the weights
//! and the last good state), once more as checkpoint bytes while a save is written, the
//! per-network training and evaluation workspaces (pre-activations, activations and deltas of
//! every layer for a batch or an evaluation chunk), the claims buffers (every layer's
//! activations on the 1,000-example probe, the widest layer twice on the 2,000 fitting
//! examples) and the dataset's bytes, twice while it loads. It is a little above what a
//! default run measures (about 105 MB resident), never below it, and it is computed in `f64` so that no
//! flag can overflow it.

use std::fmt::Write as _;

use crate::engine::config::RunConfig;
use crate::engine::data::DatasetKind;
pub use crate::os::memory::available;
use crate::os::memory::human;

/// Evaluation walks splits in chunks of this many examples.
#[expect(clippy::cast_precision_loss, reason = "a few hundred")]
const EVAL_CHUNK: f64 = crate::engine::trainer::EVAL_CHUNK as f64;
/// Code, threads' stacks and arenas, allocator slack: measured as about 17 MB.
const BASE: f64 = 32e6;

/// Bytes a run needs, and which flag asks for each part.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub total: f64,
    /// (flag and value, bytes), largest first.
    pub parts: Vec<(String, f64)>,
}

/// Input values per example and examples, as the dataset will have them (the embedded and
/// standard sizes; a smaller file in `--data-dir` needs less).
pub fn dataset_shape(kind: DatasetKind) -> (usize, usize) {
    match kind {
        DatasetKind::Mnist10k => (784, 10_000),
        DatasetKind::Mnist | DatasetKind::FashionMnist => (784, 70_000),
        DatasetKind::Cifar10 => (3072, 60_000),
    }
}

/// The estimate for one training run of `config` over `examples` examples of `input` values,
/// with `networks` networks (a sweep worker trains one).
pub fn estimate(config: &RunConfig, input: usize, examples: usize, checkpoint: bool) -> Estimate {
    let nets = config.activations().len().max(1) as f64;
    let classes = 10.0;
    let widths: Vec<f64> = config.hidden().iter().map(|&w| w as f64).collect();
    let mut fan_in = input as f64;
    let mut params = 0.0;
    for &w in widths.iter().chain(std::iter::once(&classes)) {
        params += (fan_in + 1.0) * w;
        fan_in = w;
    }
    let units: f64 = widths.iter().sum::<f64>() + classes;
    let widest = widths.iter().copied().fold(classes, f64::max);
    let f32s = 4.0;
    let weights = nets * params * f32s * if checkpoint { 3.0 } else { 2.0 };
    // Pre-activations, activations and deltas for every layer, and the batch's inputs.
    let batch = config.batch_size() as f64;
    let batch_bytes = nets * batch * (3.0 * units + input as f64) * f32s;
    let eval = nets * EVAL_CHUNK * 3.0 * units * f32s
        + 1000.0 * (units + input as f64) * f32s
        + 2.0 * 2000.0 * widest * f32s;
    // Twice while it loads; after, the training-error sample (at most 10,000 examples, a
    // copy only of larger splits) fits in what loading freed.
    let data = 2.0 * (examples as f64) * (input as f64 + 1.0);
    let hidden = format!("--hidden {}", short_list(config.hidden()));
    let mut parts = vec![
        (hidden, weights + eval),
        (format!("--batch-size {}", config.batch_size()), batch_bytes),
        (format!("--dataset {}", config.dataset()), data + BASE),
    ];
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    Estimate {
        total: parts.iter().map(|p| p.1).sum(),
        parts,
    }
}

/// `1000,1000,1000`, or its start and its length when it is long.
fn short_list(v: &[usize]) -> String {
    let all: Vec<String> = v.iter().map(ToString::to_string).collect();
    if all.len() <= 6 {
        all.join(",")
    } else {
        format!("{},… ({} layers)", all[..3].join(","), all.len())
    }
}

/// Refuses an estimate above `available` (when known): the message names the flag that asks
/// for the most first.
pub fn check(est: &Estimate, available: Option<f64>, what: &str) -> Result<(), String> {
    let Some(avail) = available else {
        return Ok(());
    };
    if est.total <= avail {
        return Ok(());
    }
    let mut msg = format!(
        "{} needs about {} of memory for {what}, but this machine has {} available",
        est.parts[0].0,
        human(est.total),
        human(avail)
    );
    let _ = write!(
        msg,
        " ({}: {}; the rest: {}); use a smaller value",
        est.parts[0].0,
        human(est.parts[0].1),
        human(est.total - est.parts[0].1)
    );
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::{BatchSize, Widths, MAX_BATCH_SIZE, MAX_HIDDEN_LAYERS, MAX_WIDTH};

    fn config(hidden: &[usize], batch: usize) -> RunConfig {
        RunConfig::default()
            .with_hidden(Widths::new(hidden.to_vec()).unwrap())
            .with_batch_size(BatchSize::new(batch).unwrap())
    }

    #[test]
    fn the_default_run_is_estimated_a_little_above_what_it_measures() {
        let e = estimate(&RunConfig::default(), 784, 10_000, false);
        // Measured: about 105 MB resident (README, Memory).
        assert!((105e6..200e6).contains(&e.total), "{}", human(e.total));
        assert!(check(&e, Some(8e9), "the run").is_ok());
        assert!(check(&e, None, "the run").is_ok());
    }

    #[test]
    fn the_flag_that_asks_for_the_most_is_named_with_the_estimate() {
        let e = estimate(&config(&[100_000; 3], 10), 784, 10_000, false);
        let msg = check(&e, Some(16e9), "the run").unwrap_err();
        assert!(
            msg.starts_with("--hidden 100000,100000,100000 needs about"),
            "{msg}"
        );
        assert!(msg.contains("16.0 GB available"), "{msg}");
        let e = estimate(&config(&[1000; 3], 1_000_000_000), 784, 10_000, false);
        let msg = check(&e, Some(16e9), "the run").unwrap_err();
        assert!(msg.starts_with("--batch-size 1000000000 needs"), "{msg}");
        // No overflow at the largest run a config can hold.
        let e = estimate(
            &config(&[MAX_WIDTH; MAX_HIDDEN_LAYERS], MAX_BATCH_SIZE),
            784,
            10_000,
            false,
        );
        assert!(e.total.is_finite() && e.total > 1e16, "{}", e.total);
        assert!(check(&e, Some(16e9), "the run").unwrap_err().contains('e'));
    }

    #[test]
    fn long_width_lists_are_shortened() {
        assert_eq!(short_list(&[1, 2, 3]), "1,2,3");
        assert_eq!(short_list(&[5; 64]), "5,5,5,… (64 layers)");
    }

    #[test]
    fn this_machine_reports_some_memory() {
        let a = available().expect("Linux has /proc/meminfo");
        assert!(a > 1e6, "{a}");
    }
}
