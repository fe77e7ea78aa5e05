//! The MNIST-style and CIFAR-10 readers on files the tests write themselves: valid ones in
//! every supported naming and compression, and broken ones that must fail with a clear error.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use flate2::write::GzEncoder;
use relutui::engine::data::{self, idx, DatasetKind};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `n` 28×28 images (the size MNIST and Fashion-MNIST define) whose pixels encode their
/// index, and labels `i % 10`.
fn images(n: u32) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * 784).map(|i| ((i / 784) % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    (
        idx::encode(&[n, 28, 28], &pixels),
        idx::encode(&[n], &labels),
    )
}

fn write_mnist(dir: &Path, train: u32, test: u32, gzip: bool, dotted: bool) {
    let sep = if dotted { '.' } else { '-' };
    let (ti, tl) = images(train);
    let (si, sl) = images(test);
    for (name, bytes) in [
        (format!("train-images{sep}idx3-ubyte"), ti),
        (format!("train-labels{sep}idx1-ubyte"), tl),
        (format!("t10k-images{sep}idx3-ubyte"), si),
        (format!("t10k-labels{sep}idx1-ubyte"), sl),
    ] {
        if gzip {
            fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
        } else {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn mnist_style_files_load_raw_gzip_and_dotted_names() {
    for (gzip, dotted) in [(false, false), (true, false), (false, true)] {
        let dir = tempfile::tempdir().unwrap();
        write_mnist(dir.path(), 600, 50, gzip, dotted);
        for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
            let s = data::load(kind, Some(dir.path())).unwrap();
            // The last sixth (at most 10,000) of the training file validates.
            assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (500, 100, 50));
            assert_eq!(s.input_dim(), 784);
            // File order is kept: validation starts at training example 500.
            assert_eq!(s.valid.pixels()[[0, 0]], (500 % 256) as u8);
            assert_eq!(s.valid.labels()[0], 0);
        }
    }
}

#[test]
fn full_size_mnist_split_is_50k_10k_10k() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 60_000, 10_000, true, false);
    let s = data::load(DatasetKind::Mnist, Some(dir.path())).unwrap();
    assert_eq!(
        (s.train.len(), s.valid.len(), s.test.len()),
        (50_000, 10_000, 10_000)
    );
}

fn cifar_record(label: u8, fill: u8) -> Vec<u8> {
    let mut r = vec![label];
    r.extend(std::iter::repeat_n(fill, 3072));
    r
}

fn write_cifar(dir: &Path, per_batch: usize, test: usize) {
    for b in 1..=5 {
        let bytes: Vec<u8> = (0..per_batch)
            .flat_map(|i| cifar_record((i % 10) as u8, b as u8))
            .collect();
        fs::write(dir.join(format!("data_batch_{b}.bin")), bytes).unwrap();
    }
    let bytes: Vec<u8> = (0..test)
        .flat_map(|i| cifar_record((i % 10) as u8, 200 + u8::from(i >= test / 2)))
        .collect();
    fs::write(dir.join("test_batch.bin"), bytes).unwrap();
}

#[test]
fn cifar10_uses_all_training_batches_and_halves_the_test_batch() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path(), 20, 10);
    let s = data::load(DatasetKind::Cifar10, Some(dir.path())).unwrap();
    assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (100, 5, 5));
    assert_eq!(s.input_dim(), 3072);
    assert_eq!(s.train.pixels()[[99, 0]], 5);
    assert_eq!(s.valid.pixels()[[0, 0]], 200);
    assert_eq!(s.test.pixels()[[0, 0]], 201);
    assert!((s.test.inputs(0..1)[[0, 0]] - 201.0 / 255.0).abs() < 1e-6);

    // The official archive's folder is found too.
    let outer = tempfile::tempdir().unwrap();
    let nested = outer.path().join("cifar-10-batches-bin");
    fs::create_dir(&nested).unwrap();
    write_cifar(&nested, 2, 4);
    let s = data::load(DatasetKind::Cifar10, Some(outer.path())).unwrap();
    assert_eq!(s.train.len(), 10);
}

/// Each broken file fails with one message naming the file and the problem.
#[test]
fn broken_mnist_files_give_clear_errors() {
    type Breaker = fn(&Path);
    let cases: [(&str, Breaker, &str, &str); 6] = [
        (
            "wrong magic",
            |d| {
                let mut b = fs::read(d.join("train-images-idx3-ubyte")).unwrap();
                b[2] = 0x0d;
                fs::write(d.join("train-images-idx3-ubyte"), b).unwrap();
            },
            "train-images-idx3-ubyte",
            "magic",
        ),
        (
            "truncated data",
            |d| {
                let b = fs::read(d.join("t10k-images-idx3-ubyte")).unwrap();
                fs::write(d.join("t10k-images-idx3-ubyte"), &b[..b.len() - 7]).unwrap();
            },
            "t10k-images-idx3-ubyte",
            "truncated",
        ),
        (
            "dimensions disagree with length",
            |d| {
                let mut b = fs::read(d.join("train-labels-idx1-ubyte")).unwrap();
                b[7] = b[7].wrapping_add(3);
                fs::write(d.join("train-labels-idx1-ubyte"), b).unwrap();
            },
            "train-labels-idx1-ubyte",
            "declare",
        ),
        (
            "absurd size",
            |d| {
                let mut b = fs::read(d.join("train-images-idx3-ubyte")).unwrap();
                b[4..16].fill(0xff);
                fs::write(d.join("train-images-idx3-ubyte"), b).unwrap();
            },
            "train-images-idx3-ubyte",
            "absurd",
        ),
        (
            "missing file",
            |d| fs::remove_file(d.join("t10k-labels-idx1-ubyte")).unwrap(),
            "t10k-labels-idx1-ubyte",
            "missing",
        ),
        (
            "labels and images disagree",
            |d| {
                fs::write(
                    d.join("train-labels-idx1-ubyte"),
                    idx::encode(&[599], &[1; 599]),
                )
                .unwrap();
            },
            "train-labels-idx1-ubyte",
            "599 labels for 600 images",
        ),
    ];
    for (what, breaker, file, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_mnist(dir.path(), 600, 50, false, false);
        breaker(dir.path());
        let err = data::load(DatasetKind::Mnist, Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(file), "{what}: {err}");
        assert!(err.contains(problem), "{what}: {err}");
    }
}

#[test]
fn broken_cifar_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path(), 3, 4);
    let b = fs::read(dir.path().join("data_batch_3.bin")).unwrap();
    fs::write(dir.path().join("data_batch_3.bin"), &b[..b.len() - 1]).unwrap();
    let err = data::load(DatasetKind::Cifar10, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data_batch_3.bin") && err.contains("3,073"),
        "{err}"
    );

    fs::remove_file(dir.path().join("test_batch.bin")).unwrap();
    write_cifar_batch_fix(dir.path());
    let err = data::load(DatasetKind::Cifar10, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("test_batch.bin") && err.contains("missing"),
        "{err}"
    );
}

fn write_cifar_batch_fix(dir: &Path) {
    let bytes: Vec<u8> = (0..3).flat_map(|i| cifar_record(i, 0)).collect();
    fs::write(dir.join("data_batch_3.bin"), bytes).unwrap();
}

#[test]
fn the_binary_reports_a_broken_file_in_one_line_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 600, 50, true, false);
    let p = dir.path().join("train-images-idx3-ubyte.gz");
    let b = fs::read(&p).unwrap();
    fs::write(&p, &b[..b.len() / 2]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_relutui"))
        .args(["--headless", "--dataset", "mnist", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("train-images-idx3-ubyte.gz"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_binary_trains_on_mnist_style_files() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 120, 20, true, false);
    let out = Command::new(env!("CARGO_BIN_EXE_relutui"))
        .args(["--headless", "--epochs", "2", "--hidden", "8", "--dataset"])
        .arg("fashion-mnist")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
}
