#!/usr/bin/env python3
"""An HTTP proxy in front of a registry that cuts blob downloads, for the resume tests.

    cut_proxy.py --upstream 127.0.0.1:5000 --port-file F --log L --cut-after N --cut-count K

Forwards every request to the upstream registry (plain HTTP). For a GET whose path matches
--match (default: a blob, /v2/…/blobs/sha256:<hex>) and whose response body is longer than
N bytes, the first K such requests for each path get the full headers (the real
Content-Length) but only N bytes of body, then the connection is closed: what a client
sees when a download breaks. Later requests pass unchanged, so a client that resumes with
"Range: bytes=N-" (or restarts) completes.

Each request is logged as one line:
    GET /v2/test/big/blobs/sha256:… | Range: bytes=1048576- | 206 | sent 3145728 | cut
("Range: -" when there was none; "cut" only on cut responses), so a test can assert that a
resumed request happened. --cut-count 0 makes it a logging proxy (to count blob GETs).
--stall: instead of closing, keep the connection open without sending more (the line is
logged with "stalled" at that moment), until the client goes away: a test can then kill
the client mid-download and check that the next one resumes from what was saved.
Standard library only; the port is chosen by the kernel and written to --port-file.
"""
import argparse
import http.client
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "host"}


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # per-request lines go to --log instead
        pass

    def _forward(self):
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        up = http.client.HTTPConnection(srv.upstream_host, srv.upstream_port, timeout=60)
        try:
            up.request(self.command, self.path, body=body, headers=headers)
            resp = up.getresponse()
        except OSError as e:
            msg = f"proxy: upstream {srv.upstream_host}:{srv.upstream_port}: {e}\n".encode()
            self.send_response(502)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            srv.log(self.command, self.path, self.headers.get("Range"), 502, len(msg), False)
            return

        total = resp.getheader("Content-Length")
        cut = False
        if (self.command == "GET" and srv.match.search(self.path) and resp.status in (200, 206)
                and total is not None and int(total) > srv.cut_after):
            with srv.lock:
                n = srv.cuts.get(self.path, 0)
                if n < srv.cut_count:
                    srv.cuts[self.path] = n + 1
                    cut = True

        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        if total is None and self.command != "HEAD":
            # Chunked upstream body (rare for a registry): buffer it to send a length.
            data = resp.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            srv.log(self.command, self.path, self.headers.get("Range"), resp.status, len(data),
                    False)
            up.close()
            return
        self.end_headers()

        sent = 0
        limit = srv.cut_after if cut else None
        while self.command != "HEAD":
            want = 65536 if limit is None else min(65536, limit - sent)
            if want <= 0:
                break
            chunk = resp.read(want)
            if not chunk:
                break
            try:
                self.wfile.write(chunk)
            except OSError:  # the client went away
                break
            sent += len(chunk)
        up.close()
        if cut and srv.stall:
            self.wfile.flush()
            srv.log(self.command, self.path, self.headers.get("Range"), resp.status, sent,
                    "stalled")
            self._wait_for_client_close()
        else:
            srv.log(self.command, self.path, self.headers.get("Range"), resp.status, sent, cut)
        if cut:
            # The body is short of Content-Length: shut the socket down so the client
            # reads exactly `sent` bytes and then EOF, as when a download breaks.
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _wait_for_client_close(self):
        self.connection.settimeout(1)
        deadline = time.monotonic() + self.server.stall_seconds
        while time.monotonic() < deadline:
            try:
                if not self.connection.recv(4096):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward


class CutProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), ProxyHandler)
        host, _, port = args.upstream.rpartition(":")
        self.upstream_host, self.upstream_port = host, int(port)
        self.cut_after, self.cut_count = args.cut_after, args.cut_count
        self.match = re.compile(args.match)
        self.stall, self.stall_seconds = args.stall, args.stall_seconds
        self.cuts = {}
        self.lock = threading.Lock()
        self.log_file = open(args.log, "a", buffering=1) if args.log else None

    def log(self, method, path, rng, status, sent, cut):
        if self.log_file:
            with self.lock:
                mark = f" | {cut}" if isinstance(cut, str) else (" | cut" if cut else "")
                self.log_file.write(f"{method} {path} | Range: {rng or '-'} | {status} | "
                                    f"sent {sent}{mark}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--port-file", help="written with the port once listening")
    p.add_argument("--log", help="append one line per request here")
    p.add_argument("--cut-after", type=int, default=1 << 20, help="bytes sent before a cut")
    p.add_argument("--cut-count", type=int, default=1, help="cut requests per blob path")
    p.add_argument("--match", default=r"/blobs/sha256:[0-9a-f]{64}$",
                   help="regex on the request path of the GETs to cut")
    p.add_argument("--stall", action="store_true",
                   help="after --cut-after bytes, hold the connection instead of closing")
    p.add_argument("--stall-seconds", type=float, default=300)
    args = p.parse_args()
    srv = CutProxy(args)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
