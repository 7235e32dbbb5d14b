//! Helpers shared by the integration tests.
//!
//! Hosts are libvirt's test hypervisor, in-process, no daemon. All
//! connections to `test:///default` in one process share its state, so a
//! test that changes it is alone in its file (each file is a process); other
//! tests get a private node ([`Node`]), a file of their own whose every
//! connection has its own copy. Unreachable and hung hosts are loopback
//! ports: one nobody listens on, one that accepts and never answers.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::fmt::Write as _;
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use polyceph::Body;
use polyceph::prelude::*;
use polyceph::testing::Recorded;
use polyceph_libvirt::{DomainInfo, Domains, HostStatus, HostStatusChanged, Reply, subjects};
use serde::de::DeserializeOwned;
use tempfile::TempDir;
use tokio::net::TcpListener;
use virt::connect::Connect;

pub use polyceph::testing::Probe;

/// The UUID of the `test` domain of libvirt's default test hypervisor.
pub const TEST_UUID: &str = "6695eb01-f6a4-8304-79aa-97f2502e193f";

/// How long a test waits for mail that must come: an upper bound only
/// (on paused time it costs nothing).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A test hypervisor in a file of its own.
pub struct Node {
    _dir: TempDir,
    pub uri: String,
}

/// A private copy of `test:///default`: one running domain `test` with
/// 8 GiB at most, 2 GiB now and 2 vCPUs.
pub fn private_default() -> Node {
    node(&[domain("test", TEST_UUID, 8_388_608, 2_097_152, 2)])
}

/// A private test hypervisor with `count` running domains `vm0`, `vm1`, ...
pub fn node_of(count: usize) -> Node {
    let domains: Vec<_> = (0..count)
        .map(|i| domain(&format!("vm{i}"), &format!("00000000-0000-4000-8000-{i:012}"), 1_048_576, 524_288, 1))
        .collect();
    node(&domains)
}

/// The XML of a test-driver domain.
pub fn domain(name: &str, uuid: &str, max_kib: u64, kib: u64, vcpus: u32) -> String {
    format!(
        "<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>\
         <memory>{max_kib}</memory><currentMemory>{kib}</currentMemory>\
         <vcpu>{vcpus}</vcpu><os><type>hvm</type></os></domain>"
    )
}

fn node(domains: &[String]) -> Node {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("node.xml");
    let mut xml = String::from("<node>\n");
    for domain in domains {
        let _ = writeln!(xml, "{domain}");
    }
    xml.push_str("</node>\n");
    std::fs::write(&path, xml).expect("the node file is written");
    Node { uri: format!("test://{}", path.display()), _dir: dir }
}

/// A filter for exactly `subject`.
pub fn subject(subject: &str) -> Filter {
    Filter::subject(&format!("^{}$", subject.replace('.', r"\."))).expect("a valid pattern")
}

/// The body of the next mail with `subject` the probe got.
pub async fn expect<T: DeserializeOwned + Clone + 'static>(mail: &mut Recorded, about: &str) -> T {
    let envelope = mail.expect(&subject(about), PATIENCE).await.unwrap_or_else(|e| panic!("no {about} mail: {e}"));
    envelope.body().unwrap_or_else(|e| panic!("a {about} body: {e}"))
}

/// The next `domains` mail about `host`.
pub async fn domains_of(mail: &mut Recorded, host: &str) -> Domains {
    loop {
        let domains: Domains = expect(mail, subjects::DOMAINS).await;
        if domains.host == host {
            return domains;
        }
    }
}

/// The first `domains` mail about `host` made after `since`: the first
/// poll that started after a change made before `since`, provided no poll
/// was under way during the change. On paused time that holds once the test
/// has seen a poll's mail: the next tick is due later, and the clock stands
/// still while the test's blocking call makes the change.
pub async fn domains_since(mail: &mut Recorded, host: &str, since: SystemTime) -> Domains {
    loop {
        let envelope = mail.expect(&subject(subjects::DOMAINS), PATIENCE).await.expect("a domains mail");
        let domains: Domains = envelope.body().expect("a Domains body");
        if domains.host == host && envelope.time() >= since {
            return domains;
        }
    }
}

/// The entry for domain `name` of host `local` in the first poll after
/// `since`, if that poll lists one.
pub async fn named_since(mail: &mut Recorded, name: &str, since: SystemTime) -> Option<DomainInfo> {
    domains_since(mail, "local", since).await.domains.into_iter().find(|d| d.name == name)
}

/// Changes `test:///default` through a connection of the test's own (the
/// poller's sees the change: every connection to it in a process shares
/// its state), off the async workers; returns when it is done.
pub async fn change_default(
    change: impl FnOnce(&Connect) -> Result<(), virt::error::Error> + Send + 'static,
) -> SystemTime {
    let changed = tokio::task::spawn_blocking(move || change(&Connect::open(Some("test:///default"))?));
    changed.await.expect("the change ran").expect("libvirt made the change");
    SystemTime::now()
}

/// The next `host.status` mail about `host`.
pub async fn status_of(mail: &mut Recorded, host: &str) -> HostStatus {
    loop {
        let changed: HostStatusChanged = expect(mail, subjects::HOST_STATUS).await;
        if changed.host == host {
            return changed.status;
        }
    }
}

/// Asks the poller `libvirt` and reads the typed reply.
pub async fn ask<T: DeserializeOwned + Clone + 'static>(app: &AppHandle, about: &str, body: impl Body) -> Reply<T> {
    let reply = app.request("libvirt", about.to_owned(), body, PATIENCE).await.expect("the poller replies");
    reply.body().expect("a typed reply")
}

/// A loopback URI to a port nobody listens on: connecting is refused.
pub fn refused_uri() -> String {
    let listener = StdListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("test+tcp://127.0.0.1:{port}/default")
}

/// A loopback server that accepts connections and never answers, as a hung
/// hypervisor does. It holds every connection until the runtime drops it.
pub struct HungServer {
    pub uri: String,
    accepted: Arc<AtomicUsize>,
}

impl HungServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self { uri: format!("test+tcp://127.0.0.1:{port}/default"), accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
