//! Proves that reception never waits on the recipient: while its handler is
//! blocked and its mailbox full, the listener keeps reading the socket and
//! drops from its own bounded queue by its policy (counted); once the
//! handler goes on, what was kept is delivered.

mod support;

use std::sync::Arc;

use polyceph::prelude::*;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, QueuePolicy};
use support::{WAIT, config, stats_until};
use tokio::sync::{Notify, mpsc};

const PUBLISHED: u32 = 100;
const QUEUE: usize = 8;
const MAILBOX: usize = 4;

/// Blocks in its handler of the first mail until the gate opens; reports
/// the number in every mail it handles.
struct Slow {
    gate: Arc<Notify>,
    handled: mpsc::UnboundedSender<u32>,
    blocked: bool,
}

impl Actor for Slow {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::handle);
        Ok(())
    }
}

impl Slow {
    async fn handle(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let number: [u8; 4] = mail.body::<Vec<u8>>()?.try_into().map_err(|_| "four bytes")?;
        self.handled.send(u32::from_be_bytes(number))?;
        if !self.blocked {
            self.blocked = true;
            self.gate.notified().await;
        }
        Ok(())
    }
}

/// Publishes 0..PUBLISHED to a slow recipient behind a listener with `policy`;
/// returns the numbers the recipient handled, in order.
async fn run(policy: QueuePolicy) -> anyhow::Result<Vec<u32>> {
    let config = config();
    let gate = Arc::new(Notify::new());
    let (handled, mut numbers) = mpsc::unbounded_channel();
    let slow = Slow { gate: gate.clone(), handled, blocked: false };
    let listener = MulticastListener::builder(config.clone(), "slow").queue_capacity(QUEUE).policy(policy).build()?;
    let stats = listener.stats();
    let app = Application::builder().actor("slow", slow).capacity(MAILBOX).actor("listener", listener).start().await?;

    let broadcaster = MulticastBroadcaster::new(config)?;
    for number in 0..PUBLISHED {
        broadcaster.publish(&number.to_be_bytes()).await?;
    }
    // Every datagram is read while the handler is still blocked.
    let first = tokio::time::timeout(WAIT, numbers.recv()).await?.expect("the first mail");
    let blocked = stats_until(&stats, |s| s.received == u64::from(PUBLISHED) && s.messages == s.received).await;
    assert!(blocked.dropped_queue_full > 0, "{blocked:?}");
    assert!(blocked.delivered <= (1 + MAILBOX) as u64, "the mailbox holds the rest: {blocked:?}");

    gate.notify_one();
    let done = stats_until(&stats, |s| s.delivered + s.dropped_queue_full == u64::from(PUBLISHED)).await;
    assert_eq!(done.undeliverable, 0);
    let mut got = vec![first];
    while got.len() < done.delivered as usize {
        got.push(tokio::time::timeout(WAIT, numbers.recv()).await?.expect("a delivered mail"));
    }
    app.shutdown().await;
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, with gaps: {got:?}");
    Ok(got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_oldest_keeps_the_latest_messages() -> anyhow::Result<()> {
    let got = run(QueuePolicy::DropOldest).await?;
    let latest: Vec<u32> = (PUBLISHED - QUEUE as u32..PUBLISHED).collect();
    assert!(got.ends_with(&latest), "the newest are never dropped: {got:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_newest_keeps_the_earliest_messages() -> anyhow::Result<()> {
    let got = run(QueuePolicy::DropNewest).await?;
    let earliest: Vec<u32> = (0..QUEUE as u32).collect();
    assert!(got.starts_with(&earliest), "what was queued is never dropped: {got:?}");
    Ok(())
}
