//! Proves that a published envelope arrives with every field as sent,
//! readdressed to the listener's recipient, and stamped with the sender's
//! socket address, the time it was received and its topic.

mod support;

use std::time::SystemTime;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, header};
use support::{config, next};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_keeps_its_fields_and_gets_the_arrival_headers() -> anyhow::Result<()> {
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener = MulticastListener::builder(config.clone(), Address::topic("readings")).build()?;
    // The subscriber has joined the topic when `start` returns: births are over.
    let app = Application::builder()
        .actor("probe", probe)
        .actor("subscriber", Subscriber)
        .actor("listener", listener)
        .start()
        .await?;

    let broadcaster = MulticastBroadcaster::builder(config).topic("telemetry").build()?;
    let sent = Envelope::new("sensor-7", "logger", "reading", Reading { sensor: "t1".into(), celsius: 21.5 })
        .with_header("unit", "C")
        .with_priority(3);
    let before = SystemTime::now();
    broadcaster.publish_envelope(&sent).await?;

    let got = next(&mut recorded).await;
    let after = SystemTime::now();
    assert_eq!(got.id(), sent.id());
    assert_eq!(got.thread(), sent.thread());
    assert_eq!(got.time(), sent.time());
    assert_eq!(got.sender().as_str(), "sensor-7");
    assert_eq!(got.subject(), "reading");
    assert_eq!(got.priority(), 3);
    assert_eq!(got.field("unit").as_deref(), Some("C"));
    assert_eq!(got.body::<Reading>()?, Reading { sensor: "t1".into(), celsius: 21.5 });
    assert_eq!(got.field(ARRIVED_AS).as_deref(), Some("topic:readings"), "readdressed to the listener's recipient");
    assert_eq!(header::source(&got), Some(broadcaster.local_addr()?));
    assert_eq!(header::topic(&got), Some("telemetry"));
    let received = header::time_received(&got).expect("a time_received header");
    assert!(before <= received && received <= after, "{before:?} <= {received:?} <= {after:?}");

    app.shutdown().await;
    Ok(())
}

/// The header where the subscriber notes the address mail arrived for.
const ARRIVED_AS: &str = "arrived_as";

/// Forwards what it gets on the `readings` topic to the probe, noting the
/// address it arrived for.
struct Subscriber;

impl Actor for Subscriber {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.subscribe("readings");
        ctx.fallback(Self::forward);
        Ok(())
    }
}

impl Subscriber {
    async fn forward(&mut self, ctx: &mut Context<Self>, mut mail: Envelope) -> Result<()> {
        let arrived_as = mail.recipient().to_string();
        mail.headers_mut().insert(ARRIVED_AS, arrived_as);
        mail.set_recipient("probe");
        ctx.post(mail).await?;
        Ok(())
    }
}
