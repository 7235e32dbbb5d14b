//! The blocking side: one host's libvirt connection and the calls made on it.
//!
//! Everything here blocks. It runs on a blocking thread (see `worker`),
//! never on an async worker, and one call at a time per host.
//!
//! Opening a connection is special: a server that accepts the TCP
//! connection and never answers blocks `virConnectOpen` for minutes, and
//! nothing can interrupt it. So the open runs on a thread of its own, which
//! the call waits for at most the call timeout. A thread still stuck then is
//! kept, not abandoned: the next attempt waits for that same thread again
//! instead of starting another, so a hung host holds at most one stuck
//! thread, and it is detached, so it never delays the runtime's shutdown.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::{Error as VirtError, ErrorNumber};

use crate::{DomainId, DomainInfo, DomainState, LibvirtError};

/// What a job asks of a host.
#[derive(Debug, Clone)]
pub(crate) enum Call {
    /// Every domain with its info: a poll, or `list_domains`.
    Domains,
    /// One domain's info.
    Info(DomainId),
    /// Pause a domain.
    Suspend(DomainId),
    /// Unpause a domain.
    Resume(DomainId),
}

/// A call's answer.
#[derive(Debug)]
pub(crate) enum Answer {
    Domains(Vec<DomainInfo>),
    Info(DomainInfo),
    Done,
}

/// Why a call has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// No connection, and none could be made; with the reason.
    NotConnected(String),
    /// Connecting took longer than the call timeout.
    TimedOut(Duration),
    /// No such domain.
    NoDomain(DomainId),
    /// libvirt refused the call.
    Libvirt { code: u32, message: String },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConnected(reason) => f.write_str(reason),
            Self::TimedOut(timeout) => write!(f, "{}", no_answer(*timeout)),
            Self::NoDomain(domain) => write!(f, "no domain {domain}"),
            Self::Libvirt { message, .. } => f.write_str(message),
        }
    }
}

/// The text of a host's status when a call to it took too long.
pub(crate) fn no_answer(timeout: Duration) -> String {
    format!("no answer within {timeout:?}")
}

impl CallError {
    /// The error a requester gets.
    pub(crate) fn for_host(self, host: &str) -> LibvirtError {
        let host = host.to_owned();
        match self {
            Self::NotConnected(reason) => LibvirtError::NotConnected { host, reason },
            Self::TimedOut(timeout) => LibvirtError::TimedOut { host, timeout },
            Self::NoDomain(domain) => LibvirtError::UnknownDomain { host, domain },
            Self::Libvirt { code, message } => LibvirtError::Libvirt { host, code, message },
        }
    }
}

impl From<VirtError> for CallError {
    fn from(error: VirtError) -> Self {
        Self::Libvirt { code: error.code().to_raw(), message: error.message().to_owned() }
    }
}

fn is_no_domain(error: &VirtError) -> bool {
    error.code().known() == Some(ErrorNumber::NoDomain)
}

/// What happened to the connection during a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// A connection was opened.
    Opened,
    /// Opening one failed.
    OpenFailed(CallError),
    /// The connection was found broken and dropped.
    Lost(CallError),
}

/// What a call did: to the connection, and its answer.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) link: Option<LinkEvent>,
    pub(crate) answer: Result<Answer, CallError>,
}

/// One host's connection: opened lazily, kept across calls, dropped when
/// found broken.
pub(crate) struct Session {
    uri: Arc<str>,
    timeout: Duration,
    conn: Option<Connect>,
    /// A connection attempt that has not answered yet.
    opener: Option<Receiver<Result<Connect, VirtError>>>,
    /// Why the last connection attempt failed, or the connection was lost.
    last_error: Option<String>,
    /// Connection threads alive now (shared with the host's counters).
    opening: Arc<AtomicUsize>,
}

impl Session {
    pub(crate) fn new(uri: &str, timeout: Duration, opening: Arc<AtomicUsize>) -> Self {
        Self { uri: uri.into(), timeout, conn: None, opener: None, last_error: None, opening }
    }

    /// Runs `call`, opening a connection first if there is none and
    /// `may_connect` allows it.
    pub(crate) fn run(&mut self, call: &Call, may_connect: bool) -> Outcome {
        let mut link = None;
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None if !may_connect => {
                let reason = self.last_error.clone().unwrap_or_else(|| "no connection yet".to_owned());
                return Outcome { link, answer: Err(CallError::NotConnected(reason)) };
            }
            None => match self.open() {
                Ok(conn) => {
                    self.last_error = None;
                    link = Some(LinkEvent::Opened);
                    conn
                }
                Err(error) => {
                    self.last_error = Some(error.to_string());
                    return Outcome { link: Some(LinkEvent::OpenFailed(error.clone())), answer: Err(error) };
                }
            },
        };
        let answer = call.run(&conn);
        match &answer {
            // A refused call on a live connection is just that; on a dead
            // one, the connection is gone and the next attempt reconnects.
            Err(error @ CallError::Libvirt { .. }) if !conn.is_alive().unwrap_or(false) => {
                self.last_error = Some(error.to_string());
                link = Some(LinkEvent::Lost(error.clone()));
            }
            _ => self.conn = Some(conn),
        }
        Outcome { link, answer }
    }

    /// Closes the connection, if any. A pending attempt's thread closes
    /// whatever it gets, as nobody waits for it any more.
    pub(crate) fn close(&mut self) {
        self.conn = None;
        self.opener = None;
    }

    /// Waits up to the call timeout for a connection, from the attempt still
    /// pending or from a new one.
    fn open(&mut self) -> Result<Connect, CallError> {
        let pending = match self.opener.take() {
            Some(pending) => pending,
            None => self.start_opener()?,
        };
        match pending.recv_timeout(self.timeout) {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(error)) => Err(CallError::NotConnected(error.message().to_owned())),
            Err(RecvTimeoutError::Timeout) => {
                self.opener = Some(pending);
                Err(CallError::TimedOut(self.timeout))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(CallError::NotConnected("the connection attempt ended without an answer".to_owned()))
            }
        }
    }

    fn start_opener(&self) -> Result<Receiver<Result<Connect, VirtError>>, CallError> {
        let (tx, rx) = sync_channel(1);
        let uri = self.uri.clone();
        let alive = Alive::new(self.opening.clone());
        std::thread::Builder::new()
            .name("libvirt-open".to_owned())
            .spawn(move || {
                let _alive = alive;
                // If nobody waits any more, the connection is closed here,
                // on this thread, like the attempt itself.
                let _ = tx.send(Connect::open(Some(&uri)));
            })
            .map_err(|error| CallError::NotConnected(format!("cannot start a connection thread: {error}")))?;
        Ok(rx)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("uri", &self.uri)
            .field("connected", &self.conn.is_some())
            .field("opening", &self.opener.is_some())
            .finish_non_exhaustive()
    }
}

/// Counts a connection thread as alive until dropped.
struct Alive(Arc<AtomicUsize>);

impl Alive {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Call {
    fn run(&self, conn: &Connect) -> Result<Answer, CallError> {
        match self {
            Self::Domains => domains(conn).map(Answer::Domains),
            Self::Info(id) => on_domain(conn, id, info).map(Answer::Info),
            Self::Suspend(id) => on_domain(conn, id, Domain::suspend).map(|()| Answer::Done),
            Self::Resume(id) => on_domain(conn, id, Domain::resume).map(|()| Answer::Done),
        }
    }
}

impl Answer {
    /// The domains of a [`Call::Domains`].
    pub(crate) fn into_domains(self) -> Vec<DomainInfo> {
        match self {
            Self::Domains(domains) => domains,
            other => unreachable!("{other:?} does not answer a Call::Domains"),
        }
    }

    /// The info of a [`Call::Info`].
    pub(crate) fn into_info(self) -> DomainInfo {
        match self {
            Self::Info(info) => info,
            other => unreachable!("{other:?} does not answer a Call::Info"),
        }
    }
}

/// Every domain of the host, looked up afresh.
fn domains(conn: &Connect) -> Result<Vec<DomainInfo>, CallError> {
    let listed = conn.list_all_domains(0)?;
    let mut domains = Vec::with_capacity(listed.len());
    for domain in &listed {
        match info(domain) {
            Ok(info) => domains.push(info),
            // Undefined between the listing and now: it is gone, as the
            // next poll would show anyway.
            Err(error) if is_no_domain(&error) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(domains)
}

fn info(domain: &Domain) -> Result<DomainInfo, VirtError> {
    let info = domain.info()?;
    Ok(DomainInfo {
        name: domain.name()?,
        uuid: domain.uuid()?,
        state: DomainState::from_virt(info.state),
        max_memory_kib: info.max_mem,
        memory_kib: info.memory,
        vcpus: info.nr_virt_cpu,
        cpu_time_ns: info.cpu_time,
    })
}

/// Looks the domain up afresh and applies `f` to it.
fn on_domain<T>(
    conn: &Connect,
    id: &DomainId,
    f: impl FnOnce(&Domain) -> Result<T, VirtError>,
) -> Result<T, CallError> {
    let found = match id {
        DomainId::Name(name) => conn.lookup_domain_by_name(name),
        DomainId::Uuid(uuid) => conn.lookup_domain_by_uuid(*uuid),
    };
    found
        .and_then(|domain| f(&domain))
        .map_err(|error| if is_no_domain(&error) { CallError::NoDomain(id.clone()) } else { error.into() })
}
