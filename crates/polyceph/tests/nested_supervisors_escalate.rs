//! Proves that supervisors nest: a child failing past its intensity makes
//! its supervisor fail, which its parent restarts (every child afresh, in
//! start order) while the application runs on; a supervisor failing past
//! its own intensity escalates to the application, which shuts down.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::{APP_SENDER, Event, Strategy, SupervisorOptions};
use support::member;
use tokio::sync::mpsc;

const SECOND: Duration = Duration::from_secs(1);

/// `outside` under the application, then `x` (one restart a minute) and
/// `y` under the `inner` supervisor.
fn builder(inner: SupervisorOptions, log: &mpsc::UnboundedSender<String>) -> polyceph::ActorBuilder {
    Application::builder()
        .actor_with("outside", member("outside", log))
        .restart(Restart::OnFailure)
        .supervisor("inner", inner)
        .actor_with("x", member("x", log))
        .restart(Restart::OnFailure)
        .intensity(1, Duration::from_secs(60))
        .under("inner")
        .actor_with("y", member("y", log))
        .restart(Restart::OnFailure)
        .under("inner")
}

async fn next(log: &mut mpsc::UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(log.recv().await.expect("the log is open"));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_failing_group_is_restarted_whole_and_the_application_runs_on() -> anyhow::Result<()> {
    let (log, mut rx) = mpsc::unbounded_channel();
    let builder = builder(SupervisorOptions::new(Strategy::OneForOne), &log);
    let mut events = builder.events();
    let app = builder.start().await?;
    next(&mut rx, 3).await;

    app.send("x", "crash", ()).await?;
    assert_eq!(next(&mut rx, 2).await, ["x death: panicked: x crashes", "x birth"], "one restart is allowed");
    app.send("x", "crash", ()).await?;
    let restarted = events.wait_for(SECOND, |e| matches!(e, Event::SupervisorRestarted { .. })).await;
    assert_eq!(restarted, Some(Event::SupervisorRestarted { supervisor: APP_SENDER.into(), after: "inner".into() }));
    assert_eq!(
        next(&mut rx, 4).await,
        [
            "x death: panicked: x crashes",
            "y death: stopped by its supervisor to restart with a failed sibling",
            "x birth",
            "y birth",
        ]
    );

    // `x` starts afresh: its restart window is empty again.
    app.send("x", "crash", ()).await?;
    assert_eq!(next(&mut rx, 2).await, ["x death: panicked: x crashes", "x birth"]);
    assert_eq!(app.actor_stats("outside").map(|s| s.restarts), Some(0), "outside the group, untouched");
    assert!(app.is_running("y"));
    assert!(app.shutdown().await.is_empty());
    let escalated = events.wait_for(SECOND, |e| matches!(e, Event::Escalated { .. })).await;
    assert_eq!(escalated, None, "nothing escalated to the application");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_group_failing_past_its_intensity_stops_the_application() -> anyhow::Result<()> {
    let (log, mut rx) = mpsc::unbounded_channel();
    let inner = SupervisorOptions::new(Strategy::OneForOne).intensity(0, Duration::from_secs(60));
    let builder = builder(inner, &log);
    let mut events = builder.events();
    let app = builder.start().await?;
    next(&mut rx, 3).await;

    app.send("x", "crash", ()).await?;
    next(&mut rx, 2).await;
    app.send("x", "crash", ()).await?;

    let escalated = events.wait_for(SECOND, |e| matches!(e, Event::Escalated { .. })).await;
    let Some(Event::Escalated { actor, reason }) = escalated else { panic!("no escalation: {escalated:?}") };
    assert_eq!((actor.as_str(), reason), ("inner", ExitReason::Panicked("x crashes".into())));
    // The application shuts itself down: nobody calls `shutdown`.
    app.wait().await;
    assert_eq!(
        next(&mut rx, 3).await,
        [
            "x death: panicked: x crashes",
            "y death: stopped by its supervisor to restart with a failed sibling",
            "outside death: shutdown",
        ]
    );
    // Every actor has stopped: anything more would already be here.
    assert_eq!(rx.try_recv().ok(), None, "x and y were not started again");
    Ok(())
}
