//! Proves that every listener joined to a group on this host gets every
//! message published to it (`SO_REUSEADDR`/`SO_REUSEPORT`), raw payloads and
//! envelopes alike, each delivered to its own recipient.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, header};
use support::{config, next, stats_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listeners_both_receive_each_publication() -> anyhow::Result<()> {
    let config = config();
    let (first, mut first_got) = Probe::new();
    let (second, mut second_got) = Probe::new();
    let first_listener = MulticastListener::builder(config.clone(), "first").build()?;
    let second_listener = MulticastListener::builder(config.clone(), "second").build()?;
    let (first_stats, second_stats) = (first_listener.stats(), second_listener.stats());
    let app = Application::builder()
        .actor("first", first)
        .actor("second", second)
        .actor("first-listener", first_listener)
        .actor("second-listener", second_listener)
        .start()
        .await?;

    let broadcaster = MulticastBroadcaster::new(config)?;
    broadcaster.publish(b"raw bytes").await?;
    broadcaster.publish_envelope(&Envelope::new("node-1", "anyone", "status", "fine")).await?;

    for (got, listener) in [(&mut first_got, "first-listener"), (&mut second_got, "second-listener")] {
        let raw = next(got).await;
        assert_eq!(raw.body::<Vec<u8>>()?, b"raw bytes");
        assert_eq!(raw.sender().as_str(), listener, "raw payloads come from the listener");
        assert_eq!(raw.subject(), header::NO_TOPIC_SUBJECT);
        let envelope = next(got).await;
        assert_eq!(envelope.sender().as_str(), "node-1");
        assert_eq!(envelope.body::<String>()?, "fine");
    }
    for stats in [first_stats, second_stats] {
        let stats = stats_until(&stats, |s| s.delivered == 2).await;
        assert_eq!((stats.received, stats.messages, stats.malformed), (2, 2, 0));
    }
    app.shutdown().await;
    Ok(())
}
