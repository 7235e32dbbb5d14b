//! An actor application living inside another async service.
//!
//! The host is a small TCP service on loopback: each connection sends a
//! name and gets a greeting back. The service owns the runtime and its own
//! shutdown; polyceph is embedded with `start()` (which installs no signal
//! handler), and the service's connection handlers talk to the actors
//! through an `AppHandle`: `greeter` makes the greeting, `visits` counts
//! them. The example plays a few clients against itself, then shuts the
//! actors down gracefully and says whether any had to be aborted.
//!
//! ```text
//! cargo run --example embedded
//! cargo run --example embedded -- --clients 10
//! ```

use std::time::Duration;

use clap::Parser;
use polyceph::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "An actor application embedded in a TCP service")]
struct Args {
    /// How many demo clients to run against the service.
    #[arg(long, default_value_t = 3)]
    clients: u32,
}

/// Greets by name, after counting the visit with `visits`.
struct Greeter;

impl Actor for Greeter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^greet$")?, Self::greet);
        Ok(())
    }
}

impl Greeter {
    async fn greet(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let name: String = mail.body()?;
        let visit = ctx.mail("visits", "count", ()).request(Duration::from_secs(1)).await?;
        let greeting = format!("Hello, {name}! You are visitor number {}.", visit.body::<u64>()?);
        ctx.reply(&mail, greeting).send().await?;
        Ok(())
    }
}

/// Counts visits.
#[derive(Default)]
struct Visits {
    count: u64,
}

impl Actor for Visits {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^count$")?, Self::count);
        Ok(())
    }
}

impl Visits {
    async fn count(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.count += 1;
        ctx.reply(&mail, self.count).send().await?;
        Ok(())
    }
}

/// The host service's connection handler: a line in, a line out.
async fn serve(mut stream: TcpStream, actors: AppHandle) -> anyhow::Result<()> {
    let (read, mut write) = stream.split();
    let mut name = String::new();
    BufReader::new(read).read_line(&mut name).await?;
    let reply = actors.request("greeter", "greet", name.trim().to_owned(), Duration::from_secs(2)).await?;
    write.write_all(format!("{}\n", reply.body::<String>()?).as_bytes()).await?;
    Ok(())
}

/// A demo client.
async fn client(address: std::net::SocketAddr, name: String) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(format!("{name}\n").as_bytes()).await?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).await?;
    Ok(answer.trim().to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    polyceph_examples::init_tracing();

    // The embedded application: no signal handlers, just a handle.
    let actors = Application::builder().actor("greeter", Greeter).actor("visits", Visits::default()).start().await?;

    // The host service, on loopback only.
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "service listening");
    let service_actors = actors.clone();
    let service = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { break };
            let actors = service_actors.clone();
            tokio::spawn(async move {
                if let Err(error) = serve(stream, actors).await {
                    tracing::warn!(%error, "connection failed");
                }
            });
        }
    });

    for n in 1..=args.clients {
        println!("{}", client(address, format!("client {n}")).await?);
    }

    service.abort();
    let aborted = actors.shutdown().await;
    if aborted.is_empty() {
        println!("actors stopped cleanly");
    } else {
        println!("actors aborted after the shutdown timeout: {aborted:?}");
    }
    Ok(())
}
