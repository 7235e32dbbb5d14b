//! Every body the poller mails or replies with survives the wire format
//! (msgpack and JSON) unchanged, in the documented shape, so a bridge can
//! carry it to another process or language.

mod support;

use std::fmt::Debug;
use std::time::Duration;

use polyceph::prelude::*;
use polyceph_libvirt::{
    DomainInfo, DomainRef, Domains, HostStatusChanged, LibvirtPoller, Reply, StateChanged, subjects,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::{PATIENCE, Probe, private_default, refused_uri, subject};

/// Checks that `envelope`'s body reads back the same from msgpack and from
/// JSON; returns the body's JSON.
fn crosses<T: DeserializeOwned + Clone + PartialEq + Debug + 'static>(envelope: &Envelope) -> anyhow::Result<Value> {
    let body: T = envelope.body()?;
    let from_msgpack = Envelope::from_msgpack(&envelope.to_msgpack()?)?;
    assert_eq!(from_msgpack.body::<T>()?, body);
    let json = envelope.to_json()?;
    assert_eq!(Envelope::from_json(&json)?.body::<T>()?, body);
    let mut envelope: Value = serde_json::from_slice(&json)?;
    Ok(envelope["body"].take())
}

#[tokio::test(start_paused = true)]
async fn mail_and_replies_cross_the_wire_unchanged() -> anyhow::Result<()> {
    let node = private_default();
    let (monitor, mut mail) = Probe::new();
    let poller = LibvirtPoller::builder()
        .host("local", &node.uri)
        .host("down", refused_uri())
        .recipient("monitor")
        .frequency(2.0)
        .build()?;
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;

    for _ in 0..2 {
        let status = crosses::<HostStatusChanged>(&mail.expect(&subject(subjects::HOST_STATUS), PATIENCE).await?)?;
        match status["host"].as_str() {
            Some("local") => assert_eq!(status["status"], json!({"status": "connected"})),
            _ => assert_eq!(status["status"]["status"], "failed"),
        }
    }
    let domains = crosses::<Domains>(&mail.expect(&subject(subjects::DOMAINS), PATIENCE).await?)?;
    assert_eq!(domains["domains"][0]["state"], "running");

    let ask = |about: &'static str, body: DomainRef| app.request("libvirt", about, body, Duration::from_secs(5));
    let info = crosses::<Reply<DomainInfo>>(&ask(subjects::GET_INFO, DomainRef::new("local", "test")).await?)?;
    assert_eq!(info["Ok"]["name"], "test");
    assert_eq!(info["Ok"]["max_memory_kib"], 8_388_608);
    let unknown = crosses::<Reply<DomainInfo>>(&ask(subjects::GET_INFO, DomainRef::new("nowhere", "test")).await?)?;
    assert_eq!(unknown, json!({"Err": {"unknown_host": {"host": "nowhere"}}}));
    let down = crosses::<Reply<()>>(&ask(subjects::SUSPEND, DomainRef::new("down", "test")).await?)?;
    assert_eq!(down["Err"]["not_connected"]["host"], "down");

    ask(subjects::SUSPEND, DomainRef::new("local", "test")).await?.body::<Reply<()>>()??;
    let changed = crosses::<StateChanged>(&mail.expect(&subject(subjects::STATE_CHANGED), PATIENCE).await?)?;
    assert_eq!((&changed["from"], &changed["to"]), (&json!("running"), &json!("paused")));
    app.shutdown().await;
    Ok(())
}
