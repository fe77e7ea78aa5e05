//! The headless front end of the real binary: JSON lines, determinism, --log, flag errors,
//! and the paper's setup on the embedded digits.

#[path = "support/common.rs"]
mod common;

use std::process::Output;

use common::{json_lines, line_without_timing, relutui};
use relutui::protocol::EpochReport;

fn reports(out: &Output) -> Vec<EpochReport> {
    json_lines(out)
}

const SMALL: &[&str] = &[
    "--headless",
    "--hidden",
    "64,32",
    "--epochs",
    "2",
    "--seed",
    "7",
];

#[test]
fn one_line_per_network_per_epoch_with_the_required_fields() {
    let out = relutui(SMALL);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for field in [
            "net",
            "epoch",
            "train_error",
            "valid_error",
            "test_error",
            "loss",
            "sparsity",
            "dead_units",
            "lr",
            "l1",
            "examples_per_sec",
        ] {
            assert!(v.get(field).is_some(), "missing {field}: {line}");
        }
    }
    let r = reports(&out);
    let names: Vec<(&str, usize)> = r.iter().map(|r| (r.net.as_str(), r.epoch)).collect();
    assert_eq!(
        names,
        [("rectifier", 1), ("tanh", 1), ("rectifier", 2), ("tanh", 2)]
    );
    for rep in &r {
        assert_eq!(rep.sparsity.len(), 2);
        assert_eq!(rep.dead_units.len(), 2);
        assert!(rep.valid_error < 0.5, "{rep:?}");
        assert!(rep.examples_per_sec > 0.0);
    }
    // Exact zeros are the rectifier's alone.
    assert!(r[2].sparsity.iter().all(|&s| s > 0.2));
    assert!(r[3].sparsity.iter().all(|&s| s == 0.0));
    assert_eq!(out.stderr, b"", "no progress when stderr is not a terminal");
}

#[test]
fn same_seed_same_numbers_other_seed_other_numbers() {
    let a = relutui(SMALL);
    let b = relutui(SMALL);
    let strip = |o: &Output| -> Vec<serde_json::Value> {
        String::from_utf8(o.stdout.clone())
            .unwrap()
            .lines()
            .map(line_without_timing)
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    let mut other = SMALL.to_vec();
    other[6] = "8";
    assert_ne!(strip(&a), strip(&relutui(&other)));
}

#[test]
fn log_file_gets_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    let mut args = SMALL.to_vec();
    args[4] = "1";
    args.extend(["--log", log.to_str().unwrap()]);
    let out = relutui(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&log).unwrap(), out.stdout);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}

#[test]
fn bad_flags_and_paths_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let unwritable = dir.path().join("no/such/dir/log.jsonl");
    for (args, flag) in [
        (vec!["--lr", "0"], "--lr"),
        (vec!["--lr", "NaN"], "--lr"),
        (vec!["--hidden", "1000,,10"], "--hidden"),
        (vec!["--hidden", "0"], "--hidden"),
        (vec!["--activations", "relu,gelu"], "--activations"),
        (vec!["--batch-size", "0"], "--batch-size"),
        (vec!["--dataset", "imagenet"], "--dataset"),
        (vec!["--dataset", "mnist"], "--data-dir"),
        (vec!["--data-dir", "/no/such/place"], "--data-dir"),
        (vec!["--data-dir", "Cargo.toml"], "--data-dir"),
        (vec!["--log", unwritable.to_str().unwrap()], "--log"),
    ] {
        let mut full = vec!["--headless"];
        full.extend(&args);
        let out = relutui(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The acceptance run: the paper's 784-1000-1000-1000-10 networks, 3 epochs, seed 1.
#[test]
fn paper_setup_on_embedded_digits_reaches_the_reference_figures() {
    let r = reports(&relutui(&["--headless", "--epochs", "3", "--seed", "1"]));
    assert_eq!(r.len(), 6);
    let (relu, tanh) = (&r[4], &r[5]);
    assert_eq!((relu.net.as_str(), relu.epoch), ("rectifier", 3));
    assert_eq!((tanh.net.as_str(), tanh.epoch), ("tanh", 3));
    assert!(
        relu.valid_error < 0.07,
        "rectifier valid {}",
        relu.valid_error
    );
    assert!(tanh.valid_error < 0.12, "tanh valid {}", tanh.valid_error);
    let mean_sparsity = relu.sparsity.iter().sum::<f64>() / 3.0;
    assert!(
        mean_sparsity >= 0.6,
        "rectifier sparsity {:?}",
        relu.sparsity
    );
    assert!(
        tanh.sparsity.iter().all(|&s| s < 0.01),
        "{:?}",
        tanh.sparsity
    );
}
