//! A host that accepts connections and never answers (which blocks
//! libvirt's open for minutes) is reported failing within the call timeout;
//! requests to it fail with `TimedOut`; the healthy host beside it polls at
//! every tick meanwhile; and the retries reuse the one stuck connection
//! thread instead of piling up more.
//!
//! On real time: the stuck thread never returns, so Tokio's paused clock,
//! which waits for blocking calls, would wait for it too. Durations are
//! upper bounds, not what the test waits for, except the call timeout
//! itself, which the issue asks the failure to come within.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph_libvirt::{DomainInfo, DomainRef, HostStatus, LibvirtError, LibvirtPoller, subjects};
use support::{HungServer, Probe, ask, private_default, status_of};
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_millis(500);
/// What a loaded machine may add to the timeout before the failure is seen.
const MARGIN: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_hung_host_fails_in_time_and_holds_one_thread() -> anyhow::Result<()> {
    let hung = HungServer::start().await;
    let node = private_default();
    let (monitor, mut mail) = Probe::new();
    let poller = LibvirtPoller::builder()
        .host("local", &node.uri)
        .host("hung", &hung.uri)
        .recipient("monitor")
        .frequency(20.0)
        .call_timeout(TIMEOUT)
        .backoff(Duration::from_millis(100), Duration::from_millis(100))
        .build()?;
    let status = poller.status();
    let start = Instant::now();
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;

    // While the first attempt hangs, a request waits behind it and times
    // out. On a loaded machine the request may only arrive once the attempt
    // has already been given up: it is then refused at once, with the
    // attempt's failure. Either way a typed error, never a hang.
    let info = ask::<DomainInfo>(&app, subjects::GET_INFO, DomainRef::new("hung", "test")).await;
    let no_answer = format!("no answer within {TIMEOUT:?}");
    match info {
        Err(LibvirtError::TimedOut { host, timeout }) => assert_eq!((host.as_str(), timeout), ("hung", TIMEOUT)),
        Err(LibvirtError::NotConnected { host, reason }) => {
            assert_eq!((host.as_str(), reason.as_str()), ("hung", no_answer.as_str()));
        }
        other => panic!("{other:?}"),
    }
    let failed = status_of(&mut mail, "hung").await;
    let took = start.elapsed();
    assert_eq!(failed, HostStatus::Failed { error: no_answer.clone() });
    assert!(took >= TIMEOUT && took < TIMEOUT + MARGIN, "reported failing after {took:?}");

    // Three more attempts: each waits for the same stuck connection thread.
    for attempt in 1..=3 {
        assert_eq!(status_of(&mut mail, "hung").await, HostStatus::Reconnecting { attempt });
        assert!(matches!(status_of(&mut mail, "hung").await, HostStatus::Failed { .. }));
        let stats = status.stats("hung").expect("a host");
        assert!(stats.connect_threads <= 1, "{} connection threads", stats.connect_threads);
    }
    let stats = status.stats("hung").expect("a host");
    assert_eq!(stats.connect_attempts, 4);
    assert_eq!(stats.connect_threads, 1, "the stuck thread is kept");
    assert!(stats.skipped_polls > 0, "ticks during an attempt are skipped, and counted");
    assert_eq!(hung.accepted(), 1, "one connection for four attempts");

    // The healthy host polled at every tick, and the ticks kept their rate.
    let ticks = app.actor_stats("libvirt").expect("the poller runs").ticks;
    let local = status.stats("local").expect("a host");
    assert_eq!(local.skipped_polls, 0);
    assert!(local.polls + 2 >= ticks, "{} polls in {ticks} ticks", local.polls);
    let expected = start.elapsed().as_secs_f64() * 20.0;
    assert!(ticks as f64 >= expected / 2.0, "{ticks} ticks where {expected:.0} were due");
    app.shutdown().await;
    Ok(())
}
