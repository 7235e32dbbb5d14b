//! Two applications hold a conversation over two FIFOs: each pairs a
//! reader of one FIFO with a writer of the other. Requests sent to the
//! writer actor come back with the far side's reply; deliveries are
//! acknowledged once the far side has handled them; the far side's errors
//! cross over; and a request to a far side that has gone fails at once.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use polyceph::error::{DeliverError, RequestError};
use polyceph::prelude::*;
use polyceph_fifo::{FifoReader, FifoWriter, ReaderCounters};
use support::{PATIENCE, fifo_path, stats_until};
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

/// Doubles numbers, stays silent when asked to, and reports notes.
struct Doubler {
    notes: mpsc::UnboundedSender<String>,
}

impl Actor for Doubler {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^double$")?, Self::double);
        ctx.on(Filter::subject("^note$")?, Self::note);
        ctx.on(Filter::subject("^silent$")?, Self::silent);
        Ok(())
    }
}

impl Doubler {
    async fn double(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, mail.body::<u64>()? * 2).header("by", ctx.name().as_str()).send().await?;
        Ok(())
    }

    async fn note(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.notes.send(mail.body()?)?;
        Ok(())
    }

    async fn silent(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Ok(())
    }
}

struct Side {
    app: AppHandle,
    notes: mpsc::UnboundedReceiver<String>,
    counters: ReaderCounters,
}

/// An application named `name` reading `inbox` and writing `outbox`: mail
/// to its actor `out` goes to the other side, which delivers it to its
/// doubler.
async fn side(name: &str, inbox: &Path, outbox: &Path) -> anyhow::Result<Side> {
    let (reader, writer) = polyceph_fifo::pair(FifoReader::builder(inbox, name), FifoWriter::builder(outbox))?;
    let counters = reader.counters();
    let (tx, notes) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor(name, Doubler { notes: tx })
        .actor("out", writer)
        .actor("in", reader)
        .start()
        .await?;
    Ok(Side { app, notes, counters })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_deliveries_cross_both_ways() -> anyhow::Result<()> {
    let (_dir, a_to_b) = fifo_path("a-to-b.fifo");
    let b_to_a = a_to_b.with_file_name("b-to-a.fifo");
    let a = side("alice", &b_to_a, &a_to_b).await?;
    let mut b = side("bob", &a_to_b, &b_to_a).await?;

    let request = a.app.mail("out", "double", 21_u64);
    let asked = request.envelope().clone();
    let reply = request.request(PATIENCE).await?;
    assert_eq!(reply.body::<u64>()?, 42);
    assert_eq!(reply.field("by").as_deref(), Some("bob"), "answered by the other application");
    assert_eq!((reply.thread(), reply.in_reply_to(), reply.thread_index()), (asked.thread(), Some(asked.id()), 2));

    let reply = b.app.request("out", "double", 50_u64, PATIENCE).await?;
    assert_eq!((reply.body::<u64>()?, reply.field("by").as_deref()), (100, Some("alice")));

    // A delivery is acknowledged once the far side's handler is done.
    a.app.mail("out", "note", "handled first").deliver(PATIENCE).await?;
    assert_eq!(b.notes.try_recv()?, "handled first", "acknowledged after the handler ran");

    // The far side's reasons come back as the same errors.
    let silent = a.app.request("out", "silent", (), PATIENCE).await;
    assert!(matches!(silent, Err(RequestError::NoReply { .. })), "{silent:?}");
    let unhandled = a.app.mail("out", "nobody handles this", ()).deliver(PATIENCE).await;
    assert!(matches!(unhandled, Err(DeliverError::Unhandled { .. })), "{unhandled:?}");

    // Counted just after the requester is woken.
    let a_stats = stats_until(&a.counters, |s| s.settled == 4 && s.answered == 1).await;
    let b_stats = stats_until(&b.counters, |s| s.settled == 1 && s.answered == 4).await;
    assert_eq!((a_stats.delivered, a_stats.malformed, a_stats.stray_controls), (1, 0, 0), "{a_stats:?}");
    assert_eq!((b_stats.delivered, b_stats.malformed, b_stats.stray_controls), (4, 0, 0), "{b_stats:?}");
    a.app.shutdown().await;
    b.app.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_a_side_that_has_gone_fails_at_once_not_at_its_timeout() -> anyhow::Result<()> {
    let (_dir, a_to_b) = fifo_path("a-to-b.fifo");
    let b_to_a = a_to_b.with_file_name("b-to-a.fifo");
    let a = side("alice", &b_to_a, &a_to_b).await?;
    let b = side("bob", &a_to_b, &b_to_a).await?;
    assert_eq!(a.app.request("out", "double", 1_u64, PATIENCE).await?.body::<u64>()?, 2);
    b.app.shutdown().await;

    for attempt in 0..2 {
        let started = Instant::now();
        let gone = a.app.request("out", "double", 2_u64, Duration::from_secs(60)).await;
        assert!(
            matches!(&gone, Err(RequestError::HandlerFailed { reason, .. }) if reason.contains("no reader")),
            "attempt {attempt}: {gone:?}"
        );
        assert!(started.elapsed() < PATIENCE, "attempt {attempt} waited for its timeout");
    }
    a.app.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_for_a_side_found_gone_fail_then_and_there() -> anyhow::Result<()> {
    let (_dir, a_to_b) = fifo_path("a-to-b.fifo");
    let b_to_a = a_to_b.with_file_name("b-to-a.fifo");
    let a = side("alice", &b_to_a, &a_to_b).await?;
    // A far side that reads a request, never answers, and goes away.
    let far = pipe::OpenOptions::new().open_receiver(&a_to_b)?;

    let started = Instant::now();
    let waiting = tokio::spawn({
        let app = a.app.clone();
        async move { app.request("out", "double", 1_u64, Duration::from_secs(60)).await }
    });
    far.readable().await?;
    assert!(far.try_read(&mut [0; 4096])? > 0, "the request was written");
    drop(far);

    // The next write finds the far side's reader gone: the request waiting
    // for it fails with it, long before its timeout.
    let next = a.app.request("out", "double", 2_u64, PATIENCE).await;
    assert!(
        matches!(&next, Err(RequestError::HandlerFailed { reason, .. }) if reason.contains("no reader")),
        "{next:?}"
    );
    let waited = tokio::time::timeout(PATIENCE, waiting).await??;
    assert!(matches!(&waited, Err(RequestError::Lost { reason, .. }) if reason.contains("went away")), "{waited:?}");
    assert!(started.elapsed() < Duration::from_secs(60));
    a.app.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_a_far_side_never_answers_are_forgotten_once_expired() -> anyhow::Result<()> {
    let (_dir, a_to_b) = fifo_path("a-to-b.fifo");
    let b_to_a = a_to_b.with_file_name("b-to-a.fifo");
    let (reader, writer) = polyceph_fifo::pair(FifoReader::builder(&b_to_a, "main"), FifoWriter::builder(&a_to_b))?;
    let app = Application::builder().actor("out", writer.clone()).actor("in", reader).start().await?;
    // A far side that reads everything and answers nothing (a script ignoring `expects`).
    let far = pipe::OpenOptions::new().open_receiver(&a_to_b)?;
    let draining = tokio::spawn(async move {
        let mut buf = vec![0; 64 * 1024];
        loop {
            far.readable().await?;
            match far.try_read(&mut buf) {
                Err(error) if error.kind() != std::io::ErrorKind::WouldBlock => return Err::<(), _>(error),
                _ => {}
            }
        }
    });

    for _ in 0..300 {
        let unanswered = app.request("out", "double", 1_u64, Duration::from_millis(2)).await;
        assert!(matches!(unanswered, Err(RequestError::Timeout { .. })), "{unanswered:?}");
    }
    // The peer sweeps what nobody waits for once it holds 64: never more.
    assert!(writer.pending() <= 64, "{} requests still kept for a far side that never answers", writer.pending());
    assert_eq!(writer.stats().sent, 300);
    draining.abort();
    app.shutdown().await;
    Ok(())
}
