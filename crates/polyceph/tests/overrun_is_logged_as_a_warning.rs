//! Proves that an overrun of `life` is logged as a warning naming the period
//! and the number of ticks skipped.
//!
//! Alone in its test binary: `tracing`'s per-callsite interest cache races
//! with thread-scoped subscribers when tests run in parallel threads.

mod support;

use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};

use support::{ms, run};

/// The WARN events seen, each as its message followed by its fields.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        if *event.metadata().level() != tracing::Level::WARN {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(text.0);
    }
}

/// Writes an event's fields as `message name=value ...`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.insert_str(0, &format!("{value:?}"));
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_overrun_is_logged_as_a_warning() -> anyhow::Result<()> {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));

    let run = run(|k| if k == 0 { ms(1_350) } else { ms(0) }, ms(1_750)).await?;
    assert_eq!(run.overruns, 1);

    let warnings = warnings.all();
    let overruns: Vec<_> = warnings.iter().filter(|w| w.contains("overran")).collect();
    assert_eq!(overruns.len(), 1, "one overrun warning among {warnings:?}");
    let warning = overruns[0];
    assert!(warning.contains("missed_ticks=2"), "{warning}");
    assert!(warning.contains("period=500ms"), "{warning}");
    Ok(())
}
