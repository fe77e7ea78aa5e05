//! The trainer's memory stays flat from epoch to epoch: an epoch end reuses its buffers
//! instead of allocating copies of the networks or of their representations, and a checkpoint
//! is encoded into one buffer of the file's size, and a training step allocates nothing of its
//! own. Measured with a counting allocator.

#[path = "support/common.rs"]
mod common;
#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/fixtures.rs"]
mod fixtures;

use common::mnist2k;
use relutui::engine::config::RunConfig;
use relutui::engine::data;
use relutui::engine::trainer::Trainer;

/// Two networks of 784-500-250-10, trained through `epochs` epochs on this thread.
fn trained(epochs: usize) -> Trainer {
    let config = RunConfig::default().with_hidden(fixtures::widths(&[500, 250]));
    let mut t = Trainer::new(&config, mnist2k())
        .without_samples()
        .with_parallel(false);
    for _ in 0..epochs {
        for _ in 0..t.batches_per_epoch() {
            t.train_batch();
        }
        t.finish_epoch(0.0);
    }
    t
}

fn weight_bytes(t: &Trainer) -> usize {
    t.networks()
        .next()
        .unwrap()
        .layers()
        .iter()
        .map(|l| 4 * (l.weights.len() + l.bias.len()))
        .sum()
}

#[test]
fn an_epoch_end_allocates_no_copy_of_a_network() {
    let mut t = trained(1);
    for _ in 0..t.batches_per_epoch() {
        t.train_batch();
    }
    let (reports, peak) = counting_alloc::peak_bytes(|| t.finish_epoch(0.0));
    assert_eq!(reports.len(), 2);
    let net = weight_bytes(&t);
    eprintln!("epoch end: peak {peak} bytes; one network's weights are {net}");
    // Evaluation, claims and the last-good copy all run in buffers made at the start; what is
    // left (reports, the products' packing buffers, the next epoch's order) is far smaller
    // than one network.
    assert!(
        peak < net,
        "{peak} bytes at the epoch end, a network is {net}"
    );
}

/// A save streams the file: it never holds the whole checkpoint (several times one network's
/// weights here) in memory, only the encoder's 64 KB chunk. `encode`, for the tests, makes one
/// buffer of the file's size and the chunk.
#[test]
fn a_checkpoint_is_saved_without_holding_the_file_in_memory() {
    let t = trained(1);
    let ck = t.checkpoint();
    let (bytes, peak) = counting_alloc::peak_bytes(|| ck.encode());
    eprintln!("checkpoint: {} bytes, encoding peak {peak}", bytes.len());
    assert!(bytes.len() > 2 * weight_bytes(&t));
    assert!(
        peak <= bytes.len() + (1 << 16) + 4096,
        "{peak} bytes to encode {} bytes",
        bytes.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    let (saved, peak) = counting_alloc::peak_bytes(|| ck.save(&path));
    saved.unwrap();
    eprintln!("save: peak {peak} bytes");
    assert!(
        peak < bytes.len() / 16,
        "{peak} bytes to save a {}-byte checkpoint",
        bytes.len()
    );
    assert!(
        std::fs::read(&path).unwrap() == bytes,
        "the saved file differs"
    );
}

/// A training step allocates nothing once its workspace exists, at batch 10 on both product
/// paths (the zero-skipping kernels and the small-batch kernels). At batch 100 the dense layers
/// go through `gemm`, which allocates and frees its packing buffer inside each product: that
/// is bounded, and nothing stays allocated after a step.
#[test]
fn a_training_step_allocates_nothing_of_its_own() {
    use ndarray::s;
    use relutui::engine::nn::{self, Activation, Mlp, Workspace};

    let all = data::mnist10k().unwrap();
    for batch in [10, 100] {
        let x = all.train.inputs(0..batch * 4);
        let y = &all.train.labels()[..batch * 4];
        for act in [Activation::Rectifier, Activation::Tanh] {
            let mut net = Mlp::new(784, &[300, 200], 10, act, 1);
            let mut ws = Workspace::for_training(&net, batch);
            net.train_step(x.slice(s![..batch, ..]), &y[..batch], 0.1, 0.001, &mut ws);
            let ((), peak, live) = counting_alloc::measure(|| {
                for b in 1..4 {
                    let r = b * batch..(b + 1) * batch;
                    net.train_step(x.slice(s![r.clone(), ..]), &y[r], 0.1, 0.001, &mut ws);
                }
            });
            assert_eq!(live, 0, "{act} at batch {batch} kept {live} bytes");
            if batch == 10 {
                assert_eq!(peak, 0, "{act} at batch {batch} allocated {peak} bytes");
            } else {
                assert!(
                    peak < 1 << 20,
                    "{act} at batch {batch}: {peak} bytes at once"
                );
            }
            // At batch 10 the pixels took the zero-skipping path; at 100 the path the level's
            // threshold picks (dense with AVX-512, whose threshold is below the pixels'
            // density). The tanh layers took the dense one.
            let pixels_sparse = ws.input_density()[0] <= nn::sparse_max_density(batch);
            assert!(batch == 100 || pixels_sparse, "{act} at batch {batch}");
            assert_eq!(
                ws.sparse_layers()[0],
                pixels_sparse,
                "{act} at batch {batch}"
            );
            if act == Activation::Tanh {
                assert!(!ws.sparse_layers()[1], "batch {batch}");
            }
        }
    }
}
