//! Proves that datagrams not in the format (foreign traffic, a future
//! version, bad fragment numbers) and messages above the listener's max
//! message are dropped, counted and logged as warnings, and that the
//! listener goes on.

mod support;

use std::sync::{Arc, Mutex};

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::MulticastListener;
use support::{RAW, config, datagram, next, raw_sender, single, stats_until};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

/// Records the message of every warning.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        if *event.metadata().level() == tracing::Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().expect("not poisoned").push(message.0);
        }
    }
}

// One thread: the listener's tasks log to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn bad_datagrams_are_counted_logged_and_skipped() -> anyhow::Result<()> {
    let warnings = Warnings::default();
    let _logging = tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener = MulticastListener::builder(config.clone(), "probe").max_message(100).build()?;
    let stats = listener.stats();
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    let socket = raw_sender(&config);
    let mut future_version = single(1, "", b"x");
    future_version[2] = 2;
    let malformed = [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        future_version,
        datagram(RAW, 2, 3, 2, 10, "", b"x"), // index 3 of 2
        datagram(9, 3, 0, 1, 1, "", b"x"),    // unknown kind
        b"PM".to_vec(),
    ];
    for bad in &malformed {
        socket.send(bad).await?;
    }
    socket.send(&single(4, "", &[0; 101])).await?;
    socket.send(&single(5, "", b"fine")).await?;

    assert_eq!(next(&mut recorded).await.body::<Vec<u8>>()?, b"fine");
    let stats = stats_until(&stats, |s| s.received == 7).await;
    assert_eq!((stats.malformed, stats.oversized, stats.messages, stats.delivered), (5, 1, 1, 1));
    let warnings = warnings.0.lock().expect("not poisoned").clone();
    let count = |text: &str| warnings.iter().filter(|w| w.as_str() == text).count();
    assert_eq!(count("malformed datagram dropped"), 5, "{warnings:?}");
    assert_eq!(count("oversized message dropped"), 1, "{warnings:?}");
    app.shutdown().await;
    Ok(())
}
