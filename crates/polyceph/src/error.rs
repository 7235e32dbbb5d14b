//! Error types, one per family of operations.
//!
//! Errors that fail to send hand the [`Envelope`] back
//! ([`SendError::into_envelope`]), as tokio's `SendError<T>` does.

use std::time::Duration;

use crate::{Address, Envelope, Name};

/// The boxed error user code returns from hooks and handlers.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Mail could not be put into a mailbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No actor, group member or topic subscriber answers to the address.
    #[error("no recipient for {to}")]
    NoSuchRecipient {
        /// The address.
        to: Address,
        /// The envelope that was not sent.
        envelope: Envelope,
    },
    /// The recipient's mailbox is full and its policy rejects new mail (or
    /// the caller asked not to wait).
    #[error("mailbox of {to} is full")]
    MailboxFull {
        /// The address.
        to: Address,
        /// The envelope that was not sent.
        envelope: Envelope,
    },
    /// The recipient stopped while the mail was on its way.
    #[error("actor {to} has stopped")]
    Stopped {
        /// The address.
        to: Address,
        /// The envelope that was not sent.
        envelope: Envelope,
    },
}

impl SendError {
    /// Takes back the envelope that was not delivered.
    pub fn into_envelope(self) -> Envelope {
        match self {
            Self::NoSuchRecipient { envelope, .. }
            | Self::MailboxFull { envelope, .. }
            | Self::Stopped { envelope, .. } => envelope,
        }
    }

    /// The address the mail was for.
    pub fn to(&self) -> &Address {
        match self {
            Self::NoSuchRecipient { to, .. } | Self::MailboxFull { to, .. } | Self::Stopped { to, .. } => to,
        }
    }
}

/// A request got no reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request could not be sent (unknown recipient, full mailbox, stopped).
    #[error(transparent)]
    Send(#[from] SendError),
    /// No reply came within the timeout.
    #[error("no reply from {to} within {timeout:?}")]
    Timeout {
        /// The address asked.
        to: Address,
        /// How long the requester waited.
        timeout: Duration,
    },
    /// The recipient stopped before replying.
    #[error("{to} stopped before replying")]
    RecipientStopped {
        /// The address asked.
        to: Address,
    },
    /// The recipient's mailbox dropped the request to make room (drop-oldest policy).
    #[error("{to} dropped the request from its full mailbox")]
    Dropped {
        /// The address asked.
        to: Address,
    },
    /// No filter of the recipient matched the request.
    #[error("no handler of {to} matched the request")]
    Unhandled {
        /// The address asked.
        to: Address,
    },
    /// The recipient's handlers finished without replying.
    #[error("{to} handled the request without replying")]
    NoReply {
        /// The address asked.
        to: Address,
    },
    /// It went to a far side over a wire (a process actor, a bridge) that
    /// went away, or could not be reached, before answering: whether it
    /// was handled there is unknown.
    #[error("the way to {to} was lost before it answered: {reason}")]
    Lost {
        /// The address asked.
        to: Address,
        /// What happened to the far side, as text.
        reason: String,
    },
    /// A handler of the recipient returned an error instead of replying.
    #[error("a handler of {to} failed: {reason}")]
    HandlerFailed {
        /// The address asked.
        to: Address,
        /// The handler's error, as text.
        reason: String,
    },
}

/// A synchronous delivery ([`Mail::deliver`](crate::Mail::deliver)) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The mail could not be sent.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The handlers did not finish within the timeout.
    #[error("{to} did not finish handling the mail within {timeout:?}")]
    Timeout {
        /// The recipient.
        to: Address,
        /// How long the sender waited.
        timeout: Duration,
    },
    /// It went to a far side over a wire (a process actor, a bridge) that
    /// went away, or could not be reached, before answering: whether it
    /// was handled there is unknown.
    #[error("the way to {to} was lost before it handled the mail: {reason}")]
    Lost {
        /// The recipient.
        to: Address,
        /// What happened to the far side, as text.
        reason: String,
    },
    /// A handler returned an error.
    #[error("a handler of {to} failed: {reason}")]
    HandlerFailed {
        /// The recipient.
        to: Address,
        /// The handler's error, as text.
        reason: String,
    },
    /// No filter of the recipient matched the mail.
    #[error("no handler of {to} matched the mail")]
    Unhandled {
        /// The recipient.
        to: Address,
    },
    /// The recipient stopped before handling the mail.
    #[error("{to} stopped before handling the mail")]
    RecipientStopped {
        /// The recipient.
        to: Address,
    },
    /// The recipient's mailbox dropped the mail to make room (drop-oldest policy).
    #[error("{to} dropped the mail from its full mailbox")]
    Dropped {
        /// The recipient.
        to: Address,
    },
}

/// Selective receive ([`Context::receive`](crate::Context::receive)) got nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiveError {
    /// No matching mail arrived within the timeout.
    #[error("no matching mail within {0:?}")]
    Timeout(Duration),
    /// The actor is stopping: the application is shutting down.
    #[error("the actor is stopping")]
    Closed,
}

/// A body could not be read as the requested type.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is another type (and borrowing needs the exact type).
    #[error("body is a {found}, not a {expected}")]
    WrongType {
        /// The type asked for.
        expected: &'static str,
        /// The body's type.
        found: &'static str,
    },
    /// The body did not decode as the requested type.
    #[error("body is a {found} and cannot be read as a {expected}: {reason}")]
    Decode {
        /// The type asked for.
        expected: &'static str,
        /// The body's type.
        found: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The body's `Serialize` implementation failed.
    #[error("body of type {found} does not serialize: {reason}")]
    Encode {
        /// The body's type.
        found: &'static str,
        /// What the encoder said.
        reason: String,
    },
}

/// An envelope could not be encoded or decoded in the
/// [wire format](crate::wire).
///
/// Each kind of bad input has its own variant, so a bridge can count and log
/// what its peers send wrong. `field` names the envelope field (or
/// `"headers"`, `"body"`, `"field name"`, `"unknown field"`) where the
/// problem was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A frame's length prefix is above the limit; the frame was skipped
    /// unread (or, when encoding, not written).
    #[error("frame of {len} bytes is over the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame's length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The input ends in the middle of a value.
    #[error("input ends inside {field}")]
    Truncated {
        /// Where the input ended.
        field: &'static str,
    },
    /// The input is not a msgpack map (random bytes usually end here).
    #[error("not an envelope: expected a map, found {found}")]
    NotAMap {
        /// The msgpack type found instead.
        found: &'static str,
    },
    /// A field has the wrong msgpack (or JSON) type.
    #[error("{field} must be {expected}, found {found}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The type the format requires.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// The envelope's `v` is a format version this build does not read.
    #[error("unknown format version {found} (this build reads version {})", crate::wire::FORMAT_VERSION)]
    UnknownVersion {
        /// The version found.
        found: u64,
    },
    /// A mandatory field is missing.
    #[error("missing mandatory field {field}")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// A field appears twice in one envelope.
    #[error("field {field} appears twice")]
    DuplicateField {
        /// The field.
        field: &'static str,
    },
    /// A field has the right type but a value it cannot take.
    #[error("{field} is out of range: {reason}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// A string is not valid UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
    /// Lists and maps nest deeper than [`MAX_DEPTH`](crate::wire::MAX_DEPTH).
    #[error("{field} nests deeper than {} levels", crate::wire::MAX_DEPTH)]
    TooDeep {
        /// The field.
        field: &'static str,
    },
    /// Bytes follow the envelope in its frame.
    #[error("{count} bytes follow the envelope")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The input is not JSON, or not JSON of the expected shape.
    #[error("invalid JSON: {reason}")]
    Json {
        /// What the JSON parser said.
        reason: String,
    },
    /// The body did not serialize.
    #[error(transparent)]
    Encode(#[from] BodyError),
}

/// A filter could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The pattern is not a valid regular expression.
    #[error("invalid regex {pattern:?} for {field}")]
    InvalidRegex {
        /// The field or header the filter reads.
        field: String,
        /// The pattern given.
        pattern: String,
        /// What the regex parser said.
        #[source]
        source: regex::Error,
    },
}

/// The highest frequency: Tokio's timer has a resolution of one millisecond.
pub const MAX_FREQUENCY: f64 = 1000.0;

/// The lowest frequency: one tick a year.
pub const MIN_FREQUENCY: f64 = 1.0 / 31_557_600.0;

/// A frequency outside [`MIN_FREQUENCY`] ..= [`MAX_FREQUENCY`] hertz (or not a number).
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq)]
#[error("invalid frequency {0} Hz: it must be between one tick a year and {MAX_FREQUENCY} Hz")]
pub struct InvalidFrequency(pub f64);

impl InvalidFrequency {
    pub(crate) fn check(hz: f64) -> Result<f64, Self> {
        if (MIN_FREQUENCY..=MAX_FREQUENCY).contains(&hz) { Ok(hz) } else { Err(Self(hz)) }
    }
}

/// An actor could not be added or started.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum SpawnError {
    /// An actor with this name (compared ignoring case) already exists.
    #[error("an actor named {0} already exists")]
    DuplicateName(Name),
    /// A [`Mode::Process`](crate::Mode::Process) actor must be added to the
    /// [`Builder`](crate::Builder): its child process finds it there.
    #[error("no actor named {0} in the application's builder: a process actor must be added there")]
    NotInBuilder(Name),
    /// The name is empty, starts with `$` (reserved for the runtime), contains
    /// `:` or is `*` (both would read as another kind of address).
    #[error("invalid actor name {0:?}: names are non-empty, contain no ':', are not '*' and do not start with '$'")]
    InvalidName(String),
    /// The frequency is not a positive, finite number of hertz.
    #[error(transparent)]
    InvalidFrequency(#[from] InvalidFrequency),
    /// The mailbox capacity is zero.
    #[error("invalid mailbox capacity 0 for actor {0}")]
    ZeroCapacity(Name),
    /// The application is shutting down.
    #[error("the application is shutting down")]
    ShuttingDown,
    /// A restart policy was set for an actor added as a value: restarting
    /// needs a factory (`Builder::actor_with`, `AppHandle::spawn_with`).
    #[error("actor {0} cannot be restarted: add it with a factory (actor_with, spawn_with)")]
    NotRestartable(Name),
    /// Two actors were made the main actor.
    #[error("{0} cannot be the main actor too: an application has one")]
    TwoMains(Name),
    /// No actor of this name waits to be started (autostart off): it is
    /// unknown, or already started.
    #[error("no actor named {0} waits to be started")]
    NotDormant(Name),
    /// No supervisor of this name was declared (before it was named).
    #[error("no supervisor named {0} (declare it with Builder::supervisor before naming it)")]
    NoSuchSupervisor(Name),
}

/// The application could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// An actor could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The signal handler could not be installed.
    #[error("cannot listen for signals")]
    Signal(#[source] std::io::Error),
    /// An actor (or the embedding code) pulled the emergency brake.
    #[error("emergency brake pulled by {by}: {reason}")]
    Ebrake {
        /// Who pulled it.
        by: Name,
        /// The reason given.
        reason: String,
    },
    /// Some actors had not stopped when the shutdown timeout passed; they
    /// were aborted without `death`.
    #[error("shutdown timed out: aborted {}", names(.aborted))]
    ShutdownTimeout {
        /// The actors aborted.
        aborted: Vec<Name>,
    },
    /// An actor (or a nested supervisor) directly under the application
    /// failed more often than its restart intensity allows.
    #[error("actor {actor} failed too often and escalated: {reason}")]
    Escalated {
        /// The actor, or the nested supervisor.
        actor: Name,
        /// Its last failure.
        reason: crate::ExitReason,
    },
    /// A second interrupt forced the application to stop at once.
    #[error("forced to stop by a second signal: aborted {}", names(.aborted))]
    Forced {
        /// The actors aborted.
        aborted: Vec<Name>,
    },
}

impl RunError {
    /// The process exit status that says why the run ended: 1 could not
    /// start or listen for signals, 2 emergency brake, 3 shutdown timeout,
    /// 4 forced by a second signal, 5 escalation. A clean run is 0.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Spawn(_) | Self::Signal(_) => 1,
            Self::Ebrake { .. } => 2,
            Self::ShutdownTimeout { .. } => 3,
            Self::Forced { .. } => 4,
            Self::Escalated { .. } => 5,
        }
    }
}

fn names(names: &[Name]) -> String {
    let names: Vec<&str> = names.iter().map(Name::as_str).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}
