//! `relutui bench --viewers N`: what attached viewers cost a run.
//!
//! A headless rectifier run (one network: one training thread, at this process's SIMD level)
//! trains in a child process with a run directory; this process attaches `N` protocol clients
//! to it on every other epoch and none on the others, in the same run, so that the machine's
//! load falls on both kinds of epoch alike. The clients read every frame, as a dashboard's
//! socket thread does, so the figure is the run's side of the cost: encoding, queueing and
//! writing the frames. The first epoch warms up and counts for neither.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::dashboard::attach::Connection;
use crate::engine::nn::simd;
use crate::frontend::run_dir;
use crate::protocol::EpochReport;

/// The JSON line of `relutui bench --viewers N`.
#[derive(Debug, Clone, Serialize)]
pub struct ViewersMeasurement {
    /// Always `"viewers"`.
    pub measurement: &'static str,
    pub viewers: usize,
    pub simd: String,
    pub hidden: Vec<usize>,
    pub epochs: usize,
    /// Per epoch (1-based, from 2): whether the viewers were attached through it.
    pub attached: Vec<bool>,
    pub median_epoch_seconds_without: f64,
    pub median_epoch_seconds_with: f64,
    /// With ÷ without: 1.05 is 5 % slower with the viewers.
    pub ratio: f64,
}

/// The child run; killed and its directory removed on drop.
struct Run {
    child: Child,
    root: PathBuf,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn log(dir: &Path) -> Vec<EpochReport> {
    run_dir::read_log(&dir.join(run_dir::LOG)).map_or_else(|_| Vec::new(), |(r, _)| r)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the measurement: `epochs` epochs of a rectifier with `hidden` on mnist10k.
pub fn measure(
    viewers: usize,
    epochs: usize,
    hidden: &[usize],
) -> std::io::Result<ViewersMeasurement> {
    let exe = std::env::current_exe()?;
    let root = std::env::temp_dir().join(format!("relutui-bench-viewers-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let dir = root.join("run");
    let widths: Vec<String> = hidden.iter().map(ToString::to_string).collect();
    let child = Process::new(exe)
        .args(["--headless", "--activations", "rectifier"])
        .args(["--simd", simd::active().name()])
        .args(["--hidden", &widths.join(",")])
        .args(["--epochs", &epochs.to_string()])
        .arg("--run-dir")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut run = Run { child, root };
    let mut attached_now: Vec<(Connection, JoinHandle<()>)> = Vec::new();
    // attached[k]: whether epoch k+1 ran with the viewers.
    let mut attached: Vec<bool> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let done = log(&dir).len();
        if done >= epochs {
            break;
        }
        if run.child.try_wait()?.is_some() {
            return Err(std::io::Error::other(format!(
                "the benchmark's run ended after {done} of {epochs} epochs"
            )));
        }
        if Instant::now() > deadline {
            return Err(std::io::Error::other(
                "the benchmark's run took over an hour",
            ));
        }
        if attached.len() <= done {
            // Epochs that ended between two looks ran with the viewers as they were.
            let now = !attached_now.is_empty();
            attached.resize(done, now);
            // Epoch done+1 starts: viewers on even-numbered epochs (from 2), none on odd ones.
            let with = (done + 1) % 2 == 0;
            attached.push(with);
            if with {
                while attached_now.len() < viewers {
                    let Ok(conn) = Connection::open(&dir, true) else {
                        thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    let (ups, sms) = (conn.updates.clone(), conn.samples.clone());
                    let drain = thread::spawn(move || loop {
                        crossbeam_channel::select! {
                            recv(ups) -> m => if m.is_err() { return },
                            recv(sms) -> m => if m.is_err() { return },
                        }
                    });
                    attached_now.push((conn, drain));
                }
            } else {
                for (c, d) in attached_now.drain(..) {
                    c.close();
                    let _ = d.join();
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    for (c, d) in attached_now.drain(..) {
        c.close();
        let _ = d.join();
    }
    let reports = log(&dir);
    let pick = |with: bool| {
        median(
            reports
                .iter()
                .filter(|r| r.epoch >= 2 && attached.get(r.epoch - 1).copied() == Some(with))
                .map(|r| r.epoch_seconds)
                .collect(),
        )
    };
    let (without, with) = (pick(false), pick(true));
    drop(run);
    Ok(ViewersMeasurement {
        measurement: "viewers",
        viewers,
        simd: simd::active().name().to_string(),
        hidden: hidden.to_vec(),
        epochs,
        attached: attached.into_iter().skip(1).collect(),
        median_epoch_seconds_without: without,
        median_epoch_seconds_with: with,
        ratio: with / without,
    })
}
