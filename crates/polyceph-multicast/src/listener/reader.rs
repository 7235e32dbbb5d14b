//! The task that drains the socket: reads each datagram, stamps its arrival,
//! filters by topic, reassembles fragments and queues complete messages.
//! It waits on nothing but the socket (and the next fragment expiry).

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::UdpSocket;
use tokio::time::{Instant, sleep, sleep_until};

use super::Topics;
use super::queue::{Message, Queue};
use super::reassembly::Reassembly;
use crate::datagram::Header;
use crate::stats::{Counters, Stat};

/// The largest datagram (IPv6's largest UDP payload, with room to spare).
const DATAGRAM_BUFFER: usize = 65_536;

/// The most datagrams read in one go before the delivery task is woken and
/// the expiry timer checked.
const BURST: usize = 64;

/// How long to back off after a socket error, so a persistent one does not spin.
const ERROR_BACKOFF: Duration = Duration::from_millis(10);

pub(crate) struct Reader {
    pub(crate) socket: UdpSocket,
    pub(crate) topics: Arc<Topics>,
    pub(crate) reassembly: Reassembly,
    pub(crate) queue: Arc<Queue>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) max_message: usize,
    /// Messages dropped since the queue was last found with room (0: not overflowing).
    pub(crate) overflow: u64,
    /// The messages of the burst being read (kept for its allocation).
    pub(crate) burst: Vec<Message>,
}

impl Reader {
    pub(crate) async fn run(mut self) {
        let mut buffer = vec![0; DATAGRAM_BUFFER];
        let mut expiry = pin!(sleep_until(Instant::now()));
        let mut armed = None;
        loop {
            tokio::select! {
                biased;
                () = &mut expiry, if armed.is_some() => self.reassembly.expire(Instant::now(), &self.counters),
                ready = self.socket.readable() => match ready {
                    Ok(()) => self.drain(&mut buffer),
                    Err(error) => self.failed(error).await,
                },
            }
            let next = self.reassembly.next_expiry();
            if next != armed {
                if let Some(at) = next {
                    expiry.as_mut().reset(at);
                }
                armed = next;
            }
        }
    }

    /// Reads what the socket holds, up to [`BURST`] datagrams, then wakes
    /// the delivery task once: one wake-up per burst, not per datagram.
    fn drain(&mut self, buffer: &mut [u8]) {
        let mut burst = std::mem::take(&mut self.burst);
        while burst.len() < BURST {
            match self.socket.try_recv_from(buffer) {
                Ok((len, source)) => burst.extend(self.take(&buffer[..len], source)),
                // Readiness is cleared: `readable` waits for the next datagram.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => {
                    self.counters.bump(Stat::ReceiveErrors);
                    tracing::warn!(%error, "cannot read from the socket");
                    break;
                }
            }
        }
        if !burst.is_empty() {
            self.enqueue(&mut burst);
            self.queue.wake();
        }
        self.burst = burst;
    }

    async fn failed(&self, error: io::Error) {
        self.counters.bump(Stat::ReceiveErrors);
        tracing::warn!(%error, "cannot wait for the socket");
        sleep(ERROR_BACKOFF).await;
    }

    /// Takes one datagram in; returns the message it completes.
    fn take(&mut self, datagram: &[u8], source: SocketAddr) -> Option<Message> {
        let counters = &*self.counters;
        counters.bump(Stat::Received);
        let (header, payload) = match Header::parse(datagram) {
            Ok(parsed) => parsed,
            Err(error) => {
                counters.bump(Stat::Malformed);
                tracing::warn!(%source, %error, "malformed datagram dropped");
                return None;
            }
        };
        if !self.topics.accepts(header.topic) {
            counters.bump(Stat::RejectedTopic);
            tracing::debug!(%source, topic = header.topic, "datagram refused by the topic filter");
            return None;
        }
        if header.message_len as usize > self.max_message {
            counters.bump(Stat::Oversized);
            tracing::warn!(%source, len = header.message_len, max = self.max_message, "oversized message dropped");
            return None;
        }
        let message = if header.count == 1 {
            Message {
                kind: header.kind,
                topic: header.topic.map(str::to_owned),
                payload: payload.to_vec(),
                source,
                received: SystemTime::now(),
            }
        } else {
            let whole = self.reassembly.insert(&header, payload, source, Instant::now(), counters)?;
            Message {
                kind: whole.kind,
                topic: whole.topic,
                payload: whole.payload,
                source,
                received: SystemTime::now(),
            }
        };
        counters.bump(Stat::Messages);
        Some(message)
    }

    fn enqueue(&mut self, burst: &mut Vec<Message>) {
        let dropped = self.queue.push_all(burst);
        self.counters.add(Stat::DroppedQueueFull, dropped);
        match (dropped, self.overflow) {
            (0, 0) => {}
            (0, total) => {
                tracing::info!(dropped = total, "listener queue has room again");
                self.overflow = 0;
            }
            (n, 0) => {
                tracing::warn!("listener queue full: dropping messages (the recipient is slower than the group)");
                self.overflow = n;
            }
            (n, _) => self.overflow += n,
        }
    }
}
