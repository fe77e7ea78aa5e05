//! The checkpoint file: read and checked header first ([`Checkpoint::load`]), replaced
//! atomically ([`write_atomic`]), checked for writability before a run starts, and locked
//! against a second relutui.

use super::codec::check_header;
use super::{Checkpoint, CheckpointError, HEADER_BYTES};
use std::fs;
use std::fs::File;
use std::io;
use std::io::Read;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

impl Checkpoint<'_> {
    /// Reads and checks the checkpoint at `path`. The 24-byte header is read and checked
    /// first (magic, version, declared length against the file's length), so a file that is
    /// not a checkpoint, or is truncated or padded, costs a few bytes to refuse, whatever its
    /// size; only then is the payload read, into one buffer of its checked size.
    pub fn load(path: &Path) -> Result<Checkpoint<'static>, CheckpointError> {
        if let Some(why) = crate::os::paths::not_a_readable_file(path) {
            return Err(CheckpointError::Read {
                file: path.display().to_string(),
                reason: why,
            });
        }
        let format = |problem| CheckpointError::Format {
            file: path.display().to_string(),
            problem,
        };
        let mut file = File::open(path).map_err(|e| CheckpointError::read(path, &e))?;
        let len = file
            .metadata()
            .map_err(|e| CheckpointError::read(path, &e))?
            .len();
        let mut header = [0u8; HEADER_BYTES];
        let got =
            read_up_to(&mut file, &mut header).map_err(|e| CheckpointError::read(path, &e))?;
        check_header(&header[..got], len.saturating_sub(HEADER_BYTES as u64)).map_err(format)?;
        // Read at most one byte past the length the file system reported: a file that grows
        // while it is read is refused by the length check, and nothing grows without end.
        let payload_len = usize::try_from(len - HEADER_BYTES as u64).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(HEADER_BYTES + payload_len + 1);
        bytes.extend_from_slice(&header);
        file.take(len - HEADER_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CheckpointError::read(path, &e))?;
        Checkpoint::decode(&bytes).map_err(format)
    }

    /// Writes the checkpoint to `path` atomically (see [`write_atomic`]).
    /// The file is encoded straight into the temporary file, never whole in memory.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        write_atomic_with(path, |file| self.encode_to(file))
            .map_err(|e| CheckpointError::write(path, &e))
    }
}

/// Fills as much of `buf` as the reader has.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A fresh temporary name beside `path` for one save: `.NAME.PID-N.tmp`. Unique per process
/// and per save, so two processes (or two saves) never write the same temporary file.
pub fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "checkpoint".into(), |n| n.to_string_lossy().into_owned());
    let n = SAVES.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` so that a crash at any moment leaves either the old file or
/// the new one, never a mix: write a temporary file in the same directory, fsync it, rename
/// it over `path`, then fsync the directory so that the rename itself is durable. Only a
/// regular file (or a new name) is replaced: a FIFO, device node, socket or directory at
/// `path` is an error and stays as it is; a symbolic link to a regular file is followed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// [`write_atomic`] with the contents written by `write` into the temporary file (which it
/// may seek in), so that they need not be in memory at once.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_inner(path, write, false)
}

/// [`write_atomic`] with a crash injected after `written` bytes of the temporary file: it
/// stops there as a killed process would, leaving the partial temporary file and never
/// renaming. For tests of crash safety.
#[doc(hidden)]
pub fn write_atomic_crashing_after(path: &Path, bytes: &[u8], written: usize) -> io::Result<()> {
    write_atomic_inner(
        path,
        |file| {
            file.write_all(&bytes[..written.min(bytes.len())])?;
            Err(io::Error::other("injected crash"))
        },
        true,
    )
}

fn write_atomic_inner(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
    crashing: bool,
) -> io::Result<()> {
    let path = &crate::os::paths::replaceable_target(path).map_err(io::Error::other)?;
    let tmp = temp_path(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let result = (|| {
        write(&mut file)?;
        file.sync_all()
    })();
    drop(file);
    if crashing {
        return result;
    }
    if let Err(e) = result.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_dir(path))
}

/// Makes a rename in `dir` durable. File systems that cannot fsync a directory say so with
/// `EINVAL`; that is no reason to fail a save.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Checks before a run starts that checkpoints can be written to `path`: it is a regular file
/// or a new name (not a directory, FIFO, device or socket, and not spelt with a trailing `/`),
/// and its directory exists and takes a new file.
pub fn check_writable(path: &Path) -> Result<(), CheckpointError> {
    let fail = |reason: String| CheckpointError::Write {
        file: path.display().to_string(),
        reason,
    };
    let target = crate::os::paths::replaceable_target(path).map_err(fail)?;
    let dir = parent_dir(&target);
    if !dir.is_dir() {
        return Err(fail(format!("{} is not a directory", dir.display())));
    }
    let tmp = temp_path(&target);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| fail(e.to_string()))?;
    let _ = fs::remove_file(&tmp);
    Ok(())
}

/// Takes the lock that keeps a second relutui off the checkpoint at `path` (a `.NAME.lock`
/// file beside it, see [`crate::os::lock`]). Held for the whole run.
pub fn lock(path: &Path) -> Result<crate::os::lock::Lock, crate::os::lock::LockError> {
    let target = crate::os::paths::replaceable_target(path).unwrap_or_else(|_| path.to_path_buf());
    crate::os::lock::Lock::exclusive(
        &crate::os::lock::Lock::path_beside(&target),
        &path.display().to_string(),
    )
}
