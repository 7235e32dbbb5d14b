//! The task that turns queued messages into mail: decodes them, stamps the
//! headers and posts them to the recipient, waiting for mailbox room when
//! the recipient's policy says so (the reader meanwhile keeps reading).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use polyceph::{Address, AppHandle, Envelope, Name};

use super::decode::Decode;
use super::queue::{Message, Queue};
use crate::datagram::Kind;
use crate::error::DecodeError;
use crate::header;
use crate::stats::{Counters, Stat};

pub(crate) struct Delivery {
    pub(crate) app: AppHandle,
    /// The listener's name: the sender of the mail it makes.
    pub(crate) me: Name,
    pub(crate) recipient: Address,
    pub(crate) decode: Arc<dyn Decode>,
    pub(crate) failures_to: Option<Address>,
    pub(crate) counters: Arc<Counters>,
    /// Undeliverable messages in a row (0: the last one was delivered).
    pub(crate) failing: u64,
    /// The last source and its text: senders send in runs, and copying the
    /// text is cheaper than formatting the address again.
    pub(crate) source_text: Option<(SocketAddr, String)>,
}

impl Delivery {
    pub(crate) async fn run(mut self, queue: Arc<Queue>) {
        let mut batch = VecDeque::new();
        while queue.pop_batch(&mut batch).await {
            while let Some(message) = batch.pop_front() {
                self.deliver(message).await;
                queue.delivered();
                // Let other tasks on this worker run now and then.
                tokio::task::consume_budget().await;
            }
        }
    }

    async fn deliver(&mut self, message: Message) {
        let Message { kind, topic, payload, source, received } = message;
        let decoded = match kind {
            Kind::Envelope => match Envelope::from_msgpack(&payload) {
                Ok(mut envelope) => match self.decode.check(&envelope) {
                    Ok(()) => {
                        envelope.set_recipient(&self.recipient);
                        Ok(envelope)
                    }
                    Err(error) => Err((error, payload)),
                },
                Err(error) => Err((DecodeError::Envelope(error), payload)),
            },
            Kind::Raw => {
                let subject = topic.clone().map_or(Cow::Borrowed(header::NO_TOPIC_SUBJECT), Cow::Owned);
                self.decode.raw(self.me.clone(), self.recipient.clone(), subject, payload)
            }
        };
        // A report of a failure is not a delivery of the message: it was
        // counted as `decode_failed` already.
        let (mut mail, is_report) = match decoded {
            Ok(mail) => (mail, false),
            Err((error, payload)) => {
                self.counters.bump(Stat::DecodeFailed);
                tracing::warn!(%source, topic = topic.as_deref(), %error, expected = self.decode.type_name(), "message did not decode");
                let Some(to) = self.failures_to.clone() else { return };
                let report = Envelope::new(self.me.clone(), to, header::DECODE_FAILED, payload)
                    .with_header(header::ERROR, error.to_string());
                (report, true)
            }
        };
        header::stamp(&mut mail, self.source_text(source), received, topic);
        match self.app.post(mail).await {
            Ok(()) => {
                if !is_report {
                    self.counters.bump(Stat::Delivered);
                }
                self.failing = 0;
            }
            Err(error) if is_report => tracing::warn!(%error, "cannot deliver a decode_failed report"),
            Err(error) => {
                self.counters.bump(Stat::Undeliverable);
                self.failing += 1;
                if self.failing == 1 {
                    tracing::warn!(%error, "cannot deliver multicast mail");
                } else {
                    tracing::debug!(%error, failing = self.failing, "cannot deliver multicast mail");
                }
            }
        }
    }

    fn source_text(&mut self, source: SocketAddr) -> String {
        match &self.source_text {
            Some((last, text)) if *last == source => text.clone(),
            _ => {
                let text = source.to_string();
                self.source_text = Some((source, text.clone()));
                text
            }
        }
    }
}
