#!/bin/bash
# A real Kubernetes client against berth's streaming server (src/stream): kubectl exec,
# exec -it and port-forward through a stand-in API server (stream_apiserver.py) that proxies
# the upgrade to berth-stream-ctl (the Server over the tests' fake Backend: local processes,
# port-forward to 127.0.0.1), as kubelet proxies to a CRI streaming server. Over WebSocket
# (kubectl's default since 1.30: v5.channel.k8s.io) and SPDY/3.1 (v4.channel.k8s.io,
# portforward.k8s.io). kubectl is not a Debian package: without one this test exits 77 (skipped).
# Needs no root.
set -u
BUILD=${BERTH_BUILD_DIR:-$(cd "$(dirname "$0")/../../build" && pwd)}
SRC=${BERTH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CTL=$BUILD/tests/berth-stream-ctl
fails=0
pass() { printf 'ok     %s\n' "$*"; }
fail() { printf 'FAIL   %s\n' "$*"; fails=$((fails + 1)); }

kubectls=()
for k in /usr/lib/google-cloud-sdk/bin/kubectl.1.32 /usr/lib/google-cloud-sdk/bin/kubectl.1.29 \
         /usr/lib/google-cloud-sdk/bin/kubectl.1.27; do
  [ -x "$k" ] && kubectls+=("$k")
done
if [ ${#kubectls[@]} -eq 0 ] && command -v kubectl >/dev/null; then kubectls=("$(command -v kubectl)"); fi
if [ ${#kubectls[@]} -eq 0 ]; then
  echo "skip   no kubectl on this machine (not a Debian package): ctest reports this test skipped"
  exit 77
fi
[ -x "$CTL" ] || { echo "FAIL   $CTL not built (ninja berth-stream-ctl)"; exit 1; }

T=$(mktemp -d /tmp/berth-stream-kubectl.XXXXXX)
API=""; HTTPD=""; PF=""
cleanup() {
  for p in $PF $HTTPD $API; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

python3 -u "$SRC/tests/integration/stream_apiserver.py" "$CTL" "$T/port" 2>"$T/api.log" &
API=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
cat >"$T/kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:$(cat "$T/port")"}}]
users: [{name: u, user: {}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]
current-context: x
EOK
export KUBECONFIG=$T/kubeconfig

# An HTTP server for port-forward.
mkdir "$T/www"
for i in 1 2 3 4; do head -c 100000 /dev/urandom >"$T/www/f$i"; done
python3 -u -m http.server --bind 127.0.0.1 0 --directory "$T/www" >"$T/httpd.log" 2>&1 &
HTTPD=$!
for _ in $(seq 100); do grep -q "port" "$T/httpd.log" && break; sleep 0.05; done
HTTP_PORT=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/httpd.log" | head -1)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for K in "${kubectls[@]}"; do
  v=$(basename "$K")
  transports=spdy
  # WebSocket remote command: kubectl 1.30 on (1.29's was an alpha, 1.27 has none).
  case $v in kubectl.1.2[0-9]) ;; *) transports="websocket spdy" ;; esac
  for transport in $transports; do
    if [ "$transport" = spdy ]; then export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false
    else export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true; fi
    tag="$v $transport"

    out=$(timeout 30 "$K" exec p1 -- sh -c 'echo out; echo err >&2; exit 3' 2>"$T/err"); rc=$?
    if [ "$out" = out ] && [ $rc -eq 3 ] && grep -qx err "$T/err"; then pass "$tag: exec output and exit code 3"
    else fail "$tag: exec: rc=$rc out=$out err=$(cat "$T/err")"; fi

    out=$(head -c 300000 /dev/zero | tr '\0' y | timeout 30 "$K" exec -i p1 -- wc -c 2>&1); rc=$?
    if [ "$(echo "$out" | tr -d ' ')" = 300000 ] && [ $rc -eq 0 ]; then pass "$tag: stdin EOF reaches wc"
    else fail "$tag: stdin: rc=$rc out=$out"; fi

    out=$(timeout 30 "$K" exec p1 -- /no/such/binary 2>&1); rc=$?
    if [ $rc -ne 0 ] && echo "$out" | grep -q "error executing command in container"; then
      pass "$tag: a missing command is an error"
    else fail "$tag: missing command: rc=$rc out=$out"; fi

    out=$(timeout 30 script -qec "stty rows 33 cols 77; $K exec -it p1 -- stty size" /dev/null 2>&1); rc=$?
    if echo "$out" | grep -q "33 77" && [ $rc -eq 0 ]; then pass "$tag: exec -it sees the terminal's size"
    else fail "$tag: tty: rc=$rc out=$out"; fi
  done

  # port-forward: SPDY (kubectl 1.31+ first tries SPDY tunnelled in a WebSocket, which a
  # CRI streaming server does not serve: it falls back to SPDY on the 403).
  for tunnel in false true; do
    export KUBECTL_PORT_FORWARD_WEBSOCKETS=$tunnel
    LP=$(free_port)
    "$K" port-forward p1 "$LP:$HTTP_PORT" >"$T/pf.log" 2>&1 &
    PF=$!
    for _ in $(seq 200); do grep -q Forwarding "$T/pf.log" && break; sleep 0.05; done
    ok=1
    for i in 1 2 3 4; do curl -s -o "$T/got$i" "http://127.0.0.1:$LP/f$i" & done
    wait $(jobs -p | grep -v -e "^$PF\$" -e "^$API\$" -e "^$HTTPD\$") 2>/dev/null
    for i in 1 2 3 4; do cmp -s "$T/www/f$i" "$T/got$i" || ok=0; done
    kill $PF 2>/dev/null; wait $PF 2>/dev/null; PF=""
    if [ $ok = 1 ]; then pass "$v port-forward (websocket tunnel=$tunnel): 4 parallel downloads intact"
    else fail "$v port-forward (tunnel=$tunnel): $(cat "$T/pf.log")"; fi
  done
done
unset KUBECTL_PORT_FORWARD_WEBSOCKETS KUBECTL_REMOTE_COMMAND_WEBSOCKETS

if [ $fails -ne 0 ]; then
  echo "--- stand-in API server log"; tail -20 "$T/api.log"
  echo "$fails failed"
  exit 1
fi
echo "all passed"
