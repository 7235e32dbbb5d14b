//! Proves the test kit (`polyceph::testing`, feature `test-util`): a probe's
//! `expect` returns the next matching mail and keeps the rest in order, a
//! wait for mail that never comes ends at its timeout, and event streams
//! wait for a named actor to start or stop.

use std::time::Duration;

use polyceph::error::ReceiveError;
use polyceph::prelude::*;
use polyceph::testing::Probe;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn expect_takes_the_match_and_keeps_the_rest_in_order() -> anyhow::Result<()> {
    let (probe, mut recorded) = Probe::new();
    let app = Application::builder().actor("probe", probe).start().await?;
    for subject in ["a", "b", "wanted", "c"] {
        app.send("probe", subject, ()).await?;
    }
    assert_eq!(recorded.expect(&Filter::subject("^wanted$")?, SECOND).await?.subject(), "wanted");
    let mut rest = Vec::new();
    while let Some(mail) = recorded.try_next() {
        rest.push(mail.subject().to_owned());
    }
    assert_eq!(rest, ["a", "b", "c"]);
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn waiting_for_mail_that_never_comes_ends_at_the_timeout() -> anyhow::Result<()> {
    let (probe, mut recorded) = Probe::new();
    let app = Application::builder().actor("probe", probe).start().await?;
    let started = Instant::now();
    assert_eq!(recorded.next(SECOND).await.err(), Some(ReceiveError::Timeout(SECOND)));
    assert_eq!(recorded.expect(&Filter::any(), SECOND).await.err(), Some(ReceiveError::Timeout(SECOND)));
    assert_eq!(started.elapsed(), 2 * SECOND);
    app.shutdown().await;
    assert_eq!(recorded.next(SECOND).await.err(), Some(ReceiveError::Closed), "the probe has stopped");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn events_wait_for_a_named_start_and_stop() -> anyhow::Result<()> {
    let (probe, _recorded) = Probe::new();
    let builder = Application::builder().actor("probe", probe);
    let mut events = builder.events();
    let app = builder.start().await?;
    assert!(events.started("PROBE", SECOND).await, "names ignore case");
    assert_eq!(events.stopped("probe", SECOND).await, None, "still running after a second");
    app.poison("probe").await?;
    assert_eq!(events.stopped("probe", SECOND).await, Some(ExitReason::Normal));
    Ok(())
}
