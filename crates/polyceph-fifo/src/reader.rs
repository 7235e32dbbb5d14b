//! [`FifoReader`]: an actor that reads a FIFO and delivers what it reads as mail.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use polyceph::remote::{Answer, Incoming, Peer};
use polyceph::wire::DEFAULT_MAX_FRAME;
use polyceph::{Actor, Address, AppHandle, Context, Envelope, ExitReason, Filter, Name, Value};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use crate::framing::{
    FrameDecoder, LineDecoder, Malformed, Payload, RECORD_LEN, Reason, parse_line, read_record, realignment,
};
use crate::inlet::Inlet;
use crate::path::{DEFAULT_MODE, ensure_fifo, remove_fifo};
use crate::stats::{Count, ReaderCounters, ReaderStats};
use crate::{FifoError, FifoWriter, Framing, RawFrame, WriterBuilder};

/// The header that names the FIFO a message was read from, on every mail a
/// [`FifoReader`] delivers.
pub const FIFO_HEADER: &str = "fifo";

/// The sender of mail made from raw frames and short lines, unless the
/// reader is told otherwise ([`ReaderBuilder::sender`]). Not an actor's
/// name: replies to it are dead letters.
pub const DEFAULT_SENDER: &str = "$fifo";

/// The subject of mail made from raw frames unless told otherwise.
pub const DEFAULT_RAW_SUBJECT: &str = "raw";

/// How much a frame or line reader reads at once.
const READ_AHEAD: usize = 64 * 1024;

/// The subject of the notice the read loop sends its actor when it fails.
const READ_FAILED: &str = "fifo read failed";

/// An actor that reads a FIFO and delivers each message to a recipient: an
/// actor, a group (one member takes each message) or a topic (every
/// subscriber gets a copy).
///
/// # Behaviour
///
/// - [`open`](ReaderBuilder::open) makes the FIFO if the path is free and
///   refuses a path that is something else ([`FifoError::NotAFifo`]). The
///   actor opens it in `birth`; from then on writers can connect.
/// - Each envelope read is readdressed to the recipient (its other fields
///   are kept: sender, thread, headers...) and gets the header
///   [`FIFO_HEADER`] with the FIFO's path. In [raw mode](ReaderBuilder::raw)
///   each frame, record or line becomes the [`RawFrame`] body of a new mail.
///   Delivery waits for room in the recipient's mailbox: a slow recipient
///   slows the reader, and the pipe fills up for the writers.
/// - Writers may come and go. When every writer has closed, the reader
///   waits for the next one without polling and without growing: the
///   kernel wakes it when bytes arrive. It holds the FIFO open read-write
///   while it waits (so it needs both permissions), and keeps reading the
///   FIFO it opened even if the path is removed or replaced.
/// - Bad input never stops it: a bad stretch (bytes that are no frame, a
///   frame over the limit or cut short, a payload that is no envelope, a
///   bad line or record) is skipped up to the next frame's marker, counted
///   ([`ReaderStats::malformed`]) and logged.
/// - Mail the recipient does not take is counted
///   ([`ReaderStats::undelivered`]) and logged, and reading goes on.
///
/// Paired with a writer ([`pair`](crate::pair)), it completes the requests
/// that writer sent with the replies it reads, and answers the far side's
/// requests through that writer.
///
/// # Several readers
///
/// Frames and lines are for one reader per FIFO: two readers split the
/// stream at arbitrary points. Readers that share the load of one FIFO
/// (each message to exactly one of them, whole) use
/// [`Framing::Records`], and so must its writers.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use polyceph::prelude::*;
/// use polyceph::testing::Probe;
/// use polyceph_fifo::{FifoReader, FifoWriter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("in.fifo");
/// let (probe, mut recorded) = Probe::new();
/// let reader = FifoReader::builder(&path, "main").open()?;
/// let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;
///
/// let writer = FifoWriter::open(&path)?;
/// writer.send(&Envelope::new("sensor", "anyone", "reading", 21.5)).await?;
///
/// let mail = recorded.next(Duration::from_secs(5)).await?;
/// assert_eq!(mail.body::<f64>()?, 21.5);
/// assert_eq!(mail.recipient(), &Address::actor("main"));
/// assert_eq!(mail.field("fifo").as_deref(), path.to_str());
/// app.shutdown().await;
/// # Ok(()) }
/// ```
pub struct FifoReader {
    config: Arc<ReaderConfig>,
    counters: ReaderCounters,
    paired: Option<Paired>,
    running: Option<JoinHandle<()>>,
}

/// A reader's other half: the far side's requests are answered through the writer.
#[derive(Clone)]
struct Paired {
    peer: Arc<Peer>,
    writer: FifoWriter,
}

#[derive(Debug)]
struct ReaderConfig {
    path: PathBuf,
    /// The path as the [`FIFO_HEADER`] value, made once.
    header: Value,
    recipient: Address,
    framing: Framing,
    /// The subject of raw mail; `None`: envelopes.
    raw: Option<Cow<'static, str>>,
    sender: Name,
    mode: u32,
    max_frame: usize,
    remove_at_shutdown: bool,
}

/// Describes a [`FifoReader`]; [`open`](Self::open) makes it.
#[derive(Debug)]
#[must_use = "a builder does nothing until .open()"]
pub struct ReaderBuilder {
    config: ReaderConfig,
}

impl ReaderBuilder {
    /// How messages are framed (default [`Framing::Frames`]); the writers
    /// must use the same.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.config.framing = framing;
        self
    }

    /// Raw mode: each frame, record or line is not decoded but delivered as
    /// the [`RawFrame`] body of a mail with this subject (for example
    /// [`DEFAULT_RAW_SUBJECT`]), from the [sender](Self::sender).
    pub fn raw(mut self, subject: impl Into<Cow<'static, str>>) -> Self {
        self.config.raw = Some(subject.into());
        self
    }

    /// The sender of mail made from raw frames and short lines (default
    /// [`DEFAULT_SENDER`]). Name a [`FifoWriter`] actor here and replies to
    /// that mail are written to its FIFO.
    pub fn sender(mut self, name: impl Into<Name>) -> Self {
        self.config.sender = name.into();
        self
    }

    /// The FIFO's permissions if the reader makes it (default `0o600`), exactly.
    pub fn mode(mut self, mode: u32) -> Self {
        self.config.mode = mode;
        self
    }

    /// The largest frame payload or line (default [`DEFAULT_MAX_FRAME`],
    /// 1 MiB); larger ones are skipped as malformed. Records are always
    /// [`RECORD_LEN`] bytes.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.config.max_frame = bytes.min(u32::MAX as usize);
        self
    }

    /// Whether the actor removes the FIFO file when it shuts down (default
    /// `false`).
    pub fn remove_at_shutdown(mut self, remove: bool) -> Self {
        self.config.remove_at_shutdown = remove;
        self
    }

    /// Makes the FIFO if the path is free, and the reader; it opens the
    /// FIFO in `birth`.
    ///
    /// # Errors
    ///
    /// [`FifoError::NotAFifo`] if the path is something else;
    /// [`FifoError::Io`] if it cannot be made.
    pub fn open(self) -> Result<FifoReader, FifoError> {
        ensure_fifo(&self.config.path, self.config.mode)?;
        Ok(FifoReader {
            config: Arc::new(self.config),
            counters: ReaderCounters::default(),
            paired: None,
            running: None,
        })
    }
}

/// A reader and a writer that hold one conversation with a far side: the
/// writer writes requests (and replies), the reader reads the replies to
/// them (and requests), over two FIFOs.
///
/// Requests sent to the writer actor (`app.request("out", ...)`) wait for
/// their reply, which the reader passes straight to them instead of
/// delivering it; `deliver` waits for the far side's acknowledgement the
/// same way. Requests the reader reads get a reply slot: what the recipient
/// answers (or why it does not) is written back through the writer. A
/// request never waits past its timeout; when the writer finds that the far
/// side's reader has gone, every request still waiting fails at once.
///
/// # Errors
///
/// As [`ReaderBuilder::open`] and [`WriterBuilder::open`].
///
/// # Examples
///
/// Two applications, each reading one FIFO and writing the other: mail to
/// the actor `out` of one is delivered to the `doubler` of the other.
///
/// ```
/// use std::time::Duration;
/// use polyceph::prelude::*;
/// use polyceph_fifo::{FifoReader, FifoWriter};
///
/// struct Doubler;
/// impl Actor for Doubler {
///     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
///         ctx.on(Filter::subject("^double$")?, Self::double);
///         Ok(())
///     }
/// }
/// impl Doubler {
///     async fn double(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
///         ctx.reply(&mail, mail.body::<u64>()? * 2).send().await?;
///         Ok(())
///     }
/// }
///
/// async fn side(inbox: &std::path::Path, outbox: &std::path::Path) -> Result<AppHandle> {
///     let (reader, writer) = polyceph_fifo::pair(
///         FifoReader::builder(inbox, "doubler"),
///         FifoWriter::builder(outbox),
///     )?;
///     let app = Application::builder()
///         .actor("doubler", Doubler)
///         .actor("out", writer) // mail to "out" goes to the other side
///         .actor("in", reader)
///         .start()
///         .await?;
///     Ok(app)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<()> {
/// # let dir = tempfile::tempdir()?;
/// # let (a, b) = (dir.path().join("a.fifo"), dir.path().join("b.fifo"));
/// let one = side(&a, &b).await?; // reads a.fifo, writes b.fifo
/// let other = side(&b, &a).await?; // reads b.fifo, writes a.fifo
/// let reply = one.request("out", "double", 21_u64, Duration::from_secs(5)).await?;
/// assert_eq!(reply.body::<u64>()?, 42);
/// # one.shutdown().await;
/// # other.shutdown().await;
/// # Ok(()) }
/// ```
pub fn pair(reader: ReaderBuilder, writer: WriterBuilder) -> Result<(FifoReader, FifoWriter), FifoError> {
    let peer = Arc::new(Peer::new(format!("fifo {}", writer.path().display())));
    let writer = writer.open_with(Some(peer.clone()))?;
    let mut reader = reader.open()?;
    reader.paired = Some(Paired { peer, writer: writer.clone() });
    Ok((reader, writer))
}

impl FifoReader {
    /// Starts describing a reader of the FIFO at `path` that delivers to
    /// `recipient`.
    pub fn builder(path: impl Into<PathBuf>, recipient: impl Into<Address>) -> ReaderBuilder {
        let path = path.into();
        ReaderBuilder {
            config: ReaderConfig {
                header: Value::from(path.to_string_lossy().into_owned()),
                path,
                recipient: recipient.into(),
                framing: Framing::Frames,
                raw: None,
                sender: Name::new(DEFAULT_SENDER),
                mode: DEFAULT_MODE,
                max_frame: DEFAULT_MAX_FRAME,
                remove_at_shutdown: false,
            },
        }
    }

    /// The FIFO's path.
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    /// The counters now.
    pub fn stats(&self) -> ReaderStats {
        self.counters.snapshot()
    }

    /// A handle on the counters, still valid once the reader runs as an
    /// actor (and across its restarts).
    pub fn counters(&self) -> ReaderCounters {
        self.counters.clone()
    }

    /// Tells the actor that its read loop ended with an error: it stops.
    async fn read_failed(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> polyceph::Result<()> {
        let Ok(ReadFailed(why)) = mail.body_ref::<ReadFailed>() else {
            tracing::warn!(mail.sender = %mail.sender(), "mail to a fifo reader ignored");
            return Ok(());
        };
        ctx.die();
        Err(format!("reading fifo {} failed: {why}", self.config.path.display()).into())
    }
}

/// A clone is a reader with the same settings, counters and pairing that
/// has not started: what a factory for restarts returns.
impl Clone for FifoReader {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            counters: self.counters.clone(),
            paired: self.paired.clone(),
            running: None,
        }
    }
}

impl std::fmt::Debug for FifoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FifoReader")
            .field("path", &self.config.path)
            .field("recipient", &self.config.recipient)
            .field("framing", &self.config.framing)
            .field("raw", &self.config.raw)
            .field("paired", &self.paired.is_some())
            .field("running", &self.running.is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

/// The body of the notice from a failed read loop: a local value, which no
/// mail from outside can carry.
#[derive(serde::Serialize)]
struct ReadFailed(String);

impl Actor for FifoReader {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> polyceph::Result<()> {
        let path = &self.config.path;
        ensure_fifo(path, self.config.mode)?;
        let inlet = Inlet::open(path).map_err(|source| FifoError::Io { path: path.clone(), source })?;
        ctx.on(Filter::subject(&format!("^{READ_FAILED}$"))?, Self::read_failed);
        let reading = ReadLoop {
            config: self.config.clone(),
            counters: self.counters.clone(),
            app: ctx.app(),
            paired: self.paired.clone(),
            answers: JoinSet::new(),
        };
        let (me, app) = (ctx.name().clone(), ctx.app());
        // In the actor's span, so that its logs name the actor.
        let reading = async move {
            if let Err(error) = reading.run(inlet).await {
                let notice = Envelope::new(me.clone(), me, READ_FAILED, ReadFailed(error.to_string()));
                let _ = app.post(notice).await;
            }
        };
        self.running = Some(tokio::spawn(reading.in_current_span()));
        tracing::debug!(fifo.path = %path.display(), framing = %self.config.framing, "reading");
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        if let Some(reading) = self.running.take() {
            // Awaited, so the FIFO is closed when `death` returns.
            reading.abort();
            let _ = reading.await;
        }
        if self.config.remove_at_shutdown && matches!(reason, ExitReason::Shutdown | ExitReason::Ebrake(_)) {
            remove_fifo(&self.config.path);
        }
    }
}

/// The task that reads the FIFO and delivers what it reads.
struct ReadLoop {
    config: Arc<ReaderConfig>,
    counters: ReaderCounters,
    app: AppHandle,
    paired: Option<Paired>,
    /// Answers to the far side's requests, waiting to be written back.
    answers: JoinSet<()>,
}

impl ReadLoop {
    /// Reads until cancelled; ends only on a system error.
    async fn run(mut self, mut inlet: Inlet) -> io::Result<()> {
        match self.config.framing {
            Framing::Frames => self.frames(&mut inlet).await,
            Framing::Lines => self.lines(&mut inlet).await,
            Framing::Records => self.records(&mut inlet).await,
        }
    }

    async fn frames(&mut self, inlet: &mut Inlet) -> io::Result<()> {
        let config = self.config.clone();
        let mut parse = |payload: Payload<'_>| config.frame_message(payload);
        let mut decoder = FrameDecoder::new(config.max_frame);
        let mut buf = BytesMut::with_capacity(READ_AHEAD);
        loop {
            buf.reserve(READ_AHEAD);
            let end = inlet.read(&mut buf).await? == 0;
            loop {
                let next =
                    if end { decoder.decode_eof(&mut buf, &mut parse) } else { decoder.decode(&mut buf, &mut parse) };
                match next {
                    Some(Ok(envelope)) => self.deliver(envelope).await,
                    Some(Err(malformed)) => self.malformed(&malformed),
                    None => break,
                }
            }
            if end {
                self.writers_gone();
            }
        }
    }

    async fn lines(&mut self, inlet: &mut Inlet) -> io::Result<()> {
        let config = self.config.clone();
        let mut decoder = LineDecoder::new(config.max_frame);
        let mut buf = BytesMut::with_capacity(READ_AHEAD);
        loop {
            buf.reserve(READ_AHEAD);
            let end = inlet.read(&mut buf).await? == 0;
            loop {
                let line = match if end { decoder.decode_eof(&mut buf) } else { decoder.decode(&mut buf) } {
                    Some(Ok(line)) => line,
                    Some(Err(malformed)) => {
                        self.malformed(&malformed);
                        continue;
                    }
                    None => break,
                };
                let message = match &config.raw {
                    Some(_) => Ok(Some(config.raw_mail(RawFrame(line.clone())))),
                    None => parse_line(&line, &config.sender, &config.recipient),
                };
                match message {
                    Ok(Some(envelope)) => self.deliver(envelope).await,
                    Ok(None) => {} // a blank line
                    Err(reason) => self.malformed(&Malformed { bytes: line.len() as u64, reason }),
                }
            }
            if end {
                self.writers_gone();
            }
        }
    }

    /// One `read` of exactly one record at a time: with several readers on
    /// the FIFO, each record reaches one of them, whole.
    async fn records(&mut self, inlet: &mut Inlet) -> io::Result<()> {
        let config = self.config.clone();
        let mut record = BytesMut::with_capacity(RECORD_LEN);
        // After a read that was not one record: the bytes to drop so that
        // the next read starts on a record's boundary.
        let mut realign = 0;
        loop {
            record.clear();
            record.reserve(RECORD_LEN);
            let want = if realign > 0 { realign } else { RECORD_LEN };
            let got = inlet.read(&mut (&mut record).limit(want)).await?;
            if got == 0 {
                self.writers_gone();
                continue;
            }
            if std::mem::take(&mut realign) > 0 {
                // The rest of a record whose start the bad read took: part
                // of the stretch already counted.
                self.counters.skipped(got as u64);
                continue;
            }
            match read_record(&record).and_then(|payload| config.message(payload)) {
                Ok(envelope) => self.deliver(envelope).await,
                Err(reason) => {
                    if matches!(reason, Reason::NotARecord(_)) {
                        realign = realignment(&record);
                    }
                    self.malformed(&Malformed { bytes: got as u64, reason });
                }
            }
        }
    }

    /// Hands a message to its recipient, or to the request of ours it answers.
    async fn deliver(&mut self, mut envelope: Envelope) {
        if let Some(paired) = &self.paired {
            match paired.peer.incoming(envelope) {
                Incoming::Settled => {
                    self.counters.bump(Count::Settled);
                    return;
                }
                Incoming::Control(stray) => {
                    self.counters.bump(Count::StrayControl);
                    tracing::warn!(fifo.path = %self.config.path.display(), mail.subject = stray.subject(),
                        "control envelope answering nothing pending (late?): dropped");
                    return;
                }
                Incoming::Mail { envelope: mail, answer } => {
                    if let Some(answer) = answer {
                        self.answer(answer);
                    }
                    envelope = mail;
                }
            }
        }
        envelope.set_recipient(self.config.recipient.clone());
        envelope.headers_mut().insert(FIFO_HEADER, self.config.header.clone());
        match self.app.post(envelope).await {
            Ok(()) => self.counters.bump(Count::Delivered),
            Err(error) => {
                self.counters.bump(Count::Undelivered);
                tracing::warn!(fifo.path = %self.config.path.display(), %error, "mail from the fifo not delivered");
            }
        }
        if !self.answers.is_empty() {
            while self.answers.try_join_next().is_some() {}
        }
    }

    /// Writes the answer to one of the far side's requests back, once there is one.
    fn answer(&mut self, answer: Answer) {
        let Some(Paired { writer, .. }) = self.paired.clone() else { return };
        let counters = self.counters.clone();
        let answering = async move {
            let answer = answer.wait().await;
            match writer.send(&answer).await {
                Ok(()) => counters.bump(Count::Answered),
                Err(error) => {
                    counters.bump(Count::AnswerLost);
                    tracing::warn!(fifo.path = %writer.path().display(), %error, mail.in_reply_to = ?answer.in_reply_to(),
                        "answer to the far side not written");
                }
            }
        };
        self.answers.spawn(answering.in_current_span());
    }

    fn malformed(&self, malformed: &Malformed) {
        self.counters.malformed(malformed.bytes);
        tracing::warn!(fifo.path = %self.config.path.display(), bytes = malformed.bytes, reason = %malformed.reason,
            "malformed input skipped");
    }

    fn writers_gone(&self) {
        self.counters.bump(Count::WritersGone);
        tracing::debug!(fifo.path = %self.config.path.display(), "every writer has closed: waiting for the next");
    }
}

impl ReaderConfig {
    /// The message a frame's payload holds: a large body, or a large raw
    /// frame, shares the read buffer instead of being copied out of it.
    fn frame_message(&self, payload: Payload<'_>) -> Result<Envelope, Reason> {
        match (&self.raw, payload) {
            (Some(_), Payload::Split(bytes)) => Ok(self.raw_mail(RawFrame(bytes.clone()))),
            (Some(_), Payload::InBuffer(bytes)) => Ok(self.raw_mail(RawFrame::from(bytes))),
            (None, Payload::Split(bytes)) => Ok(Envelope::from_msgpack_bytes(bytes)?),
            (None, Payload::InBuffer(bytes)) => Ok(Envelope::from_msgpack(bytes)?),
        }
    }

    /// The message a record's payload holds.
    fn message(&self, payload: &[u8]) -> Result<Envelope, Reason> {
        match &self.raw {
            Some(_) => Ok(self.raw_mail(RawFrame::from(payload))),
            None => Ok(Envelope::from_msgpack(payload)?),
        }
    }

    /// A mail with a raw frame, record or line as its body.
    fn raw_mail(&self, body: RawFrame) -> Envelope {
        let subject = self.raw.clone().unwrap_or(Cow::Borrowed(DEFAULT_RAW_SUBJECT));
        Envelope::new(self.sender.clone(), self.recipient.clone(), subject, body)
    }
}
