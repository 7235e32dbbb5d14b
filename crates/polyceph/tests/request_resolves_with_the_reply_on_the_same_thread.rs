//! Proves that a request resolves with its reply, on the same thread: the
//! next thread index, sender and recipient swapped, `in_reply_to` naming the
//! request, the request's headers kept plus the reply's own, subject `reply`
//! (the "Hello, World!" exchange between two actors).

use std::collections::BTreeMap;
use std::time::Duration;

use polyceph::Name;
use polyceph::prelude::*;
use tokio::sync::mpsc;

/// Answers salutations with an extra `acme` header, and shows the test each
/// request it got.
struct Main {
    requests: mpsc::UnboundedSender<Envelope>,
}

impl Actor for Main {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject(r"(?i)^salutation$")?, Self::salutation);
        Ok(())
    }
}

impl Main {
    async fn salutation(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.requests.send(mail.clone())?;
        ctx.reply(&mail, "Hi, thanks for writing.").header("acme", 123).send().await?;
        Ok(())
    }
}

/// On `go`, sends `main` a salutation with args and kwargs headers as a
/// request, and shows the test the envelope it composed and the reply.
struct Hello {
    exchanges: mpsc::UnboundedSender<(Envelope, Envelope)>,
}

impl Actor for Hello {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^go$")?, Self::go);
        Ok(())
    }
}

impl Hello {
    async fn go(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let mail = ctx
            .mail("main", "salutation", "Hello, World!")
            .header("args", vec!["Arg1", "Arg2"])
            .header("kwargs", BTreeMap::from([("abc", 123), ("xyz", 789)]));
        let sent = mail.envelope().clone();
        let reply = mail.request(Duration::from_secs(10)).await?;
        self.exchanges.send((sent, reply))?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_reply_continues_the_requests_thread() -> anyhow::Result<()> {
    let (requests, mut seen_by_main) = mpsc::unbounded_channel();
    let (exchanges, mut seen_by_hello) = mpsc::unbounded_channel();
    let app =
        Application::builder().actor("main", Main { requests }).actor("hello", Hello { exchanges }).start().await?;

    app.send("hello", "go", ()).await?;
    let (sent, reply) = seen_by_hello.recv().await.expect("hello reports its exchange");
    let request = seen_by_main.recv().await.expect("main saw the request");

    // The request main got is the one hello composed, starting a thread.
    assert_eq!(request.id(), sent.id());
    assert_eq!(request.thread(), request.id());
    assert_eq!(request.thread_index(), 1);
    assert_eq!(request.sender(), &Name::new("hello"));
    assert_eq!(request.recipient(), &Address::actor("main"));
    assert_eq!(request.in_reply_to(), None);

    // The reply continues that thread, the other way round.
    assert_eq!(reply.thread(), request.thread());
    assert_eq!(reply.thread_index(), 2);
    assert_ne!(reply.id(), request.id());
    assert_eq!(reply.in_reply_to(), Some(request.id()));
    assert!(reply.is_reply());
    assert_eq!(reply.sender(), &Name::new("main"));
    assert_eq!(reply.recipient(), &Address::actor("hello"));
    assert_eq!(reply.subject(), "reply");
    assert_eq!(reply.priority(), request.priority());
    assert_eq!(reply.body::<String>()?, "Hi, thanks for writing.");

    // The request's headers are kept, and the reply's own is added.
    assert_eq!(reply.headers().get("args"), Some(&Value::from(vec!["Arg1", "Arg2"])));
    assert_eq!(reply.headers().get("kwargs"), Some(&Value::from(BTreeMap::from([("abc", 123), ("xyz", 789)]))));
    assert_eq!(reply.headers().get("acme"), Some(&Value::from(123)));
    assert_eq!(reply.headers().len(), 3);
    assert_eq!(reply.field("acme").as_deref(), Some("123"));
    assert_eq!(reply.field("args").as_deref(), Some(r#"["Arg1", "Arg2"]"#));
    assert_eq!(reply.field("kwargs").as_deref(), Some(r#"{"abc": 123, "xyz": 789}"#));
    // The request itself did not get the reply's header.
    assert_eq!(request.headers().get("acme"), None);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_request_from_the_app_handle_is_answered_to_app() -> anyhow::Result<()> {
    let (requests, mut seen_by_main) = mpsc::unbounded_channel();
    let app = Application::builder().actor("main", Main { requests }).start().await?;

    let mail = app.mail("main", "Salutation", "Hello, World!").header("args", vec!["Arg1", "Arg2"]);
    let sent = mail.envelope().clone();
    let reply = mail.request(Duration::from_secs(10)).await?;
    let request = seen_by_main.recv().await.expect("main saw the request");

    assert_eq!(request.id(), sent.id());
    assert_eq!(request.sender(), &Name::new(polyceph::APP_SENDER));
    assert_eq!(reply.thread(), sent.thread());
    assert_eq!(reply.thread_index(), 2);
    assert_eq!(reply.in_reply_to(), Some(sent.id()));
    assert_eq!(reply.sender(), &Name::new("main"));
    assert_eq!(reply.recipient(), &Address::actor(polyceph::APP_SENDER));
    assert_eq!(reply.subject(), "reply");
    assert_eq!(reply.field("args").as_deref(), Some(r#"["Arg1", "Arg2"]"#));
    assert_eq!(reply.field("acme").as_deref(), Some("123"));

    app.shutdown().await;
    Ok(())
}
