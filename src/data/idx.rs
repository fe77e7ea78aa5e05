//! IDX reader (raw or gzip): MNIST, Fashion-MNIST and the embedded mnist10k.
//!
//! The header is checked against the bytes that really follow before anything of the
//! declared size is allocated, so a hostile or truncated file costs at most its own size.

use std::io::Read;

use flate2::read::GzDecoder;

use super::DataError;

/// Type code of unsigned bytes, the only element type MNIST-style files use.
const UBYTE: u8 = 0x08;
/// Refuse declared sizes above this many elements (4 GiB): no real IDX dataset is that big,
/// and it keeps size arithmetic far from overflow.
const MAX_ELEMENTS: u64 = 1 << 32;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file from `reader`, decompressing it first when it starts with the gzip magic.
/// `source` names the file in errors.
pub fn read(reader: impl Read, source: &str) -> Result<Idx, DataError> {
    read_sized(reader, source, None)
}

/// [`read`] for a source of known total length (a file): a raw (not gzipped) file's declared
/// size is checked against that length before anything is read, and its data is read into one
/// allocation of exactly the declared size.
pub fn read_sized(reader: impl Read, source: &str, length: Option<u64>) -> Result<Idx, DataError> {
    let mut reader = reader;
    let mut head = [0u8; 2];
    let got = read_up_to(&mut reader, &mut head, source)?;
    let prefix = std::io::Cursor::new(head[..got].to_vec());
    if got == 2 && head == [0x1f, 0x8b] {
        read_plain(GzDecoder::new(prefix.chain(reader)), source, None)
    } else {
        read_plain(prefix.chain(reader), source, length)
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8], source: &str) -> Result<usize, DataError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(source, &e)),
        }
    }
    Ok(filled)
}

fn read_plain(mut reader: impl Read, source: &str, length: Option<u64>) -> Result<Idx, DataError> {
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut reader, &mut magic, source)?;
    if got < 4 {
        return Err(DataError::Truncated {
            file: source.into(),
            what: "the 4-byte IDX magic number".into(),
        });
    }
    if magic[0] != 0 || magic[1] != 0 || magic[2] != UBYTE || magic[3] == 0 || magic[3] > 4 {
        return Err(DataError::Format {
            file: source.into(),
            problem: format!(
                "bad IDX magic number 0x{:08x} (expected 0x00000801..0x00000804: unsigned bytes, 1-4 dimensions)",
                u32::from_be_bytes(magic)
            ),
        });
    }
    let ndims = usize::from(magic[3]);
    let mut dims_raw = [0u8; 16];
    let got = read_up_to(&mut reader, &mut dims_raw[..4 * ndims], source)?;
    if got < 4 * ndims {
        return Err(DataError::Truncated {
            file: source.into(),
            what: format!("the header ({ndims} dimension sizes)"),
        });
    }
    let dims: Vec<u64> = dims_raw[..4 * ndims]
        .chunks_exact(4)
        .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let total = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&t| t <= MAX_ELEMENTS)
        .ok_or_else(|| DataError::Format {
            file: source.into(),
            problem: format!("absurd declared size {dims:?}"),
        })?;
    // Read at most one byte more than declared: the vector grows with the real content,
    // never to the declared size up front, and never past it.
    let header = 4 + 4 * ndims as u64;
    let data = match length {
        // The real length is known: compare before reading, then read exactly what is declared.
        Some(len) if len == header + total => {
            let mut data = vec![0u8; usize::try_from(total).unwrap_or(usize::MAX)];
            reader
                .read_exact(&mut data)
                .map_err(|e| DataError::io(source, &e))?;
            data
        }
        Some(len) => {
            let found = len.saturating_sub(header);
            let problem = if found < total {
                format!(
                    "truncated: dimensions {dims:?} declare {total} bytes of data but only {found} follow the header"
                )
            } else {
                format!(
                    "dimensions {dims:?} declare {total} bytes of data but more follow the header"
                )
            };
            return Err(DataError::Format {
                file: source.into(),
                problem,
            });
        }
        None => read_capped(&mut reader, total + 1).map_err(|e| DataError::io(source, &e))?,
    };
    let found = data.len() as u64;
    if found < total {
        return Err(DataError::Format {
            file: source.into(),
            problem: format!(
                "truncated: dimensions {dims:?} declare {total} bytes of data but only {found} follow the header"
            ),
        });
    }
    if found > total {
        return Err(DataError::Format {
            file: source.into(),
            problem: format!(
                "dimensions {dims:?} declare {total} bytes of data but more follow the header"
            ),
        });
    }
    Ok(Idx {
        dims: dims.into_iter().map(|d| d as usize).collect(),
        data,
    })
}

/// Reads up to `limit` bytes. The buffer doubles as the bytes arrive (so its capacity is at
/// most twice what was read) but never beyond `limit`: an honest file of `n` bytes ends in a
/// buffer of `n + 1`, where `read_to_end` would double it once more to look for the end.
fn read_capped(reader: &mut impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    const CHUNK: usize = 16 * 1024;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut data: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; CHUNK.min(limit)];
    while data.len() < limit {
        let want = chunk.len().min(limit - data.len());
        let n = match reader.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if data.len() + n > data.capacity() {
            let target = (data.capacity() * 2).max(data.len() + n).min(limit);
            data.reserve_exact(target - data.len());
        }
        data.extend_from_slice(&chunk[..n]);
    }
    Ok(data)
}

/// Writes an IDX file of unsigned bytes; used by tests and tools that make small datasets.
pub fn encode(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, UBYTE, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_raw_and_gzip() {
        let file = encode(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let raw = read(&file[..], "raw").unwrap();
        assert_eq!(raw.dims, vec![2, 2, 3]);
        assert_eq!(raw.data[11], 12);
        assert_eq!(read(&gz(&file)[..], "gz").unwrap(), raw);
    }

    #[test]
    fn rejects_bad_magic() {
        let mut file = encode(&[1], &[0]);
        file[2] = 0x0d; // float elements
        let err = read(&file[..], "x.idx").unwrap_err().to_string();
        assert!(err.contains("x.idx") && err.contains("magic"), "{err}");
    }

    #[test]
    fn rejects_truncated_header_and_data() {
        let file = encode(&[3, 2], &[1, 2, 3, 4, 5, 6]);
        for cut in [0, 3, 6, 11] {
            let err = read(&file[..cut], "t").unwrap_err().to_string();
            assert!(err.contains("truncated"), "cut {cut}: {err}");
        }
        let err = read(&file[..file.len() - 1], "t").unwrap_err().to_string();
        assert!(
            err.contains("declare 6 bytes") && err.contains("only 5"),
            "{err}"
        );
        let err = read(&gz(&file[..file.len() - 2])[..], "t.gz")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.gz") && err.contains("only 4"), "{err}");
    }

    #[test]
    fn a_known_length_is_checked_before_reading() {
        let file = encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let len = file.len() as u64;
        assert_eq!(
            read_sized(&file[..], "f", Some(len)).unwrap(),
            read(&file[..], "f").unwrap()
        );
        let err = read_sized(&file[..], "f", Some(len - 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated") && err.contains("only 5"), "{err}");
        let err = read_sized(&file[..], "f", Some(len + 4))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more follow"), "{err}");
        // A huge declared size in a small file fails on the comparison, before any allocation.
        let big = encode(&[60_000, 28, 28], &[0; 10]);
        let err = read_sized(&big[..], "big", Some(big.len() as u64))
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut file = encode(&[2], &[1, 2]);
        file.push(3);
        assert!(read(&file[..], "t")
            .unwrap_err()
            .to_string()
            .contains("more follow"));
    }

    #[test]
    fn absurd_sizes_fail_without_allocating_them() {
        let file = encode(&[u32::MAX, u32::MAX, 28], &[0; 8]);
        let err = read(&file[..], "huge").unwrap_err().to_string();
        assert!(err.contains("absurd"), "{err}");
        // Large but representable: refused by the length check, not by an allocation failure.
        let file = encode(&[60000, 4000, 4000], &[0; 8]);
        assert!(read(&file[..], "big").is_err());
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_a_panic() {
        let mut bytes = gz(&encode(&[4], &[1, 2, 3, 4]));
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        bytes.truncate(bytes.len() - 3);
        assert!(read(&bytes[..], "bad.gz").is_err());
    }
}
