//! [`FifoWriter`]: envelopes and raw frames out to a FIFO.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use nix::errno::Errno;
use polyceph::error::WireError;
use polyceph::remote::Peer;
use polyceph::wire::{DEFAULT_MAX_FRAME, EnvelopeCodec};
use polyceph::{Actor, Context, Envelope, ExitReason, Filter};
use tokio::net::unix::pipe;
use tokio::sync::Mutex;
use tokio_util::codec::Encoder;

use crate::framing::{HEADER_LEN, MAGIC, PIPE_BUF, RECORD_LEN, put_header};
use crate::path::{DEFAULT_MODE, ensure_fifo, remove_fifo};
use crate::stats::{WriterCounters, WriterStats};
use crate::{FifoError, Framing};

/// What a send does when the pipe is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenFull {
    /// Wait until the reader makes room: backpressure (the default).
    #[default]
    Wait,
    /// Fail at once with [`FifoError::Full`], writing nothing.
    Fail,
}

/// Writes envelopes, or raw frames, to a FIFO: as a plain async type, and
/// as an actor that writes out the mail it gets.
///
/// # Behaviour
///
/// - [`open`](WriterBuilder::open) makes the FIFO if the path is free
///   (mode `0600` unless told otherwise) and refuses a path that is
///   something else ([`FifoError::NotAFifo`]). It does not connect yet.
/// - A send connects if needed. With no process reading the FIFO it fails
///   at once with [`FifoError::NoReader`]: it never waits for a reader.
/// - When every reader has gone, the next write fails with `NoReader` too
///   and the writer closes its end; the send after that opens it again
///   (and gets `NoReader` until a reader is back).
/// - Each message is one `write` of at most [`PIPE_BUF`] bytes, which the
///   kernel keeps whole: messages from several writers never interleave. A
///   larger one is refused ([`FifoError::TooLarge`]) unless this is the
///   [only writer](WriterBuilder::only_writer).
/// - A full pipe makes a send wait, or fail with [`FifoError::Full`]
///   ([`WhenFull`]).
///
/// Clones share one connection; their sends take turns, each message whole.
///
/// # As an actor
///
/// Every envelope sent to the actor is written out with
/// [`send`](Self::send); an error is returned by the handler, so the
/// actor's `handler_errors` counts it and the log shows it (and a request
/// fails at once with the error as its reason, instead of timing out).
/// Paired with a reader by [`pair`](crate::pair), requests written out are
/// answered through that reader. The FIFO is closed when the actor stops;
/// with [`remove_at_shutdown`](WriterBuilder::remove_at_shutdown) it is
/// removed at shutdown.
///
/// # Examples
///
/// ```
/// use polyceph::Envelope;
/// use polyceph_fifo::{FifoError, FifoWriter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("out.fifo");
/// let writer = FifoWriter::open(&path)?; // makes the FIFO
/// let mail = Envelope::new("sensor", "logger", "reading", 21.5);
/// // Nobody reads it yet: an error at once, never a wait.
/// assert!(matches!(writer.send(&mail).await, Err(FifoError::NoReader { .. })));
/// assert_eq!(writer.stats().no_reader, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FifoWriter {
    shared: Arc<Shared>,
}

struct Shared {
    config: WriterConfig,
    /// The far side, when paired with a reader.
    peer: Option<Arc<Peer>>,
    counters: WriterCounters,
    core: Mutex<Core>,
}

#[derive(Debug, Clone)]
struct WriterConfig {
    path: PathBuf,
    mode: u32,
    framing: Framing,
    only_writer: bool,
    when_full: WhenFull,
    max_frame: usize,
    remove_at_shutdown: bool,
}

/// What a send writes.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Envelope(&'a Envelope),
    Raw(&'a [u8]),
}

/// The connection and the frame being written; one send at a time.
struct Core {
    sender: Option<pipe::Sender>,
    /// The message being written.
    out: BytesMut,
    /// How much of `out` is written. Between sends it is 0, unless a send
    /// was cancelled in the middle of a frame larger than `PIPE_BUF`: the
    /// rest is written first by the next send, so no frame is left torn.
    written: usize,
    /// Whether the last write failed because every reader had gone.
    reader_gone: bool,
    codec: EnvelopeCodec,
    closed: bool,
}

/// Describes a [`FifoWriter`]; [`open`](Self::open) makes it.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .open()"]
pub struct WriterBuilder {
    config: WriterConfig,
}

impl WriterBuilder {
    /// The FIFO's permissions if the writer makes it (default `0o600`),
    /// exactly: the umask does not narrow them.
    pub fn mode(mut self, mode: u32) -> Self {
        self.config.mode = mode;
        self
    }

    /// How messages are framed (default [`Framing::Frames`]); the reader
    /// must use the same.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.config.framing = framing;
        self
    }

    /// Whether this is the FIFO's only writer (default `false`). Only then
    /// may a frame or line be larger than [`PIPE_BUF`] (up to
    /// [`max_frame`](Self::max_frame)): the kernel splits larger writes,
    /// and another writer's message could land inside. Records are never
    /// larger than `PIPE_BUF`.
    pub fn only_writer(mut self, only: bool) -> Self {
        self.config.only_writer = only;
        self
    }

    /// What a send does when the pipe is full (default [`WhenFull::Wait`]).
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.config.when_full = when_full;
        self
    }

    /// The largest payload of a frame or line for the only writer (default
    /// [`DEFAULT_MAX_FRAME`], 1 MiB); the reader's limit must be as large.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.config.max_frame = bytes.min(u32::MAX as usize);
        self
    }

    /// Whether to remove the FIFO file when the writer is closed or its
    /// actor shuts down (default `false`). Usually the side that owns the
    /// FIFO removes it; a reader keeps reading the FIFO it opened, even once
    /// removed.
    pub fn remove_at_shutdown(mut self, remove: bool) -> Self {
        self.config.remove_at_shutdown = remove;
        self
    }

    /// Makes the FIFO if the path is free, and the writer; connects on the
    /// first send.
    ///
    /// # Errors
    ///
    /// [`FifoError::NotAFifo`] if the path is something else;
    /// [`FifoError::Io`] if it cannot be made.
    pub fn open(self) -> Result<FifoWriter, FifoError> {
        self.open_with(None)
    }

    pub(crate) fn open_with(self, peer: Option<Arc<Peer>>) -> Result<FifoWriter, FifoError> {
        ensure_fifo(&self.config.path, self.config.mode)?;
        let core = Core {
            sender: None,
            out: BytesMut::with_capacity(PIPE_BUF),
            written: 0,
            reader_gone: false,
            codec: EnvelopeCodec::new().max_frame(self.config.limit() - HEADER_LEN),
            closed: false,
        };
        let shared = Shared { config: self.config, peer, counters: WriterCounters::default(), core: Mutex::new(core) };
        Ok(FifoWriter { shared: Arc::new(shared) })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.config.path
    }
}

impl FifoWriter {
    /// Starts describing a writer of the FIFO at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> WriterBuilder {
        WriterBuilder {
            config: WriterConfig {
                path: path.into(),
                mode: DEFAULT_MODE,
                framing: Framing::Frames,
                only_writer: false,
                when_full: WhenFull::Wait,
                max_frame: DEFAULT_MAX_FRAME,
                remove_at_shutdown: false,
            },
        }
    }

    /// A writer with the defaults; see [`WriterBuilder::open`].
    ///
    /// # Errors
    ///
    /// As [`WriterBuilder::open`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, FifoError> {
        Self::builder(path).open()
    }

    /// The FIFO's path.
    pub fn path(&self) -> &Path {
        &self.shared.config.path
    }

    /// Writes `envelope` as one message: its msgpack form in a frame or
    /// record, its JSON form on a line.
    ///
    /// # Errors
    ///
    /// [`FifoError::NoReader`], [`FifoError::Full`] (with
    /// [`WhenFull::Fail`]), [`FifoError::TooLarge`], [`FifoError::Wire`] if
    /// the body does not serialize, [`FifoError::Closed`],
    /// [`FifoError::Gone`], [`FifoError::Io`]. Whatever the error, nothing
    /// of the envelope was written.
    ///
    /// # Cancel safety
    ///
    /// A message of at most [`PIPE_BUF`] bytes is written whole or not at
    /// all, so cancelling loses at most this message. If a larger one (only
    /// writer) is cancelled half-written, the next send finishes it first.
    pub async fn send(&self, envelope: &Envelope) -> Result<(), FifoError> {
        self.write(Payload::Envelope(envelope)).await
    }

    /// Writes `payload` as it is, as one message: the payload of a frame or
    /// record, or a line (to which the `\n` is added).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); [`FifoError::LineBreak`] for a line
    /// holding a `\n`.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn send_raw(&self, payload: &[u8]) -> Result<(), FifoError> {
        self.write(Payload::Raw(payload)).await
    }

    /// Closes the FIFO (the reader sees the end once every writer has
    /// closed; a frame left half-written by a cancelled send is finished
    /// first) and removes it if configured to. Sends fail with
    /// [`FifoError::Closed`] from now on, in every clone.
    pub async fn close(&self) {
        let shared = &*self.shared;
        let mut core = shared.core.lock().await;
        if core.written > 0 {
            let _ = core.flush(&shared.config, WhenFull::Wait).await;
        }
        core.closed = true;
        core.sender = None;
        if shared.config.remove_at_shutdown {
            remove_fifo(&shared.config.path);
        }
    }

    /// How many requests and deliveries written out wait for the far side's
    /// answer (always 0 unless [paired](crate::pair)).
    pub fn pending(&self) -> usize {
        self.shared.peer.as_ref().map_or(0, |peer| peer.pending())
    }

    /// The counters now.
    pub fn stats(&self) -> WriterStats {
        self.shared.counters.snapshot()
    }

    /// A handle on the counters, still valid once the writer runs as an actor.
    pub fn counters(&self) -> WriterCounters {
        self.shared.counters.clone()
    }

    async fn write(&self, payload: Payload<'_>) -> Result<(), FifoError> {
        let shared = &*self.shared;
        let mut core = shared.core.lock().await;
        let written = core.write(shared, payload).await;
        match &written {
            Ok(bytes) => shared.counters.sent(*bytes),
            Err(error) => shared.counters.failed(error),
        }
        written.map(drop)
    }
}

impl Core {
    /// Writes one message; how many bytes it took.
    async fn write(&mut self, shared: &Shared, payload: Payload<'_>) -> Result<usize, FifoError> {
        let config = &shared.config;
        if self.closed {
            return Err(FifoError::Closed { path: config.path.clone() });
        }
        if self.written > 0 {
            self.flush(config, WhenFull::Wait).await?;
        }
        self.out.clear();
        self.encode(config, payload)?;
        self.connect(shared)?;
        let peer = shared.peer.as_deref();
        // The copy the peer keeps until the far side answers it.
        let mut owed = None;
        if let (Some(peer), Payload::Envelope(envelope)) = (peer, payload) {
            let mut copy = envelope.clone();
            // Before writing: the answer may come at once.
            peer.outgoing(&mut copy)?;
            owed = Some(copy);
        }
        let bytes = self.out.len();
        match self.flush(config, config.when_full).await {
            Ok(()) => Ok(bytes),
            Err(error) => {
                if let (Some(peer), Some(envelope)) = (peer, &owed) {
                    peer.unsent(envelope, &error.to_string());
                    if std::mem::take(&mut self.reader_gone) {
                        tracing::debug!(fifo.path = %config.path.display(), "the reader went away: its answers will not come");
                        peer.fail_pending(&format!("the reader of fifo {} went away", config.path.display()));
                    }
                }
                Err(error)
            }
        }
    }

    /// Puts the whole message in `out`.
    fn encode(&mut self, config: &WriterConfig, payload: Payload<'_>) -> Result<(), FifoError> {
        let limit = config.limit();
        let too_large = |len: usize| FifoError::TooLarge { len, limit };
        match (config.framing, payload) {
            (Framing::Frames | Framing::Records, Payload::Envelope(envelope)) => {
                self.out.put_slice(&MAGIC);
                // The codec writes the length and the envelope: the wire
                // format's frame, behind our marker.
                if let Err(error) = self.codec.encode(envelope, &mut self.out) {
                    self.out.clear();
                    return Err(match error.into_inner().map(|inner| inner.downcast::<WireError>()) {
                        Some(Ok(wire)) => match *wire {
                            WireError::FrameTooLarge { len, .. } => too_large(HEADER_LEN + len as usize),
                            other => other.into(),
                        },
                        // The codec fails with nothing but a wire error.
                        other => FifoError::Io {
                            path: config.path.clone(),
                            source: io::Error::other(format!("envelope codec: {other:?}")),
                        },
                    });
                }
            }
            (Framing::Frames | Framing::Records, Payload::Raw(bytes)) => {
                if HEADER_LEN + bytes.len() > limit {
                    return Err(too_large(HEADER_LEN + bytes.len()));
                }
                put_header(&mut self.out, bytes.len());
                self.out.put_slice(bytes);
            }
            (Framing::Lines, Payload::Envelope(envelope)) => {
                // Compact JSON holds no line break: strings escape theirs.
                let json = envelope.to_json()?;
                if json.len() + 1 > limit {
                    return Err(too_large(json.len() + 1));
                }
                self.out.put_slice(&json);
                self.out.put_u8(b'\n');
            }
            (Framing::Lines, Payload::Raw(bytes)) => {
                if let Some(at) = bytes.iter().position(|&b| b == b'\n') {
                    return Err(FifoError::LineBreak { at });
                }
                if bytes.len() + 1 > limit {
                    return Err(too_large(bytes.len() + 1));
                }
                self.out.put_slice(bytes);
                self.out.put_u8(b'\n');
            }
        }
        if config.framing == Framing::Records {
            self.out.resize(RECORD_LEN, 0);
        }
        Ok(())
    }

    /// Opens the FIFO for writing unless it is open.
    fn connect(&mut self, shared: &Shared) -> Result<(), FifoError> {
        if self.sender.is_some() {
            return Ok(());
        }
        let path = &shared.config.path;
        // Made again if someone removed it.
        ensure_fifo(path, shared.config.mode)?;
        match pipe::OpenOptions::new().open_sender(path) {
            Ok(sender) => {
                tracing::debug!(fifo.path = %path.display(), "fifo open for writing");
                self.sender = Some(sender);
                shared.counters.opened();
                if let Some(peer) = &shared.peer {
                    peer.revive();
                }
                Ok(())
            }
            // What a non-blocking open for writing says when nobody reads.
            Err(error) if error.raw_os_error() == Some(Errno::ENXIO as i32) => {
                Err(FifoError::NoReader { path: path.clone() })
            }
            Err(source) => Err(FifoError::Io { path: path.clone(), source }),
        }
    }

    /// Writes the rest of `out`. A message not begun is given up when the
    /// pipe is full and `when_full` says fail; a message begun is finished.
    async fn flush(&mut self, config: &WriterConfig, when_full: WhenFull) -> Result<(), FifoError> {
        let failure = loop {
            let Some(sender) = &self.sender else {
                break io::Error::from(Errno::EPIPE);
            };
            let rest = &self.out[self.written..];
            if rest.is_empty() {
                self.out.clear();
                self.written = 0;
                return Ok(());
            }
            // A direct write first: a fresh end has no readiness yet, and
            // the pipe usually has room.
            match nix::unistd::write(sender, rest) {
                Ok(n) if n > 0 => self.written += n,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) if self.written == 0 && when_full == WhenFull::Fail => {
                    self.out.clear();
                    return Err(FifoError::Full { path: config.path.clone() });
                }
                // No room (a pipe never takes 0 bytes otherwise).
                Ok(_) | Err(Errno::EAGAIN) => match write_when_ready(sender, rest).await {
                    Ok(n) => self.written += n,
                    Err(error) => break error,
                },
                Err(errno) => break errno.into(),
            }
        };
        self.sender = None;
        self.out.clear();
        self.written = 0;
        if failure.raw_os_error() == Some(Errno::EPIPE as i32) {
            // Every reader has gone: closed now, opened again by the next send.
            self.reader_gone = true;
            tracing::debug!(fifo.path = %config.path.display(), "every reader has gone: fifo closed");
            return Err(FifoError::NoReader { path: config.path.clone() });
        }
        Err(FifoError::Io { path: config.path.clone(), source: failure })
    }
}

/// Waits for room in the pipe, then writes what fits.
async fn write_when_ready(sender: &pipe::Sender, bytes: &[u8]) -> io::Result<usize> {
    loop {
        sender.writable().await?;
        match sender.try_write(bytes) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            written => return written,
        }
    }
}

impl WriterConfig {
    /// The largest write one message may take.
    fn limit(&self) -> usize {
        match self.framing {
            Framing::Records => RECORD_LEN,
            Framing::Frames if self.only_writer => HEADER_LEN + self.max_frame,
            Framing::Lines if self.only_writer => self.max_frame + 1,
            Framing::Frames | Framing::Lines => PIPE_BUF,
        }
    }
}

impl std::fmt::Debug for FifoWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = &self.shared.config;
        f.debug_struct("FifoWriter")
            .field("path", &config.path)
            .field("framing", &config.framing)
            .field("only_writer", &config.only_writer)
            .field("when_full", &config.when_full)
            .field("paired", &self.shared.peer.is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Actor for FifoWriter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> polyceph::Result<()> {
        ensure_fifo(self.path(), self.shared.config.mode)?;
        // A restarted writer writes again.
        self.shared.core.lock().await.closed = false;
        ctx.on(Filter::any(), Self::write_mail);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        // Kept open for a restart after a failure; closed when it stops for good.
        if matches!(reason, ExitReason::Shutdown | ExitReason::Normal | ExitReason::Ebrake(_)) {
            self.close().await;
        }
    }
}

impl FifoWriter {
    async fn write_mail(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> polyceph::Result<()> {
        self.send(&mail).await?;
        Ok(())
    }
}
