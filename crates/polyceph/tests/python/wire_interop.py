#!/usr/bin/env python3
"""The Python side of polyceph's wire-format interoperability test.

Run by crates/polyceph/tests/wire_python_interop.rs; needs only the standard
library and the `msgpack` package (`pip install msgpack`, 1.0 or later).
The specification is docs/wire-format.md.

    wire_interop.py write SPEC.json
        Packs each envelope SPEC.json describes the way a Python client
        would (uuid.UUID.bytes, msgpack.Timestamp, dicts with str keys) and
        writes them to stdout as length-delimited frames: a 4-byte big-endian
        length, then that many bytes of msgpack.

    wire_interop.py check SPEC.json FRAMES
        Reads the length-delimited frames in the file FRAMES (written by
        Rust), unpacks each with msgpack.unpackb and compares it field by
        field with the envelope SPEC.json describes. Every mismatch is
        printed on stderr and the exit status is 1.

SPEC.json is written by the Rust test, so the expected values come from
Rust. It is a JSON list of envelopes, each an object with the fields of the
wire format: "id", "thread" and "in_reply_to" as UUID strings, "time" as
[seconds, nanoseconds], "recipient" as its text form ("main", "group:NAME",
"topic:NAME", "*"), "headers" as {name: TYPED}, "body" as TYPED, and, for
`write` only, "unknown" as {name: TYPED}: extra fields a newer writer would
add; "expects" is "reply" or "ack". An optional field that is absent from a
spec is absent from the envelope written (`write`) or must take its default
(`check`). A "label" names the envelope in messages.

JSON cannot tell every msgpack type apart, so a TYPED value is a one-key
object naming its type:

    {"nil": null}  {"bool": true}  {"int": -5}  {"float": 2.5}  {"str": "x"}
    {"bin": "00ff"} (hex)  {"list": [TYPED, ...]}  {"map": {"key": TYPED}}
    {"ext": [type, "hex"]}  {"timestamp": [seconds, nanoseconds]}

Exit status: 0 when everything matched, 1 on a mismatch, 2 on bad usage or
a missing or too old msgpack.
"""

import datetime
import json
import struct
import sys
import uuid

try:
    import msgpack
except ImportError:
    sys.exit(
        f"error: {sys.executable} cannot import msgpack: install it with "
        "`pip install msgpack`, or run `cargo xtask test`, which makes a "
        "virtualenv with it"
    )

MSGPACK_VERSION = ".".join(map(str, msgpack.version))

if not hasattr(msgpack, "Timestamp"):
    sys.exit(f"error: msgpack {MSGPACK_VERSION} is too old: the wire format needs 1.0 or later")

FORMAT_VERSION = 1
FIELDS = (
    "v", "id", "thread", "thread_index", "time", "sender", "incarnation",
    "recipient", "subject", "priority", "headers", "in_reply_to", "expects", "body",
)
REQUIRED = ("v", "id", "time", "sender", "recipient", "subject")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# --- typed values ----------------------------------------------------------


def from_typed(typed):
    """The Python value a TYPED JSON value stands for, as msgpack packs it."""
    (kind, value), = typed.items()
    if kind == "nil":
        return None
    if kind in ("bool", "int", "float", "str"):
        return value
    if kind == "bin":
        return bytes.fromhex(value)
    if kind == "list":
        return [from_typed(item) for item in value]
    if kind == "map":
        return {key: from_typed(item) for key, item in value.items()}
    if kind == "ext":
        code, data = value
        return msgpack.ExtType(code, bytes.fromhex(data))
    if kind == "timestamp":
        seconds, nanoseconds = value
        return msgpack.Timestamp(seconds, nanoseconds)
    raise ValueError(f"unknown typed value {typed!r}")


def compare(actual, typed, where, errors):
    """Appends to `errors` how `actual` differs from TYPED, types included:
    True is not 1, 1.0 is not 1, b"a" is not "a"."""
    (kind, value), = typed.items()

    def differ(expected):
        errors.append(f"{where}: expected {expected}, got {actual!r} ({type(actual).__name__})")

    if kind == "nil":
        if actual is not None:
            differ("nil")
    elif kind == "bool":
        if type(actual) is not bool or actual != value:
            differ(f"bool {value!r}")
    elif kind == "int":
        if type(actual) is not int or actual != value:
            differ(f"int {value!r}")
    elif kind == "float":
        if type(actual) is not float or actual != value:
            differ(f"float {value!r}")
    elif kind == "str":
        if type(actual) is not str or actual != value:
            differ(f"str {value!r}")
    elif kind == "bin":
        if type(actual) is not bytes or actual != bytes.fromhex(value):
            differ(f"bin {value}")
    elif kind == "list":
        if type(actual) is not list or len(actual) != len(value):
            differ(f"a list of {len(value)}")
        else:
            for i, (item, expected) in enumerate(zip(actual, value)):
                compare(item, expected, f"{where}[{i}]", errors)
    elif kind == "map":
        if type(actual) is not dict:
            differ("a map")
        else:
            compare_map(actual, value, where, errors)
    elif kind == "ext":
        code, data = value
        if type(actual) is not msgpack.ExtType or actual != msgpack.ExtType(code, bytes.fromhex(data)):
            differ(f"ExtType({code}, {data})")
    elif kind == "timestamp":
        seconds, nanoseconds = value
        if type(actual) is not msgpack.Timestamp or actual != msgpack.Timestamp(seconds, nanoseconds):
            differ(f"Timestamp({seconds}, {nanoseconds})")
    else:
        raise ValueError(f"unknown typed value {typed!r}")


def compare_map(actual, typed_entries, where, errors):
    if set(actual) != set(typed_entries):
        errors.append(f"{where}: expected the keys {sorted(typed_entries)}, got {sorted(map(repr, actual))}")
    for key, expected in typed_entries.items():
        if key in actual:
            compare(actual[key], expected, f"{where}[{key!r}]", errors)


# --- envelopes -------------------------------------------------------------


def pack_envelope(spec):
    """One envelope as a Python client writes it: `v` first, the fields the
    spec has, the unknown ones after `v`."""
    envelope = {"v": FORMAT_VERSION}
    for name, typed in spec.get("unknown", {}).items():
        envelope[name] = from_typed(typed)
    envelope["id"] = uuid.UUID(spec["id"]).bytes
    if "thread" in spec:
        envelope["thread"] = uuid.UUID(spec["thread"]).bytes
    if "thread_index" in spec:
        envelope["thread_index"] = spec["thread_index"]
    seconds, nanoseconds = spec["time"]
    envelope["time"] = msgpack.Timestamp(seconds, nanoseconds)
    envelope["sender"] = spec["sender"]
    if "incarnation" in spec:
        envelope["incarnation"] = spec["incarnation"]
    envelope["recipient"] = spec["recipient"]
    envelope["subject"] = spec["subject"]
    if "priority" in spec:
        envelope["priority"] = spec["priority"]
    if "headers" in spec:
        envelope["headers"] = {name: from_typed(value) for name, value in spec["headers"].items()}
    if "in_reply_to" in spec:
        envelope["in_reply_to"] = uuid.UUID(spec["in_reply_to"]).bytes
    if "expects" in spec:
        envelope["expects"] = spec["expects"]
    if "body" in spec:
        envelope["body"] = from_typed(spec["body"])
    return msgpack.packb(envelope)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def unframe(data):
    """The payloads of the length-delimited frames that make up `data`."""
    frames, at = [], 0
    while at < len(data):
        if len(data) - at < 4:
            raise ValueError(f"{len(data) - at} stray bytes after frame {len(frames)}")
        (length,) = struct.unpack_from(">I", data, at)
        at += 4
        if len(data) - at < length:
            raise ValueError(f"frame {len(frames)} announces {length} bytes, {len(data) - at} remain")
        frames.append(data[at:at + length])
        at += length
    return frames


def check_uuid(actual, expected, where, errors):
    if type(actual) is not bytes or len(actual) != 16:
        errors.append(f"{where}: expected bin 16 (UUID {expected}), got {actual!r}")
    elif uuid.UUID(bytes=actual) != uuid.UUID(expected):
        errors.append(f"{where}: expected UUID {expected}, got {uuid.UUID(bytes=actual)}")


def check_int(actual, expected, where, errors):
    if type(actual) is not int or actual != expected:
        errors.append(f"{where}: expected int {expected}, got {actual!r}")


def check_str(actual, expected, where, errors):
    if type(actual) is not str or actual != expected:
        errors.append(f"{where}: expected str {expected!r}, got {actual!r}")


def check_envelope(payload, spec, errors):
    """Compares one envelope Rust wrote with its spec, field by field."""
    label = f"envelope {spec.get('label', '?')!r}"
    try:
        mail = msgpack.unpackb(payload, timestamp=0)  # time as msgpack.Timestamp: nanoseconds kept
        as_datetime = msgpack.unpackb(payload, timestamp=3)["time"]  # the usual Python reading
    except Exception as e:  # noqa: BLE001 - any failure to unpack is the finding
        errors.append(f"{label}: msgpack cannot unpack it: {e!r}")
        return
    if type(mail) is not dict:
        errors.append(f"{label}: expected a map, got {type(mail).__name__}")
        return

    keys = list(mail)
    if keys[:1] != ["v"]:
        errors.append(f"{label}: `v` must come first, the keys are {keys}")
    for key in keys:
        if key not in FIELDS:
            errors.append(f"{label}: unexpected key {key!r}")
    for key in REQUIRED:
        if key not in mail:
            errors.append(f"{label}: the required field {key!r} is missing")

    def field(name, default=None):
        return mail.get(name, default)

    check_int(field("v"), FORMAT_VERSION, f"{label} field 'v'", errors)
    check_uuid(field("id"), spec["id"], f"{label} field 'id'", errors)
    check_uuid(field("thread", field("id")), spec.get("thread", spec["id"]), f"{label} field 'thread'", errors)
    check_int(field("thread_index", 1), spec.get("thread_index", 1), f"{label} field 'thread_index'", errors)

    seconds, nanoseconds = spec["time"]
    time = field("time")
    if type(time) is not msgpack.Timestamp or time != msgpack.Timestamp(seconds, nanoseconds):
        errors.append(f"{label} field 'time': expected Timestamp({seconds}, {nanoseconds}), got {time!r}")
    expected_datetime = EPOCH + datetime.timedelta(seconds=seconds, microseconds=nanoseconds // 1000)
    if as_datetime != expected_datetime:
        errors.append(f"{label} field 'time' (timestamp=3): expected {expected_datetime}, got {as_datetime!r}")

    check_str(field("sender"), spec["sender"], f"{label} field 'sender'", errors)
    check_int(field("incarnation", 0), spec.get("incarnation", 0), f"{label} field 'incarnation'", errors)
    check_str(field("recipient"), spec["recipient"], f"{label} field 'recipient'", errors)
    check_str(field("subject"), spec["subject"], f"{label} field 'subject'", errors)
    check_int(field("priority", 0), spec.get("priority", 0), f"{label} field 'priority'", errors)
    priority = field("priority", 0)
    if type(priority) is int and not -128 <= priority <= 127:
        errors.append(f"{label} field 'priority': {priority} is not in -128..127")

    headers = field("headers", {})
    if type(headers) is not dict:
        errors.append(f"{label} field 'headers': expected a map, got {headers!r}")
    else:
        compare_map(headers, spec.get("headers", {}), f"{label} header", errors)

    if "in_reply_to" in spec:
        check_uuid(field("in_reply_to"), spec["in_reply_to"], f"{label} field 'in_reply_to'", errors)
    elif "in_reply_to" in mail:
        errors.append(f"{label} field 'in_reply_to': expected none, got {mail['in_reply_to']!r}")
    if "expects" in spec:
        check_str(field("expects"), spec["expects"], f"{label} field 'expects'", errors)
    elif "expects" in mail:
        errors.append(f"{label} field 'expects': expected none, got {mail['expects']!r}")

    compare(field("body"), spec.get("body", {"nil": None}), f"{label} body", errors)


# --- commands --------------------------------------------------------------


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write(spec_path):
    out = sys.stdout.buffer
    for spec in load_spec(spec_path):
        out.write(frame(pack_envelope(spec)))
    out.flush()
    return 0


def check(spec_path, frames_path):
    specs = load_spec(spec_path)
    with open(frames_path, "rb") as f:
        data = f.read()
    try:
        payloads = unframe(data)
    except ValueError as e:
        print(f"error: {frames_path}: {e}", file=sys.stderr)
        return 1
    errors = []
    if len(payloads) != len(specs):
        errors.append(f"expected {len(specs)} envelopes, got {len(payloads)} frames")
    for payload, spec in zip(payloads, specs):
        check_envelope(payload, spec, errors)
    for error in errors:
        print(f"mismatch: {error}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} mismatches in {len(payloads)} envelopes", file=sys.stderr)
        return 1
    print(f"ok: {len(payloads)} envelopes match, with msgpack {MSGPACK_VERSION} on Python {sys.version.split()[0]}")
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "write":
        return write(argv[1])
    if len(argv) == 3 and argv[0] == "check":
        return check(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
