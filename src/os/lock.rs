//! One process at a time: an advisory `flock(2)` on a small lock file, for anything two
//! relutui processes must not share (a checkpoint; a run directory).
//!
//! The lock file holds the owner's process id, for the message a second process prints. The
//! kernel drops the lock when its owner exits, however it exits (`kill -9` included), so a
//! lock file left behind is never stale: the next run takes it over at once. The file is kept,
//! not removed, on release: removing it would let a third process lock a fresh file while a
//! second still holds the old one, and both would think they own the resource.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// A held lock; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

/// Why a lock could not be taken. The message names what is locked and, when known, who has it.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{what} is in use by another relutui (pid {pid}, lock file {lock}): stop it first, or use another file")]
    HeldBy {
        what: String,
        pid: String,
        lock: String,
    },
    #[error("{what}: cannot take the lock {lock}: {reason}")]
    Io {
        what: String,
        lock: String,
        reason: String,
    },
}

impl Lock {
    /// Takes the lock at `lock_path` without waiting; `what` names the guarded thing in errors
    /// (e.g. "checkpoint runs/a.ckpt"). The lock file is created (mode 0600 as umask allows)
    /// when missing; it must be a regular file.
    pub fn exclusive(lock_path: &Path, what: &str) -> Result<Lock, LockError> {
        let io_err = |e: &dyn std::fmt::Display| LockError::Io {
            what: what.into(),
            lock: lock_path.display().to_string(),
            reason: e.to_string(),
        };
        if let Ok(meta) = std::fs::symlink_metadata(lock_path) {
            if !meta.file_type().is_file() {
                return Err(io_err(&"it exists and is not a regular file"));
            }
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path)
            .map_err(|e| io_err(&e))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::HeldBy {
                    what: what.into(),
                    pid: if pid.is_empty() { "unknown" } else { pid }.to_string(),
                    lock: lock_path.display().to_string(),
                });
            }
            Err(e) => return Err(io_err(&io::Error::from(e))),
        }
        // Ours now: say who holds it.
        let stamp = (|| {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.flush()
        })();
        stamp.map_err(|e| io_err(&e))?;
        Ok(Lock {
            file,
            path: lock_path.to_path_buf(),
        })
    }

    /// The lock file beside `path`: `.NAME.lock` in the same directory.
    pub fn path_beside(path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map_or_else(|| "relutui".into(), |n| n.to_string_lossy().into_owned());
        path.with_file_name(format!(".{name}.lock"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_and_a_released_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = Lock::path_beside(&dir.path().join("run.ckpt"));
        assert!(path.ends_with(".run.ckpt.lock"));
        let first = Lock::exclusive(&path, "checkpoint run.ckpt").unwrap();
        // flock locks belong to the open file description: a second open in this process
        // conflicts just as another process would.
        let err = Lock::exclusive(&path, "checkpoint run.ckpt")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("checkpoint run.ckpt is in use")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        let again = Lock::exclusive(&path, "checkpoint run.ckpt").unwrap();
        assert_eq!(again.path(), path);
    }

    #[test]
    fn a_lock_path_that_is_not_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = Lock::exclusive(dir.path(), "x").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
}
