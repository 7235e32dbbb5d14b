//! The errors of the FIFO bridge.

use std::io;
use std::path::PathBuf;

use polyceph::error::WireError;

/// A FIFO could not be made, opened or written.
///
/// Each cause is its own variant, so a caller can tell "nobody is listening"
/// ([`NoReader`](FifoError::NoReader)) from "listening but not keeping up"
/// ([`Full`](FifoError::Full)) from a bug of its own
/// ([`TooLarge`](FifoError::TooLarge), [`Wire`](FifoError::Wire)).
/// `send` takes the envelope by reference: after an error the caller still
/// has it, to retry or drop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FifoError {
    /// No process has the FIFO open for reading: nothing was written. A
    /// writer reports it at once and never waits for a reader.
    #[error("no reader on fifo {path}")]
    NoReader {
        /// The FIFO.
        path: PathBuf,
    },
    /// The path exists and is not a FIFO (a regular file, a directory...):
    /// it is left alone.
    #[error("{path} exists and is not a fifo")]
    NotAFifo {
        /// The path.
        path: PathBuf,
    },
    /// The pipe is full and the writer was told not to wait
    /// ([`WhenFull::Fail`](crate::WhenFull::Fail)): nothing was written.
    #[error("fifo {path} is full")]
    Full {
        /// The FIFO.
        path: PathBuf,
    },
    /// The frame is over the limit: [`PIPE_BUF`](crate::PIPE_BUF) bytes
    /// unless the writer is the only writer, else its largest frame.
    /// Nothing was written.
    #[error("frame of {len} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The size of the write the frame needs, header included.
        len: usize,
        /// The largest write allowed.
        limit: usize,
    },
    /// A raw payload written as a line contains a line break, which would
    /// make it two lines.
    #[error("a raw line cannot contain a line break (found one at byte {at})")]
    LineBreak {
        /// Where the first `\n` is.
        at: usize,
    },
    /// The writer was closed ([`FifoWriter::close`](crate::FifoWriter::close),
    /// or its actor shut down).
    #[error("the writer of fifo {path} is closed")]
    Closed {
        /// The FIFO.
        path: PathBuf,
    },
    /// The application on the far side is known to be gone (its reader went
    /// away while requests waited for answers); the request failed at once.
    #[error(transparent)]
    Gone(#[from] polyceph::remote::Gone),
    /// The envelope could not be encoded (its body does not serialize).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// Any other system error on the FIFO.
    #[error("i/o error on fifo {path}")]
    Io {
        /// The FIFO.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}
