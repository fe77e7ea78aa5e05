//! The checkpoint encoder's sink side: a little-endian [`Writer`] that fills a [`CHUNK`]-byte
//! buffer, checksums it and hands it to any `io::Write`, so that a save never holds the file.

use crate::engine::nn::Layer;
use std::io;

/// The encoder's buffer: filled, checksummed and handed to the sink [`CHUNK`] bytes at a time.
pub const CHUNK: usize = 1 << 16;

/// Little-endian encoder of the payload into a sink, with its length and CRC-32. The first
/// error of the sink is kept and returned by [`Writer::finish`]; writes after it are dropped.
pub(super) struct Writer<W: io::Write> {
    buf: Vec<u8>,
    sink: W,
    crc: crc32fast::Hasher,
    len: u64,
    error: Option<io::Error>,
}

impl<W: io::Write> Writer<W> {
    pub(super) fn new(sink: W) -> Self {
        Writer {
            buf: Vec::with_capacity(CHUNK + 64),
            sink,
            crc: crc32fast::Hasher::new(),
            len: 0,
            error: None,
        }
    }
    fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.drain();
        }
    }
    fn drain(&mut self) {
        if self.error.is_none() {
            self.crc.update(&self.buf);
            self.len += self.buf.len() as u64;
            if let Err(e) = self.sink.write_all(&self.buf) {
                self.error = Some(e);
            }
        }
        self.buf.clear();
    }
    /// The sink, the payload's length and its CRC-32.
    pub(super) fn finish(mut self) -> io::Result<(W, u64, u32)> {
        self.drain();
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.sink, self.len, self.crc.finalize())),
        }
    }
    pub(super) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    pub(super) fn f32(&mut self, v: f32) {
        self.put(&v.to_le_bytes());
    }
    pub(super) fn f64(&mut self, v: f64) {
        self.put(&v.to_le_bytes());
    }
    pub(super) fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.put(s.as_bytes());
    }
    pub(super) fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
    pub(super) fn layers(&mut self, layers: &[Layer]) {
        for l in layers {
            for &v in &l.weights {
                self.f32(v);
            }
            for &v in &l.bias {
                self.f32(v);
            }
        }
    }
}
