#!/usr/bin/env python3
"""A minimal seccomp agent (runtime-spec config-linux.md, listenerPath) for
test_seccomp_listener.sh.

    seccomp_agent.py SOCKET REPORT ERRNO

Listens on the unix socket SOCKET, accepts one connection, reads the container process
state (JSON) and the fds sent with SCM_RIGHTS (until EOF or a whole JSON document), then
answers every seccomp notification on the received listener with -ERRNO until no process
uses the filter any more, noting whether the runtime had closed the connection by the
first one. Writes what it saw to REPORT (JSON) and exits 0; exits 1 with a
message on stderr when nothing usable came.
"""
import array
import fcntl
import json
import os
import select
import socket
import struct
import sys

# _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp) of
# <linux/seccomp.h> on x86_64 (80- and 24-byte structs).
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
NOTIF_SIZE = 80

sock_path, report_path, answer_errno = sys.argv[1], sys.argv[2], int(sys.argv[3])
report = {"messages": 0, "fd_messages": [], "closed": False, "notifications": []}

# Bound under a temporary name and renamed: the socket appears only once it listens.
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path + ".tmp")
srv.listen(1)
os.rename(sock_path + ".tmp", sock_path)
srv.settimeout(60)
conn, _ = srv.accept()
conn.settimeout(10)

payload, fds = b"", []
try:
    # Until EOF or a whole JSON document: a runtime that keeps the connection open must
    # still get its container's syscalls answered.
    while True:
        data, anc, _flags, _addr = conn.recvmsg(1 << 16, socket.CMSG_SPACE(16 * 4))
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(cdata[: len(cdata) - len(cdata) % a.itemsize])
                fds.extend(a)
                report["fd_messages"].append(report["messages"])
        if not data:
            report["closed"] = True
            break
        report["messages"] += 1
        payload += data
        try:
            json.loads(payload)
            break
        except ValueError:
            continue
except socket.timeout:
    pass


def closed_now():
    """True when the runtime has closed its end (EOF without waiting)."""
    if report["closed"]:
        return True
    conn.setblocking(False)
    try:
        return conn.recv(1) == b""
    except BlockingIOError:
        return False

try:
    report["state"] = json.loads(payload)
except ValueError as e:
    report["state"] = None
    report["error"] = f"payload is not JSON: {e}: {payload[:200]!r}"
report["nfds"] = len(fds)
if fds:
    report["fd_link"] = os.readlink(f"/proc/self/fd/{fds[0]}")
    listener = fds[0]
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    while True:
        events = poller.poll(20000)
        if not events:
            report["error"] = "no notification within 20 s"
            break
        if events[0][1] & select.POLLHUP and not events[0][1] & select.POLLIN:
            break  # every process using the filter is gone
        buf = bytearray(NOTIF_SIZE)
        try:
            fcntl.ioctl(listener, NOTIF_RECV, buf, True)
        except OSError:
            break
        notif_id, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
        if not report["notifications"]:
            # One state per connection, closed after it (config-linux.md): by the time the
            # container makes syscalls the runtime has let go of the socket.
            report["closed_before_first_syscall"] = closed_now()
        report["notifications"].append({"pid": pid, "nr": nr})
        try:
            fcntl.ioctl(listener, NOTIF_SEND, struct.pack("=QqiI", notif_id, 0, -answer_errno, 0))
        except OSError as e:  # the process was killed meanwhile
            report["notifications"][-1]["send_error"] = e.errno

conn.close()
with open(report_path + ".tmp", "w") as f:
    json.dump(report, f)
os.rename(report_path + ".tmp", report_path)
if not fds or report["state"] is None:
    print("seccomp_agent: no listener fd or no state received", file=sys.stderr)
    sys.exit(1)
