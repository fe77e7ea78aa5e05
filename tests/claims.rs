//! The claims measurements through the trainer's channels: every epoch report carries them,
//! and `Command::ReviveDead` answers with `Update::Revived` for the silent units.

use std::time::Duration;

#[path = "support/common.rs"]
mod common;
#[path = "support/fixtures.rs"]
mod fixtures;

use common::without_timing;
use relutui::engine::config::RunConfig;
use relutui::engine::data::{self, Splits};
use relutui::engine::trainer::{self, Trainer};
use relutui::protocol::{Command, EpochReport, RunState, Update};

fn small_splits() -> Splits {
    let all = data::mnist10k().unwrap();
    Splits {
        train: all.train.slice(0..1000),
        valid: all.valid.slice(0..600),
        test: all.test.slice(0..200),
        ..all
    }
}

fn next(updates: &crossbeam_channel::Receiver<Update>) -> Update {
    updates
        .recv_timeout(Duration::from_secs(60))
        .expect("the trainer answers")
}

#[test]
fn reports_carry_the_claims_and_dead_units_can_be_revived() {
    // A strong penalty kills rectifier units quickly.
    let config = RunConfig::default()
        .with_hidden(fixtures::widths(&[32, 16]))
        .with_l1(fixtures::l1(0.05))
        .with_epochs(Some(2))
        .with_seed(4);
    let handle = trainer::spawn(Trainer::new(&config, small_splits()).without_samples()).unwrap();
    let mut reports: Vec<EpochReport> = Vec::new();
    loop {
        match next(&handle.updates) {
            Update::Epoch(r) => reports.push(r),
            Update::State(RunState::Done) => break,
            _ => {}
        }
    }
    assert_eq!(reports.len(), 4, "two networks, two epochs");
    for r in &reports {
        let c = &r.claims;
        assert_eq!(c.probe_examples, 600);
        assert_eq!(c.linear_probe_fit_examples, 1000);
        assert_eq!(c.active_set_stability.len(), 2);
        assert_eq!(c.active_units_hist.len(), 2);
        assert_eq!(c.active_ink_correlation.len(), 2);
        assert_eq!(c.linear_probe_error.len(), 2);
        assert_eq!(c.died_this_epoch.len(), 2);
        assert!(c.linear_probe_error_pixels > 0.0 && c.linear_probe_error_pixels < 0.3);
        assert!(c.flops_if_sparse < c.flops_dense);
        let dense = f64::from(784 * 32 + 32 * 16 + 16 * 10);
        assert!((c.flops_dense - dense).abs() < 0.5);
        // Noise of σ 0.05 moves the activations of every layer that has any.
        assert_eq!(c.activation_change.len(), 2);
        assert!(
            c.activation_change[0].is_some(),
            "{:?}",
            c.activation_change
        );
        for change in c.activation_change.iter().flatten() {
            assert!(change.is_finite() && *change > 0.0, "{change}");
        }
        // The JSON line has the fields at the top level and reads back.
        let line = serde_json::to_string(r).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        for f in [
            "active_set_stability",
            "activation_change",
            "active_units_hist",
            "flops_if_sparse",
            "died_this_epoch",
        ] {
            assert!(v.get(f).is_some(), "{f} missing: {line}");
        }
        let back: EpochReport = serde_json::from_str(&line).unwrap();
        for (a, b) in back
            .claims
            .active_set_stability
            .iter()
            .zip(&c.active_set_stability)
        {
            assert!((a.unwrap() - b.unwrap()).abs() < 1e-12);
        }
        assert_eq!(
            back.claims.active_units_hist[1].bins,
            c.active_units_hist[1].bins
        );
    }
    let last_rect = &reports[2];
    assert_eq!(last_rect.net, "rectifier");
    // The revive below must have something to do: some rectifier unit is silent before it.
    let silent: usize = last_rect.claims.silent_units.iter().sum();
    assert!(
        silent > 0,
        "no silent unit to revive: {:?}",
        last_rect.claims.silent_units
    );

    handle.commands.send(Command::ReviveDead).unwrap();
    let units = loop {
        if let Update::Revived { at, units } = next(&handle.updates) {
            assert_eq!(at.epoch, 2);
            break units;
        }
    };
    assert_eq!(units.len(), 2, "one list per network");
    for (net, r) in units.iter().zip(&reports[2..]) {
        assert_eq!(net.len(), 2, "one list per hidden layer");
        let counts: Vec<usize> = net.iter().map(Vec::len).collect();
        assert_eq!(counts, r.claims.silent_units, "{}", r.net);
    }
    handle.commands.send(Command::Quit).unwrap();
    handle.thread.join().unwrap();
}

#[test]
fn claims_are_deterministic_apart_from_timing() {
    let config = RunConfig::default()
        .with_hidden(fixtures::widths(&[24]))
        .with_epochs(Some(1))
        .with_seed(9);
    let run = || {
        let mut t = Trainer::new(&config, small_splits()).without_samples();
        while t.position().batch < t.batches_per_epoch() {
            t.train_batch();
        }
        t.finish_epoch(0.0)
            .iter()
            .map(without_timing)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}
