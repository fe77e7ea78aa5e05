//! Reading relutui's JSON lines for the figures, tolerantly: a log from an older or newer
//! relutui, a line cut short by a crash or a line that is not JSON at all must not stop a
//! figure. Every field is looked up by name and may be missing.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Logs at least this large show a progress bar while they are read (on a terminal).
const PROGRESS_BYTES: u64 = 16 << 20;

/// One network's measurements at the end of one epoch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    pub epoch: f64,
    pub train_error: Option<f64>,
    pub valid_error: Option<f64>,
    pub test_error: Option<f64>,
    /// Per hidden layer: the fraction of exact zeros on the validation set.
    pub sparsity: Vec<f64>,
    pub lr: Option<f64>,
    pub l1: Option<f64>,
    /// Per hidden layer; `None` for a layer silent on the whole probe.
    pub stability: Vec<Option<f64>>,
    pub probe_error: Vec<Option<f64>>,
    pub probe_error_pixels: Option<f64>,
    pub diverged: bool,
}

/// The epochs of one network in one log, in epoch order.
#[derive(Debug, Clone, PartialEq)]
pub struct NetSeries {
    pub file: PathBuf,
    /// `rectifier`, `tanh`, ... (with `seed N` when one file holds several seeds).
    pub net: String,
    pub seed: Option<u64>,
    pub points: Vec<Point>,
}

impl NetSeries {
    /// Hidden layers seen in any epoch.
    pub fn layers(&self) -> usize {
        self.points
            .iter()
            .map(|p| p.sparsity.len().max(p.stability.len()))
            .max()
            .unwrap_or(0)
    }
}

/// Everything read from one log, with what was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRead {
    pub nets: Vec<NetSeries>,
    /// Lines that were not JSON objects with a `net` and an `epoch`.
    pub skipped: usize,
}

/// Why a log could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{}: {msg}", path.display())]
pub struct LogError {
    pub path: PathBuf,
    pub msg: String,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64).filter(|x| x.is_finite())
}

fn nums(v: &Value, key: &str) -> Vec<f64> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn opt_nums(v: &Value, key: &str) -> Vec<Option<f64>> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| x.as_f64().filter(|x| x.is_finite()))
                .collect()
        })
        .unwrap_or_default()
}

/// One JSON line as a point, or `None` when it is not an epoch line.
pub fn parse_line(line: &str) -> Option<(String, Option<u64>, Point)> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    // Pre-training lines (`--pretrain`) count their own epochs: not the supervised curves.
    if v.get("phase").and_then(Value::as_str) == Some("pretrain") {
        return None;
    }
    let net = v.get("net")?.as_str()?.to_string();
    let epoch = num(&v, "epoch")?;
    let seed = v.get("seed").and_then(Value::as_u64);
    let point = Point {
        epoch,
        train_error: num(&v, "train_error"),
        valid_error: num(&v, "valid_error"),
        test_error: num(&v, "test_error"),
        sparsity: nums(&v, "sparsity"),
        lr: num(&v, "lr"),
        l1: num(&v, "l1"),
        stability: opt_nums(&v, "active_set_stability"),
        probe_error: opt_nums(&v, "linear_probe_error"),
        probe_error_pixels: num(&v, "linear_probe_error_pixels"),
        diverged: v.get("diverged").and_then(Value::as_bool).unwrap_or(false),
    };
    Some((net, seed, point))
}

/// Reads every epoch line of `reader`, grouping them by network (and seed, when a file holds
/// several, as a sweep's stdout does). A repeated epoch keeps its last line: a run resumed
/// from a checkpoint older than its log's end writes those epochs again.
pub fn read_lines(file: &Path, reader: impl BufRead) -> io::Result<LogRead> {
    let mut raw: Vec<(String, Option<u64>, Point)> = Vec::new();
    let mut skipped = 0;
    for line in reader.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(&text) {
            Some(p) => raw.push(p),
            None => skipped += 1,
        }
    }
    let mut seeds: Vec<Option<u64>> = raw.iter().map(|r| r.1).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let several_seeds = seeds.len() > 1;
    let mut nets: Vec<NetSeries> = Vec::new();
    for (net, seed, point) in raw {
        let name = if several_seeds {
            seed.map_or(net.clone(), |s| format!("{net} seed {s}"))
        } else {
            net.clone()
        };
        let series = if let Some(s) = nets.iter_mut().find(|s| s.net == name) {
            s
        } else {
            nets.push(NetSeries {
                file: file.to_path_buf(),
                net: name,
                seed,
                points: Vec::new(),
            });
            nets.last_mut().expect("just pushed")
        };
        series
            .points
            .retain(|p| p.epoch.to_bits() != point.epoch.to_bits());
        series.points.push(point);
    }
    for s in &mut nets {
        s.points.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
    }
    Ok(LogRead { nets, skipped })
}

/// Reads the log at `path`, with a progress bar on a terminal when it is large.
pub fn read_log(path: &Path) -> Result<LogRead, LogError> {
    let err = |msg: String| LogError {
        path: path.to_path_buf(),
        msg,
    };
    let file = File::open(path).map_err(|e| err(format!("cannot open it: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| err(format!("cannot read it: {e}")))?;
    if meta.is_dir() {
        return Err(err("is a folder, not a JSON-lines log".into()));
    }
    let bar = (meta.len() >= PROGRESS_BYTES && io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(meta.len());
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} eta {eta}")
                .expect("a valid template"),
        );
        bar.set_message(format!("reading {}", path.display()));
        bar
    });
    let reader: Box<dyn Read> = match &bar {
        Some(b) => Box::new(b.wrap_read(file)),
        None => Box::new(file),
    };
    let read = read_lines(path, BufReader::new(reader))
        .map_err(|e| err(format!("cannot read it: {e}")))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if read.nets.is_empty() {
        return Err(err(format!(
            "holds no epoch lines (JSON objects with \"net\" and \"epoch\"){}",
            if read.skipped > 0 {
                format!("; {} other lines skipped", read.skipped)
            } else {
                String::new()
            }
        )));
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_group_by_network_and_bad_lines_are_counted_not_fatal() {
        let text = concat!(
            r#"{"net":"rectifier","epoch":1,"test_error":0.1,"sparsity":[0.5,0.6],"lr":0.1}"#,
            "\n",
            r#"{"net":"tanh","epoch":1,"test_error":0.2,"active_set_stability":[0.5,null]}"#,
            "\nnot json\n",
            r#"{"net":"rectifier","epoch":2,"test_error":0.05}"#,
            "\n",
            r#"{"net":"rectifier","epoch":1,"test_error":0.09}"#,
            "\n",
            r#"{"net":"tanh","epoch":2,"test_err"#,
        );
        let read = read_lines(Path::new("x"), text.as_bytes()).unwrap();
        assert_eq!(read.skipped, 2);
        assert_eq!(read.nets.len(), 2);
        let r = &read.nets[0];
        assert_eq!(r.net, "rectifier");
        let epochs: Vec<f64> = r.points.iter().map(|p| p.epoch).collect();
        assert_eq!(epochs, vec![1.0, 2.0]);
        assert_eq!(
            r.points[0].test_error,
            Some(0.09),
            "a repeated epoch keeps its last line"
        );
        assert_eq!(r.layers(), 0, "the repeated line has no sparsity");
        assert_eq!(read.nets[1].points[0].stability, vec![Some(0.5), None]);
    }

    #[test]
    fn several_seeds_in_one_file_are_separate_series() {
        let text = concat!(
            r#"{"net":"rectifier","epoch":1,"seed":1}"#,
            "\n",
            r#"{"net":"rectifier","epoch":1,"seed":2}"#,
            "\n"
        );
        let read = read_lines(Path::new("x"), text.as_bytes()).unwrap();
        let names: Vec<&str> = read.nets.iter().map(|n| n.net.as_str()).collect();
        assert_eq!(names, vec!["rectifier seed 1", "rectifier seed 2"]);
    }
}
