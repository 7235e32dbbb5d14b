//! `suspend` and `resume` on libvirt's default test hypervisor: each is
//! answered, and the next poll mails the state change as its own
//! `domain.state_changed`, the domain known by host and UUID.

mod support;

use polyceph::prelude::*;
use polyceph_libvirt::{DomainRef, DomainState, LibvirtPoller, StateChanged, subjects};
use support::{Probe, TEST_UUID, ask, domains_of, expect};
use uuid::Uuid;

#[tokio::test(start_paused = true)]
async fn suspend_then_resume_each_mail_a_state_change() -> anyhow::Result<()> {
    let (monitor, mut mail) = Probe::new();
    let poller =
        LibvirtPoller::builder().host("local", "test:///default").recipient("monitor").frequency(2.0).build()?;
    let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;
    let before = domains_of(&mut mail, "local").await;
    assert_eq!(before.domains[0].state, DomainState::Running);

    let () = ask(&app, subjects::SUSPEND, DomainRef::new("local", "test")).await?;
    let paused: StateChanged = expect(&mut mail, subjects::STATE_CHANGED).await;
    assert_eq!(paused.host, "local");
    assert_eq!(paused.uuid, Uuid::parse_str(TEST_UUID)?);
    assert_eq!(paused.name, "test");
    assert_eq!((paused.from, paused.to), (DomainState::Running, DomainState::Paused));
    let after = domains_of(&mut mail, "local").await;
    assert_eq!(after.domains[0].state, DomainState::Paused);

    let () = ask(&app, subjects::RESUME, DomainRef::new("local", Uuid::parse_str(TEST_UUID)?)).await?;
    let resumed: StateChanged = expect(&mut mail, subjects::STATE_CHANGED).await;
    assert_eq!((resumed.from, resumed.to), (DomainState::Paused, DomainState::Running));
    app.shutdown().await;
    Ok(())
}
