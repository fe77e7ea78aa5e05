//! Lockstep training: the networks start from the same weights, see the same batches, and
//! training them on one thread each gives exactly the numbers of a serial run.

#[path = "support/common.rs"]
mod common;
#[path = "support/fixtures.rs"]
mod fixtures;

use common::{mnist2k, without_timing};
use relutui::engine::config::RunConfig;
use relutui::engine::nn::Activation;
use relutui::engine::trainer::Trainer;

fn config() -> RunConfig {
    RunConfig::default()
        .with_activations(fixtures::activations(&Activation::ALL))
        .with_hidden(fixtures::widths(&[48, 24]))
        .with_epochs(Some(2))
        .with_seed(5)
}

fn train_two_epochs(parallel: bool) -> (Trainer, Vec<serde_json::Value>) {
    let mut t = Trainer::new(&config(), mnist2k())
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
    let t = Trainer::new(&config(), mnist2k());
    let nets: Vec<_> = t.networks().collect();
    for n in &nets[1..] {
        assert_eq!(n.layers(), nets[0].layers());
    }
    // Two networks of the same activation in separate runs with one seed stay identical,
    // which they could not if their batches differed in content or order.
    let one = config().with_activations(fixtures::activations(&[Activation::Rectifier]));
    let mut a = Trainer::new(&one, mnist2k()).without_samples();
    let both = config().with_activations(fixtures::activations(&[
        Activation::Tanh,
        Activation::Rectifier,
    ]));
    let mut b = Trainer::new(&both, mnist2k()).without_samples();
    for _ in 0..150 {
        a.train_batch();
        b.train_batch();
    }
    assert_eq!(a.networks().next(), b.networks().nth(1));
}

/// `r` (`Command::Reinit`) starts over from the new seed's weights and batch order, reusing
/// the old networks' memory: what follows is exactly a fresh run with that seed (training,
/// evaluation and claims), whenever the command arrives and even after a network diverged.
#[test]
fn reinit_in_place_matches_a_fresh_run_with_the_new_seed() {
    use relutui::engine::trainer;
    use relutui::protocol::{Command, Update};
    use std::time::Duration;

    let fresh_config = config().with_seed(9);
    let mut fresh = Trainer::new(&fresh_config, mnist2k()).without_samples();
    for _ in 0..fresh.batches_per_epoch() {
        fresh.train_batch();
    }
    let expected: Vec<_> = fresh.finish_epoch(0.0).iter().map(without_timing).collect();

    // A rate that diverges the rectifier within the first epoch, so that the reinit also has
    // a frozen network to bring back.
    let wild = config().with_lr(fixtures::lr(50.0));
    let t = Trainer::new(&wild, mnist2k()).without_samples();
    let handle = trainer::spawn(t).unwrap();
    let next = || {
        handle
            .updates
            .recv_timeout(Duration::from_secs(120))
            .expect("the trainer answers")
    };
    while !matches!(next(), Update::Diverged { .. }) {}
    handle
        .commands
        .send(Command::SetLr(fixtures::lr(config().lr())))
        .unwrap();
    handle.commands.send(Command::Reinit { seed: 9 }).unwrap();
    while !matches!(next(), Update::Reinitialised { seed: 9, .. }) {}
    let mut got = Vec::new();
    while got.len() < expected.len() {
        if let Update::Epoch(r) = next() {
            got.push(without_timing(&r));
        }
    }
    handle.commands.send(Command::Quit).unwrap();
    handle.thread.join().unwrap();
    // The claims probe's noise and its linear probes' batch order come from the run's --seed,
    // which `r` does not change: those four fields are the only ones allowed to differ.
    let seeded_by_the_run = |mut v: serde_json::Value| {
        for f in [
            "active_set_stability",
            "activation_change",
            "linear_probe_error",
            "linear_probe_error_pixels",
        ] {
            assert!(v.as_object_mut().unwrap().remove(f).is_some(), "{f}");
        }
        v
    };
    let got: Vec<_> = got.into_iter().map(seeded_by_the_run).collect();
    let expected: Vec<_> = expected.into_iter().map(seeded_by_the_run).collect();
    assert_eq!(got, expected);
}
