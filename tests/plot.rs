//! `relutui plot` on logs, sweep folders and paper JSON that the test writes in the real
//! formats: the SVG parses as XML and holds a line per series, axis labels and a legend; bad
//! input gives one line naming the file and exit code 2.

#[path = "support/common.rs"]
mod common;

use std::fs;
use std::path::Path;

use common::relutui;
use serde_json::{json, Value};

/// One epoch line with every field relutui writes (values made up, shapes real).
fn line(net: &str, epoch: usize, lr: f64, l1: f64, seed: u64, err: f64, sp: f64) -> Value {
    let e = epoch as f64;
    json!({
        "net": net, "epoch": epoch, "step": epoch * 800, "diverged": false,
        "train_error": err * 0.5 / e, "valid_error": err / e, "test_error": err * 1.1 / e,
        "loss": 0.3 / e, "l1_penalty": 0.1,
        "sparsity": [sp, sp * 0.9, sp * 0.8], "dead_units": [0, 0, 0],
        "saturated_units": [0, 0, 0], "mean_activation": [0.1, 0.1, 0.1],
        "active_units": [10.0, 12.0, 14.0], "lr": lr, "l1": l1, "seed": seed,
        "examples_per_sec": 1000.0, "epoch_seconds": 1.0, "probe_examples": 100,
        "active_rule": "nonzero", "active_threshold": [0.0, 0.0, 0.0],
        "active_set_stability": [0.8, 0.85, null],
        "active_units_hist": [], "active_ink_correlation": [0.1, 0.2, null],
        "linear_probe_error": [0.06, 0.05 / e, 0.04], "linear_probe_error_pixels": 0.2,
        "linear_probe_fit_examples": 200, "flops_dense": 1000.0, "flops_if_sparse": 200.0,
        "silent_units": [0, 0, 0], "died_this_epoch": [0, 0, 0]
    })
}

/// A lockstep log of 4 epochs with an lr change after epoch 2, and a line cut short.
fn write_log(path: &Path) {
    let mut text = String::new();
    for epoch in 1..=4 {
        let lr = if epoch <= 2 { 0.1 } else { 0.05 };
        text += &(line("rectifier", epoch, lr, 0.001, 1, 0.1, 0.8).to_string() + "\n");
        text += &(line("tanh", epoch, lr, 0.001, 1, 0.2, 0.0).to_string() + "\n");
    }
    text += r#"{"net":"rectifier","epoch":5,"tra"#;
    fs::write(path, text).unwrap();
}

struct Svg {
    text: String,
}

impl Svg {
    fn read(path: &Path) -> Self {
        let text = fs::read_to_string(path).unwrap();
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("not XML: {e}"));
        Svg { text }
    }

    fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.text).unwrap()
    }

    /// The words of every <text> element.
    fn texts(&self) -> Vec<String> {
        self.doc()
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect()
    }

    fn has_text(&self, t: &str) -> bool {
        self.texts().iter().any(|x| x == t)
    }

    /// Polylines with exactly `n` points: the series of an `n`-epoch log (legend samples have 2).
    fn polylines_with(&self, n: usize) -> usize {
        self.doc()
            .descendants()
            .filter(|p| p.has_tag_name("polyline"))
            .filter(|p| {
                p.attribute("points")
                    .unwrap_or("")
                    .split_whitespace()
                    .count()
                    == n
            })
            .count()
    }

    fn count(&self, tag: &str) -> usize {
        self.doc()
            .descendants()
            .filter(|n| n.has_tag_name(tag))
            .count()
    }

    fn width(&self) -> u32 {
        self.doc()
            .root_element()
            .attribute("width")
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn plot(args: &[&str]) -> std::process::Output {
    let out = relutui(&[&["plot"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn error_curves_have_a_line_per_split_and_network_labels_and_a_legend() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    write_log(&log);
    let svg_path = dir.path().join("errors.svg");
    let out = plot(&[
        "errors",
        log.to_str().unwrap(),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped 1 lines"), "{stderr}");
    let svg = Svg::read(&svg_path);
    assert_eq!(svg.polylines_with(4), 6, "train, valid, test × 2 networks");
    for t in [
        "epoch",
        "error (%)",
        "train",
        "validation",
        "test",
        "rectifier",
        "tanh",
    ] {
        assert!(svg.has_text(t), "no text {t:?} in {:?}", svg.texts());
    }
    assert!(svg.has_text("Classification error per epoch (dashed: lr / L1 changes)"));
    assert_eq!(svg.width(), 960);
}

#[test]
fn sparsity_has_a_line_per_layer_and_marks_the_lr_change() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    write_log(&log);
    let svg_path = dir.path().join("sparsity.svg");
    plot(&[
        "sparsity",
        log.to_str().unwrap(),
        "--out",
        svg_path.to_str().unwrap(),
        "--width",
        "600",
    ]);
    let svg = Svg::read(&svg_path);
    assert_eq!(svg.polylines_with(4), 6, "3 layers × 2 networks");
    for t in [
        "layer 1",
        "layer 3",
        "exact zeros, validation set (%)",
        "lr 0.1→0.05",
    ] {
        assert!(svg.has_text(t), "no text {t:?} in {:?}", svg.texts());
    }
    assert!(svg.has_text("tanh (no exact zeros)"));
    assert_eq!(svg.width(), 600);
}

#[test]
fn claims_put_stability_and_probe_error_per_layer_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    write_log(&log);
    let out = plot(&["claims", log.to_str().unwrap(), "-o", "-"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let p = dir.path().join("claims.svg");
    fs::write(&p, &text).unwrap();
    let svg = Svg::read(&p);
    // Layer 3's stability is null throughout: 2 stability lines and 3 probe lines per network.
    assert_eq!(svg.polylines_with(4), 10);
    for t in [
        "rectifier: active-set stability",
        "tanh: linear-probe error",
        "Jaccard overlap under noise",
        "probe validation error (%)",
        "pixels (20)",
    ] {
        assert!(svg.has_text(t), "no text {t:?} in {:?}", svg.texts());
    }
}

#[test]
fn the_figure_3_scatter_draws_a_point_per_run_and_lists_runs_at_chance() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (l1, seed, err, sp)) in [
        (0.0, 1, 0.03, 0.6),
        (0.0, 2, 0.032, 0.61),
        (0.001, 1, 0.035, 0.9),
        (0.01, 1, 0.88, 1.0),
    ]
    .iter()
    .enumerate()
    {
        let lines: String = (1..=2)
            .map(|e| line("rectifier", e, 0.1, *l1, *seed, *err * 2.0, *sp).to_string() + "\n")
            .collect();
        fs::write(dir.path().join(format!("run{i}.jsonl")), lines).unwrap();
    }
    fs::write(dir.path().join("notes.txt"), "not a run").unwrap();
    let svg_path = dir.path().join("fig3.svg");
    plot(&[
        "scatter",
        dir.path().to_str().unwrap(),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    let svg = Svg::read(&svg_path);
    // 3 runs drawn plus one legend dot for each of the 2 L1 values drawn.
    assert_eq!(svg.count("circle"), 5, "{:?}", svg.texts());
    assert!(svg.has_text("L1 = 0 (2 runs)"), "{:?}", svg.texts());
    assert!(svg.has_text("final test error (%)"));
    assert!(svg
        .texts()
        .iter()
        .any(|t| t.starts_with("not drawn, at chance level: L1 0.01")));
}

#[test]
fn table_1_bars_stand_beside_the_papers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("paper.json");
    fs::write(
        &p,
        r#"{"dataset":"mnist","rows":[
            {"activation":"rectifier","test_error":0.0150,"sparsity":0.85},
            {"activation":"tanh","test_error":0.0170},
            {"activation":"softplus","test_error_at_best":0.0190}]}"#,
    )
    .unwrap();
    let svg_path = dir.path().join("t1.svg");
    plot(&[
        "table1",
        p.to_str().unwrap(),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    let svg = Svg::read(&svg_path);
    for t in [
        "1.50 %, sp. 85 %",
        "1.43 %, sp. 83 %",
        "1.57 %",
        "1.90 %",
        "relutui",
        "paper (Glorot et al. 2011)",
        "test error (%)",
        "softplus",
    ] {
        assert!(svg.has_text(t), "no text {t:?} in {:?}", svg.texts());
    }
}

#[test]
fn bad_input_gives_one_line_naming_the_file_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    fs::write(&empty, "garbage\n").unwrap();
    let log = dir.path().join("run.jsonl");
    write_log(&log);
    let bad_json = dir.path().join("t.json");
    fs::write(&bad_json, "{\"rows\": 3}").unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["errors".into(), "/no/such.jsonl".into()],
            "/no/such.jsonl".into(),
        ),
        (
            vec!["errors".into(), empty.display().to_string()],
            "holds no epoch lines".into(),
        ),
        (
            vec![
                "sparsity".into(),
                log.display().to_string(),
                "-o".into(),
                "/no/such/dir/x.svg".into(),
            ],
            "--out /no/such/dir/x.svg".into(),
        ),
        (
            vec![
                "scatter".into(),
                dir.path().join("nope").display().to_string(),
            ],
            "nope".into(),
        ),
        (
            vec!["table1".into(), bad_json.display().to_string()],
            "t.json".into(),
        ),
        (
            vec![
                "errors".into(),
                log.display().to_string(),
                "--width".into(),
                "5".into(),
            ],
            "--width".into(),
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = std::iter::once("plot")
            .chain(args.iter().map(String::as_str))
            .collect();
        let out = relutui(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(&needle), "{args:?}: {err}");
    }
}
