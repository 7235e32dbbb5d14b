"""A Python client of polyceph's multicast datagram format (docs/multicast.md).

Publishes, on a host-local group (loopback interface, TTL 0: nothing
leaves this host), a raw payload with a topic in one datagram, then a
raw payload of 3 fragments sent out of order.

Usage: datagram_client.py GROUP PORT
"""

import socket
import struct
import sys

KIND_ENVELOPE, KIND_RAW = 1, 2


def datagrams(kind, message_id, payload, topic="", fragment_size=60000):
    """The datagrams of one message: header, topic, payload fragment."""
    topic = topic.encode("utf-8")
    chunks = [payload[i:i + fragment_size] for i in range(0, len(payload), fragment_size)] or [b""]
    for index, chunk in enumerate(chunks):
        header = struct.pack(">2sBBQHHIB", b"PM", 1, kind, message_id, index, len(chunks), len(payload), len(topic))
        yield header + topic + chunk


def host_local_sender():
    """A UDP socket whose multicast stays on this host."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    return sock


def main():
    group, port = sys.argv[1], int(sys.argv[2])
    sock = host_local_sender()
    for datagram in datagrams(KIND_RAW, 1, b"hello from python", topic="py"):
        sock.sendto(datagram, (group, port))
    fragments = list(datagrams(KIND_RAW, 2, bytes(range(256)) * 10, topic="py", fragment_size=1000))
    assert len(fragments) == 3
    for datagram in reversed(fragments):
        sock.sendto(datagram, (group, port))


if __name__ == "__main__":
    main()
