//! Pre-training (`--pretrain`): a run resumed mid-layer or between layers goes on exactly as
//! an uninterrupted one; the masks and the batch order are shared by every network of the
//! lockstep run; pause, step and lr work in the phase; the JSON lines of both phases; bad
//! flags fail in one line with exit code 2.

#[path = "support/common.rs"]
mod common;
#[path = "support/fixtures.rs"]
mod fixtures;

use std::time::Duration;

use common::without_timing;
use crossbeam_channel::Receiver;
use relutui::engine::checkpoint::Checkpoint;
use relutui::engine::config::RunConfig;
use relutui::engine::nn::Activation;
use relutui::engine::trainer::{self, PretrainSettings, Trainer};
use relutui::protocol::PretrainReport;
use relutui::protocol::{Command as Cmd, EpochReport, RunState, Update};

const TIMEOUT: Duration = Duration::from_secs(90);
const SETTINGS: PretrainSettings = PretrainSettings {
    epochs: 2,
    lr: 0.01,
};

fn config(activations: &[Activation]) -> RunConfig {
    RunConfig::default()
        .with_hidden(fixtures::widths(&[24, 12]))
        .with_activations(fixtures::activations(activations))
        .with_epochs(Some(1))
        .with_seed(5)
}

fn trainer(config: &RunConfig) -> Trainer {
    Trainer::new(config, common::mnist2k()).with_parallel(false)
}

fn next(updates: &Receiver<Update>) -> Update {
    updates.recv_timeout(TIMEOUT).expect("an update in time")
}

/// A run's results as JSON values without their timing fields, in order: pre-training
/// reports, then supervised ones.
fn run_to_end(trainer: Trainer) -> Vec<serde_json::Value> {
    let handle = trainer::spawn(trainer).unwrap();
    let mut out = Vec::new();
    loop {
        match next(&handle.updates) {
            Update::PretrainEpoch(r) => out.push(without_timing(&r)),
            Update::Epoch(r) => out.push(without_timing(&r)),
            Update::State(RunState::Done) => break,
            _ => {}
        }
    }
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
    out
}

/// Trains `batches` pre-training batches by hand, finishing epochs as the run loop does.
fn pretrain_batches(t: &mut Trainer, batches: usize) {
    for _ in 0..batches {
        t.pretrain_batch();
        if t.pretrain_epoch_complete() {
            t.finish_pretrain_epoch(0.0);
        }
    }
}

#[test]
fn a_resumed_run_continues_exactly_mid_layer_and_between_layers() {
    let acts = [Activation::Rectifier, Activation::Tanh];
    let straight = run_to_end(trainer(&config(&acts)).with_pretrain(SETTINGS));
    // 2 layers × 2 epochs × 2 networks, then one supervised epoch each.
    assert_eq!(straight.len(), 10);
    assert!(straight[..8].iter().all(|v| v["phase"] == "pretrain"));
    let bpe = trainer(&config(&acts)).batches_per_epoch();
    let dir = tempfile::tempdir().unwrap();
    // Mid-epoch in layer 1; between layers (layer 2 not started); mid-epoch in layer 2.
    for stop in [bpe + 77, 2 * bpe, 3 * bpe + 5] {
        let mut t = trainer(&config(&acts)).with_pretrain(SETTINGS);
        pretrain_batches(&mut t, stop);
        let at = t.pretraining().expect("still pre-training");
        assert_eq!(at.layer, stop / (2 * bpe), "stopped at batch {stop}");
        let path = dir.path().join(format!("at-{stop}.ckpt"));
        let saved = t.checkpoint();
        assert!(saved.pretrain.is_some());
        saved.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap();
        assert_eq!(loaded, saved);
        drop(t);

        // The phase comes from the checkpoint alone.
        let mut resumed = trainer(&config(&acts));
        resumed.restore(&loaded).unwrap();
        assert_eq!(
            resumed.checkpoint(),
            loaded,
            "restore then save is the identity"
        );
        let after = run_to_end(resumed);
        let done = stop / bpe;
        assert_eq!(after.len(), 10 - 2 * done, "stopped at batch {stop}");
        assert_eq!(after, straight[2 * done..], "stopped at batch {stop}");
    }
}

#[test]
fn after_the_phase_checkpoints_have_no_pretraining_section() {
    let acts = [Activation::Rectifier];
    let mut t = trainer(&config(&acts)).with_pretrain(PretrainSettings {
        epochs: 1,
        lr: 0.01,
    });
    let bpe = t.batches_per_epoch();
    pretrain_batches(&mut t, 2 * bpe);
    assert_eq!(t.pretraining(), None);
    assert_eq!(t.checkpoint().pretrain, None);
    assert_eq!(t.position().step, 0, "supervised training has not started");
}

#[test]
fn masks_order_and_decoders_are_shared_by_every_network() {
    // The tanh network trained beside a rectifier matches the tanh network trained alone:
    // nothing it draws depends on the other networks.
    let both = run_to_end(
        trainer(&config(&[Activation::Rectifier, Activation::Tanh])).with_pretrain(SETTINGS),
    );
    let alone = run_to_end(trainer(&config(&[Activation::Tanh])).with_pretrain(SETTINGS));
    let tanh: Vec<_> = both
        .iter()
        .filter(|v| v["net"] == "tanh")
        .cloned()
        .collect();
    assert_eq!(tanh, alone);
    // And the seed matters.
    let other = config(&[Activation::Tanh]).with_seed(6);
    let reseeded = run_to_end(trainer(&other).with_pretrain(SETTINGS));
    assert_ne!(
        reseeded[0]["reconstruction_error"],
        alone[0]["reconstruction_error"]
    );
}

#[test]
fn pause_step_and_lr_work_in_the_phase() {
    let acts = [Activation::Rectifier];
    let handle = trainer::spawn(trainer(&config(&acts)).with_pretrain(SETTINGS)).unwrap();
    handle.commands.send(Cmd::Pause).unwrap();
    handle
        .commands
        .send(Cmd::SetLr(fixtures::lr(0.05)))
        .unwrap();
    let mut saw = Vec::new();
    loop {
        match next(&handle.updates) {
            Update::Pretraining(at) => saw.push(format!("phase {at:?}")),
            Update::State(RunState::Paused) => break,
            _ => {}
        }
    }
    assert_eq!(saw.len(), 1, "{saw:?}");
    assert!(saw[0].contains("layer: 0"), "{saw:?}");
    // Paused: each step trains exactly one batch of the layer. A sample sent as it paused may
    // still be on its way: wait until none comes, so that the next ones are the steps'.
    while handle
        .samples
        .recv_timeout(Duration::from_millis(300))
        .is_ok()
    {}
    handle.commands.send(Cmd::Step).unwrap();
    let first = handle.samples.recv_timeout(TIMEOUT).unwrap();
    handle.commands.send(Cmd::Step).unwrap();
    let sample = handle.samples.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(sample.at.step, first.at.step + 1);
    assert_eq!(sample.at.batch, first.at.batch + 1);
    assert!(handle
        .samples
        .recv_timeout(Duration::from_millis(300))
        .is_err());
    assert!(sample.losses[0].is_finite() && sample.losses[0] > 0.0);
    let code = sample.activations.expect("the code's heatmap");
    assert_eq!((code.layer, code.units), (0, 24));
    handle.commands.send(Cmd::Resume).unwrap();
    let mut lrs = Vec::new();
    let mut supervised_lr = None;
    loop {
        match next(&handle.updates) {
            Update::LrChanged { lr, .. } => lrs.push(lr),
            Update::PretrainEpoch(r) => lrs.push(r.lr),
            Update::Epoch(r) => supervised_lr = Some(r.lr),
            Update::State(RunState::Done) => break,
            _ => {}
        }
    }
    // The lr command changed the phase's rate; supervised training kept --lr.
    assert_eq!(lrs, [0.05, 0.05, 0.05, 0.05, 0.05]);
    assert_eq!(supervised_lr, Some(RunConfig::default().lr()));
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
}

#[test]
#[expect(
    clippy::float_cmp,
    reason = "the rates and the noise are copied from the flags, not computed"
)]
fn the_json_lines_of_both_phases() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let out = common::relutui(&[
        "--headless",
        "--hidden",
        "20,10",
        "--activations",
        "rectifier,tanh",
        "--pretrain",
        "1",
        "--pretrain-lr",
        "0.02",
        "--epochs",
        "1",
        "--log",
        log.to_str().unwrap(),
    ]);
    let lines: Vec<serde_json::Value> = common::json_lines(&out);
    assert_eq!(lines.len(), 6);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        String::from_utf8(out.stdout.clone()).unwrap(),
        "the log has the same lines"
    );
    for (i, l) in lines[..4].iter().enumerate() {
        let r: PretrainReport = serde_json::from_value(l.clone()).unwrap();
        assert_eq!(r.phase, "pretrain");
        assert_eq!((r.layer, r.epoch, r.epochs), (i / 2 + 1, 1, 1));
        assert_eq!(r.net, ["rectifier", "tanh"][i % 2]);
        assert_eq!(r.lr, 0.02);
        assert!(r.reconstruction_error > 0.0 && r.valid_reconstruction_error > 0.0);
        assert!((0.0..=1.0).contains(&r.sparsity));
        assert_eq!(r.masking_noise, 0.25);
        let expected = if r.net == "rectifier" {
            "softplus-quadratic"
        } else {
            "sigmoid-cross-entropy"
        };
        assert_eq!(r.reconstruction, expected);
    }
    // Rectifier codes have exact zeros, tanh codes none.
    assert!(lines[0]["sparsity"].as_f64().unwrap() > 0.0);
    assert_eq!(lines[1]["sparsity"].as_f64(), Some(0.0));
    for l in &lines[4..] {
        assert_eq!(l["phase"], "supervised");
        let r: EpochReport = serde_json::from_value(l.clone()).unwrap();
        assert_eq!((r.epoch, r.step), (1, 800));
        // The schema is the report's own fields plus "phase".
        let mut keys: Vec<_> = l.as_object().unwrap().keys().cloned().collect();
        let mut own: Vec<_> = serde_json::to_value(&r)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        own.push("phase".into());
        keys.sort();
        own.sort();
        assert_eq!(keys, own);
    }
}

#[test]
fn bad_pretrain_flags_fail_in_one_line_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    std::fs::write(&ck, b"x").unwrap();
    for (args, needle) in [
        (vec!["--pretrain", "0"], "--pretrain"),
        (vec!["--pretrain", "x"], "--pretrain"),
        (vec!["--pretrain-lr", "0.1"], "--pretrain"),
        (
            vec!["--pretrain", "1", "--pretrain-lr", "-1"],
            "--pretrain-lr",
        ),
        (
            vec!["--pretrain", "1", "--resume", ck.to_str().unwrap()],
            "--resume",
        ),
    ] {
        let mut all = vec!["--headless"];
        all.extend(&args);
        let out = common::relutui(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}
