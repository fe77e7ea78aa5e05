//! IDX reader (raw or gzip): MNIST, Fashion-MNIST and the embedded mnist10k.
//!
//! The header is checked against the bytes that really follow before anything of the
//! declared size is allocated, so a hostile or truncated file costs at most its own size.

use std::io::Read;

use flate2::read::MultiGzDecoder;

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
    open(reader, source, length)?.read_data()
}

/// An IDX file whose header has been read and checked, and whose data has not: callers compare
/// the headers of files that must agree (images and labels, train and test) before reading,
/// let alone inflating, any data.
pub struct Opened<'a> {
    /// The declared dimensions.
    pub dims: Vec<usize>,
    /// Whether the file is gzipped.
    pub gzipped: bool,
    total: u64,
    dims_raw: Vec<u64>,
    length: Option<u64>,
    reader: Box<dyn Read + 'a>,
    source: String,
}

impl std::fmt::Debug for Opened<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("dims", &self.dims)
            .field("gzipped", &self.gzipped)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Reads and checks the header of an IDX file (raw or gzip), and for a raw file of known
/// `length` that the declared size matches it. A gzip file may have several members, as
/// `cat a.gz b.gz` makes and `zcat` reads; bytes after the last member that are not another
/// gzip member are an error (zcat only warns about them, but they mean the file is not what
/// it claims).
pub fn open<'a>(
    reader: impl Read + 'a,
    source: &str,
    length: Option<u64>,
) -> Result<Opened<'a>, DataError> {
    let mut reader = reader;
    let mut head = [0u8; 2];
    let got = read_up_to(&mut reader, &mut head, source)?;
    let prefix = std::io::Cursor::new(head[..got].to_vec());
    let gzipped = got == 2 && head == [0x1f, 0x8b];
    let mut reader: Box<dyn Read + 'a> = if gzipped {
        Box::new(MultiGzDecoder::new(prefix.chain(reader)))
    } else {
        Box::new(prefix.chain(reader))
    };
    let length = if gzipped { None } else { length };
    let (dims, total) = read_header(&mut reader, source)?;
    let header = 4 + 4 * dims.len() as u64;
    if let Some(len) = length {
        if len != header + total {
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
    }
    Ok(Opened {
        dims: dims.iter().map(|&d| d as usize).collect(),
        gzipped,
        total,
        dims_raw: dims,
        length,
        reader,
        source: source.into(),
    })
}

fn read_header(reader: &mut impl Read, source: &str) -> Result<(Vec<u64>, u64), DataError> {
    let mut magic = [0u8; 4];
    let got = read_up_to(reader, &mut magic, source)?;
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
    let got = read_up_to(reader, &mut dims_raw[..4 * ndims], source)?;
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
    Ok((dims, total))
}

impl Opened<'_> {
    /// Bytes of data the header declares.
    pub fn declared_bytes(&self) -> u64 {
        self.total
    }

    /// The file's header bytes, as they were read.
    pub fn header_bytes(&self) -> Vec<u8> {
        let dims: Vec<u32> = self.dims_raw.iter().map(|&d| d as u32).collect();
        encode(&dims, &[])
    }

    /// Reads the data, checking that exactly the declared number of bytes follow.
    pub fn read_data(self) -> Result<Idx, DataError> {
        let Opened {
            dims,
            total,
            dims_raw,
            length,
            mut reader,
            source,
            ..
        } = self;
        let source = source.as_str();
        // Read at most one byte more than declared: the vector grows with the real content,
        // never to the declared size up front, and never past it.
        let data = if length.is_some() {
            // The real length was compared with the header: read exactly what is declared.
            let mut data = vec![0u8; usize::try_from(total).unwrap_or(usize::MAX)];
            reader
                .read_exact(&mut data)
                .map_err(|e| DataError::io(source, &e))?;
            data
        } else {
            let data = read_capped(&mut reader, total).map_err(|e| DataError::io(source, &e))?;
            if data.len() as u64 == total {
                // All the declared data is there: what follows must be the end of the stream.
                let mut one = [0u8; 1];
                match reader.read(&mut one) {
                    Ok(0) => {}
                    Ok(_) => {
                        return Err(DataError::Format {
                            file: source.into(),
                            problem: format!(
                                "dimensions {dims_raw:?} declare {total} bytes of data but more follow the header"
                            ),
                        })
                    }
                    Err(e) => {
                        return Err(DataError::Format {
                            file: source.into(),
                            problem: format!(
                                "the gzip stream is damaged after the declared data: trailing garbage after the last member, or a cut trailer ({e})"
                            ),
                        })
                    }
                }
            }
            data
        };
        let found = data.len() as u64;
        if found < total {
            return Err(DataError::Format {
                file: source.into(),
                problem: format!(
                    "truncated: dimensions {dims_raw:?} declare {total} bytes of data but only {found} follow the header"
                ),
            });
        }
        if found > total {
            return Err(DataError::Format {
                file: source.into(),
                problem: format!(
                    "dimensions {dims_raw:?} declare {total} bytes of data but more follow the header"
                ),
            });
        }
        Ok(Idx { dims, data })
    }
}

/// flate2's "invalid gzip header" after a complete member means bytes that are not gzip
/// follow it: say so.
fn gz_error(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::InvalidInput && e.to_string().contains("header") {
        std::io::Error::other(
            "bytes after the last gzip member are not gzip (trailing garbage): the file is damaged",
        )
    } else {
        e
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8], source: &str) -> Result<usize, DataError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(source, &gz_error(e))),
        }
    }
    Ok(filled)
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
    fn multi_member_gzip_is_read_like_zcat_and_trailing_garbage_is_refused() {
        let file = encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        let mut two = gz(&file[..7]);
        two.extend(gz(&file[7..]));
        assert_eq!(
            read(&two[..], "cat.gz").unwrap(),
            read(&file[..], "raw").unwrap()
        );
        let mut junk = gz(&file);
        junk.extend_from_slice(b"garbage after the member");
        let err = read(&junk[..], "junk.gz").unwrap_err().to_string();
        assert!(
            err.contains("junk.gz") && err.contains("trailing garbage"),
            "{err}"
        );
    }

    #[test]
    fn the_header_is_available_before_the_data_is_read() {
        let file = encode(&[3, 2], &[1, 2, 3, 4, 5, 6]);
        let zipped = gz(&file);
        let o = open(&zipped[..], "h.gz", None).unwrap();
        assert_eq!(
            (o.dims.clone(), o.gzipped, o.declared_bytes()),
            (vec![3, 2], true, 6)
        );
        assert_eq!(o.header_bytes(), file[..12].to_vec());
        assert_eq!(o.read_data().unwrap().data, vec![1, 2, 3, 4, 5, 6]);
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
