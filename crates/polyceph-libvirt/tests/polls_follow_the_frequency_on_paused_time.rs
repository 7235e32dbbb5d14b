//! The poll frequency is the actor's `life` frequency, on a drift-free
//! schedule: on paused time, 2 Hz for 10 s is exactly 20 polls. Paused time
//! works here because each libvirt call runs as a blocking task, during
//! which Tokio does not advance the clock on its own.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph_libvirt::{LibvirtPoller, subjects};
use support::{Probe, node_of};

async fn polls_in(poller: LibvirtPoller, hz: Option<f64>, window: Duration) -> anyhow::Result<(u64, u64)> {
    let (monitor, mut mail) = Probe::new();
    let status = poller.status();
    let mut app = Application::builder().actor("monitor", monitor).actor("libvirt", poller);
    if let Some(hz) = hz {
        app = app.frequency(hz);
    }
    let app = app.start().await?;
    tokio::time::sleep(window).await;
    let mut mailed = 0;
    while let Some(envelope) = mail.try_next() {
        mailed += u64::from(envelope.subject() == subjects::DOMAINS);
    }
    let polls = status.stats("rack").expect("a host").polls;
    app.shutdown().await;
    Ok((mailed, polls))
}

#[tokio::test(start_paused = true)]
async fn two_hertz_for_ten_seconds_is_twenty_polls() -> anyhow::Result<()> {
    let node = node_of(2);
    let poller = LibvirtPoller::builder().host("rack", &node.uri).recipient("monitor").frequency(2.0).build()?;
    // Ticks at 0, 0.5, ..., 9.5 s.
    let (mailed, polls) = polls_in(poller, None, Duration::from_millis(9_999)).await?;
    assert_eq!((mailed, polls), (20, 20));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn without_a_frequency_of_its_own_it_takes_the_applications() -> anyhow::Result<()> {
    let node = node_of(1);
    let poller = LibvirtPoller::builder().host("rack", &node.uri).recipient("monitor").build()?;
    let (mailed, _) = polls_in(poller, Some(4.0), Duration::from_millis(2_999)).await?;
    assert_eq!(mailed, 12);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn without_any_frequency_it_polls_once_a_second() -> anyhow::Result<()> {
    let node = node_of(1);
    let poller = LibvirtPoller::builder().host("rack", &node.uri).recipient("monitor").build()?;
    let (mailed, _) = polls_in(poller, None, Duration::from_millis(4_999)).await?;
    assert_eq!(mailed, 5);
    Ok(())
}
