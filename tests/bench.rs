//! `relutui bench` through the real binary: one JSON line per measurement with the fields the
//! figures are read from, the memory line of the default run, and flag errors.

#[path = "support/common.rs"]
mod common;

use common::{json_lines, relutui};
use serde_json::Value;

fn lines(out: &std::process::Output) -> Vec<Value> {
    json_lines(out)
}

#[test]
fn every_measurement_is_a_json_line_with_its_figures() {
    let out = relutui(&[
        "bench",
        "--hidden",
        "40,30",
        "--warmup-epochs",
        "1",
        "--batch-size",
        "10,20",
        "--threads",
        "1,2",
        "--seconds",
        "0.05",
        "--repeats",
        "3",
        "--baseline",
    ]);
    let lines = lines(&out);
    // 2 batch sizes × 2 thread counts × 2 networks × 3 engines.
    assert_eq!(lines.len(), 24);
    let params = f64::from(784 * 40 + 40 + 40 * 30 + 30 + 30 * 10 + 10);
    for m in &lines {
        let eps = m["examples_per_sec"].as_f64().unwrap();
        assert!(eps > 0.0, "{m}");
        let runs: Vec<f64> = m["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_f64().unwrap())
            .collect();
        assert_eq!(runs.len(), 3);
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        assert!(
            (sorted[1] - eps).abs() < 1e-9,
            "the median of the runs: {m}"
        );
        let gflops = m["dense_gflops_equiv"].as_f64().unwrap();
        assert!((gflops - 6.0 * params * eps / 1e9).abs() < 1e-6 * gflops.max(1.0));
        let engine = m["engine"].as_str().unwrap();
        let sparsity = m["sparsity"].as_array().unwrap();
        if engine == "ndarray_baseline" {
            assert!(sparsity.is_empty());
        } else {
            assert_eq!(sparsity.len(), 2, "{m}");
            assert_eq!(m["sparse_layers"].as_array().unwrap().len(), 3, "{m}");
            let s: Vec<f64> = sparsity.iter().map(|v| v.as_f64().unwrap()).collect();
            match m["net"].as_str().unwrap() {
                // A rectifier starts about half zeros and stays sparse after a warm-up epoch.
                "rectifier" => assert!(s.iter().all(|&v| v > 0.2 && v < 1.0), "{m}"),
                "tanh" => assert!(s.iter().all(|&v| v < 0.01), "{m}"),
                other => panic!("unexpected net {other}"),
            }
        }
        if engine == "relutui_dense" {
            assert!(m["sparse_layers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v == false));
        }
    }
    let combos: Vec<(u64, u64)> = lines
        .iter()
        .map(|m| {
            (
                m["batch_size"].as_u64().unwrap(),
                m["threads"].as_u64().unwrap(),
            )
        })
        .collect();
    for bs in [10, 20] {
        for t in [1, 2] {
            assert_eq!(combos.iter().filter(|&&c| c == (bs, t)).count(), 6);
        }
    }
    // The table on stderr names every engine.
    let err = String::from_utf8_lossy(&out.stderr);
    for name in ["relutui dense-only", "ndarray baseline", "examples/s"] {
        assert!(err.contains(name), "{name} missing from:\n{err}");
    }
}

#[test]
fn the_memory_line_reports_the_default_runs_peak() {
    let out = relutui(&[
        "bench",
        "--memory-epochs",
        "1",
        "--activations",
        "tanh",
        "--hidden",
        "20",
        "--warmup-epochs",
        "0",
        "--seconds",
        "0.05",
        "--repeats",
        "1",
    ]);
    let lines = lines(&out);
    assert_eq!(lines.len(), 2);
    let m = &lines[0];
    assert_eq!(m["measurement"], "default_run_peak_rss");
    assert_eq!(m["epochs"], 1);
    // Two 3×1000 networks are 22 MB of weights alone; the whole run stays well under 1 GB.
    let peak = m["peak_rss_bytes"].as_u64().unwrap();
    assert!(peak > 22_000_000 && peak < 1_000_000_000, "{peak}");
    assert_eq!(lines[1]["net"], "tanh");
}

#[test]
fn bad_flags_exit_2_and_name_the_flag() {
    for (flag, value) in [
        ("--batch-size", "0"),
        ("--threads", "two"),
        ("--kernels", "fast"),
        ("--seconds", "0"),
        ("--activations", "relu6"),
    ] {
        let out = relutui(&["bench", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_crossover_gives_a_line_per_level_pass_batch_and_density_and_a_table() {
    let out = relutui(&[
        "bench",
        "--crossover",
        "--levels",
        "scalar",
        "--batch-size",
        "3,20",
        "--hidden",
        "40",
        "--seconds",
        "0.01",
        "--repeats",
        "1",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines = lines(&out);
    // 1 level × 2 passes × 2 batch sizes × 8 densities.
    assert_eq!(lines.len(), 32);
    for m in &lines {
        assert_eq!(m["measurement"], "crossover");
        assert_eq!(m["simd"], "scalar");
        assert_eq!(m["width"], 40);
        let (s, d) = (
            m["sparse_examples_per_sec"].as_f64().unwrap(),
            m["dense_examples_per_sec"].as_f64().unwrap(),
        );
        assert!(s > 0.0 && d > 0.0, "{m}");
        assert!((m["speedup"].as_f64().unwrap() - s / d).abs() < 1e-9, "{m}");
    }
    for pass in ["train", "forward"] {
        for batch in [3, 20] {
            assert!(
                lines
                    .iter()
                    .filter(|m| m["pass"] == pass && m["batch_size"] == batch)
                    .count()
                    == 8,
                "{pass} {batch}"
            );
        }
    }
    let table = String::from_utf8_lossy(&out.stderr);
    assert!(table.contains("sparse wins up to"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.starts_with("scalar")).count(),
        4,
        "{table}"
    );
}
