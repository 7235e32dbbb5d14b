//! Lines for people and shell scripts: cutting them out of the stream, and
//! reading an envelope from one.

use std::borrow::Cow;

use bytes::{Buf, Bytes, BytesMut};
use polyceph::{Address, Envelope, Name, Value};

use super::{Malformed, Reason};

/// Cuts `\n`-terminated lines out of a stream. A line longer than the limit
/// is skipped up to its end and reported once.
#[derive(Debug)]
pub(crate) struct LineDecoder {
    max: usize,
    /// How much of the buffer is known to hold no `\n`.
    scanned: usize,
    /// Bytes of an overlong line skipped so far.
    overlong: Option<u64>,
}

impl LineDecoder {
    /// A decoder of lines of at most `max` bytes (the `\n` not counted).
    pub(crate) fn new(max: usize) -> Self {
        Self { max, scanned: 0, overlong: None }
    }

    /// The next line (without its `\n`), or overlong line, in `buf`; `None`
    /// when more input is needed.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, Malformed>> {
        if let Some(skipped) = self.overlong {
            return match newline(buf) {
                Some(at) => {
                    buf.advance(at + 1);
                    self.overlong = None;
                    Some(Err(self.too_long(skipped + at as u64 + 1)))
                }
                None => {
                    self.overlong = Some(skipped + buf.len() as u64);
                    buf.clear();
                    None
                }
            };
        }
        match newline(&buf[self.scanned..]) {
            Some(at) => {
                let end = self.scanned + at;
                self.scanned = 0;
                let mut line = buf.split_to(end + 1);
                if end > self.max {
                    return Some(Err(self.too_long(line.len() as u64)));
                }
                line.truncate(end);
                Some(Ok(line.freeze()))
            }
            None if buf.len() > self.max => {
                self.overlong = Some(buf.len() as u64);
                self.scanned = 0;
                buf.clear();
                None
            }
            None => {
                self.scanned = buf.len();
                None
            }
        }
    }

    /// As [`decode`](Self::decode), once every writer has closed: what is
    /// left is a last line without its `\n`. Call it until it returns `None`.
    pub(crate) fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, Malformed>> {
        if let Some(item) = self.decode(buf) {
            return Some(item);
        }
        self.scanned = 0;
        if let Some(skipped) = self.overlong.take() {
            return Some(Err(self.too_long(skipped)));
        }
        (!buf.is_empty()).then(|| Ok(buf.split().freeze()))
    }

    fn too_long(&self, bytes: u64) -> Malformed {
        Malformed { bytes, reason: Reason::LineTooLong { max: self.max } }
    }
}

fn newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Reads an envelope from a line; `None` for a blank line.
///
/// - A line starting with `{` is an envelope in the wire format's JSON form
///   ([`Envelope::from_json`]), every required field present.
/// - Any other line is `subject<TAB>body`: the body is JSON if it parses as
///   JSON, else the text itself; without a tab the whole line is the subject
///   and the body is nil. The envelope comes from `sender`.
///
/// A trailing `\r` is dropped.
pub(crate) fn parse_line(line: &[u8], sender: &Name, recipient: &Address) -> Result<Option<Envelope>, Reason> {
    let text = std::str::from_utf8(line).map_err(|_| Reason::NotUtf8)?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.trim_start().starts_with('{') {
        return Ok(Some(Envelope::from_json(text.as_bytes())?));
    }
    let (subject, body) = match text.split_once('\t') {
        Some(("", _)) => return Err(Reason::NoSubject),
        Some((subject, body)) => (subject, serde_json::from_str(body).unwrap_or_else(|_| Value::from(body))),
        None => (text, Value::Nil),
    };
    Ok(Some(Envelope::new(sender.clone(), recipient.clone(), Cow::Owned(subject.to_owned()), body)))
}

#[cfg(test)]
mod tests {
    use bytes::BufMut;

    use super::*;

    fn drain(decoder: &mut LineDecoder, buf: &mut BytesMut, eof: bool) -> Vec<Result<Bytes, Malformed>> {
        let mut out = Vec::new();
        loop {
            match if eof { decoder.decode_eof(buf) } else { decoder.decode(buf) } {
                Some(item) => out.push(item),
                None => return out,
            }
        }
    }

    #[test]
    fn lines_come_out_and_the_last_one_needs_no_newline_at_the_end() {
        let mut decoder = LineDecoder::new(100);
        let mut buf = BytesMut::from(&b"one\ntw"[..]);
        assert_eq!(drain(&mut decoder, &mut buf, false), vec![Ok(Bytes::from("one"))]);
        buf.put_slice(b"o\nthree");
        assert_eq!(drain(&mut decoder, &mut buf, false), vec![Ok(Bytes::from("two"))]);
        assert_eq!(drain(&mut decoder, &mut buf, true), vec![Ok(Bytes::from("three"))]);
    }

    #[test]
    fn an_overlong_line_is_skipped_to_its_end_and_reported_once() {
        let mut decoder = LineDecoder::new(4);
        let mut buf = BytesMut::from(&b"abcdefgh"[..]);
        assert!(drain(&mut decoder, &mut buf, false).is_empty());
        buf.put_slice(b"ij\nok\nabcdefgh\n");
        let long = |bytes| Err(Malformed { bytes, reason: Reason::LineTooLong { max: 4 } });
        assert_eq!(drain(&mut decoder, &mut buf, false), vec![long(11), Ok(Bytes::from("ok")), long(9)]);
    }

    #[test]
    fn short_lines_read_as_subject_and_json_or_text_body() {
        let (sender, to) = (Name::new("shell"), Address::actor("main"));
        let parse = |line: &str| parse_line(line.as_bytes(), &sender, &to);
        let mail = parse("greet\tworld").unwrap().unwrap();
        assert_eq!((mail.subject(), mail.body::<String>().unwrap().as_str()), ("greet", "world"));
        assert_eq!(mail.sender(), &sender);
        assert_eq!(parse("add\t[1, 2]\r").unwrap().unwrap().body::<Vec<i64>>().unwrap(), vec![1, 2]);
        assert_eq!(parse("quote\t\"42\"").unwrap().unwrap().body::<String>().unwrap(), "42");
        assert_eq!(parse("count\t42").unwrap().unwrap().body::<u64>().unwrap(), 42);
        let bare = parse("status").unwrap().unwrap();
        assert_eq!((bare.subject(), bare.body::<()>().is_ok()), ("status", true));
        assert!(parse("  ").unwrap().is_none());
        assert_eq!(parse("\tbody").unwrap_err(), Reason::NoSubject);
        assert_eq!(parse_line(b"\xff\xfe", &sender, &to).unwrap_err(), Reason::NotUtf8);
        assert!(matches!(parse("{\"v\": 1}"), Err(Reason::Envelope(_))));
    }
}
