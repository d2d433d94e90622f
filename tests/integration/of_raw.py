#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Send raw OpenFlow messages to a switch and report its answers.

Usage: of_raw.py TARGET VERSION MSG...
  TARGET   unix:PATH or tcp:IP:PORT
  VERSION  1 (OpenFlow 1.0) or 4 (1.3)
  MSG      a message name from MESSAGES below, or hex (xid and length are
           filled in: give the 8-byte header with zeros there)

After the HELLO exchange each message is sent followed by a barrier; for
each, one line is printed: "ok" when only the barrier reply came back,
"error TYPE CODE" for an OFPT_ERROR, or "reply TYPE" for another answer.
Exits 1 when the switch closed the connection or timed out.
"""
import socket
import struct
import sys
import time

BARRIER = {1: (18, 19), 4: (20, 21)}
ERROR = 1


MATCH13_ALL = struct.pack("!HH4x", 1, 4)


def hdr(version, mtype):
    return struct.pack("!BBHI", version, mtype, 0, 0)


def out13(port):
    return struct.pack("!HHIH6x", 0, 16, port, 0)


def apply13(acts):
    return struct.pack("!HH4x", 4, 8 + len(acts)) + acts


def goto13(table):
    return struct.pack("!HHB3x", 1, 8, table)


def fm13(table=0, cmd=0, insts=b"", prio=100, flags=0, match=MATCH13_ALL):
    return (hdr(4, 14) + struct.pack("!QQBBHHHIIIH2x", 0, 0, table, cmd, 0, 0, prio,
                                     0xffffffff, 0xffffffff, 0xffffffff, flags)
            + match + insts)


def fm10(flags=0, acts=b""):
    match = struct.pack("!I36x", (1 << 22) - 1)
    return (hdr(1, 14) + match + struct.pack("!QHHHHIHH", 0, 0, 0, 0, 100, 0xffffffff,
                                             0xffff, flags) + acts)


MESSAGES = {
    # 1.3
    "fm-ok": fm13(insts=apply13(out13(1))),
    "fm-overlap": fm13(prio=7, flags=2, insts=apply13(out13(1))),
    "fm-table-all-add": fm13(table=0xff, insts=apply13(out13(1))),
    "fm-bad-command": fm13(cmd=9),
    "fm-out-port-0": fm13(insts=apply13(out13(0))),
    "fm-goto-back": fm13(table=3, insts=goto13(1)),
    "fm-unknown-inst": fm13(insts=struct.pack("!HH4x", 7, 8)),
    "fm-short": hdr(4, 14) + bytes(12),
    "bad-type": hdr(4, 99),
    "meter-dscp-band": hdr(4, 29) + struct.pack("!HHI", 0, 1, 1)
                       + struct.pack("!HHIIB3x", 2, 16, 1000, 0, 1),
    "role-slave": hdr(4, 24) + struct.pack("!I4xQ", 3, 1),
    "role-master": hdr(4, 24) + struct.pack("!I4xQ", 2, 2),
    "role-stale": hdr(4, 24) + struct.pack("!I4xQ", 2, 1),
    # 1.0
    "fm10-ok": fm10(acts=struct.pack("!HHHH", 0, 8, 1, 0)),
    "fm10-emerg": fm10(flags=4),
    "nicira10": hdr(1, 4) + struct.pack("!II", 0x2320, 0xffff),
    "vendor10": hdr(1, 4) + struct.pack("!II", 0x12345678, 1),
}


def connect(target):
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target[5:])
    else:
        _, ip, port = target.split(":")
        s = socket.create_connection((ip, int(port)))
    s.settimeout(5)
    return s


def read_msg(s, buf):
    while len(buf) < 8 or len(buf) < struct.unpack("!H", buf[2:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    n = struct.unpack("!H", buf[2:4])[0]
    return buf[:n], buf[n:]


def main():
    target, version = sys.argv[1], int(sys.argv[2])
    s = connect(target)
    s.sendall(struct.pack("!BBHI", version, 0, 8, 1))
    buf = b""
    msg, buf = read_msg(s, buf)  # the switch's HELLO
    xid = 100
    for hexmsg in sys.argv[3:]:
        body = bytearray(MESSAGES[hexmsg] if hexmsg in MESSAGES else bytes.fromhex(hexmsg))
        xid += 1
        struct.pack_into("!HI", body, 2, len(body), xid)
        s.sendall(bytes(body))
        breq, brep = BARRIER[version]
        s.sendall(struct.pack("!BBHI", version, breq, 8, xid + 1000))
        result = "ok"
        deadline = time.time() + 5
        while time.time() < deadline:
            msg, buf = read_msg(s, buf)
            mtype, mxid = msg[1], struct.unpack("!I", msg[4:8])[0]
            if mtype == brep and mxid == xid + 1000:
                break
            if mtype == 2:  # echo request
                s.sendall(bytes([version, 3]) + msg[2:])
                continue
            if mtype == ERROR and mxid == xid and result == "ok":
                etype, ecode = struct.unpack("!HH", msg[8:12])
                result = "error %d %d" % (etype, ecode)
            elif mxid == xid and result == "ok":
                result = "reply %d" % mtype
        print(result)
        xid += 1
    s.close()


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError) as e:
        print("connection failed: %s" % e)
        sys.exit(1)
