//! Proves that each actor runs in an `actor` span naming it, that handling a
//! mail opens a `mail` span inside it with the envelope's id, thread, thread
//! index, subject and sender, that events logged by a handler carry both,
//! and that the spans of one conversation share `mail.thread` across actors.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const WAIT: Duration = Duration::from_secs(1);

/// The fields of a span or event, as text.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("<missing>", String::as_str)
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// A span as it was opened: its name, fields, and the `actor.name` of the
/// nearest enclosing `actor` span.
#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    fields: Fields,
    actor: Option<String>,
}

/// An event with the spans it happened in, innermost first.
#[derive(Debug, Clone)]
struct EventRecord {
    fields: Fields,
    scope: Vec<(&'static str, Fields)>,
}

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<SpanRecord>>>,
    events: Arc<Mutex<Vec<EventRecord>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Capture {
    fn spans(&self, name: &str) -> Vec<SpanRecord> {
        lock(&self.spans).iter().filter(|s| s.name == name).cloned().collect()
    }

    /// The `mail` span of the envelope with this subject handled by `actor`.
    fn mail_span(&self, actor: &str, subject: &str) -> SpanRecord {
        let found: Vec<_> = self
            .spans("mail")
            .into_iter()
            .filter(|s| s.actor.as_deref() == Some(actor) && s.fields.get("mail.subject") == subject)
            .collect();
        assert_eq!(found.len(), 1, "one mail span for {subject} in {actor}: {:?}", self.spans("mail"));
        found[0].clone()
    }

    fn events(&self, message: &str) -> Vec<EventRecord> {
        lock(&self.events).iter().filter(|e| e.fields.get("message") == message).cloned().collect()
    }
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        let actor = span.scope().find(|s| s.name() == "actor").and_then(|s| {
            let extensions = s.extensions();
            extensions.get::<Fields>().map(|f| f.get("actor.name").to_owned())
        });
        let actor = if span.name() == "actor" { Some(fields.get("actor.name").to_owned()) } else { actor };
        span.extensions_mut().insert(fields.clone());
        lock(&self.spans).push(SpanRecord { name: span.name(), fields, actor });
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let scope = ctx
            .event_scope(event)
            .map(|scope| {
                scope.map(|s| (s.name(), s.extensions().get::<Fields>().cloned().unwrap_or_default())).collect()
            })
            .unwrap_or_default();
        lock(&self.events).push(EventRecord { fields, scope });
    }
}

/// `start`: mails `question` to the answerer. `ask`: requests `question`
/// and reports the reply. A reply arriving as mail is reported too.
struct Asker {
    replies: mpsc::UnboundedSender<Envelope>,
}

impl Actor for Asker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^start$")?, Self::start);
        ctx.on(Filter::subject("^ask$")?, Self::ask);
        ctx.on(Filter::subject("^reply$")?, Self::reply);
        Ok(())
    }
}

impl Asker {
    async fn start(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.mail("answerer", "question", ()).send().await?;
        Ok(())
    }

    async fn ask(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let reply = ctx.mail("answerer", "question", ()).header("asked", true).request(WAIT).await?;
        tracing::info!(reply.thread = %reply.thread(), "got the reply");
        self.replies.send(reply)?;
        Ok(())
    }

    async fn reply(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.replies.send(mail)?;
        Ok(())
    }
}

/// Answers `question`, logging while it handles it.
struct Answerer;

impl Actor for Answerer {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^question$")?, Self::question);
        Ok(())
    }
}

impl Answerer {
    async fn question(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        tracing::info!("answering");
        ctx.reply(&mail, 42).send().await?;
        Ok(())
    }
}

async fn start_app() -> anyhow::Result<(AppHandle, mpsc::UnboundedReceiver<Envelope>)> {
    let (replies, rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("Asker", Asker { replies }).actor("answerer", Answerer).start().await?;
    Ok((app, rx))
}

/// The tests of this binary run one at a time: `tracing`'s per-callsite
/// interest cache races with thread-scoped subscribers set in parallel threads.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn each_actor_runs_in_a_span_naming_it() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let (app, _replies) = start_app().await?;

    let mut names: Vec<_> = capture.spans("actor").iter().map(|s| s.fields.get("actor.name").to_owned()).collect();
    names.sort();
    assert_eq!(names, ["Asker", "answerer"]);

    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_mail_span_records_the_envelope_inside_the_actor_span() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let (app, mut replies) = start_app().await?;

    let start = app.mail("asker", "start", ());
    let start_id = start.envelope().id();
    start.send().await?;
    let reply = replies.recv().await.ok_or_else(|| anyhow::anyhow!("asker stopped"))?;

    let span = capture.mail_span("Asker", "start");
    assert_eq!(span.fields.get("mail.id"), start_id.to_string());
    assert_eq!(span.fields.get("mail.thread"), start_id.to_string());
    assert_eq!(span.fields.get("mail.thread_index"), "1");
    assert_eq!(span.fields.get("mail.subject"), "start");
    assert_eq!(span.fields.get("mail.sender"), polyceph::APP_SENDER);

    let question = capture.mail_span("answerer", "question");
    assert_eq!(question.fields.get("mail.sender"), "Asker");
    assert_eq!(reply.in_reply_to().map(|id| id.to_string()).as_deref(), Some(question.fields.get("mail.id")));

    // What a handler logs carries the mail span, inside the actor span.
    let answering = capture.events("answering");
    assert_eq!(answering.len(), 1);
    let scope: Vec<_> = answering[0].scope.iter().map(|(name, _)| *name).collect();
    assert_eq!(scope, ["mail", "actor"]);
    assert_eq!(answering[0].scope[0].1.get("mail.subject"), "question");
    assert_eq!(answering[0].scope[1].1.get("actor.name"), "answerer");

    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_reply_shares_the_thread_of_the_mail_it_answers_across_actors() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let (app, mut replies) = start_app().await?;

    app.send("asker", "start", ()).await?;
    let reply = replies.recv().await.ok_or_else(|| anyhow::anyhow!("asker stopped"))?;

    // The question, handled by the answerer, opens a thread; the reply,
    // handled as mail by the asker, continues it.
    let question = capture.mail_span("answerer", "question");
    let answer = capture.mail_span("Asker", "reply");
    let thread = question.fields.get("mail.id");
    assert_eq!(question.fields.get("mail.thread"), thread);
    assert_eq!(question.fields.get("mail.thread_index"), "1");
    assert_eq!(answer.fields.get("mail.thread"), thread);
    assert_eq!(answer.fields.get("mail.thread_index"), "2");
    assert_eq!(answer.fields.get("mail.sender"), "answerer");
    assert_eq!(answer.fields.get("mail.id"), reply.id().to_string());
    assert_ne!(answer.fields.get("mail.id"), thread);

    // The asker's own `start` mail was another conversation.
    assert_ne!(capture.mail_span("Asker", "start").fields.get("mail.thread"), thread);

    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_request_and_its_reply_share_the_thread() -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let (app, mut replies) = start_app().await?;

    app.send("asker", "ask", ()).await?;
    let reply = replies.recv().await.ok_or_else(|| anyhow::anyhow!("asker stopped"))?;

    // The request is handled in a mail span of the answerer; the reply goes
    // straight back to the waiting handler of the asker, on the same thread.
    let question = capture.mail_span("answerer", "question");
    assert_eq!(question.fields.get("mail.sender"), "Asker");
    assert_eq!(question.fields.get("mail.thread"), reply.thread().to_string());
    assert_eq!(question.fields.get("mail.id"), reply.thread().to_string());
    assert_eq!(reply.thread_index(), 2);

    // The asker logged the reply's thread inside its own spans.
    let got = capture.events("got the reply");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].fields.get("reply.thread"), question.fields.get("mail.thread"));
    let scope: Vec<_> = got[0].scope.iter().map(|(name, f)| (*name, f.get("actor.name"))).collect();
    assert_eq!(scope.last(), Some(&("actor", "Asker")));
    assert_eq!(got[0].scope[0].1.get("mail.subject"), "ask");

    app.shutdown().await;
    Ok(())
}
