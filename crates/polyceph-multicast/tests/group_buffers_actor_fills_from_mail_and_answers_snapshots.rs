//! Proves the group-buffers actor: it stores each mail's body under the
//! group its header names and the sender (or a header) as key, answers
//! snapshot requests for a key and for a whole group, and counts mail it
//! cannot store (no group header, unknown group, wrong body) as handler
//! errors while it goes on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use polyceph_multicast::{GroupBuffers, GroupBuffersActor, KeyFrom, SNAPSHOT, SNAPSHOT_GROUP, header};

const WAIT: Duration = Duration::from_secs(5);

/// Sends `body` to the buffers as `sender`, with the group header.
async fn send_as(app: &AppHandle, sender: &str, group: &str, body: u32) -> anyhow::Result<()> {
    let mail = Envelope::new(sender, "buffers", "report", body).with_header(header::TOPIC, group);
    app.post(mail).await?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_fills_the_buffers_and_requests_read_them() -> anyhow::Result<()> {
    let buffers = Arc::new(GroupBuffers::<u32>::new(["health", "telemetry"], 2)?);
    let app = Application::builder().actor("buffers", GroupBuffersActor::new(buffers.clone())).start().await?;

    for value in [1, 2, 3] {
        send_as(&app, "node-1", "health", value).await?;
    }
    send_as(&app, "node-2", "health", 20).await?;
    send_as(&app, "node-1", "telemetry", 100).await?;

    let one = app.request("buffers", SNAPSHOT, ("health", "node-1"), WAIT).await?;
    assert_eq!(one.body::<Vec<u32>>()?, [2, 3], "the latest two, oldest first");
    let none = app.request("buffers", SNAPSHOT, ("health", "node-9"), WAIT).await?;
    assert_eq!(none.body::<Vec<u32>>()?, Vec::<u32>::new());
    let group = app.request("buffers", SNAPSHOT_GROUP, "health", WAIT).await?;
    let expected: BTreeMap<String, Vec<u32>> = [("node-1".into(), vec![2, 3]), ("node-2".into(), vec![20])].into();
    assert_eq!(group.body::<BTreeMap<String, Vec<u32>>>()?, expected);
    assert_eq!(buffers.snapshot("telemetry", "node-1")?, [100], "shared with the code that made it");

    match app.request("buffers", SNAPSHOT_GROUP, "power", WAIT).await {
        Err(RequestError::HandlerFailed { reason, .. }) => assert!(reason.contains("unknown group"), "{reason}"),
        other => panic!("expected HandlerFailed, got {other:?}"),
    }
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_that_cannot_be_stored_is_counted_and_the_actor_goes_on() -> anyhow::Result<()> {
    let buffers = Arc::new(GroupBuffers::<u32>::new(["health"], 4)?);
    let actor = GroupBuffersActor::new(buffers.clone()).group_header("group").key_from(KeyFrom::Header("node".into()));
    let app = Application::builder().actor("buffers", actor).start().await?;

    app.mail("buffers", "no group", 1_u32).header("node", "n1").send().await?;
    app.mail("buffers", "unknown group", 2_u32).header("group", "power").header("node", "n1").send().await?;
    app.mail("buffers", "no key", 3_u32).header("group", "health").send().await?;
    app.mail("buffers", "wrong body", "text").header("group", "health").header("node", "n1").send().await?;
    app.mail("buffers", "fine", 5_u32).header("group", "health").header("node", "n1").send().await?;

    let reply = app.request("buffers", SNAPSHOT, ("health", "n1"), WAIT).await?;
    assert_eq!(reply.body::<Vec<u32>>()?, [5]);
    let stats = app.actor_stats("buffers").expect("the actor runs");
    assert_eq!(stats.handler_errors, 4);
    assert_eq!(buffers.stats().written, 1);
    app.shutdown().await;
    Ok(())
}
