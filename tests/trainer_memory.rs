//! The trainer's memory stays flat from epoch to epoch: an epoch end reuses its buffers
//! instead of allocating copies of the networks or of their representations, and a checkpoint
//! is encoded into one buffer of the file's size. Measured with a counting allocator.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use relutui::config::RunConfig;
use relutui::data::{self, Splits};
use relutui::train::Trainer;

fn splits() -> Splits {
    let all = data::mnist10k().unwrap();
    Splits {
        name: "mnist2k".into(),
        train: all.train.slice(0..2000),
        valid: all.valid.slice(0..300),
        test: all.test.slice(0..300),
        classes: 10,
    }
}

/// Two networks of 784-500-250-10, trained through `epochs` epochs on this thread.
fn trained(epochs: usize) -> Trainer {
    let config = RunConfig {
        hidden: vec![500, 250],
        ..RunConfig::default()
    };
    let mut t = Trainer::new(&config, splits())
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

#[test]
fn a_checkpoint_is_encoded_in_one_buffer_of_its_size() {
    let t = trained(1);
    let ck = t.checkpoint();
    let (bytes, peak) = counting_alloc::peak_bytes(|| ck.encode());
    eprintln!("checkpoint: {} bytes, encoding peak {peak}", bytes.len());
    assert!(bytes.len() > 2 * weight_bytes(&t));
    assert!(
        peak <= bytes.len() + 4096,
        "{peak} bytes to encode {} bytes",
        bytes.len()
    );
}
