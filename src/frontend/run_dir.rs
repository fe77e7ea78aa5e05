//! Run directories: every training run, dashboard or headless, has one.
//!
//! ```text
//!  runs/20261202-071503-rectifier,tanh/
//!    run.json            what the run is and how it ended (rewritten when it ends)
//!    log.jsonl           the JSON-lines log (unless --log names another file)
//!    checkpoint.relutui  the checkpoint (unless --checkpoint names another file)
//!    lock                held (flock) by the process that trains here
//!    control/            mode 0700, owner only
//!      socket            the control socket (mode 0600) that `relutui attach` connects to
//! ```
//!
//! The default is `runs/<UTC time>-<activations>` under the working directory, with `-2`,
//! `-3`, … when two runs start in the same second. `--run-dir DIR` chooses another. A run
//! directory that a live process holds, or that already holds a run, is refused (resume that
//! run with `--resume DIR/checkpoint.relutui`, which goes on in the same directory, or give
//! `--continue`, which does that when there is a run and starts one when there is none: the
//! plan lines of `relutui sweep` and `relutui paper` use it, so that they are safe to rerun).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::protocol::EpochReport;

/// Where default run directories go, under the working directory.
pub const RUNS: &str = "runs";
pub const META: &str = "run.json";
pub const LOG: &str = "log.jsonl";
pub const CHECKPOINT: &str = "checkpoint.relutui";
const LOCK: &str = "lock";
/// The owner-only directory that holds the socket.
pub const CONTROL: &str = "control";
pub const SOCKET: &str = "socket";

/// `run.json`: what a run is, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The protocol version its control socket speaks.
    pub protocol: u32,
    pub pid: u32,
    /// UTC, `2026-12-02T07:15:03Z`.
    pub started: String,
    pub command: Vec<String>,
    pub dataset: String,
    pub activations: Vec<String>,
    pub hidden: Vec<usize>,
    /// The epochs to train; `None` until quit.
    pub epochs: Option<usize>,
    pub headless: bool,
    /// The JSON-lines log (absolute, or relative to the run directory).
    pub log: PathBuf,
    pub checkpoint: Option<PathBuf>,
    /// `None` while it runs, and after a crash.
    pub ended: Option<Ending>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Ending {
    /// It trained all its epochs.
    Done,
    /// Someone quit it (`q` in its dashboard, the stop key in a viewer).
    Quit,
    /// A signal stopped it.
    Signal { signal: i32 },
    /// It stopped on an error.
    Failed { message: String },
}

/// A run directory held by this process: the lock is released when it is dropped.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    _lock: File,
    meta: Meta,
}

/// The current UTC time as `(compact, iso)`: `20261202-071503` and `2026-12-02T07:15:03Z`.
pub fn utc_now() -> (String, String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (
        format!("{y:04}{mo:02}{d:02}-{hh:02}{mm:02}{ss:02}"),
        format!("{y:04}-{mo:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
    )
}

/// Whether `dir` holds a run (its `run.json`).
pub fn is_run_dir(dir: &Path) -> bool {
    dir.join(META).is_file()
}

impl RunDir {
    /// Takes the run directory for a new run: `explicit` (`--run-dir`), else `resumed` (the
    /// directory of the checkpoint being resumed, when it is a run directory), else a fresh
    /// `runs/<time>-<activations>`. `meta` is written to it (its `started`/`pid` filled in).
    /// The error is one line naming the directory.
    pub fn take(
        explicit: Option<&Path>,
        resumed: Option<&Path>,
        mut meta: Meta,
    ) -> Result<Self, String> {
        let (stamp, iso) = utc_now();
        meta.started = iso;
        meta.pid = std::process::id();
        let (path, reuse) = if let Some(dir) = explicit {
            let reuse = resumed.is_some_and(|r| same_dir(r, dir));
            fs::create_dir_all(dir)
                .map_err(|e| format!("--run-dir {}: cannot create it: {e}", dir.display()))?;
            (dir.to_path_buf(), reuse)
        } else if let Some(dir) = resumed {
            (dir.to_path_buf(), true)
        } else {
            let acts = meta.activations.join(",");
            (fresh_dir(&stamp, &acts)?, false)
        };
        let flag = if explicit.is_some() {
            "--run-dir"
        } else {
            "run directory"
        };
        let lock = lock(&path).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
        if !reuse && is_run_dir(&path) {
            // This process holds the lock now: how it ended is in run.json.
            let state = match read_meta(&path).map(|m| m.ended) {
                None => "unreadable".to_string(),
                Some(None) => "crashed".into(),
                Some(Some(Ending::Done)) => "done".into(),
                Some(Some(_)) => "stopped".into(),
            };
            return Err(format!(
                "{flag} {}: it already holds a run ({state}); choose another directory, or \
                 continue that run with --resume {}",
                path.display(),
                path.join(CHECKPOINT).display()
            ));
        }
        let dir = Self {
            path,
            _lock: lock,
            meta,
        };
        dir.write_meta()
            .map_err(|e| format!("{flag} {}: cannot write {META}: {e}", dir.path.display()))?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The default log file.
    pub fn log_path(&self) -> PathBuf {
        self.path.join(LOG)
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.path.join(CHECKPOINT)
    }

    /// The owner-only directory for the socket, created (mode 0700) if need be. Refused when
    /// it belongs to another user or others can enter it and it cannot be fixed.
    pub fn control_dir(&self) -> io::Result<PathBuf> {
        let dir = self.path.join(CONTROL);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let md = fs::symlink_metadata(&dir)?;
        if !md.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        if md.uid() != rustix::process::getuid().as_raw() {
            return Err(io::Error::other(format!(
                "{} belongs to another user",
                dir.display()
            )));
        }
        if md.mode() & 0o777 != 0o700 {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(dir)
    }

    /// Records how the run ended.
    pub fn finish(&mut self, ending: Ending) -> io::Result<()> {
        self.meta.ended = Some(ending);
        self.write_meta()
    }

    fn write_meta(&self) -> io::Result<()> {
        let tmp = self.path.join(format!(".{META}.tmp"));
        let mut f = File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut f, &self.meta)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, self.path.join(META))
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `runs/<stamp>-<acts>`, or with `-2`, `-3`, … when it exists.
fn fresh_dir(stamp: &str, acts: &str) -> Result<PathBuf, String> {
    let runs = Path::new(RUNS);
    fs::create_dir_all(runs).map_err(|e| {
        format!("cannot create the run directory {RUNS}/: {e} (choose one with --run-dir DIR)")
    })?;
    for n in 1..=1000 {
        let name = if n == 1 {
            format!("{stamp}-{acts}")
        } else {
            format!("{stamp}-{acts}-{n}")
        };
        let dir = runs.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(format!(
                    "cannot create the run directory {}: {e} (choose one with --run-dir DIR)",
                    dir.display()
                ))
            }
        }
    }
    Err(format!(
        "{RUNS}/ has 1000 runs named {stamp}-{acts}: choose one with --run-dir DIR"
    ))
}

/// Takes the directory's lock, or says which process holds it.
fn lock(dir: &Path) -> Result<File, String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK))
        .map_err(|e| format!("cannot open its lock file: {e}"))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => {
            let pid = read_meta(dir)
                .map_or_else(|| "another process".into(), |m| format!("pid {}", m.pid));
            Err(format!(
                "a running relutui ({pid}) trains in it; watch it with `relutui attach {}`, or \
                 choose another directory with --run-dir DIR",
                dir.display()
            ))
        }
        Err(e) => Err(format!("cannot lock it: {e}")),
    }
}

/// Whether a process holds the directory's lock right now.
pub fn is_locked(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(LOCK)) else {
        return false;
    };
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared) {
        Ok(()) => false,
        Err(e) => e == rustix::io::Errno::WOULDBLOCK,
    }
}

pub fn read_meta(dir: &Path) -> Option<Meta> {
    let text = fs::read_to_string(dir.join(META)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The socket's path in `dir`'s control directory.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(CONTROL).join(SOCKET)
}

/// A socket path short enough for `sockaddr_un` (108 bytes): long ones are reached through
/// `/proc/self/fd/N/`, with the directory held open for as long as this lives.
pub struct ShortPath {
    _dir: Option<File>,
    pub path: PathBuf,
}

impl ShortPath {
    pub fn new(socket: &Path) -> io::Result<Self> {
        if socket.as_os_str().len() < 100 {
            return Ok(Self {
                _dir: None,
                path: socket.to_path_buf(),
            });
        }
        let parent = socket.parent().unwrap_or(Path::new("."));
        let name = socket.file_name().unwrap_or_default();
        let dir = File::open(parent)?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&dir);
        Ok(Self {
            _dir: Some(dir),
            path: Path::new(&format!("/proc/self/fd/{fd}")).join(name),
        })
    }
}

/// Connects to the control socket in `dir`.
pub fn connect(dir: &Path) -> io::Result<UnixStream> {
    let short = ShortPath::new(&socket_path(dir))?;
    UnixStream::connect(&short.path)
}

/// The state of a run as `relutui ls` shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Its process holds the lock and its socket answers.
    Running,
    Done,
    Stopped(String),
    /// Its log has no end and nothing holds the directory.
    Crashed,
}

impl RunState {
    pub fn name(&self) -> String {
        match self {
            RunState::Running => "running".into(),
            RunState::Done => "done".into(),
            RunState::Stopped(how) => format!("stopped ({how})"),
            RunState::Crashed => "crashed".into(),
        }
    }
}

/// What `relutui ls` says about one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub path: PathBuf,
    pub meta: Meta,
    pub state: RunState,
    /// Epochs in the log (the highest epoch number).
    pub epochs_done: usize,
    /// Per network, in the order they first appear in the log: its best validation error.
    pub best_valid: Vec<(String, f64)>,
}

/// Reads a run directory; `None` when it is not one.
pub fn summarize(dir: &Path) -> Option<Summary> {
    let meta = read_meta(dir)?;
    let live = is_locked(dir) || connect(dir).is_ok();
    let state = if live {
        RunState::Running
    } else {
        match &meta.ended {
            Some(Ending::Done) => RunState::Done,
            Some(Ending::Quit) => RunState::Stopped("quit".into()),
            Some(Ending::Signal { signal }) => RunState::Stopped(format!("signal {signal}")),
            Some(Ending::Failed { message }) => RunState::Stopped(format!("error: {message}")),
            None => RunState::Crashed,
        }
    };
    let log = if meta.log.is_absolute() {
        meta.log.clone()
    } else {
        dir.join(&meta.log)
    };
    let reports = read_log(&log).map(|(r, _)| r).unwrap_or_default();
    let mut best_valid: Vec<(String, f64)> = Vec::new();
    for r in &reports {
        match best_valid.iter_mut().find(|(n, _)| *n == r.net) {
            Some((_, v)) => *v = v.min(r.valid_error),
            None => best_valid.push((r.net.clone(), r.valid_error)),
        }
    }
    Some(Summary {
        path: dir.to_path_buf(),
        epochs_done: reports.iter().map(|r| r.epoch).max().unwrap_or(0),
        meta,
        state,
        best_valid,
    })
}

/// The epoch reports of a JSON-lines log, and whether its last line was cut short (a crash
/// mid-write). A line that is not a report is an error naming its number.
/// A `--pretrain` epoch line (`"phase":"pretrain"`): not a supervised epoch report.
fn is_pretrain_line(line: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(line)
        .is_ok_and(|v| v.get("phase").and_then(serde_json::Value::as_str) == Some("pretrain"))
}

pub fn read_log(path: &Path) -> Result<(Vec<EpochReport>, bool), String> {
    let file = File::open(path).map_err(|e| format!("{}: cannot open it: {e}", path.display()))?;
    let mut reports = Vec::new();
    let mut lines = BufReader::new(file).split(b'\n').enumerate().peekable();
    let mut cut = false;
    while let Some((i, line)) = lines.next() {
        let line = line.map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) || is_pretrain_line(&line) {
            continue;
        }
        match serde_json::from_slice::<EpochReport>(&line) {
            Ok(r) => reports.push(r),
            // The last line of a crashed run may be cut short.
            Err(_) if lines.peek().is_none() => cut = true,
            Err(e) => {
                return Err(format!(
                    "{}: line {} is not an epoch report: {e}",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    Ok((reports, cut))
}

/// The run directories directly in `dir` (or `dir` itself when it is one), oldest first.
pub fn list(dir: &Path) -> io::Result<Vec<Summary>> {
    if is_run_dir(dir) {
        return Ok(summarize(dir).into_iter().collect());
    }
    let mut runs: Vec<Summary> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter_map(|p| summarize(&p))
        .collect();
    runs.sort_by(|a, b| (&a.meta.started, &a.path).cmp(&(&b.meta.started, &b.path)));
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_have_the_right_shape() {
        let (compact, iso) = utc_now();
        assert_eq!(compact.len(), 15, "{compact}");
        assert_eq!(iso.len(), 20, "{iso}");
        assert!(iso.ends_with('Z') && iso.starts_with("20"), "{iso}");
    }

    fn meta() -> Meta {
        Meta {
            protocol: 1,
            pid: 0,
            started: String::new(),
            command: vec![],
            dataset: "mnist10k".into(),
            activations: vec!["rectifier".into()],
            hidden: vec![10],
            epochs: Some(1),
            headless: true,
            log: LOG.into(),
            checkpoint: None,
            ended: None,
        }
    }

    #[test]
    fn a_run_dir_is_refused_while_held_and_once_used() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("r");
        let mut held = RunDir::take(Some(&dir), None, meta()).unwrap();
        let err = RunDir::take(Some(&dir), None, meta()).unwrap_err();
        assert!(err.contains("a running relutui"), "{err}");
        assert!(is_locked(&dir));
        held.finish(Ending::Done).unwrap();
        drop(held);
        assert!(!is_locked(&dir));
        let err = RunDir::take(Some(&dir), None, meta()).unwrap_err();
        assert!(err.contains("already holds a run (done)"), "{err}");
        // Resuming goes on in the same directory.
        RunDir::take(Some(&dir), Some(&dir), meta()).unwrap();
    }

    #[test]
    fn the_control_dir_is_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::take(Some(&tmp.path().join("r")), None, meta()).unwrap();
        let control = run.control_dir().unwrap();
        let mode = fs::metadata(&control).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&control, fs::Permissions::from_mode(0o755)).unwrap();
        run.control_dir().unwrap();
        assert_eq!(fs::metadata(&control).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_log_cut_short_reads_up_to_its_last_whole_line() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log.jsonl");
        fs::write(&log, "").unwrap();
        assert_eq!(read_log(&log).unwrap(), (vec![], false));
        fs::write(&log, "{\"net\": \"rect").unwrap();
        assert_eq!(read_log(&log).unwrap(), (vec![], true));
        fs::write(&log, "garbage\n{}\n").unwrap();
        let err = read_log(&log).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }
}
