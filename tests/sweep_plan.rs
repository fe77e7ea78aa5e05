//! The sweep as a plan: `--plan` prints one command per run, `--task K` runs exactly line K,
//! the plan through GNU parallel then `--collect` gives the same table as the in-process
//! sweep, and `--collect` says which runs are finished, running, stopped or not started.
//! Also: the shell completions parse and the man page renders.

#[path = "support/common.rs"]
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use common::relutui;
use relutui::protocol::EpochReport;

const BIN: &str = env!("CARGO_BIN_EXE_relutui");

/// A sweep small enough for a test: 2 L1 values × 2 seeds, 1 epoch of a 16-unit network.
const FLAGS: [&str; 8] = [
    "--l1",
    "0,0.001",
    "--repeats",
    "2",
    "--epochs",
    "1",
    "--hidden",
    "16",
];

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn sweep(extra: &[&str]) -> Output {
    let args: Vec<&str> = ["sweep"]
        .iter()
        .chain(FLAGS.iter())
        .chain(extra.iter())
        .copied()
        .collect();
    relutui(&args)
}

fn plan(dir: &Path) -> Vec<String> {
    let text = ok(&sweep(&[
        "--plan",
        "--program",
        BIN,
        "--out-dir",
        dir.to_str().unwrap(),
    ]));
    text.lines().map(str::to_string).collect()
}

/// The table and chart of a summary, without the seconds column and the figure's path: what
/// must not depend on how the runs were scheduled.
fn table(summary: &str) -> Vec<String> {
    let start = summary
        .lines()
        .position(|l| l.starts_with("sparsity: mean over hidden layers"))
        .unwrap_or_else(|| panic!("no table in:\n{summary}"));
    summary
        .lines()
        .skip(start)
        .filter(|l| !l.starts_with("figure:"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            // Run rows: l1 seed sparsity % error % error % stability seconds.
            if w.len() == 10 && w[3] == "%" && w[5] == "%" {
                w[..9].join(" ")
            } else {
                l.trim_end().to_string()
            }
        })
        .collect()
}

fn reports(path: &Path) -> Vec<EpochReport> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn plan_prints_one_self_contained_command_per_run_and_keeps_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let lines = plan(dir.path());
    assert_eq!(lines.len(), 4);
    let d = std::path::absolute(dir.path()).unwrap();
    for (line, (l1, seed)) in lines
        .iter()
        .zip([("0", 1), ("0.001", 1), ("0", 2), ("0.001", 2)])
    {
        assert!(line.starts_with(&format!("{BIN} --headless --activations rectifier")));
        assert!(
            line.ends_with(&format!(
                " --l1 {l1} --epochs 1 --seed {seed} --run-dir {}/l1-{l1}_seed-{seed} --continue",
                d.display()
            )),
            "{line}"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    assert_eq!(manifest["runs"].as_array().unwrap().len(), 4);
    assert_eq!(manifest["runs"][2]["command"], lines[2].as_str());
    // Nothing trained.
    assert!(!dir.path().join("l1-0_seed-1").exists());
    // Without --out-dir the plan has nowhere to put its runs.
    let out = sweep(&["--plan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out-dir"));
}

#[test]
fn task_k_runs_exactly_line_k() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(&sweep(&["--task", "3", "--out-dir", d]));
    let runs: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("run.json").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs, vec!["l1-0_seed-2"], "line 3 is l1 0, seed 2");
    let run = dir.path().join("l1-0_seed-2");
    let r = reports(&run.join("log.jsonl"));
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].net.as_str(), r[0].seed, r[0].l1, r[0].epoch),
        ("rectifier", 2, 0.0, 1)
    );
    assert!(run.join("checkpoint.relutui").exists());
    // Run again, the finished line trains nothing more and still succeeds.
    ok(&sweep(&["--task", "3", "--out-dir", d]));
    assert_eq!(reports(&run.join("log.jsonl")).len(), 1);
    // A run directory whose run saved no checkpoint trains again from the start, in place.
    fs::remove_file(run.join("checkpoint.relutui")).unwrap();
    ok(&sweep(&["--task", "3", "--out-dir", d]));
    let again = reports(&run.join("log.jsonl"));
    assert_eq!(again.len(), 1, "the log starts again, not appended to");
    assert_eq!(again[0].step, r[0].step, "trained from the start");
    assert!(
        (again[0].test_error - r[0].test_error).abs() < 1e-12,
        "same seed, same run"
    );
    assert!(run.join("checkpoint.relutui").exists());
    // Line 3 of the plan is the same command.
    let line = &plan(dir.path())[2];
    assert!(line.contains("--l1 0 --epochs 1 --seed 2 "), "{line}");
    for k in ["0", "5"] {
        let out = sweep(&["--task", k, "--out-dir", d]);
        assert_eq!(out.status.code(), Some(2), "--task {k}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--task"));
    }
}

#[test]
fn a_plan_through_gnu_parallel_collects_to_the_in_process_table() {
    if Command::new("parallel").arg("--version").output().is_err() {
        eprintln!("SKIPPED: GNU parallel is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster");
    let local = dir.path().join("local");
    let lines = plan(&cluster).join("\n") + "\n";
    let mut child = Command::new("parallel")
        .args(["-j", "2", "--halt", "now,fail=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), lines.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let collected = ok(&relutui(&["sweep", "--collect", cluster.to_str().unwrap()]));
    assert!(
        collected.contains(": 4 runs planned: 4 finished, 0 running, 0 stopped, 0 not started"),
        "{collected}"
    );
    assert!(cluster.join("figure3.svg").exists());
    let in_process = ok(&sweep(&[
        "--jobs",
        "2",
        "--out-dir",
        local.to_str().unwrap(),
    ]));
    assert!(local.join("figure3.svg").exists());
    assert_eq!(
        table(&collected),
        table(&in_process),
        "{collected}\n{in_process}"
    );
    // The in-process folder collects to the same table too.
    let again = ok(&relutui(&["sweep", "--collect", local.to_str().unwrap()]));
    assert_eq!(table(&again), table(&in_process));
}

#[test]
fn collect_says_which_runs_are_finished_running_stopped_or_not_started() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    plan(dir.path());
    // Task 1 finished; task 2 has a log with no epoch yet, fresh (running); task 3's log is
    // an hour old and was cut short (stopped); task 4 never started.
    ok(&sweep(&["--task", "1", "--out-dir", d]));
    for run in ["l1-0.001_seed-1", "l1-0_seed-2"] {
        fs::create_dir(dir.path().join(run)).unwrap();
    }
    fs::write(dir.path().join("l1-0.001_seed-1/log.jsonl"), "").unwrap();
    let stale = dir.path().join("l1-0_seed-2/log.jsonl");
    fs::write(&stale, "{\"net\":\"rectif").unwrap();
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let text = ok(&relutui(&["sweep", "--collect", d]));
    assert!(
        text.contains(": 4 runs planned: 1 finished, 1 running, 1 stopped, 1 not started"),
        "{text}"
    );
    assert!(
        text.contains("task 2 (l1 0.001 seed 1): running: epoch 0/1 done"),
        "{text}"
    );
    assert!(
        text.contains("task 3 (l1 0 seed 2): stopped: epoch 0/1 done, no line for 60 min (crashed or killed?), last line cut short; run its line again to go on from its checkpoint: "),
        "{text}"
    );
    assert!(text.contains("/l1-0_seed-2 --continue\n"), "{text}");
    assert!(
        text.contains("task 4 (l1 0.001 seed 2): not started"),
        "{text}"
    );
    // The table holds the finished run only.
    let rows: Vec<String> = table(&text)
        .into_iter()
        .filter(|l| l.ends_with(|c: char| c.is_ascii_digit()) && l.contains(" % "))
        .collect();
    assert!(rows[0].starts_with("0 1 "), "{rows:?}");
    // A folder without a plan says what it wants.
    let empty = tempfile::tempdir().unwrap();
    let out = relutui(&["sweep", "--collect", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sweep.json") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn completions_parse_and_the_man_page_renders() {
    let dir = tempfile::tempdir().unwrap();
    let bash = dir.path().join("relutui.bash");
    fs::write(&bash, ok(&relutui(&["completions", "bash"]))).unwrap();
    let check = Command::new("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let text = fs::read_to_string(&bash).unwrap();
    assert!(
        text.contains("--collect") && text.contains("sparsity"),
        "subcommands and flags"
    );
    for shell in ["zsh", "fish"] {
        assert!(ok(&relutui(&["completions", shell])).contains("relutui"));
    }
    let out = relutui(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let man = ok(&relutui(&["man"]));
    assert!(
        man.contains(".TH relutui 1") && man.contains("sweep"),
        "{man}"
    );
}

/// Waits for `path` to hold at least `n` lines.
fn wait_for_lines(path: &Path, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while fs::read_to_string(path).map_or(0, |s| s.lines().count()) < n {
        assert!(std::time::Instant::now() < deadline, "no line {n} in 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_plan_line_killed_and_run_again_goes_on_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (cut, whole) = (dir.path().join("cut"), dir.path().join("whole"));
    let flags = [
        "sweep",
        "--l1",
        "0",
        "--repeats",
        "1",
        "--epochs",
        "3",
        "--hidden",
        "200,200,200",
        "--program",
        BIN,
        "--plan",
        "--out-dir",
    ];
    let line = |d: &Path| {
        let out = ok(&relutui(&[&flags[..], &[d.to_str().unwrap()]].concat()));
        assert_eq!(out.lines().count(), 1);
        out.trim_end().to_string()
    };
    let shell = |l: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("exec {l}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let cut_line = line(&cut);
    let log = cut.join("l1-0_seed-1/log.jsonl");
    let child = shell(&cut_line);
    wait_for_lines(&log, 1);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "killed in epoch 2: {out:?}");
    let text = ok(&relutui(&["sweep", "--collect", cut.to_str().unwrap()]));
    assert!(
        text.contains(": 1 runs planned: 0 finished, 0 running, 1 stopped, 0 not started"),
        "{text}"
    );
    assert!(text.contains("ended by signal 15"), "{text}");
    // The same line again goes on, and ends where an uninterrupted run of it ends.
    let again = shell(&cut_line).wait_with_output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let r = reports(&log);
    let epochs: Vec<usize> = r.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, vec![1, 2, 3], "each epoch once");
    let meta: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(cut.join("l1-0_seed-1/run.json")).unwrap())
            .unwrap();
    assert_eq!(meta["ended"]["how"], "done", "{meta}");
    let whole_line = line(&whole);
    assert!(shell(&whole_line)
        .wait_with_output()
        .unwrap()
        .status
        .success());
    let w = reports(&whole.join("l1-0_seed-1/log.jsonl"));
    let strip = |r: &EpochReport| common::line_without_timing(&serde_json::to_string(r).unwrap());
    assert_eq!(
        strip(&r[2]),
        strip(&w[2]),
        "resumed and uninterrupted runs differ"
    );
    let text = ok(&relutui(&["sweep", "--collect", cut.to_str().unwrap()]));
    assert!(
        text.contains(": 1 runs planned: 1 finished, 0 running, 0 stopped, 0 not started"),
        "{text}"
    );
    // While a run holds its directory, a second copy of its line is refused.
    let first = shell(&line(&dir.path().join("busy")));
    wait_for_lines(&dir.path().join("busy/l1-0_seed-1/run.json"), 1);
    let second = Command::new("sh")
        .arg("-c")
        .arg(line(&dir.path().join("busy")))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("trains in it"),
        "{second:?}"
    );
    Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    first.wait_with_output().unwrap();
}
