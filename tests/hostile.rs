//! Nothing lost, second round: the real binary against hostile paths, sizes, files, signals
//! and closed pipes (issue 17). Every node a test needs (FIFO, device) is made by the test in a
//! temporary directory; no test touches a system path.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use relutui::engine::data::idx;

const BIN: &str = env!("CARGO_BIN_EXE_relutui");

fn relutui(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run relutui")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 with one `error:` line that contains every one of `words`.
fn assert_refused(out: &Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for w in words {
        assert!(err.contains(w), "missing {w:?} in: {err}");
    }
}

fn mkfifo(path: &Path) -> bool {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: mkfifo is not available here");
    }
    ok
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The four MNIST files in `dir`, `side`×`side` images (train and test sides may differ).
fn write_mnist(dir: &Path, train: u32, test: u32, sides: [(u32, u32); 2], gzip: bool) {
    for (prefix, n, (r, c)) in [("train", train, sides[0]), ("t10k", test, sides[1])] {
        let pixels: Vec<u8> = (0..n * r * c).map(|i| (i % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        for (name, bytes) in [
            (
                format!("{prefix}-images-idx3-ubyte"),
                idx::encode(&[n, r, c], &pixels),
            ),
            (
                format!("{prefix}-labels-idx1-ubyte"),
                idx::encode(&[n], &labels),
            ),
        ] {
            if gzip {
                fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
            } else {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

const SMALL: [&str; 6] = [
    "--headless",
    "--hidden",
    "8",
    "--activations",
    "rectifier",
    "--epochs",
];

// ---- High: a checkpoint path is never anything but a regular file ----

#[test]
fn a_fifo_or_a_device_as_checkpoint_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ckpt.fifo");
    if mkfifo(&fifo) {
        let args: Vec<&str> = SMALL
            .iter()
            .copied()
            .chain(["1", "--checkpoint", fifo.to_str().unwrap()])
            .collect();
        let out = relutui(&args);
        assert_refused(&out, &["--checkpoint", "FIFO"]);
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
    // A null-like character device of the test's own (mknod needs CAP_MKNOD).
    let dev = dir.path().join("null");
    if Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let args: Vec<&str> = SMALL
            .iter()
            .copied()
            .chain(["1", "--checkpoint", dev.to_str().unwrap()])
            .collect();
        assert_refused(&relutui(&args), &["--checkpoint", "character device"]);
        assert!(fs::symlink_metadata(&dev)
            .unwrap()
            .file_type()
            .is_char_device());
    } else {
        eprintln!("skipped the device case: mknod is not allowed here");
    }
    // A trailing slash names a directory, never a file: refused at the start.
    let slash = format!("{}/", dir.path().join("sub").display());
    let args: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain(["1", "--checkpoint", &slash])
        .collect();
    assert_refused(&relutui(&args), &["--checkpoint", "'/'"]);
}

#[test]
fn a_second_run_on_one_checkpoint_is_refused_while_the_first_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("run.ckpt");
    let ck_s = ck.to_str().unwrap();
    let mut first = Command::new(BIN)
        .args([
            "--headless",
            "--hidden",
            "256,256",
            "--activations",
            "rectifier",
            "--epochs",
            "50",
        ])
        .args(["--checkpoint", ck_s])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.path().join(".run.ckpt.lock");
    let t0 = Instant::now();
    while !fs::read_to_string(&lock).is_ok_and(|s| s.trim() == first.id().to_string()) {
        assert!(t0.elapsed() < Duration::from_secs(20), "no lock file");
        sleep(Duration::from_millis(20));
    }
    let args: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain(["1", "--checkpoint", ck_s])
        .collect();
    let out = relutui(&args);
    assert_refused(
        &out,
        &["in use by another relutui", &format!("pid {}", first.id())],
    );
    // The same through --resume of the file the first run writes.
    let _ = Command::new("kill").arg(first.id().to_string()).status();
    assert_eq!(first.wait().unwrap().code(), Some(143));
    // Released at exit: the next run takes it.
    let args: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain(["1", "--checkpoint", ck_s])
        .collect();
    assert!(relutui(&args).status.success());
}

// ---- Medium: sizes from flags are estimated before anything is allocated ----

#[test]
fn flags_asking_for_more_memory_than_the_machine_has_are_refused_naming_the_flag() {
    for (args, flag) in [
        (
            &["--headless", "--hidden", "100000,100000,100000"][..],
            "--hidden 100000,100000,100000 needs about",
        ),
        (
            &["--headless", "--batch-size", "1000000000"],
            "--batch-size 1000000000 needs about",
        ),
        (
            &["bench", "--batch-size", "1000000000"],
            "--batch-size 1000000000 needs about",
        ),
        (
            &["sweep", "--hidden", "100000,100000"],
            "--hidden 100000,100000 needs about",
        ),
    ] {
        let t0 = Instant::now();
        let out = relutui(args);
        assert_refused(&out, &[flag, "available"]);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            t0.elapsed()
        );
    }
    let out = relutui(&["sweep", "--repeats", "18446744073709551615"]);
    assert_refused(&out, &["--repeats", "limit 1000"]);
    let out = relutui(&["bench", "--threads", "1000000"]);
    assert_refused(&out, &["--threads 1000000", "cores"]);
}

// ---- Medium: headers before whole files ----

#[test]
fn a_huge_sparse_checkpoint_or_cifar_batch_is_refused_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("big.ckpt");
    let mut f = fs::File::create(&ck).unwrap();
    f.write_all(b"RELUTUIC\x01\0\0\0\x10\0\0\0\0\0\0\0\0\0\0\0")
        .unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let t0 = Instant::now();
    let out = relutui(&["--headless", "--resume", ck.to_str().unwrap()]);
    assert_refused(&out, &["--resume", "big.ckpt", "truncated or padded"]);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    let junk = dir.path().join("junk.ckpt");
    fs::File::create(&junk).unwrap().set_len(2 << 30).unwrap();
    let out = relutui(&["--headless", "--resume", junk.to_str().unwrap()]);
    assert_refused(&out, &["bad magic"]);

    let cifar = dir.path().join("cifar");
    fs::create_dir(&cifar).unwrap();
    // 2 GB, a whole number of records: only the record limit can refuse it without reading.
    fs::File::create(cifar.join("data_batch_1.bin"))
        .unwrap()
        .set_len(3073 * 700_000)
        .unwrap();
    let t0 = Instant::now();
    let out = relutui(&[
        "--headless",
        "--dataset",
        "cifar10",
        "--data-dir",
        cifar.to_str().unwrap(),
    ]);
    assert_refused(&out, &["data_batch_1.bin", "at most 10000"]);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

/// A checkpoint whose checksum matches but whose settings break a run's rules (edited, or
/// from a foreign writer) is refused by the rule a flag would meet, naming the setting.
#[test]
fn a_checkpoint_holding_batch_0_or_a_nan_rate_is_refused_with_the_rule() {
    use relutui::engine::checkpoint::Checkpoint;
    use relutui::engine::config::{RunConfig, Widths};
    use relutui::engine::data;
    use relutui::engine::trainer::Trainer;

    type Edit = fn(&mut Checkpoint<'_>);
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig::default()
        .with_hidden(Widths::new(vec![4]).unwrap())
        .with_epochs(Some(1));
    let trainer = Trainer::new(&config, data::mnist10k().unwrap());
    let good = trainer.checkpoint();
    let edits: [(Edit, &str); 3] = [
        (
            |ck| ck.run.batch_size = 0,
            "the batch size must be at least 1",
        ),
        (
            |ck| ck.run.lr = f32::NAN,
            "the learning rate must be a finite number above 0, got NaN",
        ),
        (
            |ck| ck.nets[0].lr = 0.0,
            "network 1's learning rate must be a finite number above 0",
        ),
    ];
    for (edit, message) in edits {
        let mut ck = good.clone();
        edit(&mut ck);
        let path = dir.path().join("edited.ckpt");
        ck.save(&path).unwrap();
        let out = relutui(&["--headless", "--resume", path.to_str().unwrap()]);
        assert_refused(&out, &["edited.ckpt", message]);
    }
}

#[test]
fn a_checkpoint_cut_inside_its_header_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("cut.ckpt");
    fs::write(&ck, b"RELUTUIC\x01\0\0\0\x10").unwrap();
    let out = relutui(&["--headless", "--resume", ck.to_str().unwrap()]);
    assert_refused(
        &out,
        &["the file is 13 bytes, shorter than the 24-byte header"],
    );
}

#[test]
fn gzip_images_are_not_inflated_before_the_labels_header_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 60, 10, [(28, 28); 2], true);
    // Declares 1.25 M images but holds only its header: reading the data first would say
    // "truncated"; the label file's header disagrees first.
    fs::write(
        dir.path().join("train-images-idx3-ubyte.gz"),
        gz(&idx::encode(&[1_250_000, 28, 28], &[])),
    )
    .unwrap();
    let out = relutui(&[
        "--headless",
        "--dataset",
        "mnist",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_refused(
        &out,
        &["train-labels-idx1-ubyte.gz", "60 labels for 1250000 images"],
    );
}

// ---- Medium: a bad run leaves the previous log alone ----

#[test]
fn a_run_that_fails_on_its_data_leaves_the_previous_log_and_the_log_cannot_be_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    fs::write(&log, "{\"previous\":1}\n").unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    write_mnist(&data, 60, 10, [(28, 28); 2], false);
    fs::write(data.join("t10k-labels-idx1-ubyte"), b"junk").unwrap();
    let out = relutui(&[
        "--headless",
        "--dataset",
        "mnist",
        "--data-dir",
        data.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&log).unwrap(), "{\"previous\":1}\n");

    let same = dir.path().join("both");
    let spelt = dir.path().join(".").join("both");
    let args: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain([
            "1",
            "--checkpoint",
            same.to_str().unwrap(),
            "--log",
            spelt.to_str().unwrap(),
        ])
        .collect();
    assert_refused(&relutui(&args), &["--log", "same file as --checkpoint"]);
    assert!(!same.exists());
}

// ---- Low: gzip like zcat ----

#[test]
fn multi_member_gzip_trains_and_trailing_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 60, 10, [(28, 28); 2], false);
    let p = dir.path().join("train-images-idx3-ubyte");
    let raw = fs::read(&p).unwrap();
    fs::remove_file(&p).unwrap();
    let mut cat = gz(&raw[..1000]);
    cat.extend(gz(&raw[1000..]));
    let gzp = dir.path().join("train-images-idx3-ubyte.gz");
    fs::write(&gzp, &cat).unwrap();
    let d = dir.path().to_str().unwrap();
    let args: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain(["1", "--dataset", "mnist", "--data-dir", d])
        .collect();
    let out = relutui(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut junk = gz(&raw);
    junk.extend_from_slice(b"not gzip");
    fs::write(&gzp, &junk).unwrap();
    assert_refused(
        &relutui(&args),
        &["train-images-idx3-ubyte.gz", "trailing garbage"],
    );
}

// ---- Low: early signals, nohup, a closed stdout ----

#[test]
fn a_signal_during_start_up_stops_the_run_cleanly_with_its_code_and_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // Loading 60,000 gzipped images takes a while: the signal lands in it.
    write_mnist(dir.path(), 60_000, 10, [(28, 28); 2], true);
    let ck = dir.path().join("early.ckpt");
    let child = Command::new(BIN)
        .args([
            "--headless",
            "--hidden",
            "8",
            "--activations",
            "rectifier",
            "--epochs",
            "1",
        ])
        .args(["--dataset", "mnist", "--data-dir"])
        .arg(dir.path())
        .arg("--checkpoint")
        .arg(&ck)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As soon as the process catches SIGTERM (relutui now does first thing in main), or after
    // 300 ms at the latest: either way well inside the data loading.
    let caught = |pid: u32| {
        fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            })
            .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
    };
    let t0 = Instant::now();
    while !caught(child.id()) && t0.elapsed() < Duration::from_millis(300) {
        sleep(Duration::from_millis(2));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(ck.is_file(), "the checkpoint is saved");
}

#[test]
fn under_nohup_a_hangup_is_ignored_and_the_run_finishes() {
    if !Command::new("nohup")
        .arg("true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: no nohup here");
        return;
    }
    let mut child = Command::new("nohup")
        .arg(BIN)
        .args([
            "--headless",
            "--hidden",
            "64",
            "--activations",
            "rectifier",
            "--epochs",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("\"epoch\":1"), "{first}");
    let _ = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(rest.len(), 2, "{rest:?}");
}

#[test]
fn a_closed_stdout_stops_the_run_with_exit_141() {
    let mut child = Command::new(BIN)
        .args([
            "--headless",
            "--hidden",
            "16",
            "--activations",
            "rectifier",
            "--epochs",
            "50",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    drop(out); // `| head -1`
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(141), "{}", stderr(&done));
    assert!(
        stderr(&done).contains("stdout was closed"),
        "{}",
        stderr(&done)
    );
}

// ---- Low: errors that say what is wrong ----

#[test]
fn a_data_file_that_is_not_a_regular_file_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 60, 10, [(28, 28); 2], false);
    let p = dir.path().join("train-images-idx3-ubyte");
    let d = dir.path().to_str().unwrap();
    let args = ["--headless", "--dataset", "mnist", "--data-dir", d];
    fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), &p).unwrap();
    assert_refused(
        &relutui(&args),
        &["train-images-idx3-ubyte", "dangling symbolic link"],
    );
    fs::remove_file(&p).unwrap();
    fs::create_dir(&p).unwrap();
    assert_refused(&relutui(&args), &["train-images-idx3-ubyte", "a directory"]);
    fs::remove_dir(&p).unwrap();
    if mkfifo(&p) {
        assert_refused(&relutui(&args), &["train-images-idx3-ubyte", "FIFO"]);
    }
}

#[test]
fn negative_numbers_and_huge_values_name_their_flag_in_one_short_line() {
    assert_refused(&relutui(&["--batch-size", "-1"]), &["--batch-size", "'-1'"]);
    // Past the config's bound a batch is refused as it is parsed, before any estimate.
    assert_refused(
        &relutui(&["--headless", "--batch-size", "4611686018427387904"]),
        &["--batch-size", "above the limit 1000000000"],
    );
    assert_refused(&relutui(&["--epochs", "-3"]), &["--epochs"]);
    let hidden = vec!["1"; 20_000].join(",");
    let out = relutui(&["--hidden", &hidden]);
    assert_refused(&out, &["--hidden", "characters"]);
    assert!(stderr(&out).len() < 300, "{}", stderr(&out));
}

// ---- Low: inconsistent data ----

#[test]
fn inconsistent_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = ["--headless", "--dataset", "mnist", "--data-dir", d];
    write_mnist(dir.path(), 60, 10, [(28, 28), (14, 56)], false);
    assert_refused(
        &relutui(&args),
        &["t10k-images-idx3-ubyte", "14×56", "28×28"],
    );
    write_mnist(dir.path(), 60, 10, [(3, 3), (3, 3)], false);
    assert_refused(&relutui(&args), &["train-images-idx3-ubyte", "3×3"]);
    // Raw and .gz side by side: the same bytes are fine, others are refused.
    write_mnist(dir.path(), 60, 10, [(28, 28); 2], false);
    let raw = fs::read(dir.path().join("train-labels-idx1-ubyte")).unwrap();
    fs::write(dir.path().join("train-labels-idx1-ubyte.gz"), gz(&raw)).unwrap();
    let small: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain(["1"])
        .chain(args[1..].iter().copied())
        .collect();
    let out = relutui(&small);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut other = raw.clone();
    let last = other.len() - 1;
    other[last] = (other[last] + 1) % 10;
    fs::write(dir.path().join("train-labels-idx1-ubyte.gz"), gz(&other)).unwrap();
    assert_refused(
        &relutui(&small),
        &["train-labels-idx1-ubyte.gz is also there and holds other data"],
    );
}

#[test]
fn a_resume_on_another_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        fs::create_dir(d).unwrap();
        write_mnist(d, 60, 10, [(28, 28); 2], false);
    }
    let ck = dir.path().join("r.ckpt");
    let args: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain([
            "1",
            "--dataset",
            "mnist",
            "--data-dir",
            a.to_str().unwrap(),
            "--checkpoint",
            ck.to_str().unwrap(),
        ])
        .collect();
    assert!(relutui(&args).status.success());
    let out = relutui(&[
        "--headless",
        "--epochs",
        "2",
        "--resume",
        ck.to_str().unwrap(),
        "--data-dir",
        b.to_str().unwrap(),
    ]);
    assert_refused(&out, &["--data-dir", "differs from the checkpoint's"]);
    let out = relutui(&[
        "--headless",
        "--epochs",
        "2",
        "--resume",
        ck.to_str().unwrap(),
        "--data-dir",
        a.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

// ---- High: the terminal vanishes (tmux kill-session, a dropped SSH link) ----

/// A tmux server of the test's own, killed on drop.
struct Tmux(String);

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .output();
    }
}

/// Runs the dashboard in a tmux session, kills the session once it is training, and returns
/// the exit code and the log's lines. The wrapper shell traps SIGHUP (so its child gets the
/// default disposition, not an ignored one) to outlive the session and record the exit code.
fn dashboard_in_a_killed_session(detach: bool) -> Option<(String, usize)> {
    if !Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: tmux is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let exit = dir.path().join("exit");
    let log = dir.path().join("log.jsonl");
    let tmux = Tmux(format!("relutui-hostile-{}-{detach}", std::process::id()));
    let script = r#"trap : HUP; "$0" "$@"; echo "$?" > "$EXIT_FILE""#;
    let mut args: Vec<String> = [
        "-L",
        &tmux.0,
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "32",
        "-s",
        "t",
        "-e",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    args.push(format!("EXIT_FILE={}", exit.display()));
    args.extend(["sh", "-c", script, BIN].map(String::from));
    args.extend(
        [
            "--epochs",
            "3",
            "--hidden",
            "256,256",
            "--activations",
            "rectifier",
            "--log",
        ]
        .map(String::from),
    );
    args.push(log.display().to_string());
    if detach {
        args.push("--detach-on-hangup".into());
    }
    assert!(Command::new("tmux").args(&args).status().unwrap().success());
    let t0 = Instant::now();
    loop {
        let screen = Command::new("tmux")
            .args(["-L", &tmux.0, "capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&screen.stdout).contains("RUNNING") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the dashboard never showed"
        );
        sleep(Duration::from_millis(50));
    }
    assert!(Command::new("tmux")
        .args(["-L", &tmux.0, "kill-session", "-t", "t"])
        .status()
        .unwrap()
        .success());
    let t0 = Instant::now();
    while !fs::read_to_string(&exit).is_ok_and(|s| s.ends_with('\n')) {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "relutui never exited"
        );
        sleep(Duration::from_millis(100));
    }
    let code = fs::read_to_string(&exit).unwrap().trim().to_string();
    let lines = fs::read_to_string(&log).unwrap_or_default().lines().count();
    Some((code, lines))
}

#[test]
fn with_detach_on_hangup_a_killed_tmux_session_trains_on_to_the_end_and_exits_0() {
    if let Some((code, lines)) = dashboard_in_a_killed_session(true) {
        assert_eq!(code, "0");
        assert_eq!(lines, 3, "every epoch reached the log");
    }
}

#[test]
fn without_the_flag_a_killed_tmux_session_exits_129() {
    if let Some((code, lines)) = dashboard_in_a_killed_session(false) {
        assert_eq!(code, "129");
        assert!(lines < 3, "it stopped early: {lines} lines");
    }
}
