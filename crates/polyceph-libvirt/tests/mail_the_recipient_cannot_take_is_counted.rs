//! The poller never waits for its recipient: mail it cannot queue at once
//! (no such recipient, a full mailbox) is dropped, and every drop counted.

mod support;

use std::sync::Arc;
use std::time::Duration;

use polyceph::prelude::*;
use polyceph_libvirt::{HostStatus, LibvirtPoller};
use support::node_of;
use tokio::sync::Notify;

#[tokio::test(start_paused = true)]
async fn mail_to_nobody_is_counted_as_dropped() -> anyhow::Result<()> {
    let node = node_of(1);
    let poller = LibvirtPoller::builder().host("rack", &node.uri).recipient("nobody").frequency(1.0).build()?;
    let mut status = poller.status();
    let app = Application::builder().actor("libvirt", poller).start().await?;
    status.wait_for("rack", |s| *s == HostStatus::Connected).await?;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let stats = status.stats("rack").expect("a host");
    assert_eq!(stats.polls, 3);
    // Each poll's `domains`, and the `host.status` of the connection.
    assert_eq!(stats.mail_dropped, stats.polls + 1);
    app.shutdown().await;
    Ok(())
}

/// A recipient stuck in its first handler, with room for one more envelope.
struct Stuck {
    gate: Arc<Notify>,
}

impl Actor for Stuck {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::any(), Self::wait);
        Ok(())
    }
}

impl Stuck {
    async fn wait(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.gate.notified().await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn mail_to_a_full_mailbox_is_counted_as_dropped() -> anyhow::Result<()> {
    let node = node_of(1);
    let gate = Arc::new(Notify::new());
    let poller = LibvirtPoller::builder().host("rack", &node.uri).recipient("stuck").frequency(1.0).build()?;
    let status = poller.status();
    let app = Application::builder()
        .actor("stuck", Stuck { gate: gate.clone() })
        .capacity(1)
        .actor("libvirt", poller)
        .start()
        .await?;
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let stats = status.stats("rack").expect("a host");
    assert_eq!(stats.polls, 5);
    // Six mails: the first is being handled, the second waits, the rest are dropped.
    assert_eq!(stats.mail_dropped, 4);
    let stuck = app.actor_stats("stuck").expect("the recipient runs");
    assert_eq!(stuck.queued, 1);
    gate.notify_one();
    app.shutdown().await;
    Ok(())
}
