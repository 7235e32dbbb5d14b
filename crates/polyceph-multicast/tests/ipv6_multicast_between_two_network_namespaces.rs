//! Proves IPv6 multicast end to end: a broadcaster in one network namespace
//! publishes to a listener in another, over a veth pair the test makes.
//!
//! Linux refuses IPv6 multicast on `lo`, and this machine's real interface
//! must never carry test traffic; two private namespaces joined by a virtual
//! cable carry it instead and vanish with the test. Making namespaces needs
//! root: run as another user, the test says why it skips. Each side runs on
//! its own thread moved into its namespace (`setns` applies to one thread),
//! with its own Tokio runtime, so the sockets are made inside.

mod support;

use std::net::{IpAddr, Ipv6Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

use anyhow::{Context as _, bail, ensure};
use nix::sched::{CloneFlags, setns};
use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{Interface, MulticastBroadcaster, MulticastConfig, MulticastListener, header};
use support::WAIT;

const IP: &str = "/usr/sbin/ip";
const GROUP: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0xc75d, 0xce41, 0xea8e, 0x7001);
const LISTENER_ADDRESS: &str = "fd00:70::1/64";
const SENDER_ADDRESS: &str = "fd00:70::2/64";

#[test]
fn a_listener_in_one_namespace_hears_a_broadcaster_in_another() -> anyhow::Result<()> {
    if let Some(reason) = why_skip() {
        println!("skipped: {reason}");
        return Ok(());
    }
    let net = VethPair::create()?;
    let port = support::free_port();
    let listener_config = MulticastConfig::builder(GROUP).port(port).interface(Interface::V6(net.index_a)).build()?;
    let sender_config = MulticastConfig::builder(GROUP)
        .port(port)
        .interface(Interface::V6(net.index_b))
        .ttl(1)
        .loopback(false)
        .build()?;

    let (ready, listening) = std::sync::mpsc::channel();
    let listener = in_namespace(&net.a, move || {
        current_thread_runtime()?.block_on(async move {
            let (probe, mut recorded) = Probe::new();
            let listener = MulticastListener::builder(listener_config, "probe").topic("v6").build()?;
            let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;
            ensure!(app.is_running("listener"), "the listener did not start (see its log)");
            ready.send(())?;
            let mail = recorded.next(WAIT).await?;
            app.shutdown().await;
            Ok((mail.sender().to_string(), mail.body::<String>()?, header::source(&mail)))
        })
    })?;
    listening.recv_timeout(WAIT).context("the listener never got ready")?;

    let sender = in_namespace(&net.b, move || {
        current_thread_runtime()?.block_on(async move {
            let broadcaster = MulticastBroadcaster::builder(sender_config).topic("v6").build()?;
            broadcaster.publish_envelope(&Envelope::new("node-v6", "monitor", "hello", "over veth")).await?;
            Ok(broadcaster.local_addr()?)
        })
    })?;

    let sent_from = join(sender)?;
    let (from, body, source) = join(listener)?;
    assert_eq!((from.as_str(), body.as_str()), ("node-v6", "over veth"));
    assert_eq!(source, Some(sent_from), "the source header names the sender's socket");
    assert_eq!(sent_from.ip(), IpAddr::V6(SENDER_ADDRESS.split('/').next().unwrap_or_default().parse()?));
    Ok(())
}

/// Why this machine cannot run the test, if it cannot.
fn why_skip() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective_uid =
        status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1));
    if effective_uid != Some("0") {
        return Some("making network namespaces needs root (CI runs the tests as root)".into());
    }
    if !std::path::Path::new(IP).exists() {
        return Some(format!("{IP} is missing (Debian: apt-get install iproute2)"));
    }
    None
}

/// Two network namespaces joined by a veth pair, each end with an IPv6
/// address and no duplicate-address detection (which would hold the
/// addresses back for seconds). Deleted on drop, whatever happened.
struct VethPair {
    a: String,
    b: String,
    index_a: u32,
    index_b: u32,
}

impl VethPair {
    fn create() -> anyhow::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!("{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let (a, b) = (format!("pcm6-{id}-a"), format!("pcm6-{id}-b"));
        // Interface names have at most 15 bytes.
        let (veth_a, veth_b) = (format!("va{id}"), format!("vb{id}"));
        ip(&["netns", "add", &a])?;
        // From here on, dropping the pair deletes the namespaces.
        let mut pair = Self { a, b, index_a: 0, index_b: 0 };
        ip(&["netns", "add", &pair.b])?;
        for ns in [&pair.a, &pair.b] {
            let no_dad = ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"];
            ip(&["netns", "exec", ns, "sysctl", "-qw", no_dad[0], no_dad[1]])?;
        }
        ip(&["link", "add", &veth_a, "netns", &pair.a, "type", "veth", "peer", "name", &veth_b, "netns", &pair.b])?;
        for (ns, veth, address) in [(&pair.a, &veth_a, LISTENER_ADDRESS), (&pair.b, &veth_b, SENDER_ADDRESS)] {
            ip(&["-n", ns, "addr", "add", address, "dev", veth, "nodad"])?;
            ip(&["-n", ns, "link", "set", veth, "up"])?;
        }
        pair.index_a = index(&pair.a, &veth_a)?;
        pair.index_b = index(&pair.b, &veth_b)?;
        Ok(pair)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and so the pair.
        for ns in [&self.a, &self.b] {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cannot delete network namespace {ns}: {e:#}");
            }
        }
    }
}

/// Runs `ip` with `args`; an error carries what it printed.
fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(IP).args(args).output().with_context(|| format!("cannot run {IP}"))?;
    if !out.status.success() {
        bail!("ip {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The index of interface `name` in namespace `ns`, from `ip -o link show`
/// ("7: va123@if6: <...").
fn index(ns: &str, name: &str) -> anyhow::Result<u32> {
    let line = ip(&["-n", ns, "-o", "link", "show", "dev", name])?;
    let index = line.split(':').next().unwrap_or_default().trim();
    index.parse().with_context(|| format!("no interface index in {line:?}"))
}

/// Runs `work` on a new thread moved into network namespace `ns`.
fn in_namespace<T: Send + 'static>(
    ns: &str,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<thread::JoinHandle<anyhow::Result<T>>> {
    let path = format!("/run/netns/{ns}");
    let handle = std::fs::File::open(&path).with_context(|| format!("cannot open {path}"))?;
    Ok(thread::spawn(move || {
        setns(&handle, CloneFlags::CLONE_NEWNET).context("cannot enter the network namespace")?;
        work()
    }))
}

fn current_thread_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

fn join<T>(thread: thread::JoinHandle<anyhow::Result<T>>) -> anyhow::Result<T> {
    thread.join().map_err(|_| anyhow::anyhow!("a namespace thread panicked"))?
}
