#!/usr/bin/env python3
"""A minimal docker token server (distribution's "token" auth) for the image tests.

The registry (distribution 2.8, auth.token) answers 401 with
    WWW-Authenticate: Bearer realm="<this server>/token",service="…",scope="…"
and the client asks this server for a token:
    GET  /token?service=S&scope=repository:NAME:pull[&scope=…]   with HTTP basic auth
    POST /token  (OAuth2 form: grant_type=password, username, password, service, scope)
We check the credentials against one fixed user, and return a JWT signed RS256 with the
test key: {"token": JWT, "access_token": JWT, "expires_in": 300, "issued_at": …}.
Wrong credentials get 401; no credentials get a token granting nothing (as Docker Hub
does for a private repository), so the registry refuses the pull.

How the registry trusts the token: it loads `rootcertbundle` (our self-signed cert) and
keys each certificate's public key by its libtrust key ID. The JWT header names the key
with "kid" = that ID: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32,
in 12 colon-separated groups of 4 (libtrust's keyIDEncode). The claims must carry
iss = the configured issuer, aud = the service, a valid nbf/exp window and "access"
entries granting the requested actions.

Signing uses the `openssl` CLI (stdlib has no RSA), one short process per token.
Standard library only. The port is chosen by the kernel and written to --port-file.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(key_file: str) -> str:
    der = subprocess.run(
        ["openssl", "pkey", "-in", key_file, "-pubout", "-outform", "DER"],
        check=True, capture_output=True).stdout
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def parse_scope(scope: str):
    """'repository:test/img:pull,push' -> {"type", "name", "actions"}; None if malformed."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class TokenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # _issue and _unauthorized log each request
        pass

    def _reply(self, code, body: dict, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _unauthorized(self, why):
        self.server.log(f"401 {self.command} {self.path}: {why}")
        self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": why}]},
                    [("WWW-Authenticate", 'Basic realm="berth-test-token"')])

    def _issue(self, user, password, service, scopes):
        srv = self.server
        if user is not None and (user != srv.user or password != srv.password):
            return self._unauthorized(f"wrong credentials for user {user!r}")
        if service != srv.service:
            srv.log(f"400 {self.command} {self.path}: unknown service {service!r}")
            return self._reply(400, {"errors": [{"code": "DENIED",
                                                 "message": f"unknown service {service!r}"}]})
        # Like Docker Hub: an anonymous client gets a token granting nothing, so the
        # registry itself then refuses the request (401 with the scope it needs).
        access = [a for a in (parse_scope(s) for s in scopes) if a] if user else []
        self._reply(200, srv.make_token(user or "", access))
        srv.log(f"200 {self.command} token for {user or '(anonymous)'} "
                f"scopes={scopes if user else []}")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.server.log(f"404 GET {self.path}")
            return self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        q = urllib.parse.parse_qs(url.query)
        user = password = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return self._unauthorized("malformed basic auth")
        self._issue(user, password, q.get("service", [""])[0], q.get("scope", []))

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(errors="replace"))
        if url.path != "/token":
            return self._reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        if form.get("grant_type", [""])[0] != "password":
            # Only the password grant: a refresh_token grant would need stored tokens.
            return self._reply(400, {"error": "unsupported_grant_type"})
        scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
        self._issue(form.get("username", [None])[0], form.get("password", [""])[0],
                    form.get("service", [""])[0], scopes)


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), TokenHandler)
        self.user, self.password = args.user, args.password
        self.issuer, self.service = args.issuer, args.service
        self.key_file = args.key
        self.kid = libtrust_key_id(args.key)
        self.log_file = open(args.log, "a", buffering=1) if args.log else None

    def log(self, line):
        if self.log_file:
            self.log_file.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    def make_token(self, user, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {"iss": self.issuer, "sub": user, "aud": self.service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key_file],
                             input=signing_input.encode(), check=True,
                             capture_output=True).stdout
        jwt = signing_input + "." + b64url(sig)
        return {"token": jwt, "access_token": jwt, "expires_in": 300,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--key", required=True, help="RSA private key (PEM) that signs tokens")
    p.add_argument("--issuer", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--port-file", help="written with the port once listening")
    p.add_argument("--log", help="append one line per request here")
    args = p.parse_args()
    srv = TokenServer(args)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.rename(tmp, args.port_file)  # readers never see a half-written port
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
