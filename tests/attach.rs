//! End to end: one run, many terminals. A headless run with a run directory, steered and
//! watched by `relutui attach` in tmux panes; hostile bytes on its control socket; another
//! user refused; `relutui replay` of a finished log; `--resume` showing the history.
//!
//! tmux must be installed (CI's `.ci/run` installs it).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use relutui::dashboard::attach::Connection;
use relutui::protocol::{EpochReport, Update};

const BIN: &str = env!("CARGO_BIN_EXE_relutui");
/// Long enough for a slow, busy CI machine; a passing test takes a few seconds.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One tmux server with one session running `relutui ARGS` in `cwd`; killed on drop.
struct Tmux {
    socket: String,
    exit_file: PathBuf,
}

impl Tmux {
    fn start(cwd: &Path, args: &[&str]) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "tmux is not installed: the attach tests need it (apt-get install -y tmux)"
        );
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let socket = format!("relutui-attach-{}-{n}", std::process::id());
        let exit_file = cwd.join(format!("exit-{n}"));
        let tmux = Self { socket, exit_file };
        let script = r#""$0" "$@"; echo "EXIT=$?" > "$RELUTUI_EXIT_FILE"; exec sleep 600"#;
        let env = format!("RELUTUI_EXIT_FILE={}", tmux.exit_file.display());
        let cwd = cwd.display().to_string();
        let mut cmd = vec![
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            "t",
            "-c",
            &cwd,
            "-e",
            &env,
            "sh",
            "-c",
            script,
            BIN,
        ];
        cmd.extend(args);
        tmux.run(&cmd);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into()
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "t", "-l", keys]);
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }

    /// Waits until the screen holds every one of `texts` at once.
    fn wait_all(&self, texts: &[String]) -> String {
        self.wait_for(&format!("all of {texts:?}"), |s| {
            texts.iter().all(|t| s.contains(t.as_str()))
        })
    }

    fn wait_exit(&self) -> String {
        wait_until("the viewer to exit", || {
            std::fs::read_to_string(&self.exit_file)
                .ok()
                .filter(|s| s.ends_with('\n'))
                .map(|s| s.trim().to_string())
        })
    }

    /// The pid of relutui: the child of the pane's shell.
    fn relutui_pid(&self) -> u32 {
        let out = self.run(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        let shell: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        wait_until("relutui under the pane", || {
            std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
                let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
                (ppid.parse::<u32>().ok()? == shell && stat.contains("(relutui)")).then_some(pid)
            })
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        sleep(Duration::from_millis(50));
    }
}

/// A headless run in `dir/run`; killed on drop.
struct Run {
    child: Child,
    dir: PathBuf,
}

impl Run {
    fn start(cwd: &Path, extra: &[&str]) -> Self {
        let dir = cwd.join("run");
        let child = Command::new(BIN)
            .current_dir(cwd)
            .args(["--headless", "--hidden", "40,40", "--run-dir", "run"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start relutui");
        Self { child, dir }
    }

    fn log(&self) -> Vec<EpochReport> {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn wait_epochs(&self, n: usize) -> Vec<EpochReport> {
        wait_until(&format!("{n} epochs in the log"), || {
            let log = self.log();
            (log.iter().map(|r| r.epoch).max().unwrap_or(0) >= n).then_some(log)
        })
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// User plus system CPU time of the run's process, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The epoch number in the dashboard's header (`epoch 3/1000`).
fn header_epoch(screen: &str) -> usize {
    let line = screen.lines().find(|l| l.contains(" epoch ")).unwrap_or("");
    line.split_whitespace()
        .skip_while(|w| *w != "epoch")
        .nth(1)
        .and_then(|e| e.split('/').next()?.parse().ok())
        .unwrap_or(0)
}

fn socket(run: &Run) -> UnixStream {
    UnixStream::connect(run.dir.join("control/socket")).expect("connect to the socket")
}

/// A good client attaches and gets the run's description and its history.
fn good_client_attaches(run: &Run) {
    let conn = Connection::open(&run.dir, true).expect("a good client is served");
    assert!(conn.welcome.run.is_some(), "{:?}", conn.welcome);
    let first = conn
        .updates
        .recv_timeout(TIMEOUT)
        .expect("the history starts");
    assert!(matches!(first, Update::Started(_)), "{first:?}");
    conn.close();
}

#[test]
fn attach_watches_and_steers_a_headless_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut run = Run::start(tmp.path(), &["--epochs", "100000", "--lr", "0.05"]);
    run.wait_epochs(2);

    // The viewer shows both networks and the epochs already done.
    let viewer = Tmux::start(tmp.path(), &["attach", "run"]);
    let screen = viewer.wait_for("both networks and 2 epochs", |s| {
        s.contains("rectifier")
            && s.contains("tanh")
            && s.contains("RUNNING")
            && header_epoch(s) >= 3
    });
    assert!(screen.contains("valid"), "{screen}");

    // Space pauses the headless run: its log stops growing and it uses no CPU.
    viewer.keys(" ");
    viewer.wait_text("PAUSED");
    sleep(Duration::from_millis(300));
    let (len, ticks) = (run.log().len(), run.cpu_ticks());
    sleep(Duration::from_millis(1500));
    assert_eq!(run.log().len(), len, "the log grew while paused");
    let used = run.cpu_ticks() - ticks;
    assert!(
        used <= 3,
        "the paused run used {used} ticks of CPU in 1.5 s"
    );

    // `+` doubles the learning rate, as the next epoch's line shows.
    viewer.keys("+");
    viewer.wait_text("lr 0.1 ");
    viewer.keys(" ");
    viewer.wait_text("RUNNING");
    let next = wait_until("an epoch after the change", || {
        run.log().get(len..).and_then(|r| r.first().cloned())
    });
    assert!((next.lr - 0.1).abs() < 1e-6, "lr {}", next.lr);

    // A second, read-only viewer: it watches, its keys do not steer.
    let second = Tmux::start(tmp.path(), &["attach", "--read-only", "run"]);
    second.wait_text("attached read-only");
    second.wait_text("RUNNING");
    second.keys(" ");
    second.wait_text("read-only viewer");
    sleep(Duration::from_millis(300));
    assert!(
        viewer.screen().contains("RUNNING"),
        "a read-only key paused the run"
    );

    // A viewer killed with SIGKILL: the run goes on.
    let pid = second.relutui_pid();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let before = run.log().len();
    wait_until("the run to go on after a viewer was killed", || {
        (run.log().len() > before).then_some(())
    });

    // Hostile clients: random bytes, a huge length prefix, a half-sent message. Each is
    // dropped; the run goes on and still serves a good client.
    let mut noise = socket(&run);
    noise.write_all(b"\x00\x00\x00\x09not json!").unwrap();
    let mut junk = Vec::new();
    let _ = noise.read_to_end(&mut junk);
    let mut random = socket(&run);
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = random.write_all(&bytes);
    let mut huge = socket(&run);
    // The run may drop this one as soon as it has read the length, so the rest may meet a
    // closed socket (broken pipe or reset): that is the behaviour under test, not a failure.
    let _ = huge.write_all(&u32::MAX.to_be_bytes());
    let _ = huge.write_all(b"{\"type\":");
    let mut half = socket(&run);
    half.write_all(&100u32.to_be_bytes()).unwrap();
    half.write_all(b"{\"type\":\"hello\"").unwrap();
    // The half-sent one is dropped once its patience runs out; meanwhile others are served.
    good_client_attaches(&run);
    half.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut rest = Vec::new();
    let dropped = half.read_to_end(&mut rest);
    assert!(dropped.is_ok() && rest.is_empty(), "{dropped:?} {rest:?}");
    let _ = huge.read_to_end(&mut rest);
    assert!(run.alive(), "hostile bytes stopped the run");
    good_client_attaches(&run);

    // q detaches: the viewer exits 0 and the run goes on.
    viewer.keys("q");
    assert_eq!(viewer.wait_exit(), "EXIT=0");
    let before = run.log().len();
    wait_until("the run to go on after the detach", || {
        (run.log().len() > before).then_some(())
    });
    assert!(run.alive());

    // `relutui ls` says it is running and how to attach.
    let ls = Command::new(BIN)
        .current_dir(tmp.path())
        .args(["ls", "."])
        .output()
        .unwrap();
    let ls = String::from_utf8_lossy(&ls.stdout);
    assert!(
        ls.contains("running") && ls.contains("relutui attach ./run"),
        "{ls}"
    );

    // A second run in the same run directory is refused, with a clear message.
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .args([
            "--headless",
            "--hidden",
            "10",
            "--epochs",
            "1",
            "--run-dir",
            "run",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--run-dir run: a running relutui"), "{err}");

    // The stop key is deliberate: S in a steering viewer ends the run.
    let stopper = Tmux::start(tmp.path(), &["attach", "run"]);
    stopper.wait_text("RUNNING");
    stopper.keys("S");
    assert_eq!(stopper.wait_exit(), "EXIT=0");
    let status = wait_until("the run to stop", || run.child.try_wait().unwrap());
    assert!(status.success(), "{status:?}");
    let ls = Command::new(BIN)
        .current_dir(tmp.path())
        .args(["ls", "."])
        .output()
        .unwrap();
    let ls = String::from_utf8_lossy(&ls.stdout);
    assert!(
        ls.contains("stopped (quit)") && ls.contains("relutui replay ./run"),
        "{ls}"
    );
}

/// Deletes the test's user, however the test ends.
struct RemoveUser(String);

impl Drop for RemoveUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.0).output();
    }
}

/// Two viewers watching different layers each get the heatmap of their own layer, and the
/// run's own focus is not moved by them.
#[test]
fn each_viewer_gets_the_heatmap_of_its_own_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let _run = Run::start(tmp.path(), &["--epochs", "100000"]);
    let dir = tmp.path().join("run");
    let open = || wait_until("a viewer to attach", || Connection::open(&dir, true).ok());
    let (a, b) = (open(), open());
    a.commands
        .send(relutui::protocol::Command::Focus { net: 0, layer: 0 })
        .unwrap();
    b.commands
        .send(relutui::protocol::Command::Focus { net: 1, layer: 1 })
        .unwrap();
    // Samples sent before the trainer saw a focus may show another layer: wait for the own.
    let own = |conn: &Connection, want: (usize, usize)| {
        wait_until(&format!("a heatmap of {want:?}"), || {
            let s = conn.samples.recv_timeout(TIMEOUT).ok()?;
            let a = s.activations?;
            ((a.net, a.layer) == want).then_some(a.values.len())
        })
    };
    // 48 probe examples × 40 units.
    assert_eq!(
        own(&a, (0, 0)),
        48 * 40,
        "viewer A: layer 1 of the rectifier"
    );
    assert_eq!(own(&b, (1, 1)), 48 * 40, "viewer B: layer 2 of tanh");
    // Both at once, for a while: once focused, each keeps getting only its own layer.
    for _ in 0..5 {
        let sa = a.samples.recv_timeout(TIMEOUT).expect("A's samples go on");
        let sb = b.samples.recv_timeout(TIMEOUT).expect("B's samples go on");
        let la = sa.activations.map(|s| (s.net, s.layer));
        let lb = sb.activations.map(|s| (s.net, s.layer));
        assert_eq!(la, Some((0, 0)), "A's heatmap moved to {la:?}");
        assert_eq!(lb, Some((1, 1)), "B's heatmap moved to {lb:?}");
    }
    a.close();
    b.close();
}

#[test]
fn another_user_cannot_connect() {
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: creating a second user needs root");
        return;
    }
    let user = format!("relutui{}", std::process::id() % 100_000);
    let added = Command::new("useradd").args(["-M", "-N", &user]).output();
    if !added.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: useradd is not available");
        return;
    }
    let _remove = RemoveUser(user.clone());
    // A directory the other user can reach, and a copy of the binary it can run.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let bin = tmp.path().join("relutui");
    std::fs::copy(BIN, &bin).unwrap();
    let mut run = Run::start(tmp.path(), &["--epochs", "100000"]);
    run.wait_epochs(1);
    let as_other = || {
        Command::new("runuser")
            .args(["-u", &user, "--"])
            .arg(&bin)
            .args(["attach", "--read-only"])
            .arg(&run.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // The owner-only control directory keeps it out…
    let out = as_other();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Permission denied"), "{err}");
    // …and were it opened up, SO_PEERCRED still refuses it.
    let perms = |p: &Path, m| {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    };
    perms(&run.dir.join("control"), 0o777);
    perms(&run.dir.join("control/socket"), 0o777);
    let out = as_other();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused") && err.contains("another user"),
        "{err}"
    );
    assert!(run.alive(), "the refused user stopped the run");
    good_client_attaches(&run);
}

#[test]
fn replay_shows_done_and_resume_shows_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .args([
            "--headless",
            "--hidden",
            "30",
            "--epochs",
            "2",
            "--run-dir",
            "run",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: Vec<EpochReport> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log.len(), 4);

    // Replay: DONE, and the final numbers of the log.
    // "DONE" can be drawn a frame before the panels: wait for every expected text, not a fixed read.
    let last_valid: Vec<String> = log[2..]
        .iter()
        .map(|r| format!("valid {:.2}%", r.valid_error * 100.0))
        .collect();
    let replay = Tmux::start(tmp.path(), &["replay", "run"]);
    let mut expected = last_valid.clone();
    expected.extend(["DONE".into(), "replay of run/log.jsonl: 2 epochs".into()]);
    replay.wait_all(&expected);
    replay.keys(" ");
    replay.wait_text("nothing to steer");
    replay.keys("q");
    assert_eq!(replay.wait_exit(), "EXIT=0");

    // The same from the log file alone.
    let replay = Tmux::start(tmp.path(), &["replay", "run/log.jsonl"]);
    replay.wait_all(&["DONE".into(), last_valid[1].clone()]);
    replay.keys("q");
    assert_eq!(replay.wait_exit(), "EXIT=0");

    // --resume with no epochs left to train: whatever the charts show comes from the history.
    let resumed = Tmux::start(
        tmp.path(),
        &["--resume", "run/checkpoint.relutui", "--epochs", "2"],
    );
    let mut expected = last_valid;
    expected.push("DONE".into());
    let screen = resumed.wait_all(&expected);
    assert!(!screen.contains("error: after epoch"), "{screen}");
    resumed.keys("q");
    assert_eq!(resumed.wait_exit(), "EXIT=0");
    let lines = std::fs::read_to_string(tmp.path().join("run/log.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        4,
        "the history is not written to the log again"
    );
}

/// `relutui bench --viewers N` (the README's viewer-cost figure) attaches its viewers on every
/// other epoch of a real run and reports both medians. Not timed here: only that it measures.
#[test]
fn bench_viewers_attaches_on_every_other_epoch() {
    let out = Command::new(BIN)
        .args([
            "bench",
            "--viewers",
            "2",
            "--viewer-epochs",
            "5",
            "--hidden",
            "300",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["measurement"], "viewers");
    assert_eq!(line["viewers"], 2);
    assert_eq!(line["epochs"], 5);
    // Epochs 2-5 alternate (a very fast epoch may end before its viewers are in: still both kinds).
    let attached: Vec<bool> = serde_json::from_value(line["attached"].clone()).unwrap();
    assert_eq!(attached.len(), 4, "{line}");
    assert!(
        attached.contains(&true) && attached.contains(&false),
        "{line}"
    );
    let (with, without) = (
        line["median_epoch_seconds_with"].as_f64().unwrap(),
        line["median_epoch_seconds_without"].as_f64().unwrap(),
    );
    assert!(with > 0.0 && without > 0.0, "{line}");
    let ratio = line["ratio"].as_f64().unwrap();
    assert!((ratio - with / without).abs() < 1e-9, "{line}");
}
