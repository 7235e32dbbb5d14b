//! [`GroupBuffersActor`]: group buffers that fill themselves from mail and
//! answer snapshot requests.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use polyceph::{Actor, Body, Context, Envelope, Filter, Result};
use serde::de::DeserializeOwned;

use super::GroupBuffers;
use crate::error::BufferError;
use crate::header;

/// The subject of a request for one key's snapshot: the body is
/// `(group, key)` (two strings), the reply's body a `Vec<T>`, oldest first.
pub const SNAPSHOT: &str = "snapshot";

/// The subject of a request for a whole group's snapshot: the body is the
/// group's name, the reply's body a `BTreeMap<String, Vec<T>>` by key.
pub const SNAPSHOT_GROUP: &str = "snapshot_group";

/// Where a [`GroupBuffersActor`] finds the key of a mail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyFrom {
    /// The sender's name (default): for envelopes published by named nodes.
    #[default]
    Sender,
    /// A header, such as [`SOURCE`](crate::header::SOURCE) (the sender's
    /// socket address) for raw payloads.
    Header(String),
}

/// An actor that keeps [`GroupBuffers`] of the bodies it is mailed, and
/// answers snapshot requests ([`SNAPSHOT`], [`SNAPSHOT_GROUP`]).
///
/// Every other mail is stored: the group is named by a header (default
/// [`TOPIC`](crate::header::TOPIC), which a
/// [`MulticastListener`](crate::MulticastListener) sets), the key is the
/// sender (or a header, [`KeyFrom`]), the value the body read as a `T`. A
/// mail without the header, for an unknown group, or whose body is not a `T`
/// fails its handler: counted in the actor's
/// [`ActorStats::handler_errors`](polyceph::ActorStats::handler_errors) and
/// logged, and the actor goes on. An unknown group in a request fails it
/// with that error.
///
/// The buffers are shared: code in the same process can read them directly
/// through [`buffers`](Self::buffers) without mail.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use polyceph::prelude::*;
/// use polyceph_multicast::{GroupBuffers, GroupBuffersActor, SNAPSHOT, header};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let buffers = Arc::new(GroupBuffers::<f64>::new(["telemetry"], 10)?);
/// let app = Application::builder()
///     .actor("buffers", GroupBuffersActor::new(buffers.clone()))
///     .start()
///     .await?;
/// for celsius in [20.5, 21.0] {
///     app.mail("buffers", "reading", celsius).header(header::TOPIC, "telemetry").send().await?;
/// }
/// let reply = app.request("buffers", SNAPSHOT, ("telemetry", "$app"), Duration::from_secs(1)).await?;
/// assert_eq!(reply.body::<Vec<f64>>()?, [20.5, 21.0]);
/// assert_eq!(buffers.latest("telemetry", "$app")?, Some(21.0));
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
pub struct GroupBuffersActor<T> {
    buffers: Arc<GroupBuffers<T>>,
    group_header: String,
    key: KeyFrom,
    _type: PhantomData<fn() -> T>,
}

impl<T: Body + DeserializeOwned + Clone> GroupBuffersActor<T> {
    /// An actor filling `buffers`: group from the [`TOPIC`](crate::header::TOPIC)
    /// header, key from the sender.
    pub fn new(buffers: Arc<GroupBuffers<T>>) -> Self {
        Self { buffers, group_header: header::TOPIC.to_owned(), key: KeyFrom::Sender, _type: PhantomData }
    }

    /// Reads the group from this header instead (or from any field
    /// [`Envelope::field`] reads: `subject` groups by subject).
    #[must_use]
    pub fn group_header(mut self, name: impl Into<String>) -> Self {
        self.group_header = name.into();
        self
    }

    /// Takes the key from here instead of the sender.
    #[must_use]
    pub fn key_from(mut self, key: KeyFrom) -> Self {
        self.key = key;
        self
    }

    /// The buffers, shared with the actor.
    pub fn buffers(&self) -> &Arc<GroupBuffers<T>> {
        &self.buffers
    }

    async fn store(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let missing =
            |header: &str| BufferError::MissingHeader { header: header.to_owned(), subject: mail.subject().to_owned() };
        let group = mail.field(&self.group_header).ok_or_else(|| missing(&self.group_header))?.into_owned();
        let key = match &self.key {
            KeyFrom::Sender => mail.sender().as_str().to_owned(),
            KeyFrom::Header(name) => mail.field(name).ok_or_else(|| missing(name))?.into_owned(),
        };
        let value = mail.into_body::<T>()?;
        self.buffers.push(&group, &key, value)?;
        Ok(())
    }

    async fn snapshot(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let (group, key) = mail.body::<(String, String)>()?;
        let values = self.buffers.snapshot(&group, &key)?;
        ctx.reply(&mail, values).send().await?;
        Ok(())
    }

    async fn snapshot_group(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let group = mail.body::<String>()?;
        let values: BTreeMap<String, Vec<T>> = self.buffers.group_snapshot(&group)?;
        ctx.reply(&mail, values).send().await?;
        Ok(())
    }
}

impl<T: Body + DeserializeOwned + Clone> Actor for GroupBuffersActor<T> {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject(&format!("^{SNAPSHOT}$"))?, Self::snapshot);
        ctx.on(Filter::subject(&format!("^{SNAPSHOT_GROUP}$"))?, Self::snapshot_group);
        ctx.fallback(Self::store);
        Ok(())
    }
}

impl<T> fmt::Debug for GroupBuffersActor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupBuffersActor")
            .field("buffers", &self.buffers)
            .field("group_header", &self.group_header)
            .field("key", &self.key)
            .finish()
    }
}
