//! Records: frames padded to exactly [`RECORD_LEN`] bytes, so that each
//! `read` of that size by one of several readers takes one whole record.

use super::{HEADER_LEN, MAGIC, RECORD_LEN, Reason, find_magic};

/// The payload of a record read with one `read`.
///
/// # Errors
///
/// [`Reason::NotARecord`] unless `record` is exactly one record: the marker,
/// a length that fits, and zero padding (a read that starts inside a record
/// has the next record's marker where the padding should be).
pub(crate) fn read_record(record: &[u8]) -> Result<&[u8], Reason> {
    if record.len() != RECORD_LEN {
        return Err(Reason::NotARecord("a read of another size than 4096 bytes"));
    }
    if record[..MAGIC.len()] != MAGIC {
        return Err(Reason::NotARecord("no marker at its start"));
    }
    let len = u32::from_be_bytes([record[2], record[3], record[4], record[5]]) as usize;
    let Some(payload) = record.get(HEADER_LEN..HEADER_LEN.saturating_add(len)) else {
        return Err(Reason::NotARecord("a length beyond its end"));
    };
    if record[HEADER_LEN + len..].iter().any(|&b| b != 0) {
        return Err(Reason::NotARecord("padding that is not zero"));
    }
    Ok(payload)
}

/// After a read of [`RECORD_LEN`] bytes that was no record: how many bytes
/// to read next, and drop, so that the read after starts on a record's
/// boundary. The first marker after the start is taken as a record's start;
/// the rest of that record is that many bytes. 0 when none is found.
pub(crate) fn realignment(read: &[u8]) -> usize {
    if read.len() != RECORD_LEN {
        return 0;
    }
    find_magic(&read[1..]).map_or(0, |at| at + 1)
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};

    use super::*;
    use crate::framing::put_header;

    fn record(payload: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        put_header(&mut out, payload.len());
        out.put_slice(payload);
        out.resize(RECORD_LEN, 0);
        out
    }

    #[test]
    fn a_whole_record_gives_its_payload() {
        assert_eq!(read_record(&record(b"hello")).unwrap(), b"hello");
        let full = vec![7; RECORD_LEN - HEADER_LEN];
        assert_eq!(read_record(&record(&full)).unwrap(), &full[..]);
    }

    #[test]
    fn a_read_across_two_records_is_refused_and_realigned() {
        let mut stream = record(b"first");
        stream.put_slice(&record(b"second"));
        // A rogue 100-byte write shifted the stream: the read starts 100 bytes early.
        let mut shifted = BytesMut::from(&[b'x'; 100][..]);
        shifted.put_slice(&stream[..RECORD_LEN - 100]);
        assert!(matches!(read_record(&shifted), Err(Reason::NotARecord(_))));
        assert_eq!(realignment(&shifted), 100);
        // A read that starts inside a record sees the next marker in its padding.
        let inside = &stream[10..10 + RECORD_LEN];
        assert_eq!(read_record(inside), Err(Reason::NotARecord("no marker at its start")));
        assert_eq!(realignment(inside), RECORD_LEN - 10);
        assert_eq!(read_record(&stream[..100]), Err(Reason::NotARecord("a read of another size than 4096 bytes")));
    }

    #[test]
    fn a_length_beyond_the_end_or_dirty_padding_is_refused() {
        let mut bad = record(b"x");
        bad[2..6].copy_from_slice(&5000_u32.to_be_bytes());
        assert_eq!(read_record(&bad), Err(Reason::NotARecord("a length beyond its end")));
        let mut dirty = record(b"x");
        dirty[RECORD_LEN - 1] = 1;
        assert_eq!(read_record(&dirty), Err(Reason::NotARecord("padding that is not zero")));
    }
}
