//! CIFAR-10 binary reader (`data_batch_1..5.bin`, `test_batch.bin`).
//!
//! Each record is one label byte (0-9) followed by 3,072 pixel bytes: the red, green and blue
//! 32×32 planes in that order.

use super::DataError;

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
