//! `relutui sweep` through the real binary: JSON lines, the table and chart, --out-dir files,
//! the same numbers with one or two workers, and flag errors.

#[path = "support/common.rs"]
mod common;

use std::process::Output;

use common::{line_without_timing, relutui};
use relutui::protocol::EpochReport;

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Two small runs: 784-16-10 rectifiers, one epoch each.
const SMALL: &[&str] = &[
    "sweep",
    "--hidden",
    "16",
    "--epochs",
    "1",
    "--l1",
    "0,0.01",
    "--repeats",
    "1",
];

#[test]
fn json_lines_then_the_table_and_the_chart_on_stdout() {
    let out = relutui(&[SMALL, &["--seed", "3"]].concat());
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "escape codes in piped output");
    let (json, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with('{'));
    let mut reports: Vec<EpochReport> = json
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    reports.sort_by(|a, b| a.l1.total_cmp(&b.l1));
    assert_eq!(reports.len(), 2);
    assert_eq!((reports[0].l1, reports[1].l1), (0.0, 0.01));
    for r in &reports {
        assert_eq!((r.net.as_str(), r.epoch, r.seed), ("rectifier", 1, 3));
        assert_eq!(r.sparsity.len(), 1);
        assert_eq!(r.claims.active_set_stability.len(), 1);
    }
    let rest = rest.join("\n");
    for needle in [
        "sparsity sweep: rectifier 16, 1 epochs",
        "test error",
        "per L1 value",
        "marks: 0 = l1 0, 1 = l1 0.01",
        " +----",
    ] {
        assert!(rest.contains(needle), "missing {needle:?} in\n{rest}");
    }
    // One table row per run, giving its L1 and seed.
    let rows = rest
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && (f[0] == "0" || f[0] == "0.01") && f[1] == "3"
        })
        .count();
    assert_eq!(rows, 2, "{rest}");
}

#[test]
fn out_dir_files_match_across_worker_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let mut lines = Vec::new();
    for (path, jobs) in [(&one, "1"), (&two, "2")] {
        let p = path.to_str().unwrap();
        let out = relutui(&[SMALL, &["--out-dir", p, "--jobs", jobs]].concat());
        let text = stdout(&out);
        assert!(!text.lines().any(|l| l.starts_with('{')), "{text}");
        assert!(text.contains("per L1 value"));
        let mut files = Vec::new();
        for name in ["l1-0_seed-1.jsonl", "l1-0.01_seed-1.jsonl"] {
            let content = std::fs::read_to_string(path.join(name)).unwrap();
            assert_eq!(content.lines().count(), 1, "{name}");
            files.extend(content.lines().map(line_without_timing));
        }
        lines.push(files);
    }
    assert_eq!(lines[0], lines[1], "one worker and two differ");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    for (args, flag) in [
        (&["sweep", "--l1", "0,-1"][..], "--l1"),
        (&["sweep", "--l1", "0,x"], "--l1"),
        (&["sweep", "--repeats", "0"], "--repeats"),
        (&["sweep", "--epochs", "0"], "--epochs"),
        (&["sweep", "--hidden", "16,0"], "--hidden"),
        (&["sweep", "--lr", "-1"], "--lr"),
        (&["sweep", "--jobs", "0"], "--jobs"),
        (&["sweep", "--data-dir", "/no/such/dir"], "--data-dir"),
        (&["--headless", "sweep"], "sweep"),
    ] {
        let out = relutui(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let out = relutui(&["sweep", "--dataset", "mnist", "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
}
