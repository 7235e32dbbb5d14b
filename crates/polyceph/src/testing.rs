//! A test kit for actors, shared by users and polyceph's own tests
//! (feature `test-util`).
//!
//! Tests wait on mail and events, never on sleeps. Run them on paused time
//! (`#[tokio::test(start_paused = true)]`): timers then fire as soon as
//! every task is idle, so a ten-second timeout costs nothing, and a test
//! that waits for mail that never comes fails at its timeout instead of
//! hanging. To wait for lifecycle events, see [`Events::started`] and
//! [`Events::stopped`](crate::Events::stopped).
//!
//! [`Events::started`]: crate::Events::started

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use crate::error::ReceiveError;
use crate::{Actor, Context, Envelope, Filter, Result};

/// An actor that records every envelope it gets, in arrival order, for the
/// test to [`expect`](Recorded::expect).
///
/// It handles everything (so nothing sent to it is unhandled) and replies
/// to nothing: a request to it fails with `NoReply`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use polyceph::prelude::*;
/// use polyceph::testing::Probe;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (probe, mut recorded) = Probe::new();
/// let app = Application::builder().actor("probe", probe).start().await?;
/// app.send("probe", "noise", ()).await?;
/// app.send("probe", "reading", 21.5).await?;
///
/// let reading = recorded.expect(&Filter::subject("^reading$")?, Duration::from_secs(1)).await?;
/// assert_eq!(reading.body::<f64>()?, 21.5);
/// // What `expect` passed over is still there, in order.
/// assert_eq!(recorded.next(Duration::from_secs(1)).await?.subject(), "noise");
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Probe {
    seen: mpsc::UnboundedSender<Envelope>,
}

/// What a [`Probe`] recorded, for the test to read.
#[derive(Debug)]
pub struct Recorded {
    rx: mpsc::UnboundedReceiver<Envelope>,
    /// Recorded, passed over by `expect`, not read yet; oldest first.
    kept: VecDeque<Envelope>,
}

impl Probe {
    /// A probe and what it records.
    pub fn new() -> (Self, Recorded) {
        let (seen, rx) = mpsc::unbounded_channel();
        (Self { seen }, Recorded { rx, kept: VecDeque::new() })
    }

    async fn record(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        // The test may have stopped reading; the mail was still handled.
        let _ = self.seen.send(mail);
        Ok(())
    }
}

impl Actor for Probe {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::any(), Self::record);
        Ok(())
    }
}

impl Recorded {
    /// The next envelope the probe got, oldest first.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Timeout`] if none comes in time;
    /// [`ReceiveError::Closed`] if the probe has stopped and all is read.
    pub async fn next(&mut self, timeout: Duration) -> Result<Envelope, ReceiveError> {
        if let Some(mail) = self.kept.pop_front() {
            return Ok(mail);
        }
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(Some(mail)) => Ok(mail),
            Ok(None) => Err(ReceiveError::Closed),
            Err(_) => Err(ReceiveError::Timeout(timeout)),
        }
    }

    /// The next envelope that matches `filter`; the others stay, in order,
    /// for later calls.
    ///
    /// # Errors
    ///
    /// As [`Recorded::next`].
    pub async fn expect(&mut self, filter: &Filter, timeout: Duration) -> Result<Envelope, ReceiveError> {
        if let Some(at) = self.kept.iter().position(|mail| filter.matches(mail)) {
            return self.kept.remove(at).ok_or(ReceiveError::Closed);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(mail)) if filter.matches(&mail) => return Ok(mail),
                Ok(Some(mail)) => self.kept.push_back(mail),
                Ok(None) => return Err(ReceiveError::Closed),
                Err(_) => return Err(ReceiveError::Timeout(timeout)),
            }
        }
    }

    /// The next envelope if one was recorded already, without waiting.
    pub fn try_next(&mut self) -> Option<Envelope> {
        self.kept.pop_front().or_else(|| self.rx.try_recv().ok())
    }
}
