//! Hostile input: the IDX, CIFAR-10 and checkpoint readers over arbitrary bytes and over
//! structured mutations of valid files (flipped bytes, truncations, huge declared sizes).
//! Every input must give `Ok` or an error (never a panic or a hang), and the memory a reader
//! holds at its peak must stay within a small multiple of the bytes it was really given, plus
//! a constant: a size declared in a header is never allocated before the bytes are there.
//!
//! The default case count keeps CI fast; `RELUTUI_FUZZ_CASES=N` runs N cases per property.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/fixtures.rs"]
mod fixtures;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use counting_alloc::peak_bytes;
use proptest::prelude::*;
use proptest::test_runner::Config;
use relutui::engine::checkpoint::Checkpoint;
use relutui::engine::config::RunConfig;
use relutui::engine::data::{self, cifar, idx};
use relutui::engine::trainer::Trainer;

/// What a reader may hold beyond a multiple of its input: buffers of fixed size (the gzip
/// decoder's window and tables, a read chunk, an error message). Measured: about 92 KiB for
/// gzip, plus up to 64 KiB more for a gzip header whose optional "extra" field declares its
/// full 16-bit length (flate2 allocates that before reading it: bounded by the format, and
/// found by the long fuzz run); a few hundred bytes for the other readers.
const SLACK: usize = 192 * 1024;
/// The IDX reader reads from a stream of unknown length, so its buffer doubles as bytes
/// arrive (capped at the declared size): at a regrowth the old buffer (at most the bytes
/// read) and the new one (at most twice that) coexist, hence 3. Measured on an honest 64 MiB
/// file: 1.5.
const IDX_FACTOR: usize = 3;
/// Far more than any case needs on a slow machine: a hang fails the test.
const HANG: Duration = Duration::from_secs(10);

fn cases() -> u32 {
    std::env::var("RELUTUI_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Checks the resource bounds of one call of a reader on `input` whose useful size (the
/// bytes it really holds, decompressed where it is gzip) is `size`.
fn bounded<T>(what: &str, size: usize, factor: usize, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let (out, peak) = peak_bytes(f);
    let limit = factor * size + SLACK;
    assert!(
        peak <= limit,
        "{what}: peak {peak} bytes for {size} bytes of input (limit {limit})"
    );
    assert!(start.elapsed() < HANG, "{what}: took {:?}", start.elapsed());
    out
}

/// The size of `bytes` once decompressed, when it is gzip (capped: a gzip bomb counts as big).
fn useful_size(bytes: &[u8]) -> usize {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(bytes)
            .take(1 << 30)
            .read_to_end(&mut out);
        out.len().max(bytes.len())
    } else {
        bytes.len()
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A small valid checkpoint of a real (tiny) run, built once.
fn valid_checkpoint() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let config = RunConfig::default()
            .with_hidden(fixtures::widths(&[3, 2]))
            .with_epochs(Some(1));
        let mut t = Trainer::new(&config, data::mnist10k().unwrap());
        t.train_batch();
        t.checkpoint().encode()
    })
}

/// Small valid IDX files: raw and gzip, 1 to 4 dimensions.
fn valid_idx() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(1u32..6, 1..=4),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(dims, gzip, fill)| {
            let n: u32 = dims.iter().product();
            let file = idx::encode(&dims, &vec![fill; n as usize]);
            if gzip {
                gz(&file)
            } else {
                file
            }
        })
}

fn valid_cifar() -> impl Strategy<Value = Vec<u8>> {
    (1usize..4, 0u8..10).prop_map(|(records, label)| {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(7u8, cifar::IMAGE_BYTES));
        r.repeat(records)
    })
}

/// A structured mutation of a valid file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        mask: u8,
    },
    Truncate {
        keep: usize,
    },
    /// Overwrite 4 or 8 bytes at `at` with a huge value (declared sizes, lengths).
    Huge {
        at: usize,
        wide: bool,
    },
    Append {
        bytes: Vec<u8>,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        (any::<usize>(), any::<bool>()).prop_map(|(at, wide)| Mutation::Huge { at, wide }),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(|bytes| Mutation::Append { bytes }),
    ]
}

fn mutate(mut file: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = file.len();
        match m {
            Mutation::Flip { at, mask } if len > 0 => file[at % len] ^= mask,
            Mutation::Truncate { keep } => file.truncate(keep % (len + 1)),
            Mutation::Huge { at, wide } => {
                let value: &[u8] = if *wide {
                    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
                } else {
                    &[0x7f, 0xff, 0xff, 0xff]
                };
                if len >= value.len() {
                    let at = at % (len - value.len() + 1);
                    file[at..at + value.len()].copy_from_slice(value);
                }
            }
            Mutation::Append { bytes } => file.extend_from_slice(bytes),
            Mutation::Flip { .. } => {}
        }
    }
    file
}

fn read_idx(bytes: &[u8]) {
    let size = useful_size(bytes);
    if let Ok(idx) = bounded("idx", size, IDX_FACTOR, || idx::read(bytes, "fuzz.idx")) {
        assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
    }
}

fn read_cifar(bytes: &[u8]) {
    if let Ok(b) = bounded("cifar", bytes.len(), 1, || cifar::parse(bytes, "fuzz.bin")) {
        assert_eq!(b.pixels.len(), b.labels.len() * cifar::IMAGE_BYTES);
        assert!(b.labels.iter().all(|&l| usize::from(l) < cifar::CLASSES));
    }
}

fn read_checkpoint(bytes: &[u8]) {
    if let Ok(ck) = bounded("checkpoint", bytes.len(), 1, || Checkpoint::decode(bytes)) {
        // Whatever decodes, encodes back to the same bytes.
        assert_eq!(ck.encode(), bytes);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn idx_reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read_idx(&bytes);
    }

    #[test]
    fn idx_reader_survives_arbitrary_headers(
        ndims in 0u8..=6,
        dims in prop::collection::vec(any::<u32>(), 0..6),
        tail in prop::collection::vec(any::<u8>(), 0..256),
        gzip in any::<bool>(),
    ) {
        let mut file = vec![0, 0, 0x08, ndims];
        for d in dims {
            file.extend_from_slice(&d.to_be_bytes());
        }
        file.extend_from_slice(&tail);
        read_idx(&if gzip { gz(&file) } else { file });
    }

    #[test]
    fn idx_reader_survives_mutated_files(
        file in valid_idx(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        read_idx(&mutate(file, &mutations));
    }

    #[test]
    fn cifar_reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..8000)) {
        read_cifar(&bytes);
    }

    #[test]
    fn cifar_reader_survives_mutated_files(
        file in valid_cifar(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        read_cifar(&mutate(file, &mutations));
    }

    #[test]
    fn checkpoint_reader_survives_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        magic in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if magic {
            // Past the magic number and the version, to reach the later checks.
            let mut head = b"RELUTUIC\x01\x00\x00\x00".to_vec();
            head.extend_from_slice(&bytes);
            bytes = head;
        }
        read_checkpoint(&bytes);
    }

    #[test]
    fn checkpoint_reader_survives_mutated_files(mutations in prop::collection::vec(mutation(), 1..4)) {
        read_checkpoint(&mutate(valid_checkpoint().to_vec(), &mutations));
    }

    /// Mutations of the payload under a recomputed checksum: they get past the container
    /// checks, so the field-by-field checks must hold on their own.
    #[test]
    fn checkpoint_reader_survives_mutated_payloads(mutations in prop::collection::vec(mutation(), 1..4)) {
        let valid = valid_checkpoint();
        let payload = mutate(valid[24..].to_vec(), &mutations);
        let mut file = valid[..12].to_vec();
        file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        file.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        file.extend_from_slice(&payload);
        read_checkpoint(&file);
    }
}

#[test]
fn the_counter_counts() {
    let (v, peak) = peak_bytes(|| vec![1u8; 1 << 20]);
    assert!(peak >= 1 << 20 && v.len() == 1 << 20);
    let ((), peak) = peak_bytes(|| drop(vec![1u8; 1 << 16]));
    assert!(peak >= 1 << 16);
}

/// The worst cases by hand: headers that declare gigabytes over a few bytes of data.
#[test]
fn declared_sizes_are_never_allocated() {
    for dims in [
        vec![u32::MAX],
        vec![60_000, 28, 28],
        vec![1 << 16, 1 << 16],
        vec![4, 4, 4, u32::MAX],
    ] {
        let file = idx::encode(&dims, &[1, 2, 3]);
        read_idx(&file);
        read_idx(&gz(&file));
        assert!(idx::read(&file[..], "x").is_err());
    }
    // A gzip header that declares the largest "extra" field and ends there.
    let extra = [0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff];
    let ((), peak) = peak_bytes(|| assert!(idx::read(&extra[..], "x.gz").is_err()));
    assert!(peak > 64 * 1024 && peak < SLACK, "{peak}");
    // A gzip stream of zeros that inflates to 64 MiB under a header declaring exactly that:
    // legitimate, so it is read; the bound is the inflated size, never more.
    let mut big = idx::encode(&[64 << 20], &[]);
    big.resize(big.len() + (64 << 20), 0);
    let bomb = gz(&big);
    assert!(bomb.len() < 1 << 20);
    read_idx(&bomb);
    // The same stream under a header that declares more than it holds.
    big[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    read_idx(&gz(&big));
}
