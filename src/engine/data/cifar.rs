//! CIFAR-10 binary reader (`data_batch_1..5.bin`, `test_batch.bin`), and the loading of the
//! six batches from `--data-dir` into the paper's 50k / 5k / 5k.
//!
//! Each record is one label byte (0-9) followed by 3,072 pixel bytes: the red, green and blue
//! 32×32 planes in that order.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::{DataError, Dataset, Splits};

pub const IMAGE_BYTES: usize = 3 * 32 * 32;
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
pub const CLASSES: usize = 10;

/// A CIFAR-10 batch holds 10,000 records; a file longer than this many is not one.
pub const MAX_RECORDS: usize = 10_000;

/// The records in a batch file of `len` bytes, checked before anything is read: not empty,
/// a whole number of records, at most [`MAX_RECORDS`].
pub fn records_in(len: u64, source: &str) -> Result<usize, DataError> {
    if len == 0 {
        return Err(DataError::Format {
            file: source.into(),
            problem: "empty file (expected records of 3,073 bytes)".into(),
        });
    }
    if len % RECORD_BYTES as u64 != 0 {
        return Err(DataError::Format {
            file: source.into(),
            problem: format!(
                "length {len} is not a whole number of 3,073-byte records (truncated or not a CIFAR-10 binary batch)"
            ),
        });
    }
    let records = len / RECORD_BYTES as u64;
    if records > MAX_RECORDS as u64 {
        return Err(DataError::Format {
            file: source.into(),
            problem: format!(
                "{records} records, but a CIFAR-10 batch holds at most {MAX_RECORDS} (length {len})"
            ),
        });
    }
    Ok(records as usize)
}

/// Reads `records` records from `reader`, appending labels and pixels; checks every label.
pub fn read_records(
    mut reader: impl std::io::Read,
    records: usize,
    source: &str,
    labels: &mut Vec<u8>,
    pixels: &mut Vec<u8>,
) -> Result<(), DataError> {
    let mut record = [0u8; RECORD_BYTES];
    for i in 0..records {
        reader.read_exact(&mut record).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                DataError::Truncated {
                    file: source.into(),
                    what: format!("record {i} (the file shrank while it was read)"),
                }
            } else {
                DataError::io(source, &e)
            }
        })?;
        let label = record[0];
        if usize::from(label) >= CLASSES {
            return Err(DataError::Format {
                file: source.into(),
                problem: format!("record {i} has label {label} (expected 0-9)"),
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Labels and raw pixels of one batch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub labels: Vec<u8>,
    /// `labels.len() × IMAGE_BYTES`, row-major.
    pub pixels: Vec<u8>,
}

/// Parses the bytes of one batch file; `source` names it in errors.
pub fn parse(bytes: &[u8], source: &str) -> Result<Batch, DataError> {
    let records = records_in(bytes.len() as u64, source)?;
    let mut labels = Vec::with_capacity(records);
    let mut pixels = Vec::with_capacity(records * IMAGE_BYTES);
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = record[0];
        if usize::from(label) >= CLASSES {
            return Err(DataError::Format {
                file: source.into(),
                problem: format!("record {i} has label {label} (expected 0-9)"),
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(Batch { labels, pixels })
}

/// Checks a CIFAR-10 batch file before reading it: a readable regular file whose length is a
/// whole number of records, at most [`MAX_RECORDS`] of them. Returns its records.
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
    records_in(len, &name)
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
    read_records(BufReader::new(file), records, &name, labels, pixels)
}

/// CIFAR-10: the five training batches (50k); the test batch's first half validates and its
/// second half tests, giving the paper's 50k / 5k / 5k. Every file's length is checked before
/// any is read, and the records are read into vectors of their final size: the peak is the
/// dataset's own size.
pub(super) fn load_cifar10(dir: &Path) -> Result<Splits, DataError> {
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
    let mut pixels = Vec::with_capacity(n * IMAGE_BYTES);
    for (path, &records) in train_paths.iter().zip(&train_records) {
        read_cifar_batch(path, records, &mut labels, &mut pixels)?;
    }
    let half = test_records / 2;
    let mut valid_labels = Vec::with_capacity(test_records);
    let mut valid_pixels = Vec::with_capacity(test_records * IMAGE_BYTES);
    read_cifar_batch(
        &test_path,
        test_records,
        &mut valid_labels,
        &mut valid_pixels,
    )?;
    let test_labels = valid_labels.split_off(half);
    let test_pixels = valid_pixels.split_off(half * IMAGE_BYTES);
    valid_pixels.shrink_to_fit();
    Ok(Splits {
        name: "cifar10".into(),
        train: Dataset::from_bytes(pixels, labels, IMAGE_BYTES),
        valid: Dataset::from_bytes(valid_pixels, valid_labels, IMAGE_BYTES),
        test: Dataset::from_bytes(test_pixels, test_labels, IMAGE_BYTES),
        classes: CLASSES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(fill, IMAGE_BYTES));
        r
    }

    #[test]
    fn parses_records() {
        let mut bytes = record(3, 7);
        bytes.extend(record(9, 255));
        let b = parse(&bytes, "b.bin").unwrap();
        assert_eq!(b.labels, vec![3, 9]);
        assert_eq!(b.pixels.len(), 2 * IMAGE_BYTES);
        assert_eq!(b.pixels[IMAGE_BYTES], 255);
    }

    #[test]
    fn rejects_truncated_and_bad_labels() {
        let bytes = record(3, 7);
        let err = parse(&bytes[..100], "cut.bin").unwrap_err().to_string();
        assert!(err.contains("cut.bin") && err.contains("3,073"), "{err}");
        let err = parse(&record(10, 0), "lab.bin").unwrap_err().to_string();
        assert!(err.contains("label 10"), "{err}");
        assert!(parse(&[], "e.bin")
            .unwrap_err()
            .to_string()
            .contains("empty"));
    }
}
