//! Proves that filters match the subject, sender, recipient and any custom
//! header (non-string values on their text form), combine with and / or /
//! not, ignore case with `(?i)`, pick the handlers that run on the real
//! runtime, and that an invalid regex is an error when the filter is built.

use std::time::Duration;

use polyceph::error::FilterError;
use polyceph::prelude::*;
use polyceph::{BoxFuture, Handler};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(1);

fn filter(result: Result<Filter, FilterError>) -> Filter {
    result.expect("a valid pattern")
}

#[test]
fn subject_sender_and_recipient_filters_read_those_fields() {
    let mail = Envelope::new("hello", "main", "salutation", ());
    assert!(filter(Filter::subject("^salutation$")).matches(&mail));
    assert!(filter(Filter::subject("lut")).matches(&mail), "unanchored: a match anywhere");
    assert!(!filter(Filter::subject("^lut")).matches(&mail));
    assert!(filter(Filter::sender("^hello$")).matches(&mail));
    assert!(!filter(Filter::sender("^main$")).matches(&mail));
    assert!(filter(Filter::recipient("^main$")).matches(&mail));
    assert!(!filter(Filter::recipient("^hello$")).matches(&mail));

    let to_topic = Envelope::new("hello", Address::topic("news"), "s", ());
    assert!(filter(Filter::recipient("^topic:news$")).matches(&to_topic));
    let to_group = Envelope::new("hello", Address::group("workers"), "s", ());
    assert!(filter(Filter::recipient("^group:workers$")).matches(&to_group));
    let to_everyone = Envelope::new("hello", Address::Everyone, "s", ());
    assert!(filter(Filter::recipient(r"^\*$")).matches(&to_everyone));

    // `header` reads the envelope's own fields too.
    assert!(filter(Filter::header("subject", "^salutation$")).matches(&mail));
    assert!(filter(Filter::header("sender", "^hello$")).matches(&mail));
    assert!(filter(Filter::header("thread_index", "^1$")).matches(&mail));
    assert!(filter(Filter::header("id", &format!("^{}$", mail.id()))).matches(&mail));
    assert!(filter(Filter::header("priority", "^5$")).matches(&mail.clone().with_priority(5)));
}

#[test]
fn non_string_headers_match_on_their_text_form() {
    let mail = Envelope::new("hello", "main", "s", ())
        .with_header("count", 42)
        .with_header("delta", -7)
        .with_header("ok", true)
        .with_header("off", false)
        .with_header("ratio", 2.5)
        .with_header("big", u64::MAX)
        .with_header("args", vec!["Arg1", "Arg2"])
        .with_header("ids", vec![1, 2, 3])
        .with_header("raw", Value::bytes([0x0a, 0xff]))
        .with_header("map", Value::from([("k", true)]))
        .with_header("nothing", Value::Nil)
        .with_header("name", "plain");

    for (header, pattern) in [
        ("count", "^42$"),
        ("delta", "^-7$"),
        ("ok", "^true$"),
        ("off", "^false$"),
        ("ratio", r"^2\.5$"),
        ("big", "^18446744073709551615$"),
        ("args", r#"^\["Arg1", "Arg2"\]$"#),
        ("args", r#""Arg2""#),
        ("ids", r"^\[1, 2, 3\]$"),
        ("raw", "^0x0aff$"),
        ("map", r#"^\{"k": true\}$"#),
        ("nothing", "^nil$"),
        ("name", "^plain$"),
    ] {
        assert!(filter(Filter::header(header, pattern)).matches(&mail), "{header} ~ /{pattern}/");
    }
    assert!(!filter(Filter::header("count", "^4$")).matches(&mail));
    assert!(!filter(Filter::header("ok", "^True$")).matches(&mail), "case counts without (?i)");
    assert!(filter(Filter::header("ok", "(?i)^TRUE$")).matches(&mail));
}

#[test]
fn a_missing_header_never_matches() {
    let mail = Envelope::new("hello", "main", "s", ());
    assert!(!filter(Filter::header("level", "")).matches(&mail), "not even the empty pattern");
    assert!(!filter(Filter::header("level", ".*")).matches(&mail));
    assert!(!filter(Filter::header("in_reply_to", "")).matches(&mail), "a new thread answers nothing");
    assert!((!filter(Filter::header("level", ""))).matches(&mail));
}

#[test]
fn case_is_ignored_only_when_asked() {
    let mail = Envelope::new("Hello", "main", "SALUTATION", ());
    assert!(!filter(Filter::subject("^salutation$")).matches(&mail));
    assert!(filter(Filter::subject("(?i)^salutation$")).matches(&mail));
    assert!(!filter(Filter::sender("^hello$")).matches(&mail));
    assert!(filter(Filter::sender("(?i)^hello$")).matches(&mail));
}

#[test]
fn filters_combine_with_and_or_not() {
    let warn = Envelope::new("hello", "main", "alert", ()).with_header("level", "warn");
    let info = Envelope::new("hello", "main", "alert", ()).with_header("level", "info");
    let other = Envelope::new("hello", "main", "other", ()).with_header("level", "warn");
    let alert = || filter(Filter::subject("^alert$"));
    let urgent = || filter(Filter::header("level", "^(warn|error)$"));

    let both = alert() & urgent();
    assert_eq!([&warn, &info, &other].map(|m| both.matches(m)), [true, false, false]);
    assert_eq!([&warn, &info, &other].map(|m| alert().and(urgent()).matches(m)), [true, false, false]);

    let either = alert() | urgent();
    assert_eq!([&warn, &info, &other].map(|m| either.matches(m)), [true, true, true]);
    let neither = !(alert() | urgent());
    assert_eq!([&warn, &info, &other].map(|m| neither.matches(m)), [false, false, false]);

    let alert_not_urgent = alert() & !urgent();
    assert_eq!([&warn, &info, &other].map(|m| alert_not_urgent.matches(m)), [false, true, false]);
    assert_eq!([&warn, &info, &other].map(|m| alert().and(urgent().negate()).matches(m)), [false, true, false]);
    assert_eq!([&warn, &info, &other].map(|m| urgent().or(alert()).negate().matches(m)), [false, false, false]);

    assert!(Filter::any().matches(&warn));
    assert!(!(!Filter::any()).matches(&warn));
}

#[test]
fn an_invalid_regex_is_an_error_when_the_filter_is_built() {
    let attempts = [
        ("subject", Filter::subject("(")),
        ("sender", Filter::sender("*")),
        ("recipient", Filter::recipient("[")),
        ("args", Filter::header("args", "a{2,1}")),
    ];
    for (field, attempt) in attempts {
        match attempt {
            Err(FilterError::InvalidRegex { field: f, pattern, .. }) => {
                assert_eq!(f, field);
                assert!(!pattern.is_empty());
            }
            Err(other) => panic!("{field}: unexpected error {other}"),
            Ok(filter) => panic!("{field}: built {filter}"),
        }
    }
    let error = Filter::subject("(").expect_err("invalid");
    assert!(std::error::Error::source(&error).is_some(), "the regex error is the source");
}

/// Reports the label of each filter that let an envelope through.
struct Screen {
    seen: mpsc::UnboundedSender<(&'static str, String)>,
}

/// A handler that reports its label and the envelope's subject.
struct Label(&'static str);

impl Handler<Screen> for Label {
    fn call<'a>(&'a self, actor: &'a mut Screen, _ctx: &'a mut Context<Screen>, mail: Envelope) -> BoxFuture<'a> {
        Box::pin(async move {
            actor.seen.send((self.0, mail.subject().to_owned()))?;
            Ok(())
        })
    }
}

impl Actor for Screen {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.subscribe("news");
        ctx.on(Filter::subject("(?i)^salutation$")?, Label("salutation, any case"));
        ctx.on(Filter::subject("^salutation$")?, Label("salutation, lower case"));
        ctx.on(Filter::sender(r"^\$app$")? & Filter::header("count", "^42$")?, Label("count 42 from the app"));
        ctx.on(Filter::header("args", r#""Arg2""#)?, Label("Arg2 in args"));
        ctx.on(Filter::header("ok", "^true$")? | Filter::header("ok", "^yes$")?, Label("ok"));
        ctx.on(Filter::recipient("^topic:news$")?, Label("news"));
        ctx.on(!Filter::header("level", "")?, Label("no level"));
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn filters_pick_the_handlers_that_run() -> anyhow::Result<()> {
    let (seen, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("screen", Screen { seen }).start().await?;

    app.mail("screen", "SALUTATION", ()).header("level", 1).deliver(WAIT).await?;
    app.mail("screen", "salutation", ()).header("count", 42).header("ok", true).deliver(WAIT).await?;
    app.mail("screen", "args", ()).header("args", vec!["Arg1", "Arg2"]).header("ok", "yes").deliver(WAIT).await?;
    app.mail(Address::topic("news"), "headline", ()).header("count", 41).header("level", "x").deliver(WAIT).await?;

    let mut labels = Vec::new();
    while let Ok(label) = rx.try_recv() {
        labels.push(label);
    }
    let expected = [
        ("salutation, any case", "SALUTATION"),
        ("salutation, any case", "salutation"),
        ("salutation, lower case", "salutation"),
        ("count 42 from the app", "salutation"),
        ("ok", "salutation"),
        ("no level", "salutation"),
        ("Arg2 in args", "args"),
        ("ok", "args"),
        ("no level", "args"),
        ("news", "headline"),
    ]
    .map(|(label, subject)| (label, subject.to_owned()));
    assert_eq!(labels, expected);

    app.shutdown().await;
    Ok(())
}
