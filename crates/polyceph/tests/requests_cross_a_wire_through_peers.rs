//! Two applications joined by an in-memory "wire" of msgpack frames, each
//! end with a `remote::Peer`: requests and deliveries cross it and come back
//! answered, or fail with the far side's reason; nothing waits forever.

mod support;

use std::sync::Arc;
use std::time::Duration;

use polyceph::error::{DeliverError, RequestError};
use polyceph::prelude::*;
use polyceph::remote::{Incoming, Peer};
use tokio::sync::mpsc;

/// The near side's bridge writer: every envelope sent to it is tracked by
/// its peer and written to the wire as msgpack.
struct Wire {
    peer: Arc<Peer>,
    out: mpsc::UnboundedSender<Vec<u8>>,
}

impl Actor for Wire {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::write);
        Ok(())
    }
}

impl Wire {
    async fn write(&mut self, _: &mut Context<Self>, mut mail: Envelope) -> Result<()> {
        if self.peer.outgoing(&mut mail).is_ok() {
            self.out.send(mail.to_msgpack()?)?;
        }
        Ok(())
    }
}

/// The far side's actor: answers `echo`, handles `note` silently, and has
/// no handler for anything else.
struct Echo;

impl Actor for Echo {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^echo$")?, Self::echo);
        ctx.on(Filter::subject("^note$")?, Self::note);
        Ok(())
    }
}

impl Echo {
    async fn echo(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, mail.body::<String>()?).header("echoed", true).send().await?;
        Ok(())
    }

    async fn note(&mut self, _: &mut Context<Self>, _: Envelope) -> Result<()> {
        Ok(())
    }
}

struct Joined {
    near: AppHandle,
    far: AppHandle,
    near_peer: Arc<Peer>,
}

/// Starts both applications and the far side's reader, which posts what it
/// reads (readdressed to `echo`) and writes each answer back to the near
/// side's peer.
async fn join() -> Joined {
    let near_peer = Arc::new(Peer::new("far"));
    let (out, mut wire) = mpsc::unbounded_channel::<Vec<u8>>();
    let near = Application::builder()
        .actor("wire", Wire { peer: near_peer.clone(), out })
        .start()
        .await
        .expect("the near side starts");
    let far = Application::builder().actor("echo", Echo).start().await.expect("the far side starts");
    let far_peer = Peer::new("near");
    let (far_app, back) = (far.clone(), near_peer.clone());
    tokio::spawn(async move {
        while let Some(frame) = wire.recv().await {
            let read = Envelope::from_msgpack(&frame).expect("a frame the near side wrote");
            let Incoming::Mail { mut envelope, answer } = far_peer.incoming(read) else {
                panic!("the near side sends only mail");
            };
            envelope.set_recipient("echo");
            far_app.post(envelope).await.expect("echo is there");
            if let Some(answer) = answer {
                let back = back.clone();
                tokio::spawn(async move {
                    let frame = answer.wait().await.to_msgpack().expect("answers encode");
                    let answer = Envelope::from_msgpack(&frame).expect("answers decode");
                    assert!(matches!(back.incoming(answer), Incoming::Settled), "every answer settles a request");
                });
            }
        }
    });
    Joined { near, far, near_peer }
}

#[tokio::test]
async fn a_request_is_answered_across_the_wire() {
    let Joined { near, far, near_peer } = join().await;
    let reply = near.mail("wire", "echo", "hello".to_owned()).request(Duration::from_secs(10)).await.expect("a reply");
    assert_eq!(reply.body::<String>().unwrap(), "hello");
    assert_eq!(reply.thread_index(), 2);
    assert_eq!(reply.field("echoed").as_deref(), Some("true"));
    assert_eq!(near_peer.pending(), 0, "the answered request is no longer pending");
    near.shutdown().await;
    far.shutdown().await;
}

#[tokio::test]
async fn a_delivery_is_acknowledged_across_the_wire() {
    let Joined { near, far, .. } = join().await;
    near.mail("wire", "note", ()).deliver(Duration::from_secs(10)).await.expect("acknowledged after handling");
    near.shutdown().await;
    far.shutdown().await;
}

#[tokio::test]
async fn the_far_sides_reason_comes_back() {
    let Joined { near, far, .. } = join().await;
    // `note` is handled without a reply; nothing handles `nothing`.
    let no_reply = near.mail("wire", "note", ()).request(Duration::from_secs(10)).await;
    assert!(matches!(no_reply, Err(RequestError::NoReply { .. })), "{no_reply:?}");
    let unhandled = near.mail("wire", "nothing", ()).deliver(Duration::from_secs(10)).await;
    assert!(matches!(unhandled, Err(DeliverError::Unhandled { .. })), "{unhandled:?}");
    near.shutdown().await;
    far.shutdown().await;
}

#[tokio::test]
async fn a_far_side_that_is_gone_fails_requests_at_once() {
    let near_peer = Arc::new(Peer::new("far"));
    // A wire nobody reads: requests would wait for their timeout.
    let (out, _unread) = mpsc::unbounded_channel();
    let near =
        Application::builder().actor("wire", Wire { peer: near_peer.clone(), out }).start().await.expect("starts");
    let waiting = tokio::spawn({
        let near = near.clone();
        async move { near.mail("wire", "echo", "a".to_owned()).request(Duration::from_secs(3600)).await }
    });
    while near_peer.pending() == 0 {
        tokio::task::yield_now().await;
    }
    near_peer.fail_pending("the far side closed");
    let failed = waiting.await.unwrap();
    assert!(
        matches!(&failed, Err(RequestError::Lost { reason, .. }) if reason.contains("the far side closed")),
        "{failed:?}"
    );
    // And later requests fail at once too, until the far side is back.
    let later = near.mail("wire", "echo", "b".to_owned()).request(Duration::from_secs(3600)).await;
    assert!(matches!(&later, Err(RequestError::Lost { .. })), "{later:?}");
    assert!(near_peer.is_gone());
    near_peer.revive();
    assert!(!near_peer.is_gone());
    near.shutdown().await;
}

#[tokio::test]
async fn a_request_lost_further_on_comes_back_as_lost() {
    // near --wire--> far --onward wire--> a far side that goes away.
    let near_peer = Arc::new(Peer::new("far"));
    let (out, mut wire) = mpsc::unbounded_channel::<Vec<u8>>();
    let near = Application::builder().actor("wire", Wire { peer: near_peer.clone(), out }).start().await.unwrap();
    let onward_peer = Arc::new(Peer::new("next hop"));
    let (onward_out, _unread) = mpsc::unbounded_channel();
    let far = Application::builder()
        .actor("onward", Wire { peer: onward_peer.clone(), out: onward_out })
        .start()
        .await
        .unwrap();
    let asking = tokio::spawn({
        let near = near.clone();
        async move { near.mail("wire", "echo", "a".to_owned()).request(Duration::from_secs(3600)).await }
    });

    let frame = wire.recv().await.expect("the request crosses the first wire");
    let Incoming::Mail { mut envelope, answer: Some(answer) } =
        Peer::new("near").incoming(Envelope::from_msgpack(&frame).unwrap())
    else {
        panic!("a request that wants an answer");
    };
    envelope.set_recipient("onward");
    far.post(envelope).await.unwrap();
    while onward_peer.pending() == 0 {
        tokio::task::yield_now().await;
    }
    onward_peer.fail_pending("the next hop closed");
    let answer = Envelope::from_msgpack(&answer.wait().await.to_msgpack().unwrap()).unwrap();
    assert!(matches!(near_peer.incoming(answer), Incoming::Settled));

    let lost = asking.await.unwrap();
    assert!(
        matches!(&lost, Err(RequestError::Lost { reason, .. }) if reason.contains("the next hop closed")),
        "{lost:?}"
    );
    near.shutdown().await;
    far.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn requests_the_far_side_never_answers_are_forgotten_once_given_up() {
    let near_peer = Arc::new(Peer::new("far"));
    // A far side that takes everything and answers nothing.
    let (out, _unread) = mpsc::unbounded_channel();
    let near =
        Application::builder().actor("wire", Wire { peer: near_peer.clone(), out }).start().await.expect("starts");
    for _ in 0..300 {
        let unanswered = near.mail("wire", "echo", "a".to_owned()).request(Duration::from_millis(5)).await;
        assert!(matches!(unanswered, Err(RequestError::Timeout { .. })), "{unanswered:?}");
    }
    // Swept once 64 are kept: what is given up does not pile up.
    assert!(near_peer.pending() <= 64, "{} given-up requests kept", near_peer.pending());
    assert!(near_peer.pending() > 0, "the sweep keeps only what waits, and sweeps only from time to time");
    near.shutdown().await;
}

#[test]
fn a_stray_control_envelope_is_reported_not_delivered() {
    let peer = Peer::new("far");
    let frame = br#"{"v": 1, "id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
        "thread": "67e55044-10b1-426f-9247-bb680e5fe0c8", "thread_index": 2,
        "time": "2026-11-21T10:00:00Z", "sender": "$link", "recipient": "asker",
        "subject": "acked", "priority": 0, "headers": {}, "body": null,
        "in_reply_to": "9a2b0e5c-10b1-426f-9247-bb680e5fe0c8"}"#;
    let read = Envelope::from_json(frame).expect("a valid envelope");
    assert!(matches!(peer.incoming(read), Incoming::Control(_)));
}
