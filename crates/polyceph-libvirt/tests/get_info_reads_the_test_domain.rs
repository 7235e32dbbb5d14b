//! `get_info` on libvirt's default test hypervisor: the `test` domain, by
//! name and by UUID, with every field, looked up afresh on every call.

mod support;

use polyceph::prelude::*;
use polyceph_libvirt::{DomainInfo, DomainRef, DomainState, LibvirtPoller, subjects};
use support::{Probe, TEST_UUID, ask};
use uuid::Uuid;

async fn start() -> anyhow::Result<AppHandle> {
    let (monitor, _mail) = Probe::new();
    let poller = LibvirtPoller::builder().host("local", "test:///default").recipient("monitor").build()?;
    Ok(Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?)
}

#[tokio::test(start_paused = true)]
async fn get_info_by_name_reads_every_field() -> anyhow::Result<()> {
    let app = start().await?;
    let info: DomainInfo = ask(&app, subjects::GET_INFO, DomainRef::new("local", "test")).await?;
    assert_eq!(info.name, "test");
    assert_eq!(info.uuid, Uuid::parse_str(TEST_UUID)?);
    assert_eq!(info.state, DomainState::Running);
    assert_eq!(info.max_memory_kib, 8 * 1024 * 1024);
    assert_eq!(info.memory_kib, 2 * 1024 * 1024);
    assert_eq!(info.vcpus, 2);
    assert!(info.cpu_time_ns > 0);
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn get_info_by_uuid_finds_the_same_domain() -> anyhow::Result<()> {
    let app = start().await?;
    let uuid = Uuid::parse_str(TEST_UUID)?;
    let by_name: DomainInfo = ask(&app, subjects::GET_INFO, DomainRef::new("local", "test")).await?;
    let by_uuid: DomainInfo = ask(&app, subjects::GET_INFO, DomainRef::new("local", uuid)).await?;
    assert_eq!(by_uuid.name, "test");
    assert_eq!(by_uuid.uuid, by_name.uuid);
    app.shutdown().await;
    Ok(())
}

/// The test hypervisor reports the wall clock as CPU time: each fresh
/// lookup reads a later one. (Its resolution is a microsecond, so two
/// lookups may read the same; a later one must read more.)
#[tokio::test(start_paused = true)]
async fn each_get_info_is_a_fresh_lookup() -> anyhow::Result<()> {
    let app = start().await?;
    let first: DomainInfo = ask(&app, subjects::GET_INFO, DomainRef::new("local", "test")).await?;
    let mut later = first.cpu_time_ns;
    for _ in 0..1_000 {
        let info: DomainInfo = ask(&app, subjects::GET_INFO, DomainRef::new("local", "test")).await?;
        later = info.cpu_time_ns;
        if later != first.cpu_time_ns {
            break;
        }
    }
    assert!(later > first.cpu_time_ns, "cpu time {later} after {}", first.cpu_time_ns);
    app.shutdown().await;
    Ok(())
}
