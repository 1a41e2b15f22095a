#!/usr/bin/env python3
"""Malformed requests beside a download (issue 8, item 5), against any HTTP/2 server over TLS.

For each variant, on a fresh connection: GET the large file on stream 1, and once its first DATA
arrives, send a request with one malformed field on stream 3 (header blocks built by hand with
HPACK literals, every field with incremental indexing). Then read until stream 1 ends or the
connection does, returning every DATA byte to the flow-control windows. One line per variant:
the bytes stream 1 delivered, what stream 3 got, whether a GOAWAY came, and the time taken.

Usage: malformed_requests.py NAME PORT BIG_PATH BIG_BYTES  (standard library only)
"""
import socket
import ssl
import struct
import sys
import time

DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 7, 8, 9
STATUS = {0x88: 200, 0x89: 204, 0x8A: 206, 0x8B: 304, 0x8C: 400, 0x8D: 404, 0x8E: 500}
# Huffman codes of the digits (RFC 7541 Appendix B): '0'-'2' in 5 bits, '3'-'9' in 6.
DIGIT_CODES = {(0b00000, 5): "0", (0b00001, 5): "1", (0b00010, 5): "2"}
DIGIT_CODES.update({(0b011001 + i, 6): str(3 + i) for i in range(7)})
READ_TIMEOUT = 20


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """An HPACK literal with incremental indexing and a new name, no Huffman coding."""
    return bytes([0x40, len(name)]) + name + bytes([len(value)]) + value


def get(path, extra=()):
    fields = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"), (b":path", path)]
    return fields + list(extra)


def block(fields):
    return b"".join(literal(n, v) for n, v in fields)


VARIANTS = [
    ("raw 0xff in :path", get(b"/\xff.txt")),
    ("UTF-8 in :path", get("/é.txt".encode())),
    ("0x01 in a value", get(b"/small.txt", [(b"x-a", b"a\x01b")])),
    ("upper-case name", get(b"/small.txt", [(b"X-Upper", b"b")])),
    ("bad :method", get(b"/small.txt")[1:] + [(b":method", b"G(T")]),
    ("unknown pseudo", get(b"/small.txt", [(b":foo", b"x")])),
    ("no :path", get(b"/small.txt")[:3]),
    ("connection: x", get(b"/small.txt", [(b"connection", b"x")])),
]


class Conn:
    def __init__(self, port):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
        # WINDOW_UPDATEs are small writes: without this, Nagle holds them for delayed ACKs and
        # the download crawls at one window per 40 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        assert self.s.selected_alpn_protocol() == "h2", "server did not pick h2"
        self.buf = bytearray()
        self.pos = 0  # start of the unread bytes in buf (compacted now and then, not per frame)
        self.s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0, b""))

    def send(self, kind, flags, stream, payload):
        try:
            self.s.sendall(frame(kind, flags, stream, payload))
        except OSError:
            pass  # the server closed the connection: the next read says so

    def next(self):
        """The next frame as (kind, flags, stream, payload), or None when the connection ends."""
        while True:
            while True:
                have = len(self.buf) - self.pos
                if have >= 9 and have >= 9 + int.from_bytes(self.buf[self.pos : self.pos + 3], "big"):
                    break
                try:
                    chunk = self.s.recv(1 << 20)
                except (OSError, socket.timeout):
                    return None
                if not chunk:
                    return None
                del self.buf[: self.pos]
                self.pos = 0
                self.buf += chunk
            p = self.pos
            n = int.from_bytes(self.buf[p : p + 3], "big")
            kind, flags = self.buf[p + 3], self.buf[p + 4]
            stream = int.from_bytes(self.buf[p + 5 : p + 9], "big") & 0x7FFFFFFF
            payload = bytes(self.buf[p + 9 : p + 9 + n])
            self.pos = p + 9 + n
            if kind == SETTINGS and not flags & 1:
                self.send(SETTINGS, 1, 0, b"")
            elif kind == DATA and payload:
                inc = struct.pack(">I", len(payload))
                self.send(WINDOW_UPDATE, 0, 0, inc)
                if not flags & 1:
                    self.send(WINDOW_UPDATE, 0, stream, inc)
            if kind in (DATA, HEADERS, RST_STREAM, GOAWAY):
                return kind, flags, stream, payload


def status(block):
    """The :status that starts a response header block: a static-table entry, or a literal
    with the :status name (index 8) and a three-digit value, Huffman-coded or not."""
    first = block[0]
    if first in STATUS:
        return STATUS[first]
    if first not in (0x08, 0x18, 0x48):
        return "0x%02x.." % first
    value = block[2 : 2 + (block[1] & 0x7F)]
    if not block[1] & 0x80:
        return value.decode()
    bits = "".join(format(b, "08b") for b in value)
    digits, at = "", 0
    while len(digits) < 3:
        for width in (5, 6):
            if (int(bits[at : at + width], 2), width) in DIGIT_CODES:
                digits += DIGIT_CODES[(int(bits[at : at + width], 2), width)]
                at += width
                break
        else:
            return "0x%02x.." % first
    return digits


def run(port, big_path, fields):
    c = Conn(port)
    c.send(HEADERS, 0x5, 1, block(get(big_path)))
    got, fate, goaway, sent, done = 0, "none", "-", False, False
    while not done:
        f = c.next()
        if f is None:
            break
        kind, flags, stream, payload = f
        if kind == DATA and stream == 1:
            got += len(payload)
            done = bool(flags & 1)
            if not sent:
                c.send(HEADERS, 0x5, 3, block(fields))
                sent = True
        elif kind == HEADERS and stream == 3:
            fate = "status %s" % status(payload)
        elif kind == RST_STREAM and stream == 3:
            fate = "RST_STREAM %d" % int.from_bytes(payload, "big")
        elif kind == GOAWAY:
            goaway = "code %d" % int.from_bytes(payload[4:8], "big")
        elif kind == RST_STREAM and stream == 1:
            break
    c.s.close()
    return got, fate, goaway


def main():
    name, port, big_path, big = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
    for label, fields in VARIANTS:
        start = time.monotonic()
        got, fate, goaway = run(port, big_path, fields)
        whole = "all" if got == big else "CUT"
        print("%-8s %-18s %12d %-4s %-16s %-8s %6.2fs" % (name, label, got, whole, fate, goaway, time.monotonic() - start))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
