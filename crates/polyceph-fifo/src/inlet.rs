//! The read end of a FIFO: waits for writers without spinning, and says
//! when every writer has closed.
//!
//! A FIFO opened read-only reads end-of-file again and again once its
//! writers are gone, and Tokio keeps such an end "readable" for good: a
//! read loop on it would spin. Opened read-write, it never reads
//! end-of-file (it is a writer itself), so it cannot tell that a writer
//! left a frame or line unfinished. The inlet uses both, one at a time:
//!
//! - **idle**: the read-write end, waiting until bytes arrive (it never
//!   wakes for nothing);
//! - **open**: a read-only end, read until it reports end-of-file, which
//!   now means that every writer has closed; then idle again.
//!
//! Each new end is opened before the old one is closed, so writers always
//! find a reader. The new end is opened through `/proc/self/fd` from the
//! old one, not by the path: the inlet keeps reading the FIFO it opened,
//! whatever happens to the path afterwards.

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use bytes::BufMut;
use tokio::net::unix::pipe;

#[derive(Debug)]
pub(crate) struct Inlet {
    end: End,
}

#[derive(Debug)]
enum End {
    /// Read-write, only waited on.
    Idle(pipe::Receiver),
    /// Read-only, read from.
    Open(pipe::Receiver),
}

impl Inlet {
    /// Opens the FIFO at `path` for reading; from now on writers can open it.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        Ok(Self { end: End::Idle(idle(path)?) })
    }

    /// Reads what is there into `buf` (which must have room), waiting until
    /// something is; `Ok(0)` once every writer has closed the FIFO. The
    /// next call waits for the next writer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: bytes are read only when the future completes.
    pub(crate) async fn read(&mut self, buf: &mut impl BufMut) -> io::Result<usize> {
        loop {
            match &self.end {
                End::Idle(waiting) => {
                    waiting.readable().await?;
                    let open = pipe::OpenOptions::new().open_receiver(again(waiting))?;
                    self.end = End::Open(open);
                }
                End::Open(open) => {
                    open.readable().await?;
                    match open.try_read_buf(buf) {
                        Ok(0) => {
                            self.end = End::Idle(idle(&again(open))?);
                            return Ok(0);
                        }
                        Ok(n) => return Ok(n),
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                        Err(error) => return Err(error),
                    }
                }
            }
        }
    }
}

fn idle(path: &Path) -> io::Result<pipe::Receiver> {
    pipe::OpenOptions::new().read_write(true).open_receiver(path)
}

/// A path that opens the FIFO `end` is open on, even if its own path has
/// changed since.
fn again(end: &pipe::Receiver) -> std::path::PathBuf {
    format!("/proc/self/fd/{}", end.as_raw_fd()).into()
}
