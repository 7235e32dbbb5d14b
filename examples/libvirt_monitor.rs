//! Watches libvirt's built-in test hypervisor (`test:///default`, in this
//! process, no daemon needed).
//!
//! `libvirt`, a `LibvirtPoller`, polls it every second and mails what it
//! finds to `monitor`, which prints each domain's state, each state change
//! and each change of the host's connection. `operator`, another actor,
//! suspends the `test` domain every few seconds and resumes it the next
//! time, by request to the poller; the monitor sees each as a
//! `domain.state_changed` mail at the next poll.
//!
//! Built only with the `libvirt` feature, which needs `libvirt-dev` and
//! `pkg-config`:
//!
//! ```text
//! cargo run -p polyceph-examples --features libvirt --example libvirt_monitor               # until Ctrl-C
//! cargo run -p polyceph-examples --features libvirt --example libvirt_monitor -- --cycles 1 # one suspend and resume
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use polyceph::prelude::*;
use polyceph_libvirt::{
    DomainRef, DomainState, Domains, HostStatusChanged, LibvirtPoller, Reply, StateChanged, subjects,
};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Polls libvirt's test hypervisor and pauses its domain now and then")]
struct Args {
    /// Stop after this many suspend-and-resume cycles (default: run until Ctrl-C).
    #[arg(long)]
    cycles: Option<u32>,
}

/// Prints what the poller mails.
struct Monitor;

impl Actor for Monitor {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^domains$")?, Self::domains);
        ctx.on(Filter::subject(r"^domain\.state_changed$")?, Self::state_changed);
        ctx.on(Filter::subject(r"^host\.status$")?, Self::host_status);
        Ok(())
    }
}

impl Monitor {
    async fn domains(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let polled: Domains = mail.body()?;
        for domain in &polled.domains {
            tracing::info!(
                "{}: {} is {} ({} vCPUs, {} MiB of {} MiB)",
                polled.host,
                domain.name,
                state(domain.state),
                domain.vcpus,
                domain.memory_kib / 1024,
                domain.max_memory_kib / 1024,
            );
        }
        Ok(())
    }

    async fn state_changed(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let changed: StateChanged = mail.body()?;
        tracing::info!("{}: {} went from {} to {}", changed.host, changed.name, state(changed.from), state(changed.to));
        Ok(())
    }

    async fn host_status(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let changed: HostStatusChanged = mail.body()?;
        tracing::info!("{}: {:?}", changed.host, changed.status);
        Ok(())
    }
}

fn state(state: DomainState) -> String {
    format!("{state:?}").to_lowercase()
}

/// Suspends the `test` domain at one tick, resumes it at the next; after
/// `cycles` of both, stops the application (it is the main actor).
struct Operator {
    actions: u32,
    cycles: Option<u32>,
}

impl Actor for Operator {
    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        // Stops a tick after the last action, once the monitor has seen it.
        if self.cycles.is_some_and(|cycles| self.actions >= 2 * cycles) {
            ctx.die();
            return Ok(());
        }
        let action = if self.actions.is_multiple_of(2) { subjects::SUSPEND } else { subjects::RESUME };
        tracing::info!("operator: {action} test");
        let reply =
            ctx.mail("libvirt", action, DomainRef::new("local", "test")).request(Duration::from_secs(10)).await?;
        match reply.body::<Reply<()>>()? {
            Ok(()) => tracing::info!("operator: {action} done"),
            Err(error) => tracing::warn!("operator: {action} failed: {error}"),
        }
        self.actions += 1;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    polyceph_examples::init_tracing();
    let poller = match LibvirtPoller::builder()
        .host("local", "test:///default")
        .recipient("monitor")
        .frequency(1.0)
        .call_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(poller) => poller,
        Err(error) => {
            eprintln!("libvirt_monitor: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = Application::builder()
        .actor("monitor", Monitor)
        .actor("libvirt", poller)
        // Acts every 3.5 s, so each change shows at a poll of its own.
        .actor("operator", Operator { actions: 0, cycles: args.cycles })
        .frequency(1.0 / 3.5)
        .main()
        .run()
        .await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("libvirt_monitor: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
