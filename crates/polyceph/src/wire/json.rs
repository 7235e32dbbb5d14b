//! The readable form: the same fields as JSON, ids and time as text.

use std::time::{Duration, UNIX_EPOCH};

use uuid::Uuid;

use super::encode::too_deep;
use super::{EXPECTS_ACK, EXPECTS_REPLY, FORMAT_VERSION, field};
use crate::envelope::{BodySlot, Expects, Head, Parts};
use crate::error::WireError;
use crate::{Envelope, Headers, Value};

#[derive(serde::Serialize)]
struct JsonOut<'a> {
    v: u8,
    id: Uuid,
    thread: Uuid,
    thread_index: u32,
    time: String,
    sender: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    incarnation: u64,
    recipient: String,
    subject: &'a str,
    priority: i8,
    headers: &'a Headers,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_reply_to: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expects: Option<&'static str>,
    body: Value,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Every field optional, so a missing one is reported as
/// [`WireError::MissingField`] like the msgpack form does.
#[derive(serde::Deserialize)]
struct JsonIn {
    v: Option<u64>,
    id: Option<Uuid>,
    thread: Option<Uuid>,
    thread_index: Option<u64>,
    time: Option<String>,
    sender: Option<String>,
    incarnation: Option<u64>,
    recipient: Option<String>,
    subject: Option<String>,
    priority: Option<i64>,
    headers: Option<Headers>,
    in_reply_to: Option<Uuid>,
    expects: Option<String>,
    body: Option<Value>,
}

pub(crate) fn encode(envelope: &Envelope) -> Result<Vec<u8>, WireError> {
    if envelope.headers().iter().any(|(_, value)| too_deep(value, 1)) {
        return Err(WireError::TooDeep { field: field::HEADERS });
    }
    let body = match envelope.body_slot().encoded() {
        Some(bytes) => super::decode::value(bytes, field::BODY)?,
        None => super::decode::value(&envelope.body_slot().to_msgpack()?, field::BODY)?,
    };
    let out = JsonOut {
        v: FORMAT_VERSION,
        id: envelope.id(),
        thread: envelope.thread(),
        thread_index: envelope.thread_index(),
        time: humantime::format_rfc3339_nanos(envelope.time()).to_string(),
        sender: envelope.sender().as_str(),
        incarnation: envelope.sender_incarnation(),
        recipient: envelope.recipient().to_string(),
        subject: envelope.subject(),
        priority: envelope.priority(),
        headers: envelope.headers(),
        in_reply_to: envelope.in_reply_to(),
        expects: envelope.expects().map(|e| match e {
            Expects::Reply => EXPECTS_REPLY,
            Expects::Ack => EXPECTS_ACK,
        }),
        body,
    };
    serde_json::to_vec(&out).map_err(|e| WireError::Json { reason: e.to_string() })
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
    let j: JsonIn = serde_json::from_slice(bytes).map_err(|e| WireError::Json { reason: e.to_string() })?;
    let v = j.v.ok_or(WireError::MissingField { field: field::VERSION })?;
    if v != u64::from(FORMAT_VERSION) {
        return Err(WireError::UnknownVersion { found: v });
    }
    let id = j.id.ok_or(WireError::MissingField { field: field::ID })?;
    let thread_index = match j.thread_index {
        None => 1,
        Some(index) => u32::try_from(index).ok().filter(|&i| i >= 1).ok_or_else(|| WireError::OutOfRange {
            field: field::THREAD_INDEX,
            reason: format!("{index} is not in 1..=4294967295"),
        })?,
    };
    let time = j.time.ok_or(WireError::MissingField { field: field::TIME })?;
    let time = humantime::parse_rfc3339(&time)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .as_ref()
        .map(Duration::as_nanos)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| WireError::OutOfRange {
            field: field::TIME,
            reason: format!("{time:?} is not an RFC 3339 UTC time after 1970, like 2026-11-21T10:00:00.5Z"),
        })?;
    let priority = match j.priority {
        None => 0,
        Some(p) => i8::try_from(p).map_err(|_| WireError::OutOfRange {
            field: field::PRIORITY,
            reason: format!("{p} is not in -128..=127"),
        })?,
    };
    let headers = j.headers.unwrap_or_default();
    if headers.iter().any(|(_, value)| too_deep(value, 1)) {
        return Err(WireError::TooDeep { field: field::HEADERS });
    }
    let body = j.body.unwrap_or_default();
    if too_deep(&body, 0) {
        return Err(WireError::TooDeep { field: field::BODY });
    }
    let expects = match j.expects.as_deref() {
        None => None,
        Some(EXPECTS_REPLY) => Some(Expects::Reply),
        Some(EXPECTS_ACK) => Some(Expects::Ack),
        Some(other) => {
            return Err(WireError::OutOfRange {
                field: field::EXPECTS,
                reason: format!("{other:?} is neither \"reply\" nor \"ack\""),
            });
        }
    };
    let mut body_bytes = Vec::new();
    super::encode::value(&mut body_bytes, &body);
    let sender = j.sender.ok_or(WireError::MissingField { field: field::SENDER })?;
    let recipient = j.recipient.ok_or(WireError::MissingField { field: field::RECIPIENT })?;
    let subject = j.subject.ok_or(WireError::MissingField { field: field::SUBJECT })?;
    Ok(Envelope::from_parts(Parts {
        head: Head {
            id,
            time,
            thread_index,
            priority,
            incarnation: j.incarnation.unwrap_or(0),
            sender: &sender,
            recipient: &recipient,
            subject: &subject,
        },
        thread: j.thread.unwrap_or(id),
        headers: Some(headers).filter(|headers| !headers.is_empty()),
        in_reply_to: j.in_reply_to,
        expects,
        body: BodySlot::wire(&body_bytes),
    }))
}
