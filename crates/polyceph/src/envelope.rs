//! The unit of mail: an e-mail-like, threaded envelope around a typed body.
//!
//! An envelope never changes once it is sent. Between local actors its body
//! stays the Rust value it was sent with; from the wire it stays msgpack bytes
//! until [`Envelope::body`] reads it, so a bridge that only forwards mail never
//! decodes a body.

mod body;
pub(crate) mod slots;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecow::EcoString;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use body::Body;
pub(crate) use body::BodySlot;
use slots::{Slots, Undelivered};

use crate::error::{BodyError, WireError};
use crate::{Address, Headers, Name, Value};

/// An e-mail-like message: who, to whom, about what, in which conversation,
/// with headers and a typed body.
///
/// | field | meaning |
/// |---|---|
/// | `id` | new for every envelope |
/// | `thread` | shared by a conversation: a new thread's id is its first envelope's id |
/// | `thread_index` | 1 for a new thread, +1 for each reply |
/// | `time` | when the envelope was made (UTC) |
/// | `sender`, `recipient` | actor names; the recipient may be a group, topic or everyone |
/// | `subject` | what it is about; handlers' filters usually match it |
/// | `priority` | higher is handled first by a priority mailbox (default 0) |
/// | `headers` | custom name → [`Value`] pairs |
/// | `in_reply_to` | the id of the envelope this one answers |
/// | body | any [`Body`]: read it back with [`Envelope::body`] |
///
/// Cloning an envelope shares its body. Actors get envelopes from the
/// runtime; [`Envelope::new`] exists for adapters and tests.
///
/// # Examples
///
/// ```
/// use polyceph::Envelope;
///
/// let mail = Envelope::new("hello", "main", "salutation", "Hello, World!")
///     .with_header("abc", 123);
/// assert_eq!(mail.thread_index(), 1);
/// assert_eq!(mail.thread(), mail.id());
/// assert_eq!(mail.body::<String>().unwrap(), "Hello, World!");
/// assert_eq!(mail.field("abc").as_deref(), Some("123"));
///
/// // The wire form decodes the body only when asked.
/// let copy = Envelope::from_msgpack(&mail.to_msgpack().unwrap()).unwrap();
/// assert_eq!(copy.id(), mail.id());
/// assert_eq!(copy.body::<String>().unwrap(), "Hello, World!");
/// ```
#[derive(Clone)]
pub struct Envelope(Box<Inner>);

/// The fields every envelope has, in 120 bytes: small enough for the
/// allocator's fast bins, which matters because envelopes are allocated on
/// the sender's thread and freed on the recipient's.
#[derive(Clone)]
struct Inner {
    id: Uuid,
    /// Nanoseconds since the Unix epoch.
    time: u64,
    thread_index: u32,
    priority: i8,
    /// A plain poison pill ([`Pill::Poison`]), marked here rather than in
    /// [`Extra`] so that poisoning every actor allocates one box per actor,
    /// not two. Like every pill, set only in process.
    poison: bool,
    /// The sender's incarnation (0 for mail from outside the actors).
    incarnation: u64,
    sender: Name,
    recipient: Address,
    subject: EcoString,
    body: BodySlot,
    /// What only some envelopes have: replies, requests, custom headers.
    extra: Option<Box<Extra>>,
}

#[derive(Clone, Default)]
struct Extra {
    /// The thread, when it is not this envelope's own id (a reply's).
    thread: Option<Uuid>,
    in_reply_to: Option<Uuid>,
    headers: Headers,
    slots: Option<Arc<Slots>>,
    /// A pill that carries something (a plain poison pill is `Inner::poison`).
    /// Set only in process, never serialized or decoded, so mail from
    /// outside cannot forge one.
    pill: Option<Pill>,
    /// What the sender on the far side of a wire waits for.
    expects: Option<Expects>,
}

/// What the sender of an envelope waits for, as the wire's `expects` field
/// carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expects {
    /// A reply: the envelope is a request.
    Reply,
    /// An acknowledgement that the envelope was handled.
    Ack,
}

/// What kind of poison pill an envelope is.
#[derive(Clone)]
pub(crate) enum Pill {
    /// From [`AppHandle::poison`](crate::AppHandle::poison): stop normally.
    Poison,
    /// A shutdown's turn: stop with [`ExitReason::Shutdown`](crate::ExitReason::Shutdown);
    /// the next actor's turn comes when the token is dropped.
    Shutdown(
        #[expect(dead_code, reason = "held for its drop, which hands the turn on")]
        Arc<dyn std::any::Any + Send + Sync>,
    ),
    /// A process actor's child process ended: the incarnation it belongs to
    /// stops, failed if `failure` says why; any other incarnation ignores it.
    Ended { incarnation: u64, failure: Option<String> },
}

static NO_HEADERS: Headers = Headers::new();

/// Every field of an envelope, as the wire carries them: its [`Head`], what
/// only some envelopes have, and the body.
pub(crate) struct Parts<'a> {
    pub(crate) head: Head<'a>,
    pub(crate) thread: Uuid,
    /// `None` when there are none (most mail).
    pub(crate) headers: Option<Headers>,
    pub(crate) in_reply_to: Option<Uuid>,
    pub(crate) expects: Option<Expects>,
    pub(crate) body: BodySlot,
}

/// The fields every envelope on the wire has, its strings still the wire's.
pub(crate) struct Head<'a> {
    pub(crate) id: Uuid,
    /// Nanoseconds since the Unix epoch.
    pub(crate) time: u64,
    pub(crate) thread_index: u32,
    pub(crate) priority: i8,
    pub(crate) incarnation: u64,
    pub(crate) sender: &'a str,
    pub(crate) recipient: &'a str,
    pub(crate) subject: &'a str,
}

impl Envelope {
    /// Makes an envelope that starts a new thread.
    pub fn new<B: Body>(
        sender: impl Into<Name>,
        recipient: impl Into<Address>,
        subject: impl Into<Cow<'static, str>>,
        body: B,
    ) -> Self {
        Self::with_body(sender.into(), recipient.into(), subject.into(), BodySlot::local(body))
    }

    pub(crate) fn with_body(sender: Name, recipient: Address, subject: Cow<'static, str>, body: BodySlot) -> Self {
        Self(boxed!(Inner {
            id: Uuid::new_v4(),
            time: crate::clock::unix_nanos(),
            thread_index: 1,
            priority: 0,
            poison: false,
            incarnation: 0,
            sender,
            recipient,
            subject: EcoString::from(subject.as_ref()),
            body,
            extra: None,
        }))
    }

    /// Makes the answer to `original`: same thread, next index, sender and
    /// recipient swapped, the original's headers and priority kept.
    pub(crate) fn reply_to(original: &Envelope, sender: Name, subject: Cow<'static, str>, body: BodySlot) -> Self {
        let o = &original.0;
        Self(boxed!(Inner {
            id: Uuid::new_v4(),
            time: crate::clock::unix_nanos(),
            thread_index: o.thread_index.saturating_add(1),
            priority: o.priority,
            poison: false,
            incarnation: 0,
            sender,
            recipient: Address::Actor(o.sender.clone()),
            subject: EcoString::from(subject.as_ref()),
            body,
            extra: Some(boxed!(Extra {
                thread: Some(original.thread()),
                in_reply_to: Some(o.id),
                headers: original.headers().clone(),
                slots: None,
                pill: None,
                expects: None,
            })),
        }))
    }

    /// A control envelope of a process link (see `process::link`).
    pub(crate) fn link_control(
        sender: Name,
        recipient: Name,
        subject: &'static str,
        in_reply_to: Option<Uuid>,
        body: BodySlot,
    ) -> Self {
        let mut envelope = Self::with_body(sender, Address::Actor(recipient), subject.into(), body);
        if in_reply_to.is_some() {
            envelope.extra_mut().in_reply_to = in_reply_to;
        }
        envelope
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl Into<Value>) -> Self {
        self.headers_mut().insert(name, value);
        self
    }

    /// Readdresses the envelope, keeping everything else: a bridge
    /// delivering mail read from a wire to its configured recipient.
    pub fn set_recipient(&mut self, to: impl Into<Address>) {
        self.0.recipient = to.into();
    }

    /// Sets the priority (builder style).
    #[must_use]
    pub fn with_priority(mut self, priority: i8) -> Self {
        self.0.priority = priority;
        self
    }

    /// This envelope's own id.
    pub fn id(&self) -> Uuid {
        self.0.id
    }

    /// The conversation this envelope belongs to.
    pub fn thread(&self) -> Uuid {
        self.0.extra.as_ref().and_then(|e| e.thread).unwrap_or(self.0.id)
    }

    /// 1 for the first envelope of a thread, +1 for each reply.
    pub fn thread_index(&self) -> u32 {
        self.0.thread_index
    }

    /// When the envelope was made: the system clock, to within a
    /// microsecond (read from the CPU's time-stamp counter, which each
    /// thread re-anchors to the system clock every 10 ms; a clock that is
    /// set is followed within those 10 ms).
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0.time)
    }

    /// Who sent it.
    pub fn sender(&self) -> &Name {
        &self.0.sender
    }

    /// The incarnation of the sender when it sent this (libchirp's remote
    /// identity): a restarted actor sends with a new one, so a peer can tell
    /// that its correspondent restarted. 0 for mail from outside the actors.
    pub fn sender_incarnation(&self) -> u64 {
        self.0.incarnation
    }

    pub(crate) fn with_incarnation(mut self, incarnation: u64) -> Self {
        self.0.incarnation = incarnation;
        self
    }

    /// Where it was sent.
    pub fn recipient(&self) -> &Address {
        &self.0.recipient
    }

    /// What it is about.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// Its priority: higher is handled first by a priority mailbox.
    pub fn priority(&self) -> i8 {
        self.0.priority
    }

    /// The custom headers.
    pub fn headers(&self) -> &Headers {
        self.0.extra.as_ref().map_or(&NO_HEADERS, |e| &e.headers)
    }

    /// The custom headers, to change them before sending.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.extra_mut().headers
    }

    /// The id of the envelope this one replies to.
    pub fn in_reply_to(&self) -> Option<Uuid> {
        self.0.extra.as_ref().and_then(|e| e.in_reply_to)
    }

    /// Whether this is a reply (it has an `in_reply_to`).
    pub fn is_reply(&self) -> bool {
        self.in_reply_to().is_some()
    }

    /// Whether the sender is waiting for a reply to this envelope
    /// ([`Mail::request`](crate::Mail::request)) that nobody has sent yet.
    pub fn expects_reply(&self) -> bool {
        self.slots().is_some_and(|s| s.expects_reply())
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.0.extra.get_or_insert_with(Box::default)
    }

    /// The Rust type name of the body, or `"msgpack bytes"` for a body from the wire.
    pub fn body_type(&self) -> &'static str {
        self.0.body.type_name()
    }

    /// Reads the body as a `T`.
    ///
    /// A body sent as a `T` is cloned. Any other body is converted through
    /// msgpack, exactly as if it had crossed the wire: a `&'static str` body
    /// reads as a `String`, a body from the wire is decoded here, lazily.
    ///
    /// # Errors
    ///
    /// [`BodyError`] naming both the expected and the actual type when the
    /// body cannot be read as a `T`.
    pub fn body<T: DeserializeOwned + Clone + 'static>(&self) -> Result<T, BodyError> {
        self.0.body.get()
    }

    /// Borrows the body if it is exactly a `T` sent by a local actor.
    ///
    /// # Errors
    ///
    /// [`BodyError::WrongType`] if it is another type or still msgpack bytes.
    pub fn body_ref<T: 'static>(&self) -> Result<&T, BodyError> {
        self.0.body.get_ref()
    }

    /// Takes the body out as a `T`, without cloning when this envelope is the
    /// only holder of a `T`; otherwise as [`Envelope::body`] does.
    ///
    /// # Errors
    ///
    /// [`BodyError`] naming both types when the body cannot be read as a `T`.
    pub fn into_body<T: DeserializeOwned + Send + Sync + 'static>(self) -> Result<T, BodyError> {
        let inner = *self.0;
        inner.body.into_value()
    }

    /// The text form of a field or header, as [`Filter`](crate::Filter)s
    /// see it: `id`, `thread`, `thread_index`, `time` (RFC 3339),
    /// `sender`, `recipient`, `subject`, `priority`, `in_reply_to`, else the
    /// custom header of that name.
    pub fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let e = &self.0;
        Some(match name {
            "subject" => Cow::Borrowed(&e.subject),
            "sender" => Cow::Borrowed(e.sender.as_str()),
            "recipient" => match &e.recipient {
                Address::Actor(n) => Cow::Borrowed(n.as_str()),
                other => Cow::Owned(other.to_string()),
            },
            "id" => Cow::Owned(e.id.to_string()),
            "thread" => Cow::Owned(self.thread().to_string()),
            "thread_index" => Cow::Owned(e.thread_index.to_string()),
            "time" => Cow::Owned(humantime::format_rfc3339_micros(self.time()).to_string()),
            "priority" => Cow::Owned(e.priority.to_string()),
            "incarnation" => Cow::Owned(e.incarnation.to_string()),
            "in_reply_to" => Cow::Owned(self.in_reply_to()?.to_string()),
            header => match self.headers().get(header)? {
                Value::Str(s) => Cow::Borrowed(s.as_str()),
                other => Cow::Owned(other.to_string()),
            },
        })
    }

    /// Encodes the envelope in the [wire format](crate::wire): a msgpack map
    /// with named fields, the body a msgpack value within it.
    ///
    /// # Errors
    ///
    /// [`WireError::Encode`] if the body does not serialize.
    pub fn to_msgpack(&self) -> Result<Vec<u8>, WireError> {
        // The fields take about 150 bytes; a body from the wire has a known size.
        let body = self.0.body.encoded().map_or(64, <[u8]>::len);
        let mut out = Vec::with_capacity(192 + body);
        crate::wire::encode(self, &mut out)?;
        Ok(out)
    }

    /// Decodes an envelope in the [wire format](crate::wire). The body stays
    /// msgpack bytes until [`Envelope::body`] reads it.
    ///
    /// # Errors
    ///
    /// A [`WireError`] naming what is wrong with the input; never a panic.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Self, WireError> {
        crate::wire::decode(bytes)
    }

    /// Decodes an envelope in the wire format, as
    /// [`from_msgpack`](Self::from_msgpack), without copying a large body:
    /// a body of 1 KiB or more stays a slice of `bytes` (a frame as it was
    /// read, say) until [`Envelope::body`] reads it. Smaller bodies are
    /// copied, which costs less than sharing.
    ///
    /// A shared body keeps the buffer `bytes` came from alive (all of it,
    /// if `bytes` was split from a larger read buffer) for as long as the
    /// envelope or a copy of it lives: keep [`body`](Self::body)'s value,
    /// not the envelope, to hold on to a large body for long.
    ///
    /// # Errors
    ///
    /// As [`from_msgpack`](Self::from_msgpack).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use polyceph::{Envelope, Value};
    ///
    /// let mail = Envelope::new("camera", "store", "frame", Value::bytes(vec![7_u8; 4096]));
    /// let frame = Bytes::from(mail.to_msgpack()?);
    /// let copy = Envelope::from_msgpack_bytes(&frame)?;
    /// assert_eq!(copy.body::<Value>()?, Value::bytes(vec![7_u8; 4096]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_msgpack_bytes(bytes: &bytes::Bytes) -> Result<Self, WireError> {
        crate::wire::decode_shared(bytes)
    }

    /// Encodes the envelope in the wire format's JSON form: the same field
    /// names, ids and time as text.
    ///
    /// # Errors
    ///
    /// [`WireError::Encode`] if the body does not serialize.
    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        crate::wire::json::encode(self)
    }

    /// Decodes an envelope in the wire format's JSON form.
    ///
    /// # Errors
    ///
    /// A [`WireError`] naming what is wrong with the input; never a panic.
    pub fn from_json(bytes: &[u8]) -> Result<Self, WireError> {
        crate::wire::json::decode(bytes)
    }

    /// Assembles an envelope decoded from the wire.
    #[inline(always)]
    pub(crate) fn from_parts(p: Parts<'_>) -> Self {
        let Parts { head: h, thread, headers, in_reply_to, expects, body } = p;
        let own_thread = thread == h.id;
        let extra = (!own_thread || in_reply_to.is_some() || headers.is_some() || expects.is_some()).then(|| {
            Box::new(Extra {
                thread: (!own_thread).then_some(thread),
                in_reply_to,
                headers: headers.unwrap_or_default(),
                slots: None,
                pill: None,
                expects,
            })
        });
        // The names are made here, inside `boxed`, so that each is stored
        // once, into the allocation.
        Self(boxed!(Inner {
            id: h.id,
            time: h.time,
            thread_index: h.thread_index,
            priority: h.priority,
            poison: false,
            incarnation: h.incarnation,
            sender: Name::new(h.sender),
            recipient: Address::parse(h.recipient),
            subject: h.subject.into(),
            body,
            extra,
        }))
    }

    /// Nanoseconds since the Unix epoch.
    pub(crate) fn time_nanos(&self) -> u64 {
        self.0.time
    }

    /// What the sender waits for: from the slots of a local request or
    /// delivery still waiting, else from the wire.
    pub(crate) fn expects(&self) -> Option<Expects> {
        let extra = self.0.extra.as_ref()?;
        match &extra.slots {
            Some(slots) if slots.expects_reply() => Some(Expects::Reply),
            Some(slots) if slots.expects_ack() => Some(Expects::Ack),
            Some(_) => None,
            None => extra.expects,
        }
    }

    pub(crate) fn body_slot(&self) -> &BodySlot {
        &self.0.body
    }

    /// Attaches reply and acknowledgement slots. The envelope (and its
    /// clones) hold them; others get a weak reference, so the slots still
    /// report their fate when the last clone is dropped.
    pub(crate) fn attach(&mut self, slots: Slots) -> Weak<Slots> {
        let slots = Arc::new(slots);
        let weak = Arc::downgrade(&slots);
        self.extra_mut().slots = Some(slots);
        weak
    }

    /// Moves a delivery's acknowledgement into slots of this copy alone,
    /// so that it is owed by whoever this copy goes to next (a process, a
    /// peer across a wire), not by the handler now holding it: that
    /// handler's end no longer acknowledges it.
    pub(crate) fn hand_over_ack(&mut self) {
        if let Some(ack) = self.slots().and_then(|slots| slots.take_ack()) {
            self.attach(Slots::ack(ack));
        }
    }

    pub(crate) fn slots(&self) -> Option<&Arc<Slots>> {
        self.0.extra.as_ref().and_then(|e| e.slots.as_ref())
    }

    /// Records why this envelope's waiting sender gets no answer, should it
    /// be dropped unanswered.
    pub(crate) fn set_fate(&self, fate: Undelivered) {
        if let Some(slots) = self.slots() {
            slots.set_fate(fate);
        }
    }

    /// Whether this is a poison pill ([`AppHandle::poison`](crate::AppHandle::poison)).
    pub fn is_poison_pill(&self) -> bool {
        self.pill().is_some()
    }

    pub(crate) fn pill(&self) -> Option<&Pill> {
        static POISON: Pill = Pill::Poison;
        if self.0.poison {
            return Some(&POISON);
        }
        self.0.extra.as_ref().and_then(|e| e.pill.as_ref())
    }

    pub(crate) fn make_pill(&mut self, pill: Pill) {
        match pill {
            Pill::Poison => self.0.poison = true,
            pill => self.extra_mut().pill = Some(pill),
        }
    }

    pub(crate) fn set_subject(&mut self, subject: Cow<'static, str>) {
        self.0.subject = EcoString::from(subject.as_ref());
    }
}

impl fmt::Display for Envelope {
    /// Prints every field, one per line, like a pretty-printed dict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        writeln!(f, "{{")?;
        writeln!(f, "    id: {},", e.id)?;
        writeln!(f, "    thread: {},", self.thread())?;
        writeln!(f, "    thread_index: {},", e.thread_index)?;
        writeln!(f, "    time: {},", humantime::format_rfc3339_micros(self.time()))?;
        writeln!(f, "    sender: {},", e.sender)?;
        if e.incarnation != 0 {
            writeln!(f, "    sender_incarnation: {:016x},", e.incarnation)?;
        }
        writeln!(f, "    recipient: {},", e.recipient)?;
        writeln!(f, "    subject: {:?},", &*e.subject)?;
        writeln!(f, "    priority: {},", e.priority)?;
        if let Some(id) = self.in_reply_to() {
            writeln!(f, "    in_reply_to: {id},")?;
        }
        if self.headers().is_empty() {
            writeln!(f, "    headers: {{}},")?;
        } else {
            writeln!(f, "    headers: {{")?;
            for (name, value) in self.headers().iter() {
                match value {
                    Value::Str(s) => writeln!(f, "        {name}: {s:?},")?,
                    other => writeln!(f, "        {name}: {other},")?,
                }
            }
            writeln!(f, "    }},")?;
        }
        writeln!(f, "    body: {:?},", e.body)?;
        write!(f, "}}")
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.0;
        f.debug_struct("Envelope")
            .field("id", &e.id)
            .field("thread", &self.thread())
            .field("thread_index", &e.thread_index)
            .field("time", &humantime::format_rfc3339_micros(self.time()))
            .field("sender", &e.sender)
            .field("sender_incarnation", &e.incarnation)
            .field("recipient", &e.recipient)
            .field("subject", &&*e.subject)
            .field("priority", &e.priority)
            .field("headers", self.headers())
            .field("in_reply_to", &self.in_reply_to())
            .field("body", &e.body)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Reading {
        sensor: String,
        celsius: f64,
    }

    #[test]
    fn a_wrong_body_type_names_both_types() {
        let mail = Envelope::new("a", "b", "s", Reading { sensor: "x".into(), celsius: 1.0 });
        let err = mail.body::<u64>().unwrap_err().to_string();
        assert!(err.contains("u64"), "{err}");
        assert!(err.contains("Reading"), "{err}");
        assert!(mail.body_ref::<String>().is_err());
        assert_eq!(mail.body_ref::<Reading>().unwrap().sensor, "x");
    }

    #[test]
    fn every_field_survives_msgpack() {
        let original =
            Envelope::new("Sender", Address::topic("t"), "subject", Reading { sensor: "s".into(), celsius: -4.5 })
                .with_priority(-3)
                .with_header("list", vec![1, 2])
                .with_header("bytes", Value::bytes(*b"\x00\x01"));
        let reply = Envelope::reply_to(&original, Name::new("b"), "reply".into(), BodySlot::local(7_u8));
        for mail in [original, reply] {
            let copy = Envelope::from_msgpack(&mail.to_msgpack().unwrap()).unwrap();
            assert_eq!(copy.id(), mail.id());
            assert_eq!(copy.thread(), mail.thread());
            assert_eq!(copy.thread_index(), mail.thread_index());
            assert_eq!(copy.time(), mail.time());
            assert_eq!(copy.sender(), mail.sender());
            assert_eq!(copy.recipient(), mail.recipient());
            assert_eq!(copy.subject(), mail.subject());
            assert_eq!(copy.priority(), mail.priority());
            assert_eq!(copy.headers(), mail.headers());
            assert_eq!(copy.in_reply_to(), mail.in_reply_to());
            assert_eq!(copy.body_type(), "msgpack bytes");
        }
    }

    #[test]
    fn into_body_moves_a_unique_body_and_converts_a_shared_one() {
        let mail = Envelope::new("a", "b", "s", Reading { sensor: "x".into(), celsius: 2.0 });
        let copy = mail.clone();
        assert_eq!(mail.into_body::<Reading>().unwrap().celsius, 2.0);
        assert_eq!(copy.into_body::<Reading>().unwrap().sensor, "x");
    }

    #[test]
    fn replies_keep_the_thread_and_swap_the_parties() {
        let mail = Envelope::new("hello", "main", "salutation", ()).with_header("kwargs", [("abc", 123)]);
        let reply = Envelope::reply_to(&mail, Name::new("main"), "reply".into(), BodySlot::local("hi"));
        assert_eq!(reply.thread(), mail.thread());
        assert_eq!(reply.thread_index(), 2);
        assert_eq!(reply.recipient(), &Address::actor("hello"));
        assert_eq!(reply.in_reply_to(), Some(mail.id()));
        assert_eq!(reply.headers().get("kwargs"), mail.headers().get("kwargs"));
    }

    #[test]
    fn a_poison_pill_stays_one_in_its_copies_and_never_crosses_the_wire() {
        let mut pill = Envelope::new("app", "worker", "stop", ());
        assert!(!pill.is_poison_pill());
        pill.make_pill(Pill::Poison);
        assert!(matches!(pill.pill(), Some(Pill::Poison)));
        assert!(pill.clone().is_poison_pill());
        let read = Envelope::from_msgpack(&pill.to_msgpack().unwrap()).unwrap();
        assert!(!read.is_poison_pill());
        assert_eq!(read.subject(), "stop");
    }
}

#[cfg(test)]
mod layout {
    #[test]
    fn an_envelope_fits_the_allocators_fast_bins() {
        // glibc serves requests of up to 120 bytes from its lock-free fast
        // bins; envelopes are freed on another thread than they were made.
        assert!(std::mem::size_of::<super::Inner>() <= 120, "{}", std::mem::size_of::<super::Inner>());
    }
}
