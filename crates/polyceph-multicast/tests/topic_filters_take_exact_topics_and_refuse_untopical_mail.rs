//! Proves the topic filters: no filter takes everything; a filter of one
//! topic or of a list takes exact matches only (case-sensitive, no
//! prefixes); a filtering listener refuses datagrams without a topic. What
//! is refused is counted.

mod support;

use polyceph::prelude::*;
use polyceph::testing::{Probe, Recorded};
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, StatsHandle, header};
use support::{config, next, stats_until};

/// The topics published, in order (`""`: none).
const PUBLISHED: [&str; 6] = ["health", "telemetry", "Health", "healthy", "", "power"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_listener_takes_exactly_its_topics() -> anyhow::Result<()> {
    let config = config();
    let filters: [(&str, &[&str], Vec<&str>); 3] = [
        ("single", &["health"], vec!["health"]),
        ("list", &["health", "telemetry"], vec!["health", "telemetry"]),
        ("all", &[], vec!["health", "telemetry", "Health", "healthy", header::NO_TOPIC_SUBJECT, "power"]),
    ];
    let mut actors = Vec::new();
    let mut listeners: Vec<(StatsHandle, Recorded, Vec<&str>)> = Vec::new();
    for (name, topics, expected) in filters {
        let (probe, recorded) = Probe::new();
        let listener = MulticastListener::builder(config.clone(), name).topics(topics.iter().copied()).build()?;
        listeners.push((listener.stats(), recorded, expected));
        actors.push((name, probe, listener));
    }
    let [(a, a_probe, a_listener), (b, b_probe, b_listener), (c, c_probe, c_listener)] =
        <[_; 3]>::try_from(actors).map_err(|_| anyhow::anyhow!("three listeners"))?;
    let app = Application::builder()
        .actor(a, a_probe)
        .actor(b, b_probe)
        .actor(c, c_probe)
        .actor("single-listener", a_listener)
        .actor("list-listener", b_listener)
        .actor("all-listener", c_listener)
        .start()
        .await?;

    let broadcaster = MulticastBroadcaster::new(config)?;
    for topic in PUBLISHED {
        if topic.is_empty() {
            broadcaster.publish(topic.as_bytes()).await?;
        } else {
            broadcaster.publish_to(topic, topic.as_bytes()).await?;
        }
    }

    for (stats, mut recorded, expected) in listeners {
        let stats = stats_until(&stats, |s| s.delivered + s.rejected_topic == PUBLISHED.len() as u64).await;
        assert_eq!(stats.received, PUBLISHED.len() as u64);
        assert_eq!(stats.delivered, expected.len() as u64, "{expected:?}");
        assert_eq!(stats.rejected_topic, (PUBLISHED.len() - expected.len()) as u64);
        let mut subjects = Vec::new();
        for _ in &expected {
            subjects.push(next(&mut recorded).await.subject().to_owned());
        }
        assert_eq!(subjects, expected);
    }
    app.shutdown().await;
    Ok(())
}
