//! The [`LibvirtPoller`] actor: its handlers, its birth and death.

use std::fmt;
use std::sync::{Arc, Once};

use polyceph::error::FilterError;
use polyceph::{Actor, Context, Envelope, ExitReason, Filter, Result};

use crate::builder::{Builder, Config};
use crate::host::Purpose;
use crate::running::Running;
use crate::status::Board;
use crate::wake::WAKE;
use crate::{DomainRef, HostRef, Status, subjects};

/// An actor that polls libvirt hosts at its frequency, mails what it finds,
/// and answers requests about their domains.
///
/// Each host, a label and a libvirt URI, gets one connection, opened
/// lazily, kept across polls, and opened again with back-off when it fails
/// or breaks. Every libvirt call runs on a blocking thread, one at a time
/// per host, within the call timeout; the actor itself never waits for
/// libvirt, so a slow or hung host delays neither the other hosts nor
/// requests. See `docs/libvirt.md` for the whole story.
///
/// Each tick polls every host: its [`Domains`](crate::Domains) go to the recipient as
/// `domains` mail, each state change since the poll before as its own
/// `domain.state_changed` mail, each change of a host's connection status as
/// `host.status`. The [`subjects`] module lists the mail and the requests.
/// The poller never waits for its recipient: mail that cannot be queued at
/// once is dropped, counted ([`HostStats::mail_dropped`](crate::HostStats::mail_dropped)) and logged.
///
/// The poll frequency is the actor's `life` frequency: the one set with
/// [`Builder::frequency`], else the one the application gives the actor,
/// else [`DEFAULT_FREQUENCY`](crate::DEFAULT_FREQUENCY).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use polyceph::prelude::*;
/// use polyceph::testing::Probe;
/// use polyceph_libvirt::{DomainInfo, DomainRef, DomainState, LibvirtPoller, Reply};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (monitor, _mail) = Probe::new();
/// let poller = LibvirtPoller::builder()
///     .host("local", "test:///default")
///     .recipient("monitor")
///     .frequency(0.5)
///     .call_timeout(Duration::from_secs(2))
///     .build()?;
/// let app = Application::builder().actor("monitor", monitor).actor("libvirt", poller).start().await?;
///
/// let reply = app.request("libvirt", "get_info", DomainRef::new("local", "test"), Duration::from_secs(5)).await?;
/// let info = reply.body::<Reply<DomainInfo>>()??;
/// assert_eq!(info.state, DomainState::Running);
/// assert_eq!(info.vcpus, 2);
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
pub struct LibvirtPoller {
    config: Arc<Config>,
    board: Arc<Board>,
    /// Made at birth, dropped at death.
    running: Option<Running>,
}

impl LibvirtPoller {
    /// Starts configuring a poller.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn new(config: Arc<Config>, board: Arc<Board>) -> Self {
        Self { config, board, running: None }
    }

    /// A handle on the hosts' status and counters; take it before handing
    /// the poller to the application.
    pub fn status(&self) -> Status {
        self.board.status()
    }

    /// Makes fresh pollers like this one, for an application that restarts
    /// the poller ([`Builder::actor_with`](polyceph::Builder::actor_with)).
    /// They share this poller's [`Status`] and counters.
    ///
    /// # Examples
    ///
    /// ```
    /// # use polyceph::prelude::*;
    /// # use polyceph::testing::Probe;
    /// # use polyceph_libvirt::LibvirtPoller;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let poller = LibvirtPoller::builder().host("local", "test:///default").recipient("monitor").build()?;
    /// let status = poller.status();
    /// # let (probe, _seen) = Probe::new();
    /// let app = Application::builder()
    ///     .actor("monitor", probe)
    ///     .actor_with("libvirt", poller.factory())
    ///     .restart(Restart::OnFailure)
    ///     .start()
    ///     .await?;
    /// # let _ = status;
    /// # app.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn factory(&self) -> impl Fn() -> LibvirtPoller + Send + Sync + 'static {
        let (config, board) = (self.config.clone(), self.board.clone());
        move || LibvirtPoller::new(config.clone(), board.clone())
    }

    fn running(&mut self) -> &mut Running {
        self.running.as_mut().expect("handlers and ticks run after birth")
    }

    async fn wake(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.running().service(ctx);
        Ok(())
    }

    async fn get_info(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let DomainRef { host, domain } = mail.body()?;
        self.running().request(ctx, &host, Purpose::Info(mail, domain));
        Ok(())
    }

    async fn suspend(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let DomainRef { host, domain } = mail.body()?;
        self.running().request(ctx, &host, Purpose::Suspend(mail, domain));
        Ok(())
    }

    async fn resume(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let DomainRef { host, domain } = mail.body()?;
        self.running().request(ctx, &host, Purpose::Resume(mail, domain));
        Ok(())
    }

    async fn list_domains(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let HostRef { host } = mail.body()?;
        self.running().request(ctx, &host, Purpose::List(mail));
        Ok(())
    }

    async fn poll(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let HostRef { host } = mail.body()?;
        self.running().request(ctx, &host, Purpose::Poll(Some(mail)));
        Ok(())
    }
}

impl Actor for LibvirtPoller {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        quiet_libvirt();
        let hz = self.config.frequency.or(ctx.frequency()).unwrap_or(crate::DEFAULT_FREQUENCY);
        ctx.set_frequency(hz)?;
        ctx.on(exactly(WAKE)?, Self::wake);
        ctx.on(exactly(subjects::GET_INFO)?, Self::get_info);
        ctx.on(exactly(subjects::LIST_DOMAINS)?, Self::list_domains);
        ctx.on(exactly(subjects::POLL)?, Self::poll);
        ctx.on(exactly(subjects::SUSPEND)?, Self::suspend);
        ctx.on(exactly(subjects::RESUME)?, Self::resume);
        self.running = Some(Running::start(&self.config, &self.board, ctx));
        Ok(())
    }

    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        self.running().tick(ctx);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, _reason: &ExitReason) {
        // Drops the workers: their queued calls are dropped and their
        // connections closed off the async workers.
        self.running = None;
    }
}

impl fmt::Debug for LibvirtPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibvirtPoller")
            .field("config", &self.config)
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

/// A filter for exactly one subject (ours are letters, `_` and `.`).
fn exactly(subject: &str) -> std::result::Result<Filter, FilterError> {
    Filter::subject(&format!("^{}$", subject.replace('.', r"\.")))
}

/// libvirt prints every error to stderr unless told otherwise; ours are
/// returned as values and logged with tracing instead. (Process-wide: this
/// crate is the only one here that links libvirt.)
fn quiet_libvirt() {
    static QUIET: Once = Once::new();
    QUIET.call_once(virt::error::clear_error_callback);
}
