//! Every way a request can fail is its own `LibvirtError`, never a silent
//! `false`: an unknown host, an unknown domain (by name or UUID), a call
//! libvirt refuses, a host that is not connected; and a body that is not a
//! request's is refused by the runtime.

mod support;

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use polyceph_libvirt::{DomainId, DomainInfo, DomainRef, Domains, HostRef, LibvirtError, LibvirtPoller, subjects};
use support::{Node, Probe, ask, private_default, refused_uri};
use uuid::Uuid;

async fn start(node: &Node) -> anyhow::Result<AppHandle> {
    let (monitor, _mail) = Probe::new();
    let poller = LibvirtPoller::builder()
        .host("local", &node.uri)
        .host("down", refused_uri())
        .recipient("monitor")
        .call_timeout(Duration::from_secs(2))
        .build()?;
    Ok(Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?)
}

#[tokio::test(start_paused = true)]
async fn an_unknown_host_is_unknown_host() -> anyhow::Result<()> {
    let node = private_default();
    let app = start(&node).await?;
    let info = ask::<DomainInfo>(&app, subjects::GET_INFO, DomainRef::new("nowhere", "test")).await;
    assert_eq!(info, Err(LibvirtError::UnknownHost { host: "nowhere".to_owned() }));
    let listed = ask::<Domains>(&app, subjects::LIST_DOMAINS, HostRef::new("nowhere")).await;
    assert_eq!(listed, Err(LibvirtError::UnknownHost { host: "nowhere".to_owned() }));
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_unknown_domain_is_unknown_domain() -> anyhow::Result<()> {
    let node = private_default();
    let app = start(&node).await?;
    let by_name = ask::<DomainInfo>(&app, subjects::GET_INFO, DomainRef::new("local", "ghost")).await;
    let ghost = DomainId::from("ghost");
    assert_eq!(by_name, Err(LibvirtError::UnknownDomain { host: "local".to_owned(), domain: ghost }));
    let uuid = Uuid::new_v4();
    let by_uuid = ask::<()>(&app, subjects::SUSPEND, DomainRef::new("local", uuid)).await;
    assert_eq!(by_uuid, Err(LibvirtError::UnknownDomain { host: "local".to_owned(), domain: uuid.into() }));
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_call_libvirt_refuses_is_a_libvirt_error() -> anyhow::Result<()> {
    let node = private_default();
    let app = start(&node).await?;
    ask::<()>(&app, subjects::SUSPEND, DomainRef::new("local", "test")).await?;
    match ask::<()>(&app, subjects::SUSPEND, DomainRef::new("local", "test")).await {
        Err(LibvirtError::Libvirt { host, code, message }) => {
            assert_eq!(host, "local");
            assert_eq!(code, 1, "VIR_ERR_INTERNAL_ERROR");
            assert!(message.contains("not running"), "{message}");
        }
        other => panic!("suspending a paused domain: {other:?}"),
    }
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_host_that_refuses_connections_is_not_connected() -> anyhow::Result<()> {
    let node = private_default();
    let app = start(&node).await?;
    match ask::<DomainInfo>(&app, subjects::GET_INFO, DomainRef::new("down", "test")).await {
        Err(LibvirtError::NotConnected { host, reason }) => {
            assert_eq!(host, "down");
            assert!(reason.contains("Connection refused"), "{reason}");
        }
        other => panic!("a host refusing connections: {other:?}"),
    }
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_body_that_is_no_request_fails_the_request() -> anyhow::Result<()> {
    let node = private_default();
    let app = start(&node).await?;
    let reply = app.request("libvirt", subjects::GET_INFO, 42_u32, Duration::from_secs(5)).await;
    assert!(matches!(reply, Err(RequestError::HandlerFailed { .. })), "{reply:?}");
    app.shutdown().await;
    Ok(())
}
