//! Actors with a birth, a life at a set frequency and a death, exchanging
//! threaded, e-mail-like mail on Tokio.
//!
//! An [`Application`] starts named [`Actor`]s. Each actor is born
//! ([`Actor::birth`]), lives ([`Actor::life`] runs at its frequency on a
//! drift-free schedule) and dies ([`Actor::death`]). Between ticks it handles
//! mail as soon as it arrives: every handler registered with
//! [`Context::on`] whose [`Filter`] matches the [`Envelope`] runs. Actors
//! [`send`](Mail::send), [`request`](Mail::request) (the reply comes back on
//! the same thread, or a distinct error: never a hang) and
//! [`deliver`](Mail::deliver) (wait until the handlers are done) mail to an
//! [`Address`]: an actor, a group, a topic or everyone.
//!
//! See `docs/semantics.md` for ordering and delivery guarantees.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use polyceph::prelude::*;
//!
//! struct Main;
//!
//! impl Actor for Main {
//!     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
//!         ctx.on(Filter::subject(r"(?i)^salutation$")?, Self::salutation);
//!         Ok(())
//!     }
//! }
//!
//! impl Main {
//!     async fn salutation(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
//!         ctx.reply(&mail, "Hi, thanks for writing.").header("acme", 123).send().await?;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Application::builder().actor("main", Main).frequency(5.0).start().await?;
//! let reply = app
//!     .mail("main", "Salutation", "Hello, World!")
//!     .header("args", vec!["Arg1", "Arg2"])
//!     .request(Duration::from_secs(10))
//!     .await?;
//! assert_eq!(reply.body::<String>()?, "Hi, thanks for writing.");
//! assert_eq!(reply.thread_index(), 2);
//! assert_eq!(reply.field("acme").as_deref(), Some("123"));
//! app.shutdown().await;
//! # Ok(()) }
//! ```

/// Boxes a value by allocating first and making the value after, so that
/// its fields are stored straight into the allocation rather than built on
/// the stack and copied. Such a copy's wide loads stall on the narrow
/// stores that have just made a short string or a small field (`perf
/// annotate` showed it as the hottest instruction of making and decoding an
/// envelope). For a future, the copy is of its whole state, most of it not
/// yet written: a `memcpy` call per dispatched mail (callgrind).
/// A macro: a function makes its argument before the allocation, and with
/// a closure the copy came back (measured). Defined before the modules, so
/// that all of them see it.
macro_rules! boxed {
    ($value:expr) => {
        Box::write(Box::new_uninit(), $value)
    };
}

mod actor;
mod address;
mod app;
mod clock;
mod context;
mod deadlines;
mod directory;
mod envelope;
pub mod error;
mod events;
mod filter;
mod mail;
mod mailbox;
mod mode;
mod name;
pub mod prelude;
pub mod process;
pub mod remote;
mod runner;
mod shutdown;
mod stats;
mod stopwatch;
mod supervision;
mod supervisor;
#[cfg(feature = "test-util")]
pub mod testing;
mod value;
pub mod wire;

pub use actor::{Actor, Result};
pub use address::Address;
pub use app::{APP_SENDER, ActorBuilder, ActorOptions, AppHandle, Application, Builder, DEFAULT_SHUTDOWN_TIMEOUT};
pub use context::{BoxFuture, Context, Handler, HandlerFn};
pub use ecow::EcoString;
pub use envelope::{Body, Envelope};
pub use events::{EVENT_BUFFER, Event, Events, ExitReason};
pub use filter::Filter;
pub use mail::Mail;
pub use mailbox::{DEFAULT_CAPACITY, FullPolicy, QueueKind};
pub use mode::Mode;
pub use name::Name;
pub use stats::{ActorStats, AppStats};
pub use stopwatch::{Resolution, Stopwatch};
pub use supervision::{Backoff, Intensity, Restart, Strategy, SupervisorOptions};
pub use value::{HeaderIter, Headers, Value};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
