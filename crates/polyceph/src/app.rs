//! The [`Application`]: actors started together, run until Ctrl-C or until
//! they have all stopped, or embedded through an [`AppHandle`].

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::context::Supervision;
use crate::directory::{ActorCell, Directory, Dormant, Launch};
use crate::envelope::Body;
use crate::error::{InvalidFrequency, RequestError, RunError, SendError, SpawnError};
use crate::events::{Event, EventSender, Events};
use crate::mail::{Mail, Post};
use crate::mailbox::{DEFAULT_CAPACITY, FullPolicy, QueueKind};
use crate::process::link::Link;
use crate::runner::Source;
use crate::supervision::{Backoff, Intensity, Restart, Strategy, SupervisorOptions};
use crate::{Actor, ActorStats, Address, AppStats, Envelope, Mode, Name, runner};

/// An application: a set of named actors that start together.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use polyceph::prelude::*;
///
/// #[derive(Default)]
/// struct Ticker {
///     ticks: u64,
/// }
///
/// impl Actor for Ticker {
///     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
///         ctx.on(Filter::subject("^count$")?, Self::count);
///         Ok(())
///     }
///     async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
///         self.ticks += 1;
///         Ok(())
///     }
/// }
///
/// impl Ticker {
///     async fn count(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
///         ctx.reply(&mail, self.ticks).send().await?;
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Application::builder()
///     .actor("ticker", Ticker::default())
///     .frequency(2.0)
///     .start()
///     .await?;
/// tokio::time::sleep(Duration::from_millis(9_999)).await; // paused clock: instant
/// let reply = app.request("ticker", "count", (), Duration::from_secs(1)).await?;
/// assert_eq!(reply.body::<u64>()?, 20); // at 0 s, 0.5 s, ..., 9.5 s
/// app.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Application(());

impl Application {
    /// Starts describing an application.
    pub fn builder() -> Builder {
        Builder {
            global_frequency: None,
            strategy: Strategy::OneForOne,
            entries: Vec::new(),
            events: EventSender::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            force_stop: true,
            process_args: None,
        }
    }
}

/// How one actor runs: frequency and mailbox.
///
/// # Examples
///
/// ```
/// use polyceph::{ActorOptions, FullPolicy, QueueKind};
///
/// let telemetry = ActorOptions::new()
///     .frequency(0.2) // every 5 s
///     .capacity(64)
///     .queue(QueueKind::Priority)
///     .policy(FullPolicy::DropOldest);
/// # let _ = telemetry;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ActorOptions {
    /// The nested supervisor it is placed under (default: the application).
    under: Option<String>,
    frequency: Frequency,
    capacity: usize,
    queue: QueueKind,
    policy: FullPolicy,
    bound: bool,
    mode: Mode,
    supervision: Supervision,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Frequency {
    Global,
    Hz(f64),
    Reactive,
}

impl ActorOptions {
    /// The defaults: the application's global frequency, a FIFO mailbox of
    /// 1024 envelopes, senders wait when it is full.
    pub fn new() -> Self {
        Self {
            under: None,
            frequency: Frequency::Global,
            capacity: DEFAULT_CAPACITY,
            queue: QueueKind::Fifo,
            policy: FullPolicy::Wait,
            bound: true,
            mode: Mode::Task,
            supervision: Supervision { restart: Restart::Never, intensity: Intensity::default(), backoff: None },
        }
    }

    /// Runs `life` `hz` times per second (fractions allowed: 0.2 is every 5 s).
    #[must_use]
    pub fn frequency(mut self, hz: f64) -> Self {
        self.frequency = Frequency::Hz(hz);
        self
    }

    /// Never runs `life`, whatever the global frequency: the actor only handles mail.
    #[must_use]
    pub fn reactive(mut self) -> Self {
        self.frequency = Frequency::Reactive;
        self
    }

    /// The mailbox holds at most `capacity` envelopes (default 1024).
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// FIFO (default) or priority order.
    #[must_use]
    pub fn queue(mut self, queue: QueueKind) -> Self {
        self.queue = queue;
        self
    }

    /// What a full mailbox does to new mail (default: senders wait).
    #[must_use]
    pub fn policy(mut self, policy: FullPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Whether the actor stops when the [main actor](ActorBuilder::main)
    /// stops (default `true`, Polycephaly's `boundShutdown`); an unbound
    /// actor runs on until the application stops. Without a main actor it
    /// changes nothing.
    #[must_use]
    pub fn bound(mut self, bound: bool) -> Self {
        self.bound = bound;
        self
    }

    /// When the actor is restarted (default [`Restart::Never`]). Any other
    /// policy needs an actor added with a factory
    /// ([`Builder::actor_with`], [`AppHandle::spawn_with`]).
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.supervision.restart = restart;
        self
    }

    /// At most `max_restarts` restarts within `within` (default 3 in 5 s);
    /// the failure after that escalates: the application stops with
    /// [`RunError::Escalated`].
    #[must_use]
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.supervision.intensity = Intensity { max_restarts, within };
        self
    }

    /// Waits `first` before a restart, doubling for each restart still in
    /// the intensity window, up to `max` (default: no wait).
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.supervision.backoff = Some(Backoff { first, max });
        self
    }

    /// Where the actor runs (default [`Mode::Task`]).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Places the actor under a nested supervisor declared with
    /// [`Builder::supervisor`] (default: directly under the application).
    #[must_use]
    pub fn under(mut self, supervisor: impl Into<String>) -> Self {
        self.under = Some(supervisor.into());
        self
    }

    fn cell(&self, name: Name, directory: &Directory) -> Result<ActorCell, SpawnError> {
        let mut cell = ActorCell::new(name, self.capacity, self.queue, self.policy);
        cell.bound = self.bound;
        cell.mode = self.mode;
        cell.supervisor = directory.coordinator(self.under.as_deref())?;
        Ok(cell)
    }

    fn resolve(&self, name: &Name, global: Option<f64>) -> Result<Option<f64>, SpawnError> {
        if self.capacity == 0 {
            return Err(SpawnError::ZeroCapacity(name.clone()));
        }
        let hz = match self.frequency {
            Frequency::Global => global,
            Frequency::Hz(hz) => Some(hz),
            Frequency::Reactive => None,
        };
        if let Some(hz) = hz {
            InvalidFrequency::check(hz)?;
        }
        Ok(hz)
    }
}

impl Default for ActorOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What a builder adds, in start order.
enum Entry {
    Actor(Spec),
    Supervisor(String, SupervisorOptions),
}

struct Spec {
    name: String,
    options: ActorOptions,
    launch: Launch,
    restartable: bool,
    autostart: bool,
    main: bool,
}

/// Describes an application: a global frequency and the actors, in start order.
#[must_use = "an application does nothing until .start() or .run()"]
pub struct Builder {
    global_frequency: Option<f64>,
    strategy: Strategy,
    entries: Vec<Entry>,
    events: EventSender,
    shutdown_timeout: Duration,
    force_stop: bool,
    process_args: Option<Arc<[OsString]>>,
}

/// How long a shutdown waits for actors to stop before aborting them.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

impl Builder {
    /// The frequency of actors that set none (default: none, purely reactive).
    /// An invalid one fails [`start`](Builder::start).
    pub fn global_frequency(mut self, hz: f64) -> Self {
        self.global_frequency = Some(hz);
        self
    }

    /// How long [`AppHandle::shutdown`] (and [`run`](Builder::run)) waits
    /// for each actor, in its turn, to finish its mail and `death` before
    /// aborting it and going on (default 30 s, Polycephaly's
    /// `threadsTimeout`). Also how long a supervisor's restart waits for a
    /// sibling to stop.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Whether a second Ctrl-C or SIGTERM during the shutdown of
    /// [`run`](Builder::run) aborts every actor at once (default `true`).
    pub fn force_stop(mut self, force: bool) -> Self {
        self.force_stop = force;
        self
    }

    /// A stream of the application's lifecycle events, from the start on.
    pub fn events(&self) -> Events {
        self.events.subscribe()
    }

    /// The application's own restart strategy for the actors and
    /// supervisors directly under it (default [`Strategy::OneForOne`]).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Declares a nested supervisor, in start order among the actors; the
    /// actors and supervisors placed [under](ActorOptions::under) it must
    /// come after it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use polyceph::prelude::*;
    /// # use polyceph::{Strategy, SupervisorOptions};
    /// # #[derive(Default)] struct Imu;
    /// # impl Actor for Imu {}
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let app = Application::builder()
    ///     .supervisor("sensors", SupervisorOptions::new(Strategy::OneForAll))
    ///     .actor_with("imu", Imu::default).restart(Restart::OnFailure).under("sensors")
    ///     .actor_with("gps", Imu::default).restart(Restart::OnFailure).under("sensors")
    ///     .start()
    ///     .await?;
    /// # app.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn supervisor(mut self, name: impl Into<String>, options: SupervisorOptions) -> Self {
        self.entries.push(Entry::Supervisor(name.into(), options));
        self
    }

    /// The arguments a [`Mode::Process`] actor's child process is started
    /// with (the program is this one); by default this process's own
    /// arguments, so `main` takes the same path to the builder. A test
    /// binary passes the test's name, so the child runs just that test.
    pub fn process_args<S: Into<OsString>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.process_args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// Adds an actor made by `factory`, which makes a new one for every
    /// restart (see [`ActorOptions::restart`]); the calls that follow set
    /// its options.
    pub fn actor_with<A: Actor>(
        mut self,
        name: impl Into<String>,
        factory: impl Fn() -> A + Send + Sync + 'static,
    ) -> ActorBuilder {
        self.entries.push(Entry::Actor(Spec {
            name: name.into(),
            options: ActorOptions::new(),
            launch: Box::new(move |directory, cell, hz, supervision| {
                runner::launch(directory, cell, Source::factory(factory, supervision), hz)
            }),
            restartable: true,
            autostart: true,
            main: false,
        }));
        ActorBuilder(self)
    }

    /// Adds an actor; the calls that follow set its options.
    ///
    /// Names compare ignoring case; two actors with one name fail the start
    /// with [`SpawnError::DuplicateName`].
    pub fn actor<A: Actor>(mut self, name: impl Into<String>, actor: A) -> ActorBuilder {
        self.entries.push(Entry::Actor(Spec {
            name: name.into(),
            options: ActorOptions::new(),
            // Never restarted: starting refuses a restart policy for one value.
            launch: Box::new(move |directory, cell, hz, _supervision| {
                runner::launch(directory, cell, Source::once(actor), hz)
            }),
            restartable: false,
            autostart: true,
            main: false,
        }));
        ActorBuilder(self)
    }

    /// Starts every actor, in the order they were added, and returns a handle
    /// once every `birth` has finished (successfully or not), as an OTP
    /// supervisor's start returns once its children are initialised: the
    /// topics and groups actors join in `birth` exist by then.
    ///
    /// All actors are in the directory before the first `birth` runs, so
    /// they can mail each other from the start; births run concurrently.
    /// Must be called inside a Tokio runtime; installs no signal handler.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] for an invalid or duplicate name or invalid options;
    /// no actor is started then.
    pub async fn start(self) -> Result<AppHandle, SpawnError> {
        if let Some(role) = crate::process::child_role() {
            crate::process::serve_child(self, role).await
        }
        self.start_inner(None).await
    }

    /// Starts a process actor's child: the one actor, with mail for anyone
    /// else going to the parent over `link`.
    pub(crate) async fn start_linked(self, link: Arc<Link>) -> Result<AppHandle, SpawnError> {
        self.start_inner(Some(link)).await
    }

    /// Keeps only the actor `name`, to run in this process as a process
    /// actor's child: a task, restarted (in a new process) by the parent.
    pub(crate) fn into_child(mut self, name: &str) -> Result<Self, SpawnError> {
        let wanted = Name::new(name);
        let spec = self.entries.drain(..).find_map(|entry| match entry {
            Entry::Actor(spec) if Name::new(&spec.name) == wanted => Some(spec),
            _ => None,
        });
        let mut spec = spec.ok_or(SpawnError::NotInBuilder(wanted))?;
        spec.options.mode = Mode::Task;
        spec.options.supervision = Supervision::default();
        spec.options.under = None;
        spec.autostart = true;
        spec.main = false;
        self.entries = vec![Entry::Actor(spec)];
        Ok(self)
    }

    async fn start_inner(self, uplink: Option<Arc<Link>>) -> Result<AppHandle, SpawnError> {
        if let Some(hz) = self.global_frequency {
            InvalidFrequency::check(hz)?;
        }
        let directory =
            Arc::new(Directory::new(self.global_frequency, self.events, self.shutdown_timeout, self.strategy));
        if let Some(link) = uplink {
            let _ = directory.uplink.set(link);
        }
        directory.start_orchestrator();
        let process_args: Arc<[OsString]> = self.process_args.unwrap_or_else(|| std::env::args_os().skip(1).collect());
        let mut ready = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            let spec = match entry {
                Entry::Actor(spec) => spec,
                Entry::Supervisor(name, options) => {
                    directory.add_supervisor(valid_name(&name)?, &options)?;
                    continue;
                }
            };
            let name = valid_name(&spec.name)?;
            let hz = spec.options.resolve(&name, self.global_frequency)?;
            // A process actor restarts in a new process, which makes it anew.
            let in_process = spec.options.mode == Mode::Process;
            if !spec.restartable && !in_process && spec.options.supervision.restart != Restart::Never {
                return Err(SpawnError::NotRestartable(name));
            }
            if spec.main && directory.main.set(name.clone()).is_err() {
                return Err(SpawnError::TwoMains(name));
            }
            let cell = Arc::new(spec.options.cell(name, &directory)?);
            let supervision = spec.options.supervision;
            let launch: Launch = if in_process {
                let args = process_args.clone();
                Box::new(move |directory, cell, _hz, supervision| {
                    crate::process::launch(directory, cell, supervision, args)
                })
            } else {
                spec.launch
            };
            if spec.autostart {
                directory.register(cell.clone())?;
                ready.push((launch, cell, hz, supervision));
            } else {
                directory.add_dormant(Dormant { cell, frequency: hz, supervision, launch })?;
            }
        }
        let births: Vec<_> = ready.into_iter().map(|(launch, cell, hz, sv)| launch(&directory, cell, hz, sv)).collect();
        // `wait` completes once every actor, started now or later, has stopped.
        directory.tracker.close();
        for birth in births {
            // An error only means the task is gone, which its logs tell.
            let _ = birth.await;
        }
        Ok(AppHandle::new(directory))
    }

    /// Starts the application and runs it until Ctrl-C (SIGINT) or SIGTERM,
    /// until every actor has stopped, or until the emergency brake is
    /// pulled; then shuts it down (see [`AppHandle::shutdown`]). During the
    /// shutdown a second signal aborts every actor at once, unless
    /// [`force_stop(false)`](Builder::force_stop).
    ///
    /// The only method that installs signal handlers.
    ///
    /// # Errors
    ///
    /// [`RunError`] saying why the run did not end cleanly; its
    /// [`exit_code`](RunError::exit_code) is the process exit status to use.
    pub async fn run(self) -> Result<(), RunError> {
        use tokio::signal::unix::{SignalKind, signal};

        if let Some(role) = crate::process::child_role() {
            crate::process::serve_child(self, role).await
        }
        let force_stop = self.force_stop;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(RunError::Signal)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(RunError::Signal)?;
        let mut events = self.events();
        let app = self.start().await?;
        let brake = async {
            while let Some(event) = events.next().await {
                if matches!(event, Event::Ebrake { .. } | Event::Escalated { .. }) {
                    return;
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("interrupted (SIGINT): shutting down"),
            _ = terminate.recv() => tracing::info!("terminated (SIGTERM): shutting down"),
            () = app.wait() => tracing::info!("every actor has stopped"),
            () = brake => {}
        }
        let again = async {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        };
        let aborted = tokio::select! {
            aborted = app.shutdown() => aborted,
            () = again, if force_stop => {
                tracing::warn!("second signal: stopping at once");
                let aborted = app.post.directory.abort_all();
                app.wait().await;
                return Err(RunError::Forced { aborted });
            }
        };
        if let Some((by, reason)) = app.post.directory.ebraked() {
            return Err(RunError::Ebrake { by, reason });
        }
        if let Some((actor, reason)) = app.post.directory.escalated() {
            return Err(RunError::Escalated { actor, reason });
        }
        if !aborted.is_empty() {
            return Err(RunError::ShutdownTimeout { aborted });
        }
        Ok(())
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self
            .entries
            .iter()
            .map(|entry| match entry {
                Entry::Actor(spec) => spec.name.as_str(),
                Entry::Supervisor(name, _) => name.as_str(),
            })
            .collect();
        f.debug_struct("Builder").field("global_frequency", &self.global_frequency).field("actors", &names).finish()
    }
}

/// The [`Builder`] right after [`Builder::actor`]: these calls set that actor's options.
#[must_use = "an application does nothing until .start() or .run()"]
#[derive(Debug)]
pub struct ActorBuilder(Builder);

impl ActorBuilder {
    fn spec(&mut self) -> Option<&mut Spec> {
        match self.0.entries.last_mut() {
            Some(Entry::Actor(spec)) => Some(spec),
            _ => None,
        }
    }

    fn options(mut self, change: impl FnOnce(ActorOptions) -> ActorOptions) -> Self {
        if let Some(spec) = self.spec() {
            spec.options = change(std::mem::take(&mut spec.options));
        }
        self
    }

    /// See [`ActorOptions::under`].
    pub fn under(self, supervisor: impl Into<String>) -> Self {
        self.options(|o| o.under(supervisor))
    }

    /// See [`ActorOptions::frequency`].
    pub fn frequency(self, hz: f64) -> Self {
        self.options(|o| o.frequency(hz))
    }

    /// See [`ActorOptions::reactive`].
    pub fn reactive(self) -> Self {
        self.options(ActorOptions::reactive)
    }

    /// See [`ActorOptions::capacity`].
    pub fn capacity(self, capacity: usize) -> Self {
        self.options(|o| o.capacity(capacity))
    }

    /// See [`ActorOptions::queue`].
    pub fn queue(self, queue: QueueKind) -> Self {
        self.options(|o| o.queue(queue))
    }

    /// See [`ActorOptions::policy`].
    pub fn policy(self, policy: FullPolicy) -> Self {
        self.options(|o| o.policy(policy))
    }

    /// See [`ActorOptions::bound`].
    pub fn bound(self, bound: bool) -> Self {
        self.options(|o| o.bound(bound))
    }

    /// See [`ActorOptions::restart`].
    pub fn restart(self, restart: Restart) -> Self {
        self.options(|o| o.restart(restart))
    }

    /// See [`ActorOptions::intensity`].
    pub fn intensity(self, max_restarts: u32, within: Duration) -> Self {
        self.options(|o| o.intensity(max_restarts, within))
    }

    /// See [`ActorOptions::backoff`].
    pub fn backoff(self, first: Duration, max: Duration) -> Self {
        self.options(|o| o.backoff(first, max))
    }

    /// See [`ActorOptions::mode`].
    pub fn mode(self, mode: Mode) -> Self {
        self.options(|o| o.mode(mode))
    }

    /// Whether the actor starts with the application (default `true`).
    /// With `false` it is only described: its name is taken, mail to it
    /// fails with `NoSuchRecipient`, until [`AppHandle::start_actor`] or
    /// [`Context::start_actor`](crate::Context::start_actor) starts it.
    pub fn autostart(mut self, autostart: bool) -> Self {
        if let Some(spec) = self.spec() {
            spec.autostart = autostart;
        }
        self
    }

    /// Makes this the main actor (Polycephaly's main process): when it
    /// stops, for whatever reason, every actor [bound](ActorOptions::bound)
    /// to it stops too. An application has at most one.
    pub fn main(mut self) -> Self {
        if let Some(spec) = self.spec() {
            spec.main = true;
        }
        self
    }

    /// Replaces all of this actor's options.
    pub fn with_options(self, options: ActorOptions) -> Self {
        self.options(|_| options)
    }

    /// See [`Builder::actor`].
    pub fn actor<A: Actor>(self, name: impl Into<String>, actor: A) -> ActorBuilder {
        self.0.actor(name, actor)
    }

    /// See [`Builder::actor_with`].
    pub fn actor_with<A: Actor>(
        self,
        name: impl Into<String>,
        factory: impl Fn() -> A + Send + Sync + 'static,
    ) -> ActorBuilder {
        self.0.actor_with(name, factory)
    }

    /// See [`Builder::global_frequency`].
    pub fn global_frequency(self, hz: f64) -> Self {
        Self(self.0.global_frequency(hz))
    }

    /// See [`Builder::strategy`].
    pub fn strategy(self, strategy: Strategy) -> Self {
        Self(self.0.strategy(strategy))
    }

    /// See [`Builder::supervisor`].
    pub fn supervisor(self, name: impl Into<String>, options: SupervisorOptions) -> Builder {
        self.0.supervisor(name, options)
    }

    /// See [`Builder::events`].
    pub fn events(&self) -> Events {
        self.0.events()
    }

    /// See [`Builder::shutdown_timeout`].
    pub fn shutdown_timeout(self, timeout: Duration) -> Self {
        Self(self.0.shutdown_timeout(timeout))
    }

    /// See [`Builder::force_stop`].
    pub fn force_stop(self, force: bool) -> Self {
        Self(self.0.force_stop(force))
    }

    /// See [`Builder::start`].
    ///
    /// # Errors
    ///
    /// As [`Builder::start`].
    pub async fn start(self) -> Result<AppHandle, SpawnError> {
        self.0.start().await
    }

    /// See [`Builder::run`].
    ///
    /// # Errors
    ///
    /// As [`Builder::run`].
    pub async fn run(self) -> Result<(), RunError> {
        self.0.run().await
    }
}

/// A handle on a running application, for code outside its actors: send and
/// request mail, spawn actors, read counters, shut down.
///
/// Cheap to clone. Mail sent through it comes from `$app`, a name no actor
/// can take.
#[derive(Clone)]
pub struct AppHandle {
    post: Post,
}

/// The sender name of mail from an [`AppHandle`].
pub const APP_SENDER: &str = "$app";

impl AppHandle {
    pub(crate) fn new(directory: Arc<Directory>) -> Self {
        Self { post: Post { directory, me: Name::new(APP_SENDER), incarnation: 0 } }
    }

    pub(crate) fn directory(&self) -> &Arc<Directory> {
        &self.post.directory
    }

    /// Starts composing mail; see [`Mail`].
    pub fn mail<B: Body>(&self, to: impl Into<Address>, subject: impl Into<Cow<'static, str>>, body: B) -> Mail<'_> {
        self.post.mail(to, subject, body)
    }

    /// Routes `envelope` as it is, to its recipient: for envelopes made
    /// elsewhere, such as those a bridge reads from a wire
    /// ([`Envelope::from_msgpack`]). Its id, thread, sender and headers
    /// are kept; a request read through a [`remote::Peer`](crate::remote::Peer)
    /// carries its reply slot. Waits for mailbox room if the recipient's
    /// policy says so.
    ///
    /// # Errors
    ///
    /// As [`Mail::send`].
    pub async fn post(&self, envelope: Envelope) -> Result<(), SendError> {
        self.post.post(envelope).await
    }

    /// Routes `envelope` as [`post`](Self::post) does, if that can be done
    /// without waiting.
    ///
    /// # Errors
    ///
    /// As [`Mail::try_send`].
    pub fn try_post(&self, envelope: Envelope) -> Result<(), SendError> {
        self.post.try_post(envelope)
    }

    /// Sends mail, waiting for mailbox room if the recipient's policy says so.
    ///
    /// # Errors
    ///
    /// As [`Mail::send`].
    pub async fn send<B: Body>(
        &self,
        to: impl Into<Address>,
        subject: impl Into<Cow<'static, str>>,
        body: B,
    ) -> Result<(), SendError> {
        self.mail(to, subject, body).send().await
    }

    /// Sends a request and waits for the reply.
    ///
    /// # Errors
    ///
    /// As [`Mail::request`].
    pub async fn request<B: Body>(
        &self,
        to: impl Into<Address>,
        subject: impl Into<Cow<'static, str>>,
        body: B,
        timeout: Duration,
    ) -> Result<Envelope, RequestError> {
        self.mail(to, subject, body).request(timeout).await
    }

    /// Starts another actor now.
    ///
    /// Returns as soon as the actor is registered, without waiting for its
    /// `birth`: mail sent to it from then on is queued and handled after
    /// `birth`; the topics and groups it joins in `birth` take effect when
    /// `birth` has run.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] for an invalid or taken name, invalid options, or an
    /// application that is shutting down.
    pub fn spawn<A: Actor>(&self, name: &str, actor: A, options: ActorOptions) -> Result<(), SpawnError> {
        if options.supervision.restart != Restart::Never {
            return Err(SpawnError::NotRestartable(Name::new(name)));
        }
        self.spawn_from(name, Source::once(actor), options)
    }

    /// Starts another actor made by `factory`, which makes a new one for
    /// every restart; otherwise as [`AppHandle::spawn`].
    ///
    /// # Errors
    ///
    /// As [`AppHandle::spawn`].
    pub fn spawn_with<A: Actor>(
        &self,
        name: &str,
        factory: impl Fn() -> A + Send + Sync + 'static,
        options: ActorOptions,
    ) -> Result<(), SpawnError> {
        let supervision = options.supervision;
        self.spawn_from(name, Source::factory(factory, supervision), options)
    }

    fn spawn_from<A: Actor>(&self, name: &str, source: Source<A>, options: ActorOptions) -> Result<(), SpawnError> {
        let directory = &self.post.directory;
        let name = valid_name(name)?;
        if options.mode == Mode::Process {
            // The child process finds its actor in the builder.
            return Err(SpawnError::NotInBuilder(name));
        }
        let hz = options.resolve(&name, directory.global_frequency)?;
        let cell = Arc::new(options.cell(name, directory)?);
        directory.register(cell.clone())?;
        // Not waited for: see above.
        runner::start(directory, cell, source, hz, None);
        Ok(())
    }

    /// A stream of the lifecycle events from now on (use
    /// [`Builder::events`] to see the start as well).
    pub fn events(&self) -> Events {
        self.post.directory.events.subscribe()
    }

    /// Sends a poison pill: the recipient handles what is queued before it,
    /// then runs `death` with [`ExitReason::Normal`](crate::ExitReason::Normal)
    /// and stops; mail queued after it is a dead letter. The pill is queued
    /// like any mail (and waits for room as `send` does). Its mark exists only
    /// in this process: mail from outside with the same subject is ordinary
    /// mail. To a group, one member takes it; to everyone, every actor.
    ///
    /// # Errors
    ///
    /// As [`Mail::send`].
    pub async fn poison(&self, to: impl Into<Address>) -> Result<(), SendError> {
        self.post.poison(to.into()).await
    }

    /// Pulls the emergency brake from outside the actors; see
    /// [`Context::ebrake`](crate::Context::ebrake).
    pub fn ebrake(&self, reason: impl Into<String>) {
        self.post.directory.ebrake(self.post.me.clone(), reason.into());
    }

    /// Starts an actor that was added with [autostart](ActorBuilder::autostart)
    /// off; returns once its `birth` is over.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NotDormant`] if no actor of that name waits to be
    /// started; [`SpawnError::ShuttingDown`] during a shutdown.
    pub async fn start_actor(&self, name: &str) -> Result<(), SpawnError> {
        self.post.directory.start_dormant(name).await
    }

    /// Whether an actor of this name is running.
    pub fn is_running(&self, name: &str) -> bool {
        self.post.directory.lookup(name).is_some()
    }

    /// The application-wide counters.
    pub fn stats(&self) -> AppStats {
        self.post.directory.stats()
    }

    /// One actor's counters, if it is running.
    pub fn actor_stats(&self, name: &str) -> Option<ActorStats> {
        self.post.directory.lookup(name).map(|cell| cell.stats())
    }

    /// Waits until every actor has stopped.
    pub async fn wait(&self) {
        self.post.directory.tracker.wait().await;
    }

    /// Shuts the application down gracefully, as an OTP supervisor does:
    /// one actor at a time, in reverse start order, each gets a poison pill,
    /// handles the mail queued before it, runs `death` with
    /// [`ExitReason::Shutdown`](crate::ExitReason::Shutdown) and stops; then
    /// the actor started before it gets its pill. No actor starts or
    /// restarts any more. An actor that has not finished its turn within the
    /// [shutdown timeout](Builder::shutdown_timeout) is aborted without
    /// `death`, logged, and the shutdown goes on. Returns once every actor
    /// has stopped, with the names of those aborted: an empty list is a
    /// clean shutdown.
    ///
    /// Calling it again (or while an escalation is shutting the application
    /// down) joins the same shutdown.
    pub async fn shutdown(&self) -> Vec<Name> {
        let shutdown = self.post.directory.shutdown();
        shutdown.finished().await;
        self.wait().await;
        shutdown.aborted()
    }
}

impl fmt::Debug for AppHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppHandle").field("stats", &self.stats()).finish()
    }
}

fn valid_name(name: &str) -> Result<Name, SpawnError> {
    if name.is_empty() || name.starts_with('$') || name.contains(':') || name == "*" {
        return Err(SpawnError::InvalidName(name.to_owned()));
    }
    Ok(Name::new(name))
}
