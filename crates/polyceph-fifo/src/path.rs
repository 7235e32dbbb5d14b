//! Making sure a path is a FIFO, and removing it.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::stat::Mode;

use crate::FifoError;

/// The mode a FIFO is made with unless told otherwise: read and write for
/// its owner only.
pub const DEFAULT_MODE: u32 = 0o600;

/// Makes a FIFO at `path` with exactly `mode` (the umask does not narrow it)
/// unless one is there already.
///
/// # Errors
///
/// [`FifoError::NotAFifo`] if something else is at `path`;
/// [`FifoError::Io`] if it cannot be inspected or made.
pub(crate) fn ensure_fifo(path: &Path, mode: u32) -> Result<(), FifoError> {
    let io = |source: io::Error| FifoError::Io { path: path.to_owned(), source };
    // Twice at most: another process may make it between our look and our mkfifo.
    for _ in 0..2 {
        match std::fs::metadata(path) {
            Ok(meta) if meta.file_type().is_fifo() => return Ok(()),
            Ok(_) => return Err(FifoError::NotAFifo { path: path.to_owned() }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(error)),
        }
        match nix::unistd::mkfifo(path, Mode::from_bits_truncate(mode)) {
            Ok(()) => {
                tracing::debug!(fifo.path = %path.display(), mode = format_args!("{mode:o}"), "fifo made");
                // mkfifo applies the umask; the caller asked for this mode.
                return std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io);
            }
            Err(Errno::EEXIST) => continue,
            Err(errno) => return Err(io(errno.into())),
        }
    }
    Err(io(io::Error::from(Errno::EEXIST)))
}

/// Removes the FIFO at `path`, if it is still one; logs what went wrong.
pub(crate) fn remove_fifo(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => match std::fs::remove_file(path) {
            Ok(()) => tracing::debug!(fifo.path = %path.display(), "fifo removed"),
            Err(error) => tracing::warn!(fifo.path = %path.display(), %error, "cannot remove the fifo"),
        },
        Ok(_) => tracing::warn!(fifo.path = %path.display(), "not removed: no longer a fifo"),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(fifo.path = %path.display(), %error, "cannot remove the fifo"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_fifo_with_the_exact_mode_and_accepts_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        ensure_fifo(&path, 0o640).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.file_type().is_fifo());
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        ensure_fifo(&path, 0o600).unwrap();
        remove_fifo(&path);
        assert!(!path.exists());
    }

    #[test]
    fn refuses_a_regular_file_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"data").unwrap();
        assert!(matches!(ensure_fifo(&path, 0o600), Err(FifoError::NotAFifo { path: p }) if p == path));
        remove_fifo(&path);
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
    }
}
