//! A host nobody listens on fails at once, with libvirt's error text, and is
//! retried with back-off (1 s, 2 s, 4 s, then at most 4 s), every attempt
//! mailed as a status change; the healthy host beside it polls at every
//! tick meanwhile. On paused time: refused connections fail within a
//! blocking call, which holds the clock until it returns.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph_libvirt::{HostStatus, LibvirtPoller};
use support::{Probe, private_default, refused_uri, status_of};
use tokio::time::Instant;

const TICK: Duration = Duration::from_millis(100);

#[tokio::test(start_paused = true)]
async fn refused_attempts_back_off_while_the_healthy_host_polls() -> anyhow::Result<()> {
    let node = private_default();
    let (monitor, mut mail) = Probe::new();
    let poller = LibvirtPoller::builder()
        .host("local", &node.uri)
        .host("down", refused_uri())
        .recipient("monitor")
        .frequency(10.0)
        .call_timeout(Duration::from_secs(2))
        .backoff(Duration::from_secs(1), Duration::from_secs(4))
        .build()?;
    let status = poller.status();
    let start = Instant::now();
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;

    let HostStatus::Failed { error } = status_of(&mut mail, "down").await else { panic!("the first attempt fails") };
    assert!(error.contains("Connection refused"), "{error}");
    assert!(start.elapsed() < Duration::from_secs(2), "failed within the call timeout");
    let mut attempts = Vec::new();
    let mut failed_at = Instant::now();
    for attempt in 1..=4 {
        assert_eq!(status_of(&mut mail, "down").await, HostStatus::Reconnecting { attempt });
        attempts.push(failed_at.elapsed());
        assert!(matches!(status_of(&mut mail, "down").await, HostStatus::Failed { .. }));
        failed_at = Instant::now();
    }
    let waits = [1, 2, 4, 4].map(Duration::from_secs);
    for (waited, wait) in attempts.iter().zip(waits) {
        assert!(*waited >= wait && *waited < wait + TICK, "waited {waited:?} for a back-off of {wait:?}");
    }

    let stats = app.actor_stats("libvirt").expect("the poller runs");
    let local = status.stats("local").expect("a host");
    assert_eq!(local.skipped_polls, 0);
    assert!(local.polls + 1 >= stats.ticks, "{} polls in {} ticks", local.polls, stats.ticks);
    assert!(stats.ticks >= 110, "11 s at 10 Hz: {} ticks", stats.ticks);
    let down = status.stats("down").expect("a host");
    assert_eq!((down.connect_attempts, down.connect_failures), (5, 5));
    assert_eq!(status.get("local"), Some(HostStatus::Connected));
    app.shutdown().await;
    Ok(())
}
