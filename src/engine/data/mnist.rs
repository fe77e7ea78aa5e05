//! MNIST-style data (28 × 28 digits or clothes in IDX files, [`super::idx`]): the embedded
//! mnist10k, and MNIST or Fashion-MNIST read from `--data-dir`, raw or gzipped, with every
//! header checked before any data is read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{idx, DataError, Dataset, Splits};

/// The 10,000 MNIST digits shipped in `datasets/mnist10k/` (see `datasets/README.md`).
pub(super) const MNIST10K_IMAGES: &[u8] =
    include_bytes!("../../../datasets/mnist10k/mnist10k-images-idx3-ubyte.gz");
const MNIST10K_LABELS: &[u8] =
    include_bytes!("../../../datasets/mnist10k/mnist10k-labels-idx1-ubyte.gz");

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
pub(super) fn load_mnist_style(name: &str, dir: &Path) -> Result<Splits, DataError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
