//! Nothing lost: a resumed run goes on exactly as if it had never stopped (mid-epoch too),
//! signals stop the real binary with a complete log and a checkpoint, `--detach-on-hangup`
//! keeps training, a diverging network is frozen while the others go on, and bad checkpoint
//! flags and paths fail in one line with exit code 2.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

#[path = "support/common.rs"]
mod common;
#[path = "support/fixtures.rs"]
mod fixtures;

use common::{line_without_timing, without_timing};
use crossbeam_channel::Receiver;
use relutui::engine::checkpoint::Checkpoint;
use relutui::engine::config::RunConfig;
use relutui::engine::data;
use relutui::engine::trainer::{self, Trainer};
use relutui::protocol::{Command as Cmd, EpochReport, RunState, Update};

const BIN: &str = env!("CARGO_BIN_EXE_relutui");
/// Generous for a busy CI machine; the tests take a few seconds each.
const TIMEOUT: Duration = Duration::from_secs(90);
/// The small networks every test trains.
const SMALL: &[&str] = &["--headless", "--hidden", "32,16", "--seed", "5"];

fn config(epochs: usize) -> RunConfig {
    RunConfig::default()
        .with_hidden(fixtures::widths(&[32, 16]))
        .with_epochs(Some(epochs))
        .with_seed(5)
}

fn trainer(config: &RunConfig) -> Trainer {
    Trainer::new(config, data::mnist10k().expect("embedded digits"))
}

fn next(updates: &Receiver<Update>) -> Update {
    updates.recv_timeout(TIMEOUT).expect("an update in time")
}

/// Runs `trainer` on its thread until done; every epoch report.
fn run_to_end(trainer: Trainer) -> Vec<EpochReport> {
    let handle = trainer::spawn(trainer).unwrap();
    let mut reports = Vec::new();
    loop {
        match next(&handle.updates) {
            Update::Epoch(r) => reports.push(r),
            Update::State(RunState::Done) => break,
            _ => {}
        }
    }
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
    reports
}

/// Trains `batches` batches by hand, finishing epochs as the run loop does.
fn train_batches(t: &mut Trainer, batches: usize) {
    for _ in 0..batches {
        t.train_batch();
        if t.position().batch >= t.batches_per_epoch() {
            t.finish_epoch(0.0);
        }
    }
}

#[test]
fn a_resumed_run_continues_exactly_mid_epoch_and_at_an_epoch_end() {
    let straight = run_to_end(trainer(&config(3)));
    assert_eq!(straight.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let bpe = trainer(&config(3)).batches_per_epoch();
    for stop in [bpe + 317, 2 * bpe] {
        let mut t = trainer(&config(3));
        train_batches(&mut t, stop);
        let path = dir.path().join(format!("at-{stop}.ckpt"));
        let saved = t.checkpoint();
        saved.save(&path).unwrap();
        let loaded = Checkpoint::load(&path).unwrap();
        assert_eq!(loaded, saved);
        drop(t);

        assert_eq!(loaded.run.position.batch, stop % bpe);
        let mut resumed = trainer(&config(3));
        resumed.restore(&loaded).unwrap();
        assert_eq!(
            resumed.checkpoint(),
            loaded,
            "restore then save is the identity"
        );
        let after = run_to_end(resumed);
        let done = stop / bpe;
        assert_eq!(after.len(), 2 * (3 - done), "stopped at batch {stop}");
        for (a, b) in after.iter().zip(&straight[2 * done..]) {
            assert_eq!(
                without_timing(a),
                without_timing(b),
                "stopped at batch {stop}"
            );
        }
    }
}

#[test]
fn resuming_refuses_a_checkpoint_of_another_run() {
    let mut t = trainer(&config(1));
    train_batches(&mut t, 3);
    let ck = t.checkpoint();
    let mut other = trainer(&config(1).with_hidden(fixtures::widths(&[32, 8])));
    let err = other.restore(&ck).unwrap_err().to_string();
    assert!(err.contains("--hidden"), "{err}");
    let mut other = trainer(&config(1).with_seed(6));
    assert!(other
        .restore(&ck)
        .unwrap_err()
        .to_string()
        .contains("--seed"));
    let mut past_the_end = ck.clone();
    past_the_end.run.position.batch = 10_000;
    let err = trainer(&config(1)).restore(&past_the_end).unwrap_err();
    assert!(err.to_string().contains("past the end"), "{err}");
}

/// relutui with SIGHUP at its default disposition whatever this test process inherited:
/// under `nohup cargo test` it is ignored, and relutui keeps an inherited ignore, as `nohup`
/// users expect (`tests/hostile.rs` tests that), so a hangup test would see no hangup.
fn relutui() -> Command {
    let mut cmd = Command::new("env");
    cmd.arg("--default-signal=HUP").arg(BIN);
    cmd
}

fn spawn(args: &[&str], extra: &[&Path]) -> Child {
    let mut cmd = relutui();
    cmd.args(args);
    for p in extra {
        cmd.arg(p);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relutui")
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `log` has at least `n` lines.
fn wait_lines(log: &Path, n: usize, child: &mut Child) {
    let start = Instant::now();
    while lines(log).len() < n {
        assert!(
            child.try_wait().unwrap().is_none(),
            "relutui ended before writing {n} lines"
        );
        assert!(start.elapsed() < TIMEOUT, "no {n} lines in {TIMEOUT:?}");
        sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("relutui did not exit in {TIMEOUT:?}");
        }
        sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: Child) -> String {
    String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr).into_owned()
}

/// The SIGHUP test, and then the resume it makes possible: the log of the stopped run
/// plus the resumed run's appended lines equal an uninterrupted run's, timings aside.
#[test]
fn sighup_leaves_a_complete_log_and_a_checkpoint_that_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ck) = (dir.path().join("log.jsonl"), dir.path().join("run.ckpt"));
    let mut child = relutui()
        .args(SMALL)
        .args(["--epochs", "50", "--log"])
        .arg(&log)
        .arg("--checkpoint")
        .arg(&ck)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_lines(&log, 2, &mut child);
    signal(&child, "HUP");
    let status = wait_exit(&mut child);
    let stderr = stderr_of(child);
    assert_eq!(status.code(), Some(129), "128 + SIGHUP; stderr: {stderr}");
    assert!(stderr.contains("checkpoint saved"), "{stderr}");
    let logged = lines(&log);
    assert!(logged.len() >= 2 && logged.len() % 2 == 0, "{logged:?}");
    for line in &logged {
        serde_json::from_str::<EpochReport>(line).expect("every line, the last too, is JSON");
    }
    let saved = Checkpoint::load(&ck).expect("the checkpoint loads");
    let at = saved.run.position;
    assert_eq!(
        at.epoch,
        logged.len() / 2,
        "the checkpoint is after the last logged epoch"
    );

    // Resume to two epochs past the checkpoint, appending to the same log.
    let target = (at.epoch + 2).to_string();
    let out = Command::new(BIN)
        .args(["--headless", "--epochs", &target, "--resume"])
        .arg(&ck)
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut straight = SMALL.to_vec();
    straight.extend(["--epochs", &target]);
    let reference = Command::new(BIN).args(&straight).output().unwrap();
    assert!(reference.status.success());
    let expected: Vec<_> = String::from_utf8(reference.stdout)
        .unwrap()
        .lines()
        .map(line_without_timing)
        .collect();
    let got: Vec<_> = lines(&log).iter().map(|l| line_without_timing(l)).collect();
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected, "stopped at {at:?}");
    // The resumed run went on checkpointing to the same file.
    let last = Checkpoint::load(&ck).unwrap();
    assert_eq!(last.run.position.epoch, at.epoch + 2);
}

#[test]
fn detach_on_hangup_keeps_training_when_stdout_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let mut args = SMALL.to_vec();
    args.extend(["--epochs", "3", "--detach-on-hangup", "--log"]);
    let mut child = spawn(&args, &[&log]);
    wait_lines(&log, 2, &mut child);
    // The terminal is gone: stdout's reader closes, then the hangup.
    drop(child.stdout.take());
    signal(&child, "HUP");
    let status = wait_exit(&mut child);
    let stderr = stderr_of(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("hangup"), "{stderr}");
    let logged = lines(&log);
    assert_eq!(logged.len(), 6, "every epoch of both networks is logged");
    let last: EpochReport = serde_json::from_str(&logged[5]).unwrap();
    assert_eq!((last.net.as_str(), last.epoch), ("tanh", 3));
}

#[test]
fn sigint_without_a_checkpoint_exits_130_with_a_complete_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let mut args = SMALL.to_vec();
    args.extend(["--epochs", "50", "--log"]);
    let mut child = spawn(&args, &[&log]);
    wait_lines(&log, 2, &mut child);
    signal(&child, "INT");
    assert_eq!(wait_exit(&mut child).code(), Some(130));
    for line in lines(&log) {
        serde_json::from_str::<EpochReport>(&line).unwrap();
    }
}

/// JSON nulls anywhere but where the format documents them (an undefined correlation).
fn nulls(v: &serde_json::Value, path: &str, found: &mut Vec<String>) {
    match v {
        serde_json::Value::Null => found.push(path.into()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| nulls(x, &format!("{path}[]"), found)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                if k != "active_ink_correlation" {
                    nulls(x, &format!("{path}.{k}"), found);
                }
            }
        }
        _ => {}
    }
}

/// At lr 10 the rectifier's activations explode within a few batches (measured: |h| ≈ 1e8 in
/// the second layer at batch 4); tanh's are bounded, so it keeps training (badly: its loss is
/// in the hundreds, but finite). The rectifier is frozen and reported, never as NaN.
#[test]
fn at_lr_10_the_rectifier_diverges_and_tanh_keeps_training() {
    let out = Command::new(BIN)
        .args([
            "--headless",
            "--hidden",
            "64,64,64",
            "--seed",
            "1",
            "--lr",
            "10",
            "--epochs",
            "2",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rectifier diverged"), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut found = Vec::new();
    for line in text.lines() {
        nulls(&serde_json::from_str(line).unwrap(), "", &mut found);
    }
    assert!(found.is_empty(), "nulls at {found:?}");
    let r: Vec<EpochReport> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(r.len(), 4);
    let (relu, tanh): (Vec<_>, Vec<_>) = r.iter().partition(|r| r.net == "rectifier");
    assert!(relu.iter().all(|r| r.diverged), "{relu:?}");
    assert!(tanh.iter().all(|r| !r.diverged));
    for r in &r {
        assert!(r.loss.is_finite() && r.l1_penalty.is_finite());
        assert!(r.mean_activation.iter().all(|v| v.is_finite()));
    }
    // Frozen: the rectifier's numbers stand still; tanh's weights moved on.
    assert_eq!(relu[0].loss.to_bits(), relu[1].loss.to_bits());
    assert_eq!(relu[0].valid_error.to_bits(), relu[1].valid_error.to_bits());
    assert_ne!(tanh[0].loss.to_bits(), tanh[1].loss.to_bits());
}

/// Restoring the last good state with a lower rate lets the diverged network learn again,
/// and a checkpoint keeps the divergence.
#[test]
fn a_diverged_network_restores_and_learns_at_a_lower_rate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.ckpt");
    let config = RunConfig::default()
        .with_hidden(fixtures::widths(&[64, 64, 64]))
        .with_lr(fixtures::lr(10.0))
        .with_epochs(Some(1))
        .with_seed(1);
    let handle = trainer::spawn(trainer(&config).with_checkpoint(path.clone())).unwrap();
    let at = loop {
        if let Update::Diverged { net, at, reason } = next(&handle.updates) {
            assert_eq!(net, 0, "the rectifier ({reason})");
            break at;
        }
    };
    handle.commands.send(Cmd::Pause).unwrap();
    handle.commands.send(Cmd::Checkpoint).unwrap();
    let saved_at = loop {
        match next(&handle.updates) {
            Update::CheckpointSaved { at, .. } => break at,
            Update::CheckpointFailed(e) => panic!("{e}"),
            _ => {}
        }
    };
    assert!(saved_at.step >= at.step);
    let ck = Checkpoint::load(&path).unwrap();
    assert!(ck.nets[0].diverged && !ck.nets[1].diverged);
    assert!(
        ck.nets[0].last_good.is_none(),
        "frozen at its last good state"
    );

    handle
        .commands
        .send(Cmd::SetLr(fixtures::lr(0.05)))
        .unwrap();
    handle.commands.send(Cmd::RestoreLastGood).unwrap();
    handle.commands.send(Cmd::Resume).unwrap();
    let mut restored = false;
    let relu = loop {
        match next(&handle.updates) {
            Update::Restored { nets, .. } => {
                assert_eq!(nets, vec![0]);
                restored = true;
            }
            Update::Diverged { .. } => panic!("diverged again at lr 0.05"),
            Update::Epoch(r) if r.net == "rectifier" => break r,
            _ => {}
        }
    };
    assert!(restored);
    assert!(!relu.diverged);
    assert!(
        relu.valid_error < 0.5,
        "it learns again: {}",
        relu.valid_error
    );
    handle.commands.send(Cmd::Quit).unwrap();
    handle.thread.join().unwrap();
}

fn one_line_exit_2(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in {stderr}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_checkpoint_flags_and_files_exit_2_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str], paths: &[&Path]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("--headless").args(args);
        for p in paths {
            cmd.arg(p);
        }
        cmd.output().unwrap()
    };
    // The environment: an unwritable log, a data dir that is a file, a typo'd flag.
    one_line_exit_2(
        &run(&["--log"], &[&d.join("no/such/dir/log.jsonl")]),
        &["--log", "log.jsonl"],
    );
    one_line_exit_2(
        &run(&["--data-dir", "Cargo.toml"], &[]),
        &["--data-dir", "not a directory"],
    );
    one_line_exit_2(&run(&["--hiden", "8"], &[]), &["--hiden", "--hidden"]);
    one_line_exit_2(
        &run(&["--checkpoint"], &[&d.join("no/such/dir/x.ckpt")]),
        &["--checkpoint", "x.ckpt"],
    );
    one_line_exit_2(
        &run(&["--checkpoint"], &[d]),
        &["--checkpoint", "directory"],
    );
    one_line_exit_2(
        &run(&["--resume"], &[&d.join("missing.ckpt")]),
        &["--resume", "missing.ckpt"],
    );
    let junk = d.join("junk.ckpt");
    fs::write(&junk, b"{\"not\": \"a checkpoint\"}").unwrap();
    one_line_exit_2(&run(&["--resume"], &[&junk]), &["junk.ckpt", "magic"]);

    let good = d.join("good.ckpt");
    let mut t = trainer(&config(1));
    train_batches(&mut t, 5);
    t.checkpoint().save(&good).unwrap();
    let bytes = fs::read(&good).unwrap();
    let cut = d.join("cut.ckpt");
    fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    one_line_exit_2(&run(&["--resume"], &[&cut]), &["cut.ckpt", "truncated"]);
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x10;
    let bad = d.join("flipped.ckpt");
    fs::write(&bad, &flipped).unwrap();
    one_line_exit_2(&run(&["--resume"], &[&bad]), &["flipped.ckpt", "checksum"]);
    for (flag, value) in [
        ("--hidden", "64"),
        ("--activations", "tanh"),
        ("--batch-size", "20"),
        ("--seed", "9"),
    ] {
        one_line_exit_2(
            &run(&[flag, value, "--resume"], &[&good]),
            &[flag, "conflicts with the checkpoint"],
        );
    }
    // Flags that agree are fine, and --lr overrides the saved rate.
    let out = run(&["--epochs", "1", "--lr", "0.05", "--resume"], &[&good]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: EpochReport = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert!((r.lr - 0.05).abs() < 1e-9 && r.epoch == 1);
}

/// Resuming a run headless that has nothing left to train (its --epochs reached, or every network
/// stopped by --patience) says so, exits 0 and leaves the log and the checkpoint as they were.
#[test]
fn a_resume_with_nothing_to_train_says_so_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ck) = (dir.path().join("log.jsonl"), dir.path().join("run.ckpt"));
    let mut args = SMALL.to_vec();
    args.extend(["--epochs", "2", "--log"]);
    let first = relutui()
        .args(&args)
        .arg(&log)
        .arg("--checkpoint")
        .arg(&ck)
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let (log_before, ck_before) = (fs::read(&log).unwrap(), fs::read(&ck).unwrap());
    for epochs in ["2", "1"] {
        let out = relutui()
            .args(["--headless", "--epochs", epochs, "--resume"])
            .arg(&ck)
            .arg("--log")
            .arg(&log)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("nothing to train"), "{stderr}");
        assert!(stderr.contains("--epochs"), "{stderr}");
        assert!(out.stdout.is_empty());
        assert_eq!(fs::read(&log).unwrap(), log_before, "the log is unchanged");
        assert_eq!(
            fs::read(&ck).unwrap(),
            ck_before,
            "the checkpoint is unchanged"
        );
    }
}
