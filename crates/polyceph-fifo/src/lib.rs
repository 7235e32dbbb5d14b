//! Named pipes (FIFOs) into and out of polyceph actor mailboxes.
//!
//! - [`FifoWriter`] writes envelopes (or raw frames) to a FIFO: as a plain
//!   async type, or as an actor that writes out the mail it gets. With no
//!   reader it fails at once ([`FifoError::NoReader`]); it never blocks.
//! - [`FifoReader`] is an actor that reads a FIFO and delivers each
//!   message as mail to an actor, a group or a topic. Writers may come and
//!   go; bad input is skipped, counted and logged.
//! - [`pair`] joins a reader and a writer over two FIFOs into one
//!   conversation with another application (or a Python script): requests
//!   and their replies.
//!
//! Messages are cut out of the byte stream by [`Framing`]: marked frames
//! (the default), fixed-size records for several readers sharing one FIFO,
//! or lines for people and shell scripts. `docs/fifo.md` specifies them for
//! writers in other languages.
//!
//! # Examples
//!
//! A shell script talks to an actor: each line is `subject<TAB>body`.
//!
//! ```
//! use std::time::Duration;
//! use polyceph::prelude::*;
//! use polyceph::testing::Probe;
//! use polyceph_fifo::{FifoReader, Framing};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("in.fifo");
//! let (probe, mut recorded) = Probe::new();
//! let reader = FifoReader::builder(&path, "main").framing(Framing::Lines).open()?;
//! let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;
//!
//! // What `printf 'greet\tworld\n' > in.fifo` does.
//! let status = std::process::Command::new("sh")
//!     .args(["-c", r#"printf 'greet\tworld\n' > "$0""#])
//!     .arg(&path)
//!     .status()?;
//! assert!(status.success());
//!
//! let mail = recorded.next(Duration::from_secs(5)).await?;
//! assert_eq!(mail.subject(), "greet");
//! assert_eq!(mail.body::<String>()?, "world");
//! app.shutdown().await;
//! # Ok(()) }
//! ```

mod error;
mod framing;
mod inlet;
mod path;
mod raw;
mod reader;
mod stats;
mod writer;

pub use error::FifoError;
pub use framing::{Framing, HEADER_LEN, MAGIC, MAX_RECORD_PAYLOAD, PIPE_BUF, RECORD_LEN};
pub use path::DEFAULT_MODE;
pub use raw::RawFrame;
pub use reader::{DEFAULT_RAW_SUBJECT, DEFAULT_SENDER, FIFO_HEADER, FifoReader, ReaderBuilder, pair};
pub use stats::{ReaderCounters, ReaderStats, WriterCounters, WriterStats};
pub use writer::{FifoWriter, WhenFull, WriterBuilder};
