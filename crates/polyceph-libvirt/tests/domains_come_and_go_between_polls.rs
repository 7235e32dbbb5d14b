//! Domains are looked up afresh by every poll: a domain defined and started
//! elsewhere appears at the next poll, one destroyed changes state, one
//! undefined goes.

mod support;

use std::time::SystemTime;

use polyceph::prelude::*;
use polyceph_libvirt::{DomainState, LibvirtPoller, StateChanged, subjects};
use support::{Probe, change_default, domain, expect, named_since};

const SECOND: &str = "second";
const FIRST_UUID: &str = "11111111-2222-4333-8444-555555555555";

#[tokio::test(start_paused = true)]
async fn a_domain_appears_changes_and_goes_between_polls() -> anyhow::Result<()> {
    let (monitor, mut mail) = Probe::new();
    let poller =
        LibvirtPoller::builder().host("local", "test:///default").recipient("monitor").frequency(2.0).build()?;
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;
    assert_eq!(named_since(&mut mail, SECOND, SystemTime::UNIX_EPOCH).await, None);

    let xml = domain(SECOND, FIRST_UUID, 1_048_576, 1_048_576, 1);
    let done = change_default(move |conn| conn.define_domain_xml(&xml)?.create().map(|_| ())).await;
    let started = named_since(&mut mail, SECOND, done).await.expect("the new domain appears at the next poll");
    assert_eq!(started.state, DomainState::Running);

    change_default(|conn| conn.lookup_domain_by_name(SECOND)?.destroy()).await;
    let stopped: StateChanged = expect(&mut mail, subjects::STATE_CHANGED).await;
    assert_eq!((stopped.uuid, stopped.from, stopped.to), (started.uuid, DomainState::Running, DomainState::Shutoff));

    let done = change_default(|conn| conn.lookup_domain_by_name(SECOND)?.undefine()).await;
    assert_eq!(named_since(&mut mail, SECOND, done).await, None, "the undefined domain is gone at the next poll");
    app.shutdown().await;
    Ok(())
}
