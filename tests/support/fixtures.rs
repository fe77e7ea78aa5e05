//! Fixtures shared by the test binaries: a run's info and plausible epoch reports as the
//! dashboard receives them, and checked run settings for tests that drive the trainer.
#![allow(dead_code, reason = "not every test binary uses every fixture")]

use relutui::engine::config::{Activations, BatchSize, L1Penalty, LearningRate, Widths};
use relutui::engine::nn::Activation;
use relutui::protocol::{EpochReport, NetInfo, RunInfo};

/// Batches per epoch of [`run_info`] (mnist10k's 8,000 training digits in batches of 10).
pub const BPE: usize = 800;
/// Examples in the heatmap's batch of [`run_info`].
pub const PROBE: usize = 48;

/// The info of a mnist10k run with networks `nets` (name, bounded), widths `hidden` and an
/// `epochs` target; batch 10, lr 0.1, L1 0.001, seed 1, a heatmap of [`PROBE`] examples.
pub fn run_info(nets: &[(&str, bool)], hidden: &[usize], epochs: Option<usize>) -> RunInfo {
    RunInfo {
        dataset: "mnist10k".into(),
        input_dim: 784,
        hidden: hidden.to_vec(),
        classes: 10,
        nets: nets
            .iter()
            .map(|&(name, bounded)| NetInfo {
                name: name.into(),
                bounded,
            })
            .collect(),
        batch_size: 10,
        batches_per_epoch: BPE,
        train_examples: 8000,
        valid_examples: 1000,
        test_examples: 1000,
        epochs,
        lr: 0.1,
        l1: 0.001,
        seed: 1,
        probe_examples: PROBE,
    }
}

/// A plausible report of network `net` (the `i`-th) at `epoch`: rectifier layers grow
/// sparse and lose a few units, bounded ones don't. Built from JSON (as the log reads) so
/// that fields added to the report take their defaults.
pub fn report(net: &str, i: usize, bounded: bool, layers: usize, epoch: usize) -> EpochReport {
    let e = epoch as f64;
    let err = 0.02 + 0.08 / e + 0.003 * i as f64;
    let sparsity: Vec<f64> = (0..layers)
        .map(|l| {
            if bounded {
                0.0
            } else {
                0.5 + 0.3 * (1.0 - 1.0 / e) - 0.05 * l as f64
            }
        })
        .collect();
    let dead: Vec<usize> = (0..layers)
        .map(|l| if bounded { 0 } else { epoch * 3 / (l + 1) })
        .collect();
    let saturated: Vec<usize> = (0..layers)
        .map(|l| if bounded { epoch + l } else { 0 })
        .collect();
    serde_json::from_value(serde_json::json!({
        "net": net, "epoch": epoch, "step": epoch * BPE,
        "train_error": err * 0.4, "valid_error": err, "test_error": err * 1.05,
        "loss": 0.5 / e, "l1_penalty": 0.01,
        "sparsity": sparsity, "dead_units": dead, "saturated_units": saturated,
        "mean_activation": vec![0.2; layers], "active_units": vec![300.0; layers],
        "lr": 0.1, "l1": 0.001, "seed": 1, "examples_per_sec": 700.0, "epoch_seconds": 11.0
    }))
    .expect("a valid report")
}

/// Widths a test chose; they keep [`Widths`]' rule.
pub fn widths(w: &[usize]) -> Widths {
    Widths::new(w.to_vec()).expect("test widths keep the rule")
}

/// Activations a test chose; they keep [`Activations`]' rule.
pub fn activations(a: &[Activation]) -> Activations {
    Activations::new(a.to_vec()).expect("test activations keep the rule")
}

pub fn lr(v: f32) -> LearningRate {
    LearningRate::new(v).expect("a test rate keeps the rule")
}

pub fn l1(v: f32) -> L1Penalty {
    L1Penalty::new(v).expect("a test penalty keeps the rule")
}

pub fn batch(v: usize) -> BatchSize {
    BatchSize::new(v).expect("a test batch size keeps the rule")
}
