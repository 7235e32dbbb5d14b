//! The datagram format: a 21-byte header, the topic, then the payload (or
//! one fragment of it). Specified in `docs/multicast.md`.
//!
//! ```text
//! offset size field
//!  0     2    magic "PM" (0x50 0x4d)
//!  2     1    version (1)
//!  3     1    kind: 1 envelope, 2 raw payload
//!  4     8    message id, u64 big-endian
//! 12     2    fragment index, u16 big-endian, from 0
//! 14     2    fragment count, u16 big-endian, at least 1
//! 16     4    message length, u32 big-endian: the whole payload's bytes
//! 20     1    topic length T (0: no topic)
//! 21     T    topic, UTF-8
//! 21+T   ..   the fragment's payload bytes
//! ```

use crate::error::DatagramError;

/// The first two bytes of every datagram.
pub(crate) const MAGIC: [u8; 2] = *b"PM";

/// The format version this build writes and reads.
pub(crate) const VERSION: u8 = 1;

/// The header's length without the topic.
pub(crate) const FIXED_LEN: usize = 21;

/// What a message's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One envelope in the wire format.
    Envelope = 1,
    /// Opaque bytes (for a typed channel, one msgpack value).
    Raw = 2,
}

impl Kind {
    fn from_byte(byte: u8) -> Result<Self, DatagramError> {
        match byte {
            1 => Ok(Self::Envelope),
            2 => Ok(Self::Raw),
            other => Err(DatagramError::UnknownKind(other)),
        }
    }
}

/// The header of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) kind: Kind,
    pub(crate) message_id: u64,
    pub(crate) index: u16,
    pub(crate) count: u16,
    pub(crate) message_len: u32,
    pub(crate) topic: Option<&'a str>,
}

impl<'a> Header<'a> {
    /// The header's length on the wire.
    pub(crate) fn len(&self) -> usize {
        FIXED_LEN + self.topic.map_or(0, str::len)
    }

    /// Writes the header into the first [`len`](Self::len) bytes of `out`.
    ///
    /// The topic was checked to fit a byte (`MAX_TOPIC_LEN`) when it was set.
    pub(crate) fn write(&self, out: &mut [u8]) {
        let topic = self.topic.unwrap_or("").as_bytes();
        out[0..2].copy_from_slice(&MAGIC);
        out[2] = VERSION;
        out[3] = self.kind as u8;
        out[4..12].copy_from_slice(&self.message_id.to_be_bytes());
        out[12..14].copy_from_slice(&self.index.to_be_bytes());
        out[14..16].copy_from_slice(&self.count.to_be_bytes());
        out[16..20].copy_from_slice(&self.message_len.to_be_bytes());
        out[20] = u8::try_from(topic.len()).expect("topics are checked to fit a byte");
        out[FIXED_LEN..FIXED_LEN + topic.len()].copy_from_slice(topic);
    }

    /// Reads a datagram: its header and its payload bytes.
    ///
    /// # Errors
    ///
    /// A [`DatagramError`] naming what is wrong; never a panic.
    pub(crate) fn parse(datagram: &'a [u8]) -> Result<(Self, &'a [u8]), DatagramError> {
        let truncated = DatagramError::Truncated { len: datagram.len() };
        let fixed: &[u8; FIXED_LEN] =
            datagram.get(..FIXED_LEN).and_then(|s| s.try_into().ok()).ok_or(truncated.clone())?;
        if fixed[0..2] != MAGIC {
            return Err(DatagramError::BadMagic);
        }
        if fixed[2] != VERSION {
            return Err(DatagramError::UnknownVersion(fixed[2]));
        }
        let kind = Kind::from_byte(fixed[3])?;
        let message_id =
            u64::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7], fixed[8], fixed[9], fixed[10], fixed[11]]);
        let index = u16::from_be_bytes([fixed[12], fixed[13]]);
        let count = u16::from_be_bytes([fixed[14], fixed[15]]);
        let message_len = u32::from_be_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
        let topic_len = usize::from(fixed[20]);
        let topic = datagram.get(FIXED_LEN..FIXED_LEN + topic_len).ok_or(truncated)?;
        let topic = match topic {
            [] => None,
            bytes => Some(std::str::from_utf8(bytes).map_err(|_| DatagramError::TopicNotUtf8)?),
        };
        let payload = &datagram[FIXED_LEN + topic_len..];
        let header = Self { kind, message_id, index, count, message_len, topic };
        header.check(payload.len())?;
        Ok((header, payload))
    }

    /// Checks that index, count and lengths can describe one fragment of a message.
    fn check(&self, payload_len: usize) -> Result<(), DatagramError> {
        let message_len = usize::try_from(self.message_len).unwrap_or(usize::MAX);
        if self.count == 0 {
            return Err(DatagramError::BadFragment("fragment count is 0"));
        }
        if self.index >= self.count {
            return Err(DatagramError::BadFragment("fragment index is not below the count"));
        }
        if usize::from(self.count) > message_len.max(1) {
            return Err(DatagramError::BadFragment("more fragments than message bytes"));
        }
        if payload_len > message_len {
            return Err(DatagramError::BadFragment("fragment longer than its message"));
        }
        if self.count == 1 && payload_len != message_len {
            return Err(DatagramError::BadFragment("single datagram shorter than its message"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0; header.len()];
        header.write(&mut out);
        out.extend_from_slice(payload);
        out
    }

    fn header(topic: Option<&str>) -> Header<'_> {
        Header { kind: Kind::Raw, message_id: 0x0102_0304_0506_0708, index: 0, count: 1, message_len: 3, topic }
    }

    #[test]
    fn a_header_round_trips_byte_for_byte() {
        let h = header(Some("health"));
        let bytes = datagram(&h, b"abc");
        assert_eq!(&bytes[..4], b"PM\x01\x02");
        assert_eq!(&bytes[4..12], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[12..21], &[0, 0, 0, 1, 0, 0, 0, 3, 6]);
        assert_eq!(&bytes[21..27], b"health");
        assert_eq!(Header::parse(&bytes), Ok((h, &b"abc"[..])));
        let untopical = datagram(&header(None), b"abc");
        assert_eq!(Header::parse(&untopical).unwrap().0.topic, None);
    }

    #[test]
    fn bad_datagrams_are_named_errors() {
        let good = datagram(&header(Some("t")), b"abc");
        let with = |at: usize, byte: u8| {
            let mut bad = good.clone();
            bad[at] = byte;
            Header::parse(&bad).map(|_| ())
        };
        assert_eq!(Header::parse(&good[..20]).map(|_| ()), Err(DatagramError::Truncated { len: 20 }));
        assert_eq!(Header::parse(&good[..21]).map(|_| ()), Err(DatagramError::Truncated { len: 21 }));
        assert_eq!(with(0, b'X'), Err(DatagramError::BadMagic));
        assert_eq!(with(2, 9), Err(DatagramError::UnknownVersion(9)));
        assert_eq!(with(3, 7), Err(DatagramError::UnknownKind(7)));
        assert_eq!(with(21, 0xff), Err(DatagramError::TopicNotUtf8));
        assert!(matches!(with(15, 0), Err(DatagramError::BadFragment(_))), "count 0");
        assert!(matches!(with(13, 1), Err(DatagramError::BadFragment(_))), "index 1 of 1");
        assert!(matches!(with(19, 2), Err(DatagramError::BadFragment(_))), "3 bytes of a 2-byte message");
        assert!(matches!(with(15, 4), Err(DatagramError::BadFragment(_))), "4 fragments of 3 bytes");
        assert!(matches!(with(19, 9), Err(DatagramError::BadFragment(_))), "a whole message of 9 in 3 bytes");
    }

    #[test]
    fn every_prefix_of_a_datagram_parses_or_fails_without_panicking() {
        let good = datagram(&header(Some("topic")), b"payload!");
        for end in 0..good.len() {
            let _ = Header::parse(&good[..end]);
        }
    }
}
