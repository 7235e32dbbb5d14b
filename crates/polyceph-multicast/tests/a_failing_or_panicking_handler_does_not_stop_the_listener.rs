//! Proves that a recipient whose handler fails or panics does not stop the
//! listener: the runtime catches the panic and restarts the recipient, the
//! failure is counted, and the listener goes on delivering to the new
//! incarnation.

mod support;

use polyceph::prelude::*;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener};
use support::{WAIT, config, stats_until};
use tokio::sync::mpsc;

/// Panics on `panic`, fails on `fail`, reports anything else.
struct Fragile {
    handled: mpsc::UnboundedSender<String>,
}

impl Actor for Fragile {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::handle);
        Ok(())
    }
}

impl Fragile {
    async fn handle(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        match mail.subject() {
            "panic" => panic!("the handler panics"),
            "fail" => Err("the handler fails".into()),
            other => Ok(self.handled.send(other.to_owned())?),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_outlives_a_failing_and_a_panicking_handler() -> anyhow::Result<()> {
    let config = config();
    let (handled, mut reports) = mpsc::unbounded_channel();
    let listener = MulticastListener::builder(config.clone(), "fragile").build()?;
    let stats = listener.stats();
    let app = Application::builder()
        .actor_with("fragile", move || Fragile { handled: handled.clone() })
        .restart(Restart::OnFailure)
        .actor("listener", listener)
        .start()
        .await?;

    let broadcaster = MulticastBroadcaster::new(config)?;
    for topic in ["panic", "fail", "first", "panic", "second"] {
        broadcaster.publish_to(topic, b"").await?;
    }

    for expected in ["first", "second"] {
        let got = tokio::time::timeout(WAIT, reports.recv()).await?.expect("a report");
        assert_eq!(got, expected);
    }
    let stats = stats_until(&stats, |s| s.delivered == 5).await;
    assert_eq!(stats.undeliverable, 0);
    assert!(app.is_running("listener"));
    let fragile = app.actor_stats("fragile").expect("fragile was restarted");
    // Under a restart policy an error fails the incarnation too: three restarts.
    assert_eq!(fragile.restarts, 3);
    app.shutdown().await;
    Ok(())
}
