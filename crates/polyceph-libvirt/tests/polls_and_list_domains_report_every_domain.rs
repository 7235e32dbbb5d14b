//! Every poll mails a host's domains with their info; `list_domains`
//! answers the same without mail; a `poll` request polls at once; the host's
//! connection status is mailed and observable through the `Status` handle.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph_libvirt::{DomainState, Domains, HostRef, HostStatus, LibvirtPoller, subjects};
use support::{Probe, ask, domains_of, node_of, status_of};

const HOST: &str = "rack";

#[tokio::test(start_paused = true)]
async fn a_poll_mails_every_domain_of_the_host() -> anyhow::Result<()> {
    let node = node_of(3);
    let (monitor, mut mail) = Probe::new();
    let poller = LibvirtPoller::builder().host(HOST, &node.uri).recipient("monitor").build()?;
    let mut status = poller.status();
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;

    assert_eq!(status_of(&mut mail, HOST).await, HostStatus::Connected);
    assert_eq!(status.wait_for(HOST, |s| *s == HostStatus::Connected).await?, HostStatus::Connected);
    let polled = domains_of(&mut mail, HOST).await;
    let mut names: Vec<_> = polled.domains.iter().map(|d| d.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["vm0", "vm1", "vm2"]);
    for domain in &polled.domains {
        assert_eq!(domain.state, DomainState::Running);
        assert_eq!((domain.max_memory_kib, domain.memory_kib, domain.vcpus), (1_048_576, 524_288, 1));
    }
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn list_domains_answers_what_a_poll_mails() -> anyhow::Result<()> {
    let node = node_of(3);
    let (monitor, mut mail) = Probe::new();
    let poller = LibvirtPoller::builder().host(HOST, &node.uri).recipient("monitor").frequency(0.01).build()?;
    let status = poller.status();
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;

    assert_eq!(status_of(&mut mail, HOST).await, HostStatus::Connected);
    let polled = domains_of(&mut mail, HOST).await;
    let listed: Domains = ask(&app, subjects::LIST_DOMAINS, HostRef::new(HOST)).await?;
    assert_eq!(listed.host, HOST);
    let uuids = |d: &Domains| d.domains.iter().map(|d| d.uuid).collect::<Vec<_>>();
    assert_eq!(uuids(&listed), uuids(&polled));
    // Listing is not polling: no mail, no poll counted.
    assert!(mail.try_next().is_none());
    assert_eq!(status.stats(HOST).map(|s| s.polls), Some(1));
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_poll_request_polls_at_once() -> anyhow::Result<()> {
    let node = node_of(1);
    let (monitor, mut mail) = Probe::new();
    // One tick at the start, the next in 100 s.
    let poller = LibvirtPoller::builder().host(HOST, &node.uri).recipient("monitor").frequency(0.01).build()?;
    let status = poller.status();
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;
    assert_eq!(status_of(&mut mail, HOST).await, HostStatus::Connected);
    domains_of(&mut mail, HOST).await;

    let start = tokio::time::Instant::now();
    let () = ask(&app, subjects::POLL, HostRef::new(HOST)).await?;
    // The poll's mail is sent before its reply.
    let polled = mail.try_next().expect("the poll's mail came with its reply");
    assert_eq!(polled.subject(), subjects::DOMAINS);
    assert_eq!(start.elapsed(), Duration::ZERO, "no wait for the schedule");
    assert_eq!(status.stats(HOST).map(|s| s.polls), Some(2));
    app.shutdown().await;
    Ok(())
}
