//! JSON-lines output: one [`EpochReport`] per line, flushed as it is written so that a log
//! is complete and parseable up to its last line whenever the program stops.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::protocol::EpochReport;

/// A JSON-lines sink.
pub struct JsonLines<W: Write> {
    out: W,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes one report as one line and flushes it.
    /// A supervised epoch's line: the report's fields after `"phase": "supervised"`.
    pub fn write(&mut self, report: &EpochReport) -> io::Result<()> {
        #[derive(serde::Serialize)]
        struct Supervised<'a> {
            phase: &'static str,
            #[serde(flatten)]
            report: &'a EpochReport,
        }
        self.write_value(&Supervised {
            phase: "supervised",
            report,
        })
    }

    /// A pre-training epoch's line (`"phase": "pretrain"`).
    pub fn write_pretrain(&mut self, report: &crate::protocol::PretrainReport) -> io::Result<()> {
        self.write_value(report)
    }

    fn write_value(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
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

    /// Opens the `--log` file of a resumed run for appending (creating it if needed). A last
    /// line cut short by a crash is removed first, so that every line stays valid JSON.
    pub fn append(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len();
        let keep = complete_lines_len(&mut file, len)?;
        if keep < len {
            file.set_len(keep)?;
        }
        file.seek(SeekFrom::Start(keep))?;
        Ok(Self::new(BufWriter::new(file)))
    }
}

/// The length of `file` up to and including its last newline, read backwards in blocks.
fn complete_lines_len(file: &mut File, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut buf = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let block = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(block)?;
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_drops_a_cut_last_line_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let mut log = JsonLines::append(&path).unwrap();
        log.out.write_all(b"{\"d\":4}\n").unwrap();
        log.out.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n");
        // Whole lines stay; a missing file is created.
        drop(JsonLines::append(&path).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        drop(JsonLines::append(&dir.path().join("new.jsonl")).unwrap());
    }
}
