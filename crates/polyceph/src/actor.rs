//! The [`Actor`] trait: birth, life, death.

use std::task::Poll;

use crate::error::BoxError;
use crate::{Context, ExitReason};

/// What user hooks and handlers return: any error converts with `?`.
pub type Result<T = (), E = BoxError> = std::result::Result<T, E>;

/// An actor: a value that is born, lives at a frequency, handles mail, and dies.
///
/// The actor *is* its state; every hook gets `&mut self` and the actor's
/// [`Context`]. All hooks have default bodies that do nothing.
///
/// * [`birth`](Actor::birth) runs once, before anything else. Register
///   handlers here with [`Context::on`].
/// * [`life`](Actor::life) runs at the actor's frequency (see
///   [`ActorOptions::frequency`](crate::ActorOptions::frequency)), on a
///   drift-free schedule that starts right after `birth`. Without a frequency
///   the actor is purely reactive and `life` never runs.
/// * Between ticks, mail is handled as soon as it arrives, by every handler
///   whose filter matches.
/// * [`death`](Actor::death) runs once on the way out, whatever the reason.
///
/// An error from `life` or a handler is logged and counted
/// ([`ActorStats`](crate::ActorStats)); the actor keeps running. An error from
/// `birth` stops the actor with [`ExitReason::Failed`].
///
/// # Examples
///
/// ```
/// use polyceph::prelude::*;
///
/// #[derive(Default)]
/// struct Counter {
///     count: u64,
/// }
///
/// impl Actor for Counter {
///     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
///         ctx.on(Filter::subject("^add$")?, Self::add);
///         Ok(())
///     }
///
///     async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
///         tracing::info!(count = self.count, "tick");
///         Ok(())
///     }
/// }
///
/// impl Counter {
///     async fn add(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
///         self.count += mail.body::<u64>()?;
///         Ok(())
///     }
/// }
/// ```
pub trait Actor: Sized + Send + 'static {
    /// Runs once before the first tick; register handlers here.
    fn birth(&mut self, ctx: &mut Context<Self>) -> impl Future<Output = Result<()>> + Send {
        let _ = ctx;
        // Zero-sized, unlike `async { Ok(()) }`: the runner boxes each hook's
        // future, and boxing a zero-sized one allocates nothing.
        std::future::poll_fn(|_| Poll::Ready(Ok(())))
    }

    /// Runs at the actor's frequency, on a drift-free schedule.
    fn life(&mut self, ctx: &mut Context<Self>) -> impl Future<Output = Result<()>> + Send {
        let _ = ctx;
        std::future::poll_fn(|_| Poll::Ready(Ok(())))
    }

    /// Runs once on the way out, whatever the reason.
    fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        std::future::poll_fn(|_| Poll::Ready(()))
    }
}
