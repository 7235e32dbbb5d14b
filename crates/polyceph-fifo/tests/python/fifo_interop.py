#!/usr/bin/env python3
"""The Python side of polyceph-fifo's interoperability test (tests/python_interop.rs).

A Python program holding a conversation with a polyceph application over two
FIFOs, with nothing but `msgpack` and the standard library, as docs/fifo.md
describes it:

    fifo_interop.py TO_RUST TO_PYTHON SPEC_JSON

It writes to TO_RUST: a note (with the id, time and body SPEC_JSON gives, so
that Rust can check every field), a line of garbage (which the reader must
skip), and a request to the `echo` actor. It then reads frames from TO_PYTHON
until it has seen the reply to its request, the envelope Rust sends it, and a
request from Rust, which it answers. Any mismatch exits with status 1.
"""

import json
import os
import signal
import struct
import sys
import time
import uuid

import msgpack

MAGIC = b"\xc1F"


def frame(payload):
    """A FIFO frame: the marker, the length (u32, big-endian), the payload."""
    return MAGIC + struct.pack(">I", len(payload)) + payload


def envelope(ident, sender, recipient, subject, body, *, headers=None, time_ns=None,
             expects=None, thread=None, thread_index=1, in_reply_to=None):
    """An envelope in the wire format (docs/wire-format.md)."""
    fields = {
        "v": 1,
        "id": ident.bytes,
        "thread": (thread or ident).bytes,
        "thread_index": thread_index,
        "time": msgpack.Timestamp.from_unix_nano(time_ns if time_ns is not None else time.time_ns()),
        "sender": sender,
        "recipient": recipient,
        "subject": subject,
        "priority": 0,
        "headers": headers or {},
        "body": body,
    }
    if in_reply_to is not None:
        fields["in_reply_to"] = in_reply_to.bytes
    if expects is not None:
        fields["expects"] = expects
    return msgpack.packb(fields)


def read_exact(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            fail("the fifo ended inside a frame")
        data += chunk
    return data


def read_frame(fd):
    header = read_exact(fd, 6)
    if header[:2] != MAGIC:
        fail(f"no frame marker: {header!r}")
    (length,) = struct.unpack(">I", header[2:])
    return msgpack.unpackb(read_exact(fd, length), timestamp=3)


def fail(why):
    print(f"fifo_interop.py: {why}", file=sys.stderr)
    sys.exit(1)


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: got {got!r}, wanted {wanted!r}")


def main(to_rust, to_python, spec):
    signal.alarm(60)  # never outlive a broken test
    # Read-write: the open never waits for a writer, and reads never see the
    # end of input between writers (Linux).
    inbox = os.open(to_python, os.O_RDWR)
    # Non-blocking: fails at once (ENXIO) if nobody reads; then blocking writes.
    outbox = os.open(to_rust, os.O_WRONLY | os.O_NONBLOCK)
    os.set_blocking(outbox, True)

    note = envelope(uuid.UUID(spec["note_id"]), "python", "anyone", "note", spec["note_body"],
                    headers={"lang": "python"}, time_ns=spec["note_time_ns"])
    os.write(outbox, frame(note))  # one write per frame: atomic up to 4096 bytes
    os.write(outbox, b"garbage \xff\x00 from a bad writer\n")
    request_id = uuid.uuid4()
    os.write(outbox, frame(envelope(request_id, "python", "echo", "echo", "ping from python", expects="reply")))

    seen = set()
    while seen != {"reply", "from rust", "ask"}:
        mail = read_frame(inbox)
        expect("version", mail["v"], 1)
        if mail.get("in_reply_to") == request_id.bytes:
            expect("reply thread", mail["thread"], request_id.bytes)
            expect("reply thread_index", mail["thread_index"], 2)
            expect("reply sender", mail["sender"], "echo")
            expect("reply body", mail["body"], "ping from python")
            seen.add("reply")
        elif mail["subject"] == "from rust":
            expect("sender", mail["sender"], "$app")
            expect("recipient", mail["recipient"], "out")
            expect("body", mail["body"], spec["rust_body"])
            expect("headers", mail["headers"], {"lang": "rust"})
            expect("id is a uuid", len(mail["id"]), 16)
            if abs(mail["time"].timestamp() - time.time()) > 60:
                fail(f"time {mail['time']} is not now")
            seen.add("from rust")
        elif mail["subject"] == "ask":
            expect("expects", mail.get("expects"), "reply")
            answer = envelope(uuid.uuid4(), "python", mail["sender"], "reply", mail["body"] * 2,
                              thread=uuid.UUID(bytes=mail["thread"]), thread_index=mail["thread_index"] + 1,
                              in_reply_to=uuid.UUID(bytes=mail["id"]))
            os.write(outbox, frame(answer))
            seen.add("ask")
        else:
            fail(f"unexpected envelope: {mail!r}")
    os.close(outbox)
    os.close(inbox)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail("usage: fifo_interop.py TO_RUST TO_PYTHON SPEC_JSON")
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
