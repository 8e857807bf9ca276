#!/usr/bin/env python3
"""A stand-in Kubernetes API server for tests/integration/test_stream_kubectl.sh.

It answers kubectl's discovery and the GET of one running pod, and for a pod's exec,
attach or portforward subresource it asks berth-stream-ctl (a berth streaming server over a
fake backend) for a fresh URL and proxies the client's upgrade request to it byte for byte,
with only the path changed -- what kubelet's proxy does in front of a CRI streaming server.

usage: stream_apiserver.py BERTH_STREAM_CTL PORT_FILE
"""
import json
import socket
import subprocess
import sys
import threading
import urllib.parse

ctl = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
ctl_port = int(ctl.stdout.readline().split()[1])
ctl_lock = threading.Lock()


def new_url(line):
    with ctl_lock:
        ctl.stdin.write(line + "\n")
        ctl.stdin.flush()
        return ctl.stdout.readline().strip()


POD = {"kind": "Pod", "apiVersion": "v1",
       "metadata": {"name": "p1", "namespace": "default", "uid": "u1"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]},
       "status": {"phase": "Running",
                  "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                         "image": "busybox", "imageID": "",
                                         "state": {"running": {}}}]}}
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
     "verbs": ["get", "list"], "shortNames": ["po"]},
    {"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions",
     "verbs": ["create", "get"]},
    {"name": "pods/attach", "singularName": "", "namespaced": True, "kind": "PodAttachOptions",
     "verbs": ["create", "get"]},
    {"name": "pods/portforward", "singularName": "", "namespaced": True,
     "kind": "PodPortForwardOptions", "verbs": ["create", "get"]}]}
STATIC = {
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": RESOURCES,
    "/api/v1/namespaces/default/pods/p1": POD,
}


def reply(conn, code, body, ctype="application/json"):
    data = body.encode()
    conn.sendall(("HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                  "Connection: close\r\n\r\n" % (code, ctype, len(data))).encode() + data)


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def flag(q, name):
    return "1" if q.get(name, ["false"])[0] in ("1", "true", "True") else "0"


def handle(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = conn.recv(65536)
        if not b:
            return
        buf += b
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    url = urllib.parse.urlsplit(target)
    q = urllib.parse.parse_qs(url.query)
    path = url.path
    if path in STATIC:
        reply(conn, 200, json.dumps(STATIC[path]))
        return
    base = "/api/v1/namespaces/default/pods/p1/"
    if not path.startswith(base):
        reply(conn, 404, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "reason": "NotFound", "code": 404}))
        return
    sub = path[len(base):]
    if sub in ("exec", "attach"):
        cmd = [urllib.parse.quote(c, safe="") for c in q.get("command", [])] or ["cat"]
        line = "exec %s %s %s %s %s" % (flag(q, "tty"), flag(q, "stdin"), flag(q, "stdout"),
                                        flag(q, "stderr"), " ".join(cmd))
    elif sub == "portforward":
        line = "portforward"
    else:
        reply(conn, 404, "{}")
        return
    stream_url = urllib.parse.urlsplit(new_url(line))
    up = socket.create_connection(("127.0.0.1", ctl_port))
    new_target = stream_url.path + ("?" + url.query if url.query else "")
    up.sendall(("%s %s %s\r\n" % (method, new_target, version)).encode() +
               "\r\n".join(lines[1:]).encode("latin-1") + b"\r\n\r\n" + rest)
    t = threading.Thread(target=pump, args=(up, conn), daemon=True)
    t.start()
    pump(conn, up)
    t.join()
    up.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(sys.argv[2], "w") as f:
        f.write(str(srv.getsockname()[1]))
    while True:
        c, _ = srv.accept()

        def run(c=c):
            try:
                handle(c)
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


main()
