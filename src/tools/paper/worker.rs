//! Running the protocol on this machine: the unfinished runs as child processes, `--jobs` at a
//! time, with SIGINT, SIGTERM and SIGHUP passed on to them and a progress line on stderr.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::grid::Run;
use crate::cli::paper::PaperArgs;

/// The signal that stopped `relutui paper` (0: none yet).
pub(super) static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// Passes SIGINT, SIGTERM and SIGHUP on to the running runs (they checkpoint and stop) and
/// remembers it: no new run starts.
fn listen_for_signals(children: Arc<std::sync::Mutex<Vec<u32>>>) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("paper-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                SIGNALLED.store(sig, Ordering::SeqCst);
                let pids = children.lock().map(|p| p.clone()).unwrap_or_default();
                for pid in pids {
                    // The runs may share our process group (a terminal's Ctrl-C reaches them
                    // already); a second signal is harmless: they stop once.
                    let _ = Command::new("kill")
                        .arg(format!("-{sig}"))
                        .arg(pid.to_string())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
            }
        })?;
    Ok(())
}

/// Counts complete lines, for the progress line.
fn epochs_logged(path: &Path) -> usize {
    crate::frontend::run_dir::read_log(path).map_or(0, |(l, _)| l.len())
}

/// Trains the runs not yet done, `--jobs` at a time; the names of those that failed.
pub(super) fn train_all(
    args: &PaperArgs,
    exe: &Path,
    todo: &[&Run],
) -> Result<Vec<String>, String> {
    let dir = &args.out_dir;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, todo.len().max(1));
    let pids = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    listen_for_signals(Arc::clone(&pids)).map_err(|e| format!("cannot listen for signals: {e}"))?;
    let progress = io::stderr().is_terminal();
    let started = Instant::now();
    let total_epochs = todo.len() * args.epochs;
    let logged_before: usize = todo.iter().map(|r| epochs_logged(&r.log(dir))).sum();
    let mut queue = todo.iter().copied();
    let mut running: Vec<(&Run, Child)> = Vec::new();
    let mut failed = Vec::new();
    let mut finished = 0usize;
    let mut last_progress = Instant::now()
        .checked_sub(Duration::from_secs(10))
        .unwrap_or_else(Instant::now);
    loop {
        while running.len() < jobs && SIGNALLED.load(Ordering::SeqCst) == 0 {
            let Some(run) = queue.next() else { break };
            let err = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(run.stderr_file(dir))
                .map_err(|e| format!("{}: {e}", run.stderr_file(dir).display()))?;
            let child = Command::new(exe)
                .args(&run.args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
            if let Ok(mut p) = pids.lock() {
                p.push(child.id());
            }
            running.push((run, child));
        }
        if running.is_empty() {
            break;
        }
        let mut i = 0;
        while i < running.len() {
            match running[i].1.try_wait() {
                Ok(Some(status)) => {
                    let (run, child) = running.swap_remove(i);
                    if let Ok(mut p) = pids.lock() {
                        p.retain(|&id| id != child.id());
                    }
                    if status.success() {
                        finished += 1;
                    } else if SIGNALLED.load(Ordering::SeqCst) == 0 {
                        failed.push(run.name.clone());
                    }
                }
                Ok(None) => i += 1,
                Err(e) => return Err(format!("waiting for {}: {e}", running[i].0.name)),
            }
        }
        if progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let logged: usize = todo.iter().map(|r| epochs_logged(&r.log(dir))).sum();
            let new = logged.saturating_sub(logged_before);
            let left = total_epochs.saturating_sub(logged);
            let eta = if new == 0 {
                "ETA -".to_string()
            } else {
                let per = started.elapsed().as_secs_f64() / new as f64;
                format!("ETA ≤ {}", hms(per * left as f64))
            };
            let _ = write!(
                io::stderr(),
                "\r\x1b[2Kpaper: {finished}/{} runs done, {} running, {logged}/{total_epochs} epochs at most, {eta}",
                todo.len(),
                running.len()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if progress {
        let _ = writeln!(io::stderr());
    }
    Ok(failed)
}

fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
}
