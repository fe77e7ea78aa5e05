//! Datasets: the embedded mnist10k, MNIST and Fashion-MNIST (IDX) and CIFAR-10 (binary),
//! split into train / validation / test with inputs scaled to [0, 1].

pub mod cifar;
pub mod idx;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use std::ops::Range;

use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

/// The 10,000 MNIST digits shipped in `datasets/mnist10k/` (see `datasets/README.md`).
const MNIST10K_IMAGES: &[u8] =
    include_bytes!("../../datasets/mnist10k/mnist10k-images-idx3-ubyte.gz");
const MNIST10K_LABELS: &[u8] =
    include_bytes!("../../datasets/mnist10k/mnist10k-labels-idx1-ubyte.gz");

/// Why a dataset could not be loaded. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: cannot read: {reason}")]
    Io { file: String, reason: String },
    #[error("{file}: missing ({hint})")]
    Missing { file: String, hint: String },
    #[error("{file}: truncated: the file ends inside {what}")]
    Truncated { file: String, what: String },
    #[error("{file}: {problem}")]
    Format { file: String, problem: String },
}

impl DataError {
    pub(crate) fn io(file: &str, e: &std::io::Error) -> Self {
        DataError::Io {
            file: file.into(),
            reason: e.to_string(),
        }
    }
}

/// Which data to train on ([`DatasetKind::about`] says what each is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// 10,000 real MNIST digits built into the binary: 8,000 / 1,000 / 1,000.
    Mnist10k,
    /// MNIST IDX files from --data-dir: 50k / 10k / 10k.
    Mnist,
    /// Fashion-MNIST IDX files from --data-dir: 50k / 10k / 10k.
    FashionMnist,
    /// CIFAR-10 binary batches from --data-dir: 50k / 5k / 5k.
    Cifar10,
}

impl DatasetKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [DatasetKind; 4] = [
        DatasetKind::Mnist10k,
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Cifar10,
    ];

    /// What the kind is, in a line (the `--dataset` help).
    pub fn about(self) -> &'static str {
        match self {
            DatasetKind::Mnist10k => {
                "10,000 real MNIST digits built into the binary: 8,000 / 1,000 / 1,000"
            }
            DatasetKind::Mnist => "MNIST IDX files from --data-dir: 50k / 10k / 10k",
            DatasetKind::FashionMnist => "Fashion-MNIST IDX files from --data-dir: 50k / 10k / 10k",
            DatasetKind::Cifar10 => "CIFAR-10 binary batches from --data-dir: 50k / 5k / 5k",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist10k => "mnist10k",
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Cifar10 => "cifar10",
        }
    }

    pub fn needs_data_dir(self) -> bool {
        self != DatasetKind::Mnist10k
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Examples and their class labels. The inputs are kept as the file's bytes (one row of `dim`
/// per example), a quarter of their size as `f32`; they are scaled to [0, 1] ([`scale`]) only
/// when copied into a batch or an evaluation chunk ([`Dataset::gather`],
/// [`Dataset::rows_into`], [`InputBuffer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pixels: Array2<u8>,
    labels: Vec<u8>,
}

/// A stored byte as a network input: `p / 255`, in [0, 1].
#[inline]
pub fn scale(p: u8) -> f32 {
    f32::from(p) / 255.0
}

/// Scales the bytes `src` into `dst` (same length).
fn scale_into(src: ArrayView1<'_, u8>, mut dst: ArrayViewMut1<'_, f32>) {
    dst.zip_mut_with(&src, |d, &p| *d = scale(p));
}

impl Dataset {
    /// Builds a dataset from raw bytes, `dim` bytes per example (`pixels.len()` must be
    /// `labels.len() · dim`).
    pub fn from_bytes(pixels: Vec<u8>, labels: Vec<u8>, dim: usize) -> Self {
        let pixels = Array2::from_shape_vec((labels.len(), dim), pixels)
            .expect("pixel count matches the labels");
        Self { pixels, labels }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.pixels.ncols()
    }

    /// The stored bytes, one row per example.
    pub fn pixels(&self) -> ArrayView2<'_, u8> {
        self.pixels.view()
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The examples `range`, as a new dataset.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Self {
        Self {
            pixels: self.pixels.slice(s![range.clone(), ..]).to_owned(),
            labels: self.labels[range].to_vec(),
        }
    }

    /// Scales the examples `rows` into the first rows of `x`.
    pub fn rows_into(&self, rows: Range<usize>, x: &mut ArrayViewMut2<'_, f32>) {
        for (src, dst) in self
            .pixels
            .slice(s![rows, ..])
            .rows()
            .into_iter()
            .zip(x.rows_mut())
        {
            scale_into(src, dst);
        }
    }

    /// The examples `rows`, scaled, as a new array (for one-off uses; loops use an
    /// [`InputBuffer`]).
    pub fn inputs(&self, rows: Range<usize>) -> Array2<f32> {
        let mut x = Array2::zeros((rows.len(), self.dim()));
        self.rows_into(rows, &mut x.view_mut());
        x
    }

    /// Scales the examples `indices` into the first rows of `x` and copies their labels into `y`.
    pub fn gather(&self, indices: &[usize], x: &mut ArrayViewMut2<'_, f32>, y: &mut Vec<u8>) {
        y.clear();
        for (row, &i) in indices.iter().enumerate() {
            scale_into(self.pixels.row(i), x.row_mut(row));
            y.push(self.labels[i]);
        }
    }
}

/// Room for a chunk of up to `capacity` examples as `f32`, refilled from a [`Dataset`]'s bytes
/// for each chunk: evaluation walks a whole split through it without ever scaling the split.
#[derive(Debug, Clone)]
pub struct InputBuffer {
    x: Array2<f32>,
}

impl InputBuffer {
    pub fn new(capacity: usize, dim: usize) -> Self {
        Self {
            x: Array2::zeros((capacity, dim)),
        }
    }

    pub fn capacity(&self) -> usize {
        self.x.nrows()
    }

    /// Values per example.
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// The examples `rows` of `data` (at most [`InputBuffer::capacity`] of them), scaled.
    pub fn load(&mut self, data: &Dataset, rows: Range<usize>) -> ArrayView2<'_, f32> {
        let n = rows.len();
        assert!(
            n <= self.capacity(),
            "{n} rows exceed the buffer's {}",
            self.capacity()
        );
        data.rows_into(rows, &mut self.x.view_mut());
        self.x.slice(s![..n, ..])
    }
}

/// A dataset split three ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    pub name: String,
    pub train: Dataset,
    pub valid: Dataset,
    pub test: Dataset,
    pub classes: usize,
}

impl Splits {
    pub fn input_dim(&self) -> usize {
        self.train.dim()
    }
}

/// Loads `kind`, reading files from `data_dir` for everything but the embedded mnist10k.
pub fn load(kind: DatasetKind, data_dir: Option<&Path>) -> Result<Splits, DataError> {
    let dir = || -> Result<&Path, DataError> {
        data_dir.ok_or_else(|| DataError::Missing {
            file: "--data-dir".into(),
            hint: format!("--dataset {kind} reads its files from --data-dir"),
        })
    };
    match kind {
        DatasetKind::Mnist10k => mnist10k(),
        DatasetKind::Mnist | DatasetKind::FashionMnist => load_mnist_style(kind.name(), dir()?),
        DatasetKind::Cifar10 => load_cifar10(dir()?),
    }
}

/// The embedded digits, split 8,000 / 1,000 / 1,000 in file order.
pub fn mnist10k() -> Result<Splits, DataError> {
    let all = images_with_labels(
        idx::read(MNIST10K_IMAGES, "embedded mnist10k-images-idx3-ubyte.gz")?,
        "embedded mnist10k-images-idx3-ubyte.gz",
        idx::read(MNIST10K_LABELS, "embedded mnist10k-labels-idx1-ubyte.gz")?,
        "embedded mnist10k-labels-idx1-ubyte.gz",
    )?;
    Ok(Splits {
        name: "mnist10k".into(),
        train: all.dataset(0..8000),
        valid: all.dataset(8000..9000),
        test: all.dataset(9000..10000),
        classes: 10,
    })
}

/// A data file found in `--data-dir`, and its gzipped twin when both `NAME` and `NAME.gz` are
/// there.
struct Found {
    path: PathBuf,
    twin: Option<PathBuf>,
}

/// The first existing file among `names` (each tried raw and gzipped) in `dir`. A name that is
/// there but is not a readable regular file (a dangling link, a link loop, a FIFO, a
/// directory) is reported as what it is, not as missing.
fn find_file(dir: &Path, names: &[&str]) -> Result<Found, DataError> {
    for name in names {
        let raw = dir.join(name);
        let gz = dir.join(format!("{name}.gz"));
        let present = |p: &Path| std::fs::symlink_metadata(p).is_ok();
        for (path, other) in [(&raw, &gz), (&gz, &raw)] {
            if !present(path) {
                continue;
            }
            if let Some(why) = crate::os::paths::not_a_readable_file(path) {
                return Err(DataError::Format {
                    file: path.display().to_string(),
                    problem: why,
                });
            }
            let twin = (path == &raw && present(other) && other.is_file()).then(|| other.clone());
            return Ok(Found {
                path: path.clone(),
                twin,
            });
        }
    }
    Err(DataError::Missing {
        file: dir.join(names[0]).display().to_string(),
        hint: format!("looked for {}, raw or .gz", names.join(", ")),
    })
}

fn open_idx_file(path: &Path) -> Result<idx::Opened<'static>, DataError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| DataError::io(&name, &e))?;
    let length = file.metadata().ok().map(|m| m.len());
    idx::open(BufReader::new(file), &name, length)
}

/// When both `NAME` and `NAME.gz` exist, the raw one is read; this checks that the gzipped one
/// holds the same bytes, so that two files that disagree are never resolved silently. The gzip
/// trailer's CRC-32 and length settle it without inflating anything; only when they differ
/// (another file, or a multi-member gzip, whose trailer covers only its last member) is the
/// gzip inflated and compared, in small chunks.
fn check_twin(raw: &Path, header: &[u8], data: &[u8], gz: &Path) -> Result<(), DataError> {
    use std::io::{Seek, SeekFrom};
    let gz_name = gz.display().to_string();
    let differ = || {
        DataError::Format {
        file: raw.display().to_string(),
        problem: format!(
            "{gz_name} is also there and holds other data: remove the one you do not mean (relutui reads the raw file when both exist)"
        ),
    }
    };
    let mut file = File::open(gz).map_err(|e| DataError::io(&gz_name, &e))?;
    let mut trailer = [0u8; 8];
    let trailer_ok = file
        .seek(SeekFrom::End(-8))
        .and_then(|_| file.read_exact(&mut trailer))
        .is_ok();
    let len = (header.len() + data.len()) as u64;
    if trailer_ok {
        let mut crc = crc32fast::Hasher::new();
        crc.update(header);
        crc.update(data);
        let want_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let want_len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if crc.finalize() == want_crc && (len & 0xffff_ffff) as u32 == want_len {
            return Ok(());
        }
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::io(&gz_name, &e))?;
    let mut inflated = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    let mut chunk = vec![0u8; 64 * 1024];
    let expected = header.iter().chain(data.iter());
    let mut expected = expected.copied();
    let mut seen = 0u64;
    loop {
        let n = match inflated.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => return Err(differ()),
        };
        seen += n as u64;
        if seen > len || !chunk[..n].iter().all(|&b| expected.next() == Some(b)) {
            return Err(differ());
        }
    }
    if seen == len {
        Ok(())
    } else {
        Err(differ())
    }
}

/// Checked images and labels, before the split.
struct RawImages {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    dim: usize,
}

impl RawImages {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn dataset(&self, range: Range<usize>) -> Dataset {
        Dataset::from_bytes(
            self.pixels[range.start * self.dim..range.end * self.dim].to_vec(),
            self.labels[range].to_vec(),
            self.dim,
        )
    }
}

/// Checks that an image file's header (n × rows × cols) and a label file's (n) go together,
/// before either file's data is read. Returns (n, rows, cols).
fn check_pair_headers(
    images: &[usize],
    images_name: &str,
    labels: &[usize],
    labels_name: &str,
) -> Result<(usize, usize, usize), DataError> {
    if images.len() != 3 {
        return Err(DataError::Format {
            file: images_name.into(),
            problem: format!("expected 3 dimensions (images × rows × columns), found {images:?}"),
        });
    }
    if labels.len() != 1 {
        return Err(DataError::Format {
            file: labels_name.into(),
            problem: format!("expected 1 dimension (labels), found {labels:?}"),
        });
    }
    let (n, rows, cols) = (images[0], images[1], images[2]);
    if n == 0 || rows * cols == 0 {
        return Err(DataError::Format {
            file: images_name.into(),
            problem: format!("no examples (dimensions {images:?})"),
        });
    }
    if labels[0] != n {
        return Err(DataError::Format {
            file: labels_name.into(),
            problem: format!("{} labels for {n} images in {images_name}", labels[0]),
        });
    }
    Ok((n, rows, cols))
}

/// Pairs an image file (n × rows × cols) with a label file (n) of classes 0-9.
fn images_with_labels(
    images: idx::Idx,
    images_name: &str,
    labels: idx::Idx,
    labels_name: &str,
) -> Result<RawImages, DataError> {
    let (_, rows, cols) = check_pair_headers(&images.dims, images_name, &labels.dims, labels_name)?;
    if let Some((i, &bad)) = labels.data.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(DataError::Format {
            file: labels_name.into(),
            problem: format!("label {bad} at index {i} (expected 0-9)"),
        });
    }
    Ok(RawImages {
        pixels: images.data,
        labels: labels.data,
        dim: rows * cols,
    })
}

/// MNIST and Fashion-MNIST images are 28 × 28 by definition.
const MNIST_SIDE: usize = 28;

/// One opened pair of image and label files, headers checked, data not yet read.
struct PendingPair {
    images: (idx::Opened<'static>, Found),
    labels: (idx::Opened<'static>, Found),
    shape: (usize, usize, usize),
}

impl PendingPair {
    fn open(dir: &Path, images: &[&str], labels: &[&str]) -> Result<Self, DataError> {
        let ip = find_file(dir, images)?;
        let lp = find_file(dir, labels)?;
        let io = open_idx_file(&ip.path)?;
        let lo = open_idx_file(&lp.path)?;
        let shape = check_pair_headers(
            &io.dims,
            &ip.path.display().to_string(),
            &lo.dims,
            &lp.path.display().to_string(),
        )?;
        Ok(Self {
            images: (io, ip),
            labels: (lo, lp),
            shape,
        })
    }

    fn declared_bytes(&self) -> u64 {
        self.images.0.declared_bytes() + self.labels.0.declared_bytes()
    }

    fn read(self) -> Result<RawImages, DataError> {
        let read_one = |(opened, found): (idx::Opened<'static>, Found)| {
            let header = opened.header_bytes();
            let idx = opened.read_data()?;
            if let Some(twin) = &found.twin {
                check_twin(&found.path, &header, &idx.data, twin)?;
            }
            Ok::<_, DataError>((idx, found.path.display().to_string()))
        };
        let (images, images_name) = read_one(self.images)?;
        let (labels, labels_name) = read_one(self.labels)?;
        images_with_labels(images, &images_name, labels, &labels_name)
    }
}

/// MNIST and Fashion-MNIST: the usual four IDX files. The last 10,000 training examples
/// (a sixth of smaller files) are the validation set, giving the paper's 50k / 10k / 10k.
///
/// All four headers are read and checked against each other (images against labels, 28 × 28
/// images, train against test) before any file's data is read or inflated.
fn load_mnist_style(name: &str, dir: &Path) -> Result<Splits, DataError> {
    let train = PendingPair::open(
        dir,
        &["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
        &["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
    )?;
    let test = PendingPair::open(
        dir,
        &["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
        &["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
    )?;
    for pair in [&train, &test] {
        let (_, rows, cols) = pair.shape;
        if (rows, cols) != (MNIST_SIDE, MNIST_SIDE) {
            return Err(DataError::Format {
                file: pair.images.1.path.display().to_string(),
                problem: format!(
                    "images of {rows}×{cols} pixels, but --dataset {name} images are 28×28"
                ),
            });
        }
    }
    let declared = train.declared_bytes() + test.declared_bytes();
    if let Some(avail) = crate::os::memory::available() {
        if declared as f64 > avail {
            return Err(DataError::Format {
                file: train.images.1.path.display().to_string(),
                problem: format!(
                    "the files declare {} of data, more than the {} this machine has available",
                    crate::os::memory::human(declared as f64),
                    crate::os::memory::human(avail)
                ),
            });
        }
    }
    let train_all = train.read()?;
    let test = test.read()?;
    let n = train_all.len();
    let valid = (n / 6).min(10_000);
    if valid == 0 {
        return Err(DataError::Format {
            file: dir.join("train-images-idx3-ubyte").display().to_string(),
            problem: format!("only {n} training images: too few to split off a validation set"),
        });
    }
    Ok(Splits {
        name: name.into(),
        train: train_all.dataset(0..n - valid),
        valid: train_all.dataset(n - valid..n),
        test: test.dataset(0..test.len()),
        classes: 10,
    })
}

/// Checks a CIFAR-10 batch file before reading it: a readable regular file whose length is a
/// whole number of records, at most [`cifar::MAX_RECORDS`] of them. Returns its records.
fn cifar_records(path: &Path) -> Result<usize, DataError> {
    let name = path.display().to_string();
    match crate::os::paths::not_a_readable_file(path) {
        None => {}
        Some(why) if why == "missing" => return Err(DataError::Missing {
            file: name,
            hint:
                "CIFAR-10 binary version: data_batch_1.bin .. data_batch_5.bin and test_batch.bin"
                    .into(),
        }),
        Some(why) => {
            return Err(DataError::Format {
                file: name,
                problem: why,
            })
        }
    }
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(&name, &e))?
        .len();
    cifar::records_in(len, &name)
}

/// Reads `records` records of the batch at `path` straight into `labels` and `pixels`, one
/// record at a time: no copy of the file is ever held.
fn read_cifar_batch(
    path: &Path,
    records: usize,
    labels: &mut Vec<u8>,
    pixels: &mut Vec<u8>,
) -> Result<(), DataError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| DataError::io(&name, &e))?;
    cifar::read_records(BufReader::new(file), records, &name, labels, pixels)
}

/// CIFAR-10: the five training batches (50k); the test batch's first half validates and its
/// second half tests, giving the paper's 50k / 5k / 5k. Every file's length is checked before
/// any is read, and the records are read into vectors of their final size: the peak is the
/// dataset's own size.
fn load_cifar10(dir: &Path) -> Result<Splits, DataError> {
    // The official archive unpacks into cifar-10-batches-bin/; accept either place.
    let nested = dir.join("cifar-10-batches-bin");
    let dir = if std::fs::symlink_metadata(dir.join("data_batch_1.bin")).is_err() && nested.is_dir()
    {
        nested
    } else {
        dir.to_path_buf()
    };
    let train_paths: Vec<PathBuf> = (1..=5)
        .map(|i| dir.join(format!("data_batch_{i}.bin")))
        .collect();
    let test_path = dir.join("test_batch.bin");
    let train_records = train_paths
        .iter()
        .map(|p| cifar_records(p))
        .collect::<Result<Vec<_>, _>>()?;
    let test_records = cifar_records(&test_path)?;
    if test_records < 2 {
        return Err(DataError::Format {
            file: test_path.display().to_string(),
            problem: "needs at least 2 records to split into validation and test".into(),
        });
    }
    let n: usize = train_records.iter().sum();
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * cifar::IMAGE_BYTES);
    for (path, &records) in train_paths.iter().zip(&train_records) {
        read_cifar_batch(path, records, &mut labels, &mut pixels)?;
    }
    let half = test_records / 2;
    let mut valid_labels = Vec::with_capacity(test_records);
    let mut valid_pixels = Vec::with_capacity(test_records * cifar::IMAGE_BYTES);
    read_cifar_batch(
        &test_path,
        test_records,
        &mut valid_labels,
        &mut valid_pixels,
    )?;
    let test_labels = valid_labels.split_off(half);
    let test_pixels = valid_pixels.split_off(half * cifar::IMAGE_BYTES);
    valid_pixels.shrink_to_fit();
    Ok(Splits {
        name: "cifar10".into(),
        train: Dataset::from_bytes(pixels, labels, cifar::IMAGE_BYTES),
        valid: Dataset::from_bytes(valid_pixels, valid_labels, cifar::IMAGE_BYTES),
        test: Dataset::from_bytes(test_pixels, test_labels, cifar::IMAGE_BYTES),
        classes: cifar::CLASSES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conversion the datasets used to apply once at load time, kept here as the reference
    /// that batches and chunks scaled on demand must match bit for bit.
    fn old_f32(pixels: &[u8], dim: usize) -> Array2<f32> {
        Array2::from_shape_vec(
            (pixels.len() / dim, dim),
            pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        )
        .unwrap()
    }

    fn bits(x: &ArrayView2<'_, f32>) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn embedded_mnist10k_loads_and_splits_in_order() {
        let s = mnist10k().unwrap();
        assert_eq!(
            (s.train.len(), s.valid.len(), s.test.len()),
            (8000, 1000, 1000)
        );
        assert_eq!(s.input_dim(), 784);
        // Digits are mostly background: about 80 % of pixels are exactly 0.
        let px = s.train.pixels();
        let zeros = px.iter().filter(|&&v| v == 0).count() as f64 / px.len() as f64;
        assert!((0.7..0.9).contains(&zeros), "zero fraction {zeros}");
        let mut counts = [0usize; 10];
        for &l in s.test.labels() {
            counts[usize::from(l)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (77..=130).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn inputs_are_stored_as_bytes_and_scaled_like_the_old_f32_copy() {
        let s = mnist10k().unwrap();
        // One byte per pixel: n × dim u8, the file's own values.
        let px = s.train.pixels();
        assert_eq!(px.dim(), (8000, 784));
        assert_eq!(std::mem::size_of_val(px.as_slice().unwrap()), 8000 * 784);
        let all = idx::read(MNIST10K_IMAGES, "mnist10k").unwrap().data;
        assert_eq!(
            s.valid.pixels().as_slice().unwrap(),
            &all[8000 * 784..9000 * 784]
        );
        let old = old_f32(px.as_slice().unwrap(), 784);

        // A shuffled mini-batch, into a larger buffer, as the trainer gathers it.
        let indices = [7999, 0, 4321, 17, 17, 2500, 123, 6000, 42, 7000];
        let mut x = Array2::from_elem((12, 784), f32::NAN);
        let mut y = vec![99];
        s.train.gather(&indices, &mut x.view_mut(), &mut y);
        for (row, &i) in indices.iter().enumerate() {
            assert_eq!(
                bits(&x.slice(s![row..=row, ..])),
                bits(&old.slice(s![i..=i, ..]))
            );
        }
        assert!(
            x.slice(s![10.., ..]).iter().all(|v| v.is_nan()),
            "rows past the batch untouched"
        );
        assert_eq!(y, indices.map(|i| s.train.labels()[i]));

        // Evaluation chunks, the last one short, and the one-off copy.
        let mut buf = InputBuffer::new(300, 784);
        for start in (0..8000).step_by(300) {
            let end = (start + 300).min(8000);
            let chunk = buf.load(&s.train, start..end);
            assert_eq!(chunk.nrows(), end - start);
            assert_eq!(bits(&chunk), bits(&old.slice(s![start..end, ..])));
        }
        assert_eq!(
            bits(&s.train.inputs(100..250).view()),
            bits(&old.slice(s![100..250, ..]))
        );

        // Every byte value, not just those in the digits.
        let every: Vec<u8> = (0..=255).collect();
        let d = Dataset::from_bytes(every.clone(), vec![0; 16], 16);
        assert_eq!(
            bits(&d.inputs(0..16).view()),
            bits(&old_f32(&every, 16).view())
        );
        assert!(d.inputs(0..16).iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!((scale(0), scale(255)), (0.0, 1.0));
    }

    #[test]
    fn slices_keep_bytes_and_labels() {
        let d = Dataset::from_bytes(vec![0, 255, 51, 102, 153, 204], vec![1, 2, 3], 2);
        let s = d.slice(1..3);
        assert_eq!(s.pixels(), ndarray::array![[51u8, 102], [153, 204]]);
        assert_eq!(s.labels(), &[2, 3]);
        assert_eq!(s.dim(), 2);
    }

    #[test]
    #[should_panic(expected = "exceed")]
    fn a_chunk_larger_than_the_buffer_is_refused() {
        let d = Dataset::from_bytes(vec![0; 8], vec![0; 4], 2);
        let _ = InputBuffer::new(3, 2).load(&d, 0..4);
    }
}
