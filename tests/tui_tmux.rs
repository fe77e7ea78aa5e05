//! End to end: the real binary in a real terminal (tmux), driven by keys as a person would.
//!
//! Each test runs `relutui` on small networks inside its own tmux server (a unique `-L`
//! socket, killed by a `Drop` guard even when the test fails), reads the screen with
//! `capture-pane`, and checks the exit code and that the terminal was restored.
//! tmux must be installed (CI's `.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use relutui::protocol::EpochReport;

const BIN: &str = env!("CARGO_BIN_EXE_relutui");
/// Long enough for a slow, busy CI machine; a passing test takes a few seconds.
const TIMEOUT: Duration = Duration::from_secs(20);

/// One tmux server with one session running relutui; killed on drop.
struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `relutui ARGS` in a `width`×`height` terminal; its exit code goes to a file.
    fn start(width: u16, height: u16, args: &[&str]) -> Self {
        Self::start_env(width, height, "", args)
    }

    /// [`Tmux::start`] with `env` (`VAR=value …`, or empty) set for relutui alone.
    fn start_env(width: u16, height: u16, env: &str, args: &[&str]) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "tmux is not installed: the end-to-end dashboard tests need it \
             (apt-get install -y tmux; .ci/run installs it)"
        );
        let socket = format!(
            "relutui-test-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let tmux = Self { socket, dir };
        // `sh -c 'relutui ARGS; echo EXIT=$? > FILE; sleep'`: the pane stays to be read.
        let script = format!(
            r#"{} "$0" "$@"; echo "EXIT=$?" > "$RELUTUI_EXIT_FILE"; exec sleep 600"#,
            if env.is_empty() {
                String::new()
            } else {
                format!("env {env}")
            }
        );
        let exit_file = tmux.exit_file();
        let size = (width.to_string(), height.to_string());
        let mut cmd = vec![
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &size.0,
            "-y",
            &size.1,
            "-s",
            "t",
            "-e",
        ];
        let env = format!("RELUTUI_EXIT_FILE={}", exit_file.display());
        cmd.push(&env);
        cmd.extend(["sh", "-c", &script, BIN]);
        cmd.extend(args);
        tmux.run(&cmd);
        tmux
    }

    fn exit_file(&self) -> PathBuf {
        self.dir.path().join("exit")
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

    fn format(&self, f: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "t", f]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sends keys literally (`+`, `?`, `q`), or one tmux key name with `named`.
    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "t", "-l", keys]);
    }

    fn named_key(&self, key: &str) {
        self.run(&["send-keys", "-t", "t", key]);
    }

    /// Waits until the screen shows what `ok` wants; fails with the screen if it never does.
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

    /// The process's exit line, once it has exited.
    fn wait_exit(&self) -> String {
        let start = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(self.exit_file()) {
                if s.ends_with('\n') {
                    return s.trim().to_string();
                }
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "relutui did not exit; the screen:\n{}",
                self.screen()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// The pid of relutui: the child of the pane's shell.
    fn relutui_pid(&self) -> u32 {
        let shell: u32 = self.format("#{pane_pid}").parse().expect("pane pid");
        let start = Instant::now();
        loop {
            for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid == Some(shell) && stat.contains("(relutui)") {
                    return pid;
                }
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "no relutui process under the pane"
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// The terminal is back to normal: main screen, cursor shown, no dashboard left on it.
    fn assert_restored(&self) {
        assert_eq!(
            self.format("#{alternate_on}"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(
            self.format("#{cursor_flag}"),
            "1",
            "the cursor is still hidden"
        );
        let screen = self.screen();
        assert!(
            !screen.contains("RUNNING") && !screen.contains("PAUSED") && !screen.contains("DONE"),
            "the dashboard is still on the screen:\n{screen}"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let tmux = |args: &[&str]| {
            Command::new("tmux")
                .args(["-L", &self.socket])
                .args(args)
                .output()
        };
        let socket = tmux(&["display-message", "-p", "#{socket_path}"])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let _ = tmux(&["kill-server"]);
        if let Ok(path) = socket.as_deref() {
            if !path.is_empty() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// `epoch 3  batch 512/800` from the header, the progress counter.
fn progress(screen: &str) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains(" batch ") && l.contains("epoch "))
        .unwrap_or_else(|| panic!("no progress counter on the screen:\n{screen}"));
    let start = line.find("epoch ").expect("epoch");
    let end = line[start..].find('/').map_or(line.len(), |i| start + i);
    let end = line[end + 1..]
        .find('/')
        .map_or(line.len(), |i| end + 1 + i);
    line[start..end].to_string()
}

fn dashboard_session(width: u16, height: u16) {
    let t = Tmux::start(width, height, &["--hidden", "32,32", "--epochs", "1000"]);
    assert_eq!(
        t.format("#{pane_width}x#{pane_height}"),
        format!("{width}x{height}")
    );
    let screen = t.wait_for("both networks training", |s| {
        s.contains("RUNNING") && s.contains("rectifier") && s.contains("tanh")
    });
    assert!(
        screen.contains("lr 0.1") && screen.contains("l1 0.001"),
        "{screen}"
    );
    assert_eq!(
        t.format("#{alternate_on}"),
        "1",
        "the dashboard uses the alternate screen"
    );

    // Training moves the counter …
    let before = progress(&screen);
    t.wait_for("the progress counter to move", |s| progress(s) != before);

    // … and space stops it.
    t.named_key("Space");
    let paused = t.wait_text("PAUSED");
    assert!(!paused.contains("RUNNING"), "{paused}");
    let first = progress(&t.screen());
    sleep(Duration::from_secs(1));
    let second = progress(&t.screen());
    assert_eq!(first, second, "the counter moved while paused");

    // n trains exactly one batch while paused.
    t.keys("n");
    t.wait_for("one batch", |s| progress(s) != second);

    // + doubles the learning rate on screen at once.
    t.keys("+");
    t.wait_text("lr 0.2");
    t.keys("+");
    t.wait_text("lr 0.4");

    t.keys("?");
    t.wait_text("relutui help");
    t.keys("?");
    t.wait_for("the help to close", |s| !s.contains("relutui help"));

    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
    t.assert_restored();
}

#[test]
fn dashboard_at_80x24() {
    dashboard_session(80, 24);
}

#[test]
fn dashboard_at_120x40() {
    dashboard_session(120, 40);
}

#[test]
fn a_small_terminal_asks_to_be_enlarged() {
    let t = Tmux::start(50, 15, &["--hidden", "16", "--epochs", "1000"]);
    t.wait_text("Enlarge the terminal");
    t.run(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    t.wait_text("RUNNING");
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
    t.assert_restored();
}

#[test]
fn epochs_end_in_done_and_the_log_is_complete() {
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let log_path = log.path().to_str().expect("utf-8 path").to_string();
    let t = Tmux::start(
        80,
        24,
        &["--hidden", "16", "--epochs", "2", "--log", &log_path],
    );
    let screen = t.wait_text("DONE");
    assert!(screen.contains("epoch 2/2 done"), "{screen}");
    // The dashboard stays until q.
    sleep(Duration::from_millis(300));
    assert!(t.screen().contains("DONE"));
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
    t.assert_restored();
    let reports = read_log(log.path());
    assert_eq!(reports.len(), 4, "2 epochs × 2 networks");
    assert_eq!(reports[3].epoch, 2);
    assert_eq!(reports[2].net, "rectifier");
    assert_eq!(reports[3].net, "tanh");
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    let t = Tmux::start(80, 24, &["--hidden", "16", "--epochs", "1000"]);
    t.wait_text("RUNNING");
    let pid = t.relutui_pid();
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(t.wait_exit(), "EXIT=143", "128 + SIGTERM");
    t.assert_restored();
}

#[test]
fn sighup_from_a_dropped_link_exits_129() {
    let t = Tmux::start(80, 24, &["--hidden", "16", "--epochs", "1000"]);
    t.wait_text("RUNNING");
    let pid = t.relutui_pid();
    let killed = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(t.wait_exit(), "EXIT=129", "128 + SIGHUP");
    t.assert_restored();
}

#[test]
fn a_pipe_gets_json_lines_and_no_escape_codes() {
    let out = Command::new(BIN)
        .args(["--hidden", "16", "--epochs", "1"])
        .output()
        .expect("run relutui");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stdout is not a terminal") && stderr.contains("headless"),
        "{stderr}"
    );
    assert!(!out.stdout.contains(&0x1b), "escape codes in the pipe");
    let lines: Vec<EpochReport> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "one line per network");
}

fn read_log(path: &Path) -> Vec<EpochReport> {
    std::fs::read_to_string(path)
        .expect("read the log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line parses"))
        .collect()
}

/// The batch within the epoch from the header (`epoch 3  batch 512/800` → (3, 512)).
fn epoch_batch(screen: &str) -> (usize, usize) {
    let p = progress(screen);
    let mut words = p.split_whitespace();
    let epoch = words.nth(1).and_then(|e| e.split('/').next()?.parse().ok());
    let batch = words.nth(1).and_then(|b| b.split('/').next()?.parse().ok());
    epoch
        .zip(batch)
        .unwrap_or_else(|| panic!("no epoch/batch in {p:?}:\n{screen}"))
}

/// The first running-sparsity figure (`≈ 72.1%`) on the screen, if any.
fn live_figure(screen: &str) -> Option<f64> {
    screen.split('≈').skip(1).find_map(|rest| {
        let rest = rest.trim_start();
        let end = rest.find('%')?;
        rest[..end].trim().parse().ok()
    })
}

#[test]
fn the_first_sparsity_number_is_on_screen_within_2_s() {
    let start = Instant::now();
    let t = Tmux::start(80, 24, &["--hidden", "32,32", "--epochs", "1000"]);
    let screen = t.wait_for("a running sparsity figure", |s| live_figure(s).is_some());
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the first sparsity figure took {took:?}:\n{screen}"
    );
    assert!(
        screen.contains("exact zeros"),
        "the panel has a title:\n{screen}"
    );
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn two_fast_spaces_leave_it_running() {
    let t = Tmux::start(80, 24, &["--hidden", "32,32", "--epochs", "1000"]);
    let screen = t.wait_text("RUNNING");
    let before = progress(&screen);
    t.wait_for("the counter to move", |s| progress(s) != before);
    // Both spaces in one write: they reach relutui together.
    t.keys("  ");
    sleep(Duration::from_millis(600));
    let after = t.wait_text("RUNNING");
    let moving = progress(&after);
    t.wait_for("the counter to move on", |s| progress(s) != moving);
    assert!(!t.screen().contains("PAUSED"));
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn a_paused_screen_shows_the_position_that_n_then_moves_by_one() {
    let t = Tmux::start(80, 24, &["--hidden", "32,32", "--epochs", "1000"]);
    t.wait_text("RUNNING");
    sleep(Duration::from_millis(500));
    t.named_key("Space");
    t.wait_text("PAUSED");
    // Let any late frame land, then read the paused position.
    sleep(Duration::from_millis(400));
    let (epoch, batch) = epoch_batch(&t.screen());
    for i in 1..=3 {
        t.keys("n");
        let screen = t.wait_for("one batch", |s| epoch_batch(s) != (epoch, batch + i - 1));
        assert_eq!(
            epoch_batch(&screen),
            (epoch, batch + i),
            "n {i} after the pause:\n{screen}"
        );
    }
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn q_after_growing_the_window_leaves_no_dashboard_and_prints_the_summary() {
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let log_path = log.path().to_str().expect("utf-8 path").to_string();
    let t = Tmux::start(
        80,
        24,
        &["--hidden", "16", "--epochs", "1000", "--log", &log_path],
    );
    t.wait_text("RUNNING");
    t.run(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
    t.wait_for("the dashboard at 120×40", |s| {
        s.lines().count() >= 40 && s.contains("RUNNING")
    });
    sleep(Duration::from_millis(300));
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
    t.assert_restored();
    let screen = t.screen();
    for text in ["exact zeros per", "ex/s", "? help", "RUNNING", "▀", "━"] {
        assert!(
            !screen.contains(text),
            "dashboard text {text:?} left on the normal screen:\n{screen}"
        );
    }
    assert!(screen.contains("relutui summary"), "{screen}");
    assert!(screen.contains(&format!("log: {log_path}")), "{screen}");
}

#[test]
fn the_summary_after_q_names_errors_sparsity_and_files() {
    let ckpt = tempfile::tempdir().expect("temp dir");
    let ckpt_path = ckpt.path().join("run.ckpt");
    let ckpt_str = ckpt_path.to_str().expect("utf-8 path");
    let t = Tmux::start(
        120,
        40,
        &["--hidden", "16", "--epochs", "2", "--checkpoint", ckpt_str],
    );
    t.wait_text("DONE");
    let done = t.screen();
    assert!(done.contains("run again"), "the DONE footer:\n{done}");
    assert!(!done.contains("space pause"), "the DONE footer:\n{done}");
    t.keys("q");
    assert_eq!(t.wait_exit(), "EXIT=0");
    let screen = t.screen();
    for text in [
        "relutui summary",
        // The default rates differ (rectifier 0.1 with L1, tanh 0.01 without): each says its own.
        "rectifier  lr 0.1 l1 0.001  final (epoch 2)",
        "tanh       lr 0.01 l1 0  final (epoch 2)",
        "best valid",
        "exact zeros on validation: h1",
        "dead)",
        "saturated)",
        "wall time",
        &format!("checkpoint: {ckpt_str}"),
    ] {
        assert!(
            screen.contains(text),
            "no {text:?} in the summary:\n{screen}"
        );
    }
}

#[test]
fn term_dumb_runs_headless_with_a_message() {
    let t = Tmux::start_env(80, 24, "TERM=dumb", &["--hidden", "16", "--epochs", "1"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    // With the lines that scrolled off, wrapped lines joined.
    let screen = String::from_utf8_lossy(
        &t.run(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "t"])
            .stdout,
    )
    .to_string();
    assert!(
        screen.contains("TERM=dumb cannot show the dashboard"),
        "{screen}"
    );
    assert!(
        screen.contains("\"net\":\"rectifier\""),
        "JSON lines:\n{screen}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0");
}
