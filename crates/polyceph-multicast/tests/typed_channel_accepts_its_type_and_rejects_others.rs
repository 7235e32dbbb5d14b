//! Proves the typed channel: payloads and envelope bodies of the type are
//! delivered as that type; a payload missing a mandatory field, of the wrong
//! shape or not msgpack at all, and an envelope whose body is another type,
//! are refused with a typed error that is counted, logged and reported as
//! `decode_failed` mail, and the listener goes on.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, header};
use support::{config, next, stats_until};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Health {
    node: String,
    ok: bool,
    load: f32,
    /// Optional: may be missing.
    #[serde(default)]
    note: Option<String>,
}

/// Health without its mandatory `load`.
#[derive(serde::Serialize)]
struct Partial {
    node: String,
    ok: bool,
}

/// Health without its optional `note`.
#[derive(serde::Serialize)]
struct WithoutNote {
    node: String,
    ok: bool,
    load: f32,
}

fn health(node: &str) -> Health {
    Health { node: node.into(), ok: true, load: 0.5, note: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_type_is_delivered_and_anything_else_is_refused() -> anyhow::Result<()> {
    let config = config();
    let (monitor, mut delivered) = Probe::new();
    let (failures, mut reported) = Probe::new();
    let listener =
        MulticastListener::typed::<Health>(config.clone(), "monitor").decode_failures_to("failures").build()?;
    let stats = listener.stats();
    let app = Application::builder()
        .actor("monitor", monitor)
        .actor("failures", failures)
        .actor("listener", listener)
        .start()
        .await?;

    let broadcaster = MulticastBroadcaster::builder(config).topic("health").build()?;
    let typed = broadcaster.typed::<Health>();
    typed.publish(&health("a")).await?;
    broadcaster.typed::<Partial>().publish(&Partial { node: "b".into(), ok: true }).await?;
    broadcaster.typed::<Vec<u8>>().publish(&vec![1, 2, 3]).await?;
    broadcaster.publish(b"\xc1 not msgpack").await?;
    broadcaster.publish_envelope(&Envelope::new("node-c", "x", "health", health("c"))).await?;
    broadcaster.publish_envelope(&Envelope::new("node-d", "x", "health", 42_u64)).await?;
    // Optional fields may be missing: a map without `note` is a Health.
    broadcaster.typed::<WithoutNote>().publish(&WithoutNote { node: "e".into(), ok: true, load: 0.5 }).await?;
    typed.publish(&Health { note: Some("last".into()), ..health("f") }).await?;

    let a = next(&mut delivered).await;
    assert_eq!(a.body_ref::<Health>()?, &health("a"), "delivered as the Rust type, not bytes");
    assert_eq!(a.subject(), "health");
    let c = next(&mut delivered).await;
    assert_eq!((c.sender().as_str(), c.body::<Health>()?), ("node-c", health("c")));
    let e = next(&mut delivered).await;
    assert_eq!(e.body::<Health>()?, health("e"));
    let f = next(&mut delivered).await;
    assert_eq!(f.body_ref::<Health>()?.note.as_deref(), Some("last"), "the listener went on");

    let mut reasons = Vec::new();
    for _ in 0..4 {
        let report = next(&mut reported).await;
        assert_eq!(report.subject(), header::DECODE_FAILED);
        assert_eq!(report.sender().as_str(), "listener");
        assert!(header::source(&report).is_some() && header::time_received(&report).is_some());
        assert!(!report.body::<Vec<u8>>()?.is_empty(), "the payload comes with the report");
        reasons.push(report.field(header::ERROR).expect("an error header").into_owned());
    }
    for (reason, expected) in
        reasons.iter().zip(["missing field `load`", "payload is not a", "payload is not a", "envelope body"])
    {
        assert!(reason.contains(expected), "{reason:?} should contain {expected:?}");
    }
    assert!(reasons[0].contains("Health"), "names the expected type: {}", reasons[0]);

    let stats = stats_until(&stats, |s| s.delivered + s.decode_failed == 8).await;
    assert_eq!((stats.delivered, stats.decode_failed, stats.undeliverable), (4, 4, 0));
    assert!(app.is_running("listener"));
    app.shutdown().await;
    Ok(())
}
