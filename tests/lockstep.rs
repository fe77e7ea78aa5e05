//! Lockstep training: the networks start from the same weights, see the same batches, and
//! training them on one thread each gives exactly the numbers of a serial run.

use relutui::config::RunConfig;
use relutui::data::{self, Splits};
use relutui::message::EpochReport;
use relutui::nn::Activation;
use relutui::train::Trainer;

fn small_splits() -> Splits {
    let all = data::mnist10k().unwrap();
    Splits {
        name: "mnist2k".into(),
        train: all.train.slice(0..2000),
        valid: all.valid.slice(0..300),
        test: all.test.slice(0..300),
        classes: 10,
    }
}

fn config() -> RunConfig {
    RunConfig {
        activations: Activation::ALL.to_vec(),
        hidden: vec![48, 24],
        epochs: Some(2),
        seed: 5,
        ..RunConfig::default()
    }
}

fn without_timing(r: &EpochReport) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    for f in EpochReport::TIMING_FIELDS {
        v.as_object_mut().unwrap().remove(*f);
    }
    v
}

fn train_two_epochs(parallel: bool) -> (Trainer, Vec<serde_json::Value>) {
    let mut t = Trainer::new(&config(), small_splits())
        .without_samples()
        .with_parallel(parallel);
    let mut reports = Vec::new();
    for _ in 0..2 {
        for _ in 0..t.batches_per_epoch() {
            t.train_batch();
        }
        reports.extend(t.finish_epoch(0.0).iter().map(without_timing));
    }
    (t, reports)
}

#[test]
fn parallel_lockstep_matches_serial_exactly() {
    let (serial, a) = train_two_epochs(false);
    let (parallel, b) = train_two_epochs(true);
    assert_eq!(a, b);
    assert_eq!(a.len(), 8);
    for (x, y) in serial.networks().zip(parallel.networks()) {
        assert_eq!(x, y);
    }
}

#[test]
fn networks_start_equal_and_share_the_batches() {
    let t = Trainer::new(&config(), small_splits());
    let nets: Vec<_> = t.networks().collect();
    for n in &nets[1..] {
        assert_eq!(n.layers(), nets[0].layers());
    }
    // Two networks of the same activation in separate runs with one seed stay identical,
    // which they could not if their batches differed in content or order.
    let mut one = config();
    one.activations = vec![Activation::Rectifier];
    let mut a = Trainer::new(&one, small_splits()).without_samples();
    let mut both = config();
    both.activations = vec![Activation::Tanh, Activation::Rectifier];
    let mut b = Trainer::new(&both, small_splits()).without_samples();
    for _ in 0..150 {
        a.train_batch();
        b.train_batch();
    }
    assert_eq!(a.networks().next(), b.networks().nth(1));
}
