//! Helpers shared by the test binaries: running the real `relutui`, reading its JSON lines,
//! and a small split of the embedded digits.
#![allow(dead_code, reason = "not every test binary uses every helper")]

use std::process::{Command, Output};

use relutui::engine::data::{self, Splits};
use relutui::protocol::{EpochReport, PretrainReport};
use serde::de::DeserializeOwned;

/// Runs the real binary with `args` and waits for it.
pub fn relutui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_relutui"))
        .args(args)
        .output()
        .expect("run relutui")
}

/// Every stdout line of a successful run, parsed as JSON.
pub fn json_lines<T: DeserializeOwned>(out: &Output) -> Vec<T> {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The first 2,000 training digits with 300 for validation and 300 for test: small enough
/// for a test to train through epochs.
pub fn mnist2k() -> Splits {
    let all = data::mnist10k().unwrap();
    Splits {
        name: "mnist2k".into(),
        train: all.train.slice(0..2000),
        valid: all.valid.slice(0..300),
        test: all.test.slice(0..300),
        classes: 10,
    }
}

/// A report (or any JSON line relutui writes) without the fields that measure time:
/// [`EpochReport::TIMING_FIELDS`] for a supervised epoch, [`PretrainReport::TIMING_FIELDS`] for
/// a pre-training one. Everything else is a function of the seed and the flags. Every one of
/// those fields must be there: a value that never had them cannot pass as timing-free.
pub fn without_timing(report: &impl serde::Serialize) -> serde_json::Value {
    let mut v = serde_json::to_value(report).expect("a report serialises");
    let obj = v.as_object_mut().expect("a report is a JSON object");
    let timing = if obj.get("phase").and_then(|p| p.as_str()) == Some("pretrain") {
        PretrainReport::TIMING_FIELDS
    } else {
        EpochReport::TIMING_FIELDS
    };
    for field in timing {
        assert!(
            obj.remove(*field).is_some(),
            "no timing field {field}: {obj:?}"
        );
    }
    v
}

/// [`without_timing`] of one JSON line.
pub fn line_without_timing(line: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    without_timing(&v)
}
