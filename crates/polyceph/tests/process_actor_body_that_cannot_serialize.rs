//! A request to a process actor whose body fails to serialize is not sent:
//! it fails at once with the encoder's message (not a timeout), and the
//! actor, untouched, answers the next request.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use serde::{Serialize, Serializer};

const WHY: &str = "this body refuses to be serialized";

/// A body whose `Serialize` always fails.
struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: Serializer>(&self, _serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(WHY))
    }
}

/// Answers any request with its pid.
struct Echo;

impl Actor for Echo {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::pid);
        Ok(())
    }
}

impl Echo {
    async fn pid(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_cannot_serialize_fails_its_request_and_the_actor_goes_on() -> anyhow::Result<()> {
    let app = Application::builder()
        .process_args([
            "--exact",
            "a_body_that_cannot_serialize_fails_its_request_and_the_actor_goes_on",
            "--nocapture",
        ])
        .actor("echo", Echo)
        .mode(Mode::Process)
        .start()
        .await?;
    let first: u32 = app.request("echo", "pid", (), Duration::from_secs(5)).await?.body()?;
    assert_ne!(first, std::process::id(), "the actor runs in another process");

    // Far shorter than the request's own timeout: a hang fails here.
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        app.request("echo", "pid", Unserializable, Duration::from_secs(60)),
    )
    .await
    .expect("the request fails at once instead of waiting for its timeout");
    match refused {
        Err(RequestError::HandlerFailed { to, reason }) => {
            assert!(to.to_string().contains("echo"), "{to}");
            assert!(reason.contains(WHY), "the error gives the encoder's message: {reason}");
        }
        other => panic!("expected the request to fail with the encoder's message, got {other:?}"),
    }

    let next: u32 = app.request("echo", "pid", (), Duration::from_secs(5)).await?.body()?;
    assert_eq!(next, first, "the same process answers the next request");
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
