//! Proves that a broadcaster's default topic goes with every publish that
//! does not name another, that `publish_to` and `publish_envelope_to`
//! override it for one message, and that a broadcaster without a default
//! publishes without a topic.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, header};
use support::{config, next};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_topic_applies_unless_overridden() -> anyhow::Result<()> {
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener = MulticastListener::builder(config.clone(), "probe").build()?;
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    let health = MulticastBroadcaster::builder(config.clone()).topic("health").build()?;
    assert_eq!(health.topic(), Some("health"));
    health.publish(b"1").await?;
    health.publish_to("telemetry", b"2").await?;
    health.publish_envelope(&Envelope::new("node", "x", "3", ())).await?;
    health.publish_envelope_to("alarms", &Envelope::new("node", "x", "4", ())).await?;
    health.publish(b"5").await?;
    let plain = MulticastBroadcaster::new(config)?;
    assert_eq!(plain.topic(), None);
    plain.publish(b"6").await?;

    let mut topics = Vec::new();
    for _ in 0..6 {
        topics.push(header::topic(&next(&mut recorded).await).map(str::to_owned));
    }
    let expected = ["health", "telemetry", "health", "alarms", "health"].map(|t| Some(t.to_owned()));
    assert_eq!(topics[..5], expected, "the override lasts one message");
    assert_eq!(topics[5], None);

    app.shutdown().await;
    Ok(())
}
