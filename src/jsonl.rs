//! JSON-lines output: one [`EpochReport`] per line, flushed as it is written so that a log
//! is complete and parseable up to its last line whenever the program stops.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::message::EpochReport;

/// A JSON-lines sink.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes one report as one line and flushes it.
    pub fn write(&mut self, report: &EpochReport) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, report)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl JsonLines<BufWriter<File>> {
    /// Creates (or truncates) the `--log` file.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self::new(BufWriter::new(File::create(path)?)))
    }
}
