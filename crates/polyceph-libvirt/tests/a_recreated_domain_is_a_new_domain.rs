//! Domains are known by host and UUID, never by name alone: a domain
//! deleted and created again under its name between two polls is a new
//! domain.

mod support;

use std::time::SystemTime;

use polyceph::prelude::*;
use polyceph_libvirt::{DomainState, LibvirtPoller, subjects};
use support::{Probe, change_default, domain, domains_since, named_since};

const SECOND: &str = "second";
const FIRST_UUID: &str = "11111111-2222-4333-8444-555555555555";
const SECOND_UUID: &str = "99999999-2222-4333-8444-555555555555";

/// Between two polls, the running `second` is deleted and another `second`
/// defined: the next poll shows a new domain, and mails no state change
/// (keyed by name, it would be `second` going from running to shut off).
#[tokio::test(start_paused = true)]
async fn a_domain_recreated_under_its_name_is_a_new_domain() -> anyhow::Result<()> {
    let (monitor, mut mail) = Probe::new();
    let poller =
        LibvirtPoller::builder().host("local", "test:///default").recipient("monitor").frequency(2.0).build()?;
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;
    assert_eq!(named_since(&mut mail, SECOND, SystemTime::UNIX_EPOCH).await, None);

    let xml = domain(SECOND, FIRST_UUID, 1_048_576, 1_048_576, 1);
    let done = change_default(move |conn| conn.define_domain_xml(&xml)?.create().map(|_| ())).await;
    let old = named_since(&mut mail, SECOND, done).await.expect("the domain appears");
    assert_eq!(old.state, DomainState::Running);

    let xml = domain(SECOND, SECOND_UUID, 1_048_576, 1_048_576, 1);
    let done = change_default(move |conn| {
        let old = conn.lookup_domain_by_name(SECOND)?;
        old.destroy()?;
        old.undefine()?;
        conn.define_domain_xml(&xml).map(|_| ())
    })
    .await;
    let recreated = named_since(&mut mail, SECOND, done).await.expect("the recreated domain appears at the next poll");
    assert_ne!(recreated.uuid, old.uuid);
    assert_eq!(recreated.state, DomainState::Shutoff);
    // The poll after that one: anything the recreating poll mailed came before it.
    domains_since(&mut mail, "local", SystemTime::now()).await;
    while let Some(other) = mail.try_next() {
        assert_ne!(other.subject(), subjects::STATE_CHANGED, "a new domain has no state change: {other:?}");
    }
    change_default(|conn| conn.lookup_domain_by_name(SECOND)?.undefine()).await;
    app.shutdown().await;
    Ok(())
}
