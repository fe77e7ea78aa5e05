//! Per-network hyper-parameters, model selection and early stopping, and `relutui paper`
//! (Table 1 protocol) with its resume after a kill. All on small data the tests write.
#![allow(
    clippy::float_cmp,
    reason = "a frozen network repeats its numbers exactly; best-epoch bookkeeping copies them"
)]

#[path = "support/common.rs"]
mod common;
#[path = "support/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_lines, mnist2k, relutui};
use relutui::engine::config::RunConfig;
use relutui::engine::data::{self, idx};
use relutui::engine::nn::Activation;
use relutui::engine::trainer::{self, Trainer};
use relutui::protocol::{Command as Cmd, EpochReport, RunState, Update};

/// Writes `train` + `test` real digits (from the embedded set) as MNIST IDX files.
fn write_digits(dir: &Path, train: usize, test: usize) {
    let all = data::mnist10k().unwrap();
    for (prefix, set, n) in [("train", &all.train, train), ("t10k", &all.test, test)] {
        let part = set.slice(0..n);
        let pixels: Vec<u8> = part.pixels().iter().copied().collect();
        fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx::encode(&[n as u32, 28, 28], &pixels),
        )
        .unwrap();
        fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx::encode(&[n as u32], part.labels()),
        )
        .unwrap();
    }
}

fn by_net<'a>(lines: &'a [EpochReport], net: &str) -> Vec<&'a EpochReport> {
    lines.iter().filter(|r| r.net == net).collect()
}

#[test]
fn per_network_values_go_through_flags_checkpoint_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    write_digits(dir.path(), 600, 100);
    let d = dir.path().to_str().unwrap();
    let ck = dir.path().join("run.ckpt");
    let ck = ck.to_str().unwrap();
    let base = [
        "--headless",
        "--dataset",
        "mnist",
        "--data-dir",
        d,
        "--hidden",
        "24",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--lr",
        "rectifier=0.05,tanh=0.02",
        "--epochs",
        "1",
        "--checkpoint",
        ck,
    ]);
    let first: Vec<EpochReport> = json_lines(&relutui(&args));
    let (r, t) = (by_net(&first, "rectifier"), by_net(&first, "tanh"));
    assert!((r[0].lr - 0.05).abs() < 1e-9 && (t[0].lr - 0.02).abs() < 1e-9);
    // The L1 default is the paper's: on the rectifier, not on tanh.
    assert!((r[0].l1 - 0.001).abs() < 1e-9, "{}", r[0].l1);
    assert!(t[0].l1 == 0.0, "{}", t[0].l1);

    // Resume: the saved per-network values come back; a named value overrides only its net.
    let mut args = base.to_vec();
    args.extend(["--resume", ck, "--epochs", "2", "--l1", "tanh=0.0005"]);
    let second: Vec<EpochReport> = json_lines(&relutui(&args));
    let (r, t) = (by_net(&second, "rectifier"), by_net(&second, "tanh"));
    assert_eq!((r.len(), r[0].epoch), (1, 2));
    assert!((r[0].lr - 0.05).abs() < 1e-9 && (t[0].lr - 0.02).abs() < 1e-9);
    assert!((r[0].l1 - 0.001).abs() < 1e-9);
    assert!((t[0].l1 - 0.0005).abs() < 1e-9);
    // And the override was saved: a third leg without flags keeps it.
    let mut args = base.to_vec();
    args.extend(["--resume", ck, "--epochs", "3"]);
    let third: Vec<EpochReport> = json_lines(&relutui(&args));
    assert!((by_net(&third, "tanh")[0].l1 - 0.0005).abs() < 1e-9);
    assert!((by_net(&third, "rectifier")[0].lr - 0.05).abs() < 1e-9);
}

#[test]
fn the_keys_commands_change_one_network_or_all() {
    let config = RunConfig::default()
        .with_hidden(fixtures::widths(&[16]))
        .with_epochs(Some(1))
        .with_net_lr(vec![(Activation::Tanh, fixtures::lr(0.02))]);
    let handle = trainer::spawn(Trainer::new(&config, mnist2k()).without_samples()).unwrap();
    let settings = |want: usize| {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.len() < want && Instant::now() < deadline {
            if let Ok(Update::NetSettings { lrs, l1s, .. }) =
                handle.updates.recv_timeout(Duration::from_secs(60))
            {
                seen.push((lrs, l1s));
            }
        }
        seen
    };
    let first = settings(1);
    assert_eq!(
        first[0].0,
        vec![0.1, 0.02],
        "RunConfig::default's lr is 0.1"
    );
    handle.commands.send(Cmd::Pause).unwrap();
    handle
        .commands
        .send(Cmd::SetNetLr {
            net: 1,
            lr: fixtures::lr(0.04),
        })
        .unwrap();
    handle
        .commands
        .send(Cmd::SetNetL1 {
            net: 0,
            l1: fixtures::l1(0.002),
        })
        .unwrap();
    handle.commands.send(Cmd::SetLr(fixtures::lr(0.3))).unwrap();
    let seen = settings(3);
    assert_eq!(seen[0].0, vec![0.1, 0.04]);
    assert_eq!(seen[1].1, vec![0.002, 0.001]);
    assert_eq!(seen[2].0, vec![0.3, 0.3], "SetLr sets every network");
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
}

/// Reads epoch reports until the run is done.
fn reports_until_done(handle: &trainer::TrainerHandle) -> (Vec<EpochReport>, Vec<(usize, usize)>) {
    let (mut reports, mut stops) = (Vec::new(), Vec::new());
    loop {
        match handle.updates.recv_timeout(Duration::from_secs(120)) {
            Ok(Update::Epoch(r)) => reports.push(r),
            Ok(Update::Stopped {
                net, best_epoch, ..
            }) => stops.push((net, best_epoch)),
            Ok(Update::State(RunState::Done)) => break,
            Ok(_) => {}
            Err(e) => panic!("no update: {e}"),
        }
    }
    (reports, stops)
}

#[test]
fn best_epoch_bookkeeping_and_early_stopping_of_one_network() {
    // tanh's rate is too small to move a float32 weight: its validation error never gets
    // better, so --patience 2 stops it after epoch 3 while the rectifier goes on.
    let config = RunConfig::default()
        .with_activations(fixtures::activations(&[
            Activation::Rectifier,
            Activation::Tanh,
        ]))
        .with_hidden(fixtures::widths(&[32]))
        .with_epochs(Some(6))
        .with_lr(fixtures::lr(0.02))
        .with_net_lr(vec![(Activation::Tanh, fixtures::lr(1e-12))])
        .with_patience(Some(2));
    let handle = trainer::spawn(
        Trainer::new(&config, mnist2k())
            .without_samples()
            .with_parallel(false),
    )
    .unwrap();
    let (reports, stops) = reports_until_done(&handle);
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
    assert_eq!(
        stops[0],
        (1, 1),
        "tanh stops first, its best epoch is the first"
    );
    let (r, t) = (by_net(&reports, "rectifier"), by_net(&reports, "tanh"));
    assert_eq!(r.len(), t.len(), "one line per network per epoch");
    assert!(
        r.len() >= 4,
        "the rectifier trains past tanh's stop: {stops:?}"
    );
    for (i, line) in t.iter().enumerate() {
        assert_eq!(line.stopped, i >= 2, "epoch {}", line.epoch);
        assert_eq!(line.best_epoch, 1);
    }
    // Frozen: the same measurements every epoch after the stop, and no training.
    assert_eq!(t[2].valid_error, t[3].valid_error);
    assert_eq!(t[2].train_error, t[3].train_error);
    assert_eq!(t[3].examples_per_sec, 0.0);
    // The rectifier trains on: epoch 4 (after tanh stopped at 3) changed its training error.
    assert!(!r[3].stopped);
    assert!(r[3].examples_per_sec > 0.0);
    assert_ne!(r[2].train_error, r[3].train_error);
    // best_epoch is the first epoch of the lowest validation error so far, with its test error.
    for (i, line) in r.iter().enumerate() {
        let seen = &r[..=i];
        let best = seen
            .iter()
            .min_by(|a, b| a.valid_error.partial_cmp(&b.valid_error).unwrap())
            .unwrap();
        let first_best = seen
            .iter()
            .find(|l| l.valid_error == best.valid_error)
            .unwrap();
        assert_eq!(line.best_epoch, first_best.epoch);
        assert_eq!(line.best_valid_error, first_best.valid_error);
        assert_eq!(line.test_error_at_best, first_best.test_error);
    }
}

#[test]
fn every_network_stopped_ends_the_run() {
    let config = RunConfig::default()
        .with_activations(fixtures::activations(&[Activation::Tanh]))
        .with_hidden(fixtures::widths(&[8]))
        .with_epochs(Some(50))
        .with_lr(fixtures::lr(1e-12))
        .with_patience(Some(1));
    let handle = trainer::spawn(Trainer::new(&config, mnist2k()).without_samples()).unwrap();
    let (reports, stops) = reports_until_done(&handle);
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
    assert_eq!(stops, vec![(0, 1)]);
    assert_eq!(reports.len(), 2, "done after epoch 2, not 50");
}

fn paper_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "paper",
        "--dataset",
        "mnist",
        "--data-dir",
        data,
        "--out-dir",
        out,
        "--activations",
        "rectifier,tanh",
        "--lr-grid",
        "0.1,0.01",
        "--hidden",
        "64,64",
        "--epochs",
        "4",
        "--patience",
        "10",
        "--jobs",
        "2",
    ]
}

#[test]
fn paper_plans_runs_resumes_after_a_kill_and_reports_table_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    write_digits(&data, 3000, 200);
    let out = dir.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let args = paper_args(d, o);

    // The plan: one plain relutui command line per run.
    let mut plan_args = args.clone();
    plan_args.push("--plan");
    let plan = relutui(&plan_args);
    assert!(plan.status.success());
    let plan = String::from_utf8(plan.stdout).unwrap();
    assert_eq!(plan.lines().count(), 4, "{plan}");
    assert!(plan
        .lines()
        .all(|l| l.contains("--headless") && l.contains("--patience 10")));

    // Start, let some epochs happen, then kill it the way a user would (SIGTERM).
    let child = Command::new(env!("CARGO_BIN_EXE_relutui"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = out.join("rectifier_lr0.1/log.jsonl");
    let deadline = Instant::now() + Duration::from_secs(300);
    while fs::read_to_string(&log).map_or(0, |s| s.lines().count()) < 1 {
        assert!(Instant::now() < deadline, "no epoch in 300 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let killed = child.wait_with_output().unwrap();
    assert_eq!(killed.status.code(), Some(143), "{killed:?}");
    let mut collect_args = args.clone();
    collect_args.extend(["--collect", "--json"]);
    let partial: serde_json::Value =
        serde_json::from_slice(&relutui(&collect_args).stdout).unwrap();
    let statuses: Vec<&str> = partial["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses[..2].contains(&"stopped"),
        "killed before both rectifier runs were done: {statuses:?}"
    );
    assert!(out.join("rectifier_lr0.1/checkpoint.relutui").exists());

    // The same command again: it resumes and finishes, each epoch logged once.
    let again = relutui(&args);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let text = String::from_utf8(again.stdout).unwrap();
    assert!(
        text.contains("rectifier") && text.contains("1.43 %"),
        "{text}"
    );
    for name in [
        "rectifier_lr0.1",
        "rectifier_lr0.01",
        "tanh_lr0.1",
        "tanh_lr0.01",
    ] {
        let lines: Vec<serde_json::Value> = fs::read_to_string(out.join(name).join("log.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let epochs: Vec<u64> = lines.iter().map(|l| l["epoch"].as_u64().unwrap()).collect();
        let mut unique = epochs.clone();
        unique.dedup();
        assert_eq!(unique, vec![1, 2, 3, 4], "{name}: {epochs:?}");
    }
    let table: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("table1.json")).unwrap()).unwrap();
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let rect = &rows[0]["selected"];
    let valid = |n: &str| {
        table["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()["valid_error"]
            .as_f64()
            .unwrap()
    };
    let chosen = rect["name"].as_str().unwrap();
    let other = if chosen == "rectifier_lr0.1" {
        "rectifier_lr0.01"
    } else {
        "rectifier_lr0.1"
    };
    assert!(
        valid(chosen) <= valid(other),
        "selected by validation error"
    );
    assert!(rect["sparsity"].as_f64().unwrap() > 0.0);
    assert_eq!(rows[0]["complete"], true);
    assert!(table["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "finished" && r["done"] == true));

    // A third time: the plan is the same (its line numbers are what --task K takes), nothing
    // is left to train, and the table is the same.
    assert_eq!(String::from_utf8(relutui(&plan_args).stdout).unwrap(), plan);
    let third = relutui(&args);
    assert!(third.status.success());
    let collected: serde_json::Value =
        serde_json::from_slice(&relutui(&collect_args).stdout).unwrap();
    assert_eq!(collected, table);
    // --collect DIR alone reads the flags from the plan kept there.
    let alone: serde_json::Value =
        serde_json::from_slice(&relutui(&["paper", "--collect", o, "--json"]).stdout).unwrap();
    assert_eq!(alone, table);
}

#[test]
fn paper_plan_lines_run_through_task_k_and_collect_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    write_digits(&data, 600, 100);
    let out = dir.path().join("out");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let mut args = paper_args(d, o);
    for (flag, value) in [("--epochs", "1"), ("--hidden", "16")] {
        let i = args.iter().position(|a| *a == flag).unwrap();
        args[i + 1] = value;
    }
    let mut plan_args = args.clone();
    plan_args.push("--plan");
    let plan = String::from_utf8(relutui(&plan_args).stdout).unwrap();
    let lines: Vec<&str> = plan.lines().collect();
    assert_eq!(lines.len(), 4, "{plan}");
    assert!(
        lines[2].ends_with(&format!("--run-dir {o}/tanh_lr0.1 --continue")),
        "{}",
        lines[2]
    );
    assert!(out.join("paper.json").is_file());
    // Lines 1 and 3 through --task; line 2 straight from the plan, as a scheduler would run it.
    for k in ["1", "3"] {
        let mut task = args.clone();
        task.extend(["--task", k]);
        let r = relutui(&task);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let r = Command::new("sh").arg("-c").arg(lines[1]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let ran: Vec<bool> = [
        "rectifier_lr0.1",
        "rectifier_lr0.01",
        "tanh_lr0.1",
        "tanh_lr0.01",
    ]
    .iter()
    .map(|n| out.join(n).join("log.jsonl").is_file())
    .collect();
    assert_eq!(
        ran,
        vec![true, true, true, false],
        "--task K runs exactly line K"
    );
    let text = relutui(&["paper", "--collect", o]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(": 4 runs planned: 3 finished, 0 running, 0 stopped, 1 not started"),
        "{text}"
    );
    assert!(text.contains("task 4 (tanh_lr0.01): not started"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&relutui(&["paper", "--collect", o, "--json"]).stdout).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(
        (rows[0]["complete"].as_bool(), rows[1]["complete"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        rows[1]["selected"]["name"], "tanh_lr0.1",
        "the only tanh run there is"
    );
    assert_eq!(json["runs"][3]["status"], "not started");
    // The table still draws.
    let table = dir.path().join("t.json");
    fs::write(&table, serde_json::to_string(&json).unwrap()).unwrap();
    let svg = dir.path().join("t.svg");
    let r = relutui(&[
        "plot",
        "table1",
        table.to_str().unwrap(),
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // Out of range.
    let mut task = args.clone();
    task.extend(["--task", "5"]);
    let r = relutui(&task);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--task 5"));
}

#[test]
fn paper_bad_flags_exit_2_naming_the_flag() {
    let out = relutui(&["paper", "--dataset", "mnist", "--out-dir", "/tmp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
    let out = relutui(&["paper", "--lr-grid", "0.1,abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lr-grid"));
}
