//! What relutui may write to or replace, and how to name what a path really is in an error.
//!
//! A checkpoint is replaced by renaming a temporary file over it, so the path must be (or
//! become) a regular file: a FIFO, a device node (`/dev/null`!), a socket or a directory in its
//! place is refused, never replaced. A symbolic link to a regular file is followed, and the
//! file it points to is replaced, so the link stays.

use std::fs::{self, FileType};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// What kind of thing a non-regular file is, in words.
pub fn kind(ft: FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Why `path` cannot be read as a data or checkpoint file, in words, when it is not a regular
/// file that can be opened: missing, a dangling link, a link loop, a FIFO, a directory …
/// `None` when it is a regular file (or a link to one).
pub fn not_a_readable_file(path: &Path) -> Option<String> {
    match fs::metadata(path) {
        Ok(m) if m.file_type().is_file() => None,
        Ok(m) => Some(format!("it is {}, not a regular file", kind(m.file_type()))),
        Err(e) => Some(match fs::symlink_metadata(path) {
            Err(_) if e.kind() == io::ErrorKind::NotFound => "missing".to_string(),
            Ok(l) if l.file_type().is_symlink() => {
                if e.raw_os_error() == Some(40) {
                    "a symbolic link loop (too many levels of links)".to_string()
                } else if e.kind() == io::ErrorKind::NotFound {
                    match fs::read_link(path) {
                        Ok(t) => format!(
                            "a dangling symbolic link (to {}, which is missing)",
                            t.display()
                        ),
                        Err(_) => "a dangling symbolic link".to_string(),
                    }
                } else {
                    format!("a symbolic link that cannot be followed: {e}")
                }
            }
            _ => format!("cannot read it: {e}"),
        }),
    }
}

/// The file a save to `path` should replace: `path` itself, or the regular file a symbolic
/// link at `path` points to. Refuses (with the reason in words) a path that ends in `/`, names
/// a directory, or is anything but a regular file or missing.
pub fn replaceable_target(path: &Path) -> Result<PathBuf, String> {
    let text = path.as_os_str().as_encoded_bytes();
    if text.is_empty() {
        return Err("an empty path".into());
    }
    if text.ends_with(b"/") || path.file_name().is_none() {
        return Err("the path ends in '/' or '..': a file name is needed, not a directory".into());
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        Err(e) => Err(e.to_string()),
        Ok(m) if m.file_type().is_file() => Ok(path.to_path_buf()),
        Ok(m) if m.file_type().is_symlink() => match fs::metadata(path) {
            Ok(t) if t.file_type().is_file() => fs::canonicalize(path).map_err(|e| e.to_string()),
            Ok(t) => Err(format!(
                "it is a symbolic link to {}: relutui replaces only regular files",
                kind(t.file_type())
            )),
            Err(_) => Err(format!(
                "it is {}: point it at a regular file or remove it",
                not_a_readable_file(path).unwrap_or_else(|| "a broken symbolic link".into())
            )),
        },
        Ok(m) => Err(format!(
            "it is {}: relutui replaces only regular files (and never a device or a pipe)",
            kind(m.file_type())
        )),
    }
}

/// Whether two paths name the same file: the same inode when both exist, else the same
/// absolute path once the parent directories are resolved.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
        return x.dev() == y.dev() && x.ino() == y.ino();
    }
    let resolve = |p: &Path| -> Option<PathBuf> {
        let name = p.file_name()?;
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(fs::canonicalize(parent).ok()?.join(name))
    };
    match (resolve(a), resolve(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::process::Command;

    #[test]
    fn non_regular_files_are_named_for_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("file"), b"x").unwrap();
        symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        symlink(d.join("loop2"), d.join("loop1")).unwrap();
        symlink(d.join("loop1"), d.join("loop2")).unwrap();
        symlink(d.join("file"), d.join("link")).unwrap();
        assert_eq!(not_a_readable_file(&d.join("file")), None);
        assert_eq!(not_a_readable_file(&d.join("link")), None);
        assert_eq!(not_a_readable_file(&d.join("missing")).unwrap(), "missing");
        assert!(not_a_readable_file(&d.join("dangling"))
            .unwrap()
            .contains("dangling"));
        assert!(not_a_readable_file(&d.join("loop1"))
            .unwrap()
            .contains("loop"));
        assert!(not_a_readable_file(d).unwrap().contains("a directory"));
        if Command::new("mkfifo")
            .arg(d.join("fifo"))
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(not_a_readable_file(&d.join("fifo"))
                .unwrap()
                .contains("FIFO"));
            assert!(replaceable_target(&d.join("fifo"))
                .unwrap_err()
                .contains("FIFO"));
        } else {
            eprintln!("skipped the FIFO case: mkfifo is not available here");
        }
    }

    #[test]
    fn only_regular_files_or_new_names_are_replaceable() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("file"), b"x").unwrap();
        symlink(d.join("file"), d.join("link")).unwrap();
        assert_eq!(replaceable_target(&d.join("new")).unwrap(), d.join("new"));
        assert_eq!(replaceable_target(&d.join("file")).unwrap(), d.join("file"));
        assert_eq!(
            replaceable_target(&d.join("link")).unwrap(),
            fs::canonicalize(d.join("file")).unwrap()
        );
        assert!(replaceable_target(d).unwrap_err().contains("directory"));
        let slash = PathBuf::from(format!("{}/sub/", d.display()));
        assert!(replaceable_target(&slash).unwrap_err().contains("'/'"));
    }

    #[test]
    fn same_file_sees_through_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("a"), b"x").unwrap();
        assert!(same_file(&d.join("a"), &d.join(".").join("a")));
        assert!(same_file(&d.join("new"), &d.join(".").join("new")));
        assert!(!same_file(&d.join("a"), &d.join("b")));
    }
}
