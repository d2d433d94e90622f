#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Speak raw NBD to a server and check how it answers malformed requests.

Usage: nbd_raw.py SOCKET EXPORT CASE   (exit 0: the server behaved)

Each case connects, negotiates (fixed newstyle, optionally structured
replies, OPT_GO) and then sends something wrong. "Behaved" means: the
protocol's error where there is one, the connection closed where the spec
says so, and (checked by the caller) the server still serving others.
"""
import socket
import struct
import sys

NBD_MAGIC = 0x4E42444D41474943
OPTS_MAGIC = 0x49484156454F5054
REP_MAGIC = 0x0003E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE = 0x67446698
STRUCT = 0x668E33EF

OPT_ABORT, OPT_GO, OPT_SR, OPT_SET_META = 2, 7, 8, 10
REP_ACK, REP_INFO = 1, 3
ERR_UNSUP, ERR_INVALID, ERR_UNKNOWN, ERR_TOO_BIG = (0x80000000 | v for v in (1, 3, 6, 9))
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_BS = 0, 1, 2, 3, 4, 7
EPERM, EINVAL, ENOSPC = 1, 22, 28


class Fail(Exception):
    pass


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("server closed the connection")
        b += c
    return b


def closed(s, timeout=5.0):
    """True if the server closes the connection (EOF or reset)."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        magic, opts, flags = struct.unpack(">QQH", recv_exact(self.s, 18))
        if magic != NBD_MAGIC or opts != OPTS_MAGIC or not flags & 1:
            raise Fail("bad greeting")
        self.s.sendall(struct.pack(">I", 1 | (flags & 2)))
        self.structured = False
        self.size = 0
        self.tx = 0

    def option(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", OPTS_MAGIC, opt, len(data)) + data)

    def opt_reply(self):
        magic, opt, typ, ln = struct.unpack(">QIII", recv_exact(self.s, 20))
        if magic != REP_MAGIC:
            raise Fail("bad option reply magic")
        return opt, typ, recv_exact(self.s, ln)

    def opt_final(self):
        """Replies up to the final one; returns (type, [infos])."""
        infos = []
        while True:
            _, typ, data = self.opt_reply()
            if typ == REP_INFO or typ == 4:
                infos.append(data)
                continue
            return typ, infos

    def negotiate(self, name, structured=True, meta=False):
        if structured:
            self.option(OPT_SR)
            typ, _ = self.opt_final()
            self.structured = typ == REP_ACK
        if meta:
            q = b"base:allocation"
            n = name.encode()
            self.option(OPT_SET_META, struct.pack(">I", len(n)) + n +
                        struct.pack(">II", 1, len(q)) + q)
            self.opt_final()
        n = name.encode()
        self.option(OPT_GO, struct.pack(">I", len(n)) + n + struct.pack(">H", 0))
        typ, infos = self.opt_final()
        if typ != REP_ACK:
            raise Fail("GO refused: 0x%x" % typ)
        for i in infos:
            if struct.unpack(">H", i[:2])[0] == 0:
                _, self.size, self.tx = struct.unpack(">HQH", i[:12])
        return self

    def request(self, typ, offset, length, flags=0, handle=1, payload=b"", magic=REQ_MAGIC):
        self.s.sendall(struct.pack(">IHHQQI", magic, flags, typ, handle, offset, length) +
                       payload)

    def reply(self, read_len=0):
        """Returns (handle, error, data) of one whole reply."""
        magic = struct.unpack(">I", recv_exact(self.s, 4))[0]
        if magic == SIMPLE:
            err, handle = struct.unpack(">IQ", recv_exact(self.s, 12))
            data = recv_exact(self.s, read_len) if (read_len and not err) else b""
            return handle, err, data
        if magic != STRUCT:
            raise Fail("bad reply magic 0x%x" % magic)
        err, data = 0, b""
        while True:
            flags, typ, handle, ln = struct.unpack(">HHQI", recv_exact(self.s, 16))
            body = recv_exact(self.s, ln)
            if typ & 0x8000:
                err = struct.unpack(">I", body[:4])[0]
            elif typ == 1:
                data += body[8:]
            if flags & 1:
                return handle, err, data
            if struct.unpack(">I", recv_exact(self.s, 4))[0] != STRUCT:
                raise Fail("bad chunk magic")


def expect(cond, what):
    if not cond:
        raise Fail(what)


def case_bad_magic(c):
    c.negotiate(EXPORT)
    c.request(CMD_READ, 0, 512, magic=0xDEADBEEF)
    expect(closed(c.s), "a request with a bad magic must close the connection")


def case_unknown_command(c):
    c.negotiate(EXPORT)
    c.request(42, 0, 512, handle=7)
    h, err, _ = c.reply()
    expect(h == 7 and err == EINVAL, "unknown command: want EINVAL, got %d" % err)
    c.request(CMD_READ, 0, 512, handle=8)
    h, err, data = c.reply(512)
    expect(h == 8 and err == 0 and len(data) == 512, "the connection must still serve")


def case_read_past_end(c):
    c.negotiate(EXPORT, structured=False)
    c.request(CMD_READ, c.size - 512, 1024, handle=3)
    h, err, _ = c.reply(1024)
    expect(err == EINVAL, "read past the end: want EINVAL, got %d" % err)
    c.request(CMD_WRITE, c.size, 512, handle=4, payload=b"x" * 512)
    h, err, _ = c.reply()
    expect(err == ENOSPC, "write past the end: want ENOSPC, got %d" % err)
    c.request(CMD_READ, 2**64 - 512, 1024, handle=5)
    h, err, _ = c.reply(1024)
    expect(err == EINVAL, "offset overflow: want EINVAL, got %d" % err)
    c.request(CMD_READ, 0, 512, handle=6)
    expect(c.reply(512)[1] == 0, "the connection must still serve")


def case_structured_error(c):
    c.negotiate(EXPORT, structured=True)
    expect(c.structured, "structured replies")
    c.request(CMD_READ, c.size, 4096, handle=9)
    h, err, data = c.reply(4096)
    expect(h == 9 and err == EINVAL and not data, "structured error chunk with EINVAL")


def case_oversized(c):
    c.negotiate(EXPORT)
    c.request(CMD_READ, 0, 64 << 20, handle=1)
    _, err, _ = c.reply(64 << 20)
    expect(err == EINVAL, "a 64 MiB read: want EINVAL, got %d" % err)
    c.request(CMD_WRITE, 0, 256 << 20, handle=2)  # no payload follows
    _, err, _ = c.reply()
    expect(err == EINVAL, "a 256 MiB write: want EINVAL, got %d" % err)
    expect(closed(c.s), "after a write too large to skip, the server closes")


def case_bad_flags(c):
    c.negotiate(EXPORT)
    c.request(CMD_READ, 0, 512, flags=0x8000, handle=1)
    expect(c.reply(512)[1] == EINVAL, "unknown flag: EINVAL")
    c.request(CMD_READ, 0, 512, flags=0x8, handle=2)  # REQ_ONE on READ
    expect(c.reply(512)[1] == EINVAL, "REQ_ONE on READ: EINVAL")
    c.request(CMD_BS, 0, 512, handle=3)  # no meta context negotiated
    expect(c.reply()[1] == EINVAL, "BLOCK_STATUS without a context: EINVAL")
    c.request(CMD_FLUSH, 512, 0, handle=4)
    expect(c.reply()[1] == EINVAL, "FLUSH with an offset: EINVAL")
    c.request(CMD_READ, 1, 512, handle=5)
    expect(c.reply(512)[1] == EINVAL, "unaligned READ: EINVAL")
    c.request(CMD_WRITE, 0, 0, handle=6)
    expect(c.reply()[1] == EINVAL, "zero-length WRITE: EINVAL")
    # a refused WRITE's payload is skipped: the stream stays in step
    c.request(CMD_WRITE, 3, 512, handle=7, payload=b"\x25\x60\x95\x13" * 128)
    expect(c.reply()[1] == EINVAL, "unaligned WRITE: EINVAL")
    c.request(CMD_READ, 0, 512, handle=8)
    h, err, _ = c.reply(512)
    expect(h == 8 and err == 0, "still in step after a refused WRITE")


def case_read_only(c):
    c.negotiate(EXPORT)
    expect(c.tx & 2, "read-only flag")
    c.request(CMD_WRITE, 0, 512, handle=1, payload=b"y" * 512)
    expect(c.reply()[1] == EPERM, "write to a read-only export: EPERM")
    c.request(CMD_TRIM, 0, 512, handle=2)
    expect(c.reply()[1] == EPERM, "trim on a read-only export: EPERM")


def case_truncated_payload(c):
    c.negotiate(EXPORT)
    c.request(CMD_WRITE, 0, 4096, handle=1, payload=b"z" * 100)
    c.s.close()


def case_pending_disconnect(c):
    c.negotiate(EXPORT)
    for i in range(32):
        c.request(CMD_READ, (i * 1048576) % (c.size - 1048576), 1048576, handle=i)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.s.close()  # reset with 32 MiB of replies pending


def case_options(c):
    c.option(99)
    expect(c.opt_final()[0] == ERR_UNSUP, "unknown option: ERR_UNSUP")
    c.option(OPT_GO, b"\x00\x00\x00\x10abc")
    expect(c.opt_final()[0] == ERR_INVALID, "GO with bad lengths: ERR_INVALID")
    n = b"no-such-export"
    c.option(OPT_GO, struct.pack(">I", len(n)) + n + b"\x00\x00")
    expect(c.opt_final()[0] == ERR_UNKNOWN, "GO to an unknown export: ERR_UNKNOWN")
    c.option(OPT_SET_META, b"\x00\x00\x00\x00\x00\x00\x00\x00")
    expect(c.opt_final()[0] == ERR_INVALID, "SET_META_CONTEXT before STRUCTURED_REPLY")
    c.option(OPT_GO, b"\x00" * (1 << 20))  # oversized: skipped, then refused
    expect(c.opt_final()[0] == ERR_TOO_BIG, "1 MiB of option data: ERR_TOO_BIG")
    c.option(OPT_ABORT)
    expect(c.opt_final()[0] == REP_ACK, "ABORT: ACK")
    expect(closed(c.s), "ABORT closes")


def case_bad_option_magic(c):
    c.s.sendall(struct.pack(">QII", 0x1122334455667788, OPT_GO, 0))
    expect(closed(c.s), "an option with a bad magic closes the connection")


def case_block_status(c):
    c.negotiate(EXPORT, structured=True, meta=True)
    c.request(CMD_BS, 0, 1 << 20, handle=11)
    magic = struct.unpack(">I", recv_exact(c.s, 4))[0]
    flags, typ, handle, ln = struct.unpack(">HHQI", recv_exact(c.s, 16))
    body = recv_exact(c.s, ln)
    expect(magic == STRUCT and typ == 5 and handle == 11 and flags & 1, "block status chunk")
    total = sum(struct.unpack(">I", body[4 + 8 * i:8 + 8 * i])[0] for i in range((ln - 4) // 8))
    expect(0 < total <= 1 << 20, "extents cover at most the request")
    c.request(CMD_DISC, 0, 0)
    expect(closed(c.s), "DISC closes")


def case_good(c):
    c.negotiate(EXPORT)
    c.request(CMD_READ, 0, 4096, handle=1)
    expect(c.reply(4096)[1] == 0, "a plain read works")


if __name__ == "__main__":
    sock, EXPORT, case = sys.argv[1:4]
    try:
        globals()["case_" + case](Client(sock))
    except (Fail, EOFError, OSError) as e:
        print("%s: %s" % (case, e), file=sys.stderr)
        sys.exit(1)
