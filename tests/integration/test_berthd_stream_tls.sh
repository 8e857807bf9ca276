#!/bin/bash
# berthd's streaming server with TLS and a short token TTL from its config file (issue 11):
# stream_tls_cert/stream_tls_key (a CA and a server certificate for IP 127.0.0.1 made here
# with openssl) make the CRI Exec/Attach/PortForward URLs https; berthctl exec, attach and
# port-forward with that CA trusted (--ca) work over both transports; a client trusting
# another CA, or only the system's, is refused; plain HTTP to the TLS port gets no stream
# (and does not use up the token). stream_token_ttl = 5: a URL followed after 6 s is
# refused with 404 (NOT_FOUND). Then no process, fd or thread is left. Needs root.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry curl openssl

berthd_init stls
SCTL=${SCTL:-$BERTH_BUILD_DIR/tests/berth-cri-stream-ctl}
[ -x "$SCTL" ] || die "$SCTL not found (build berth-cri-stream-ctl)"

# A CA, a server certificate it signs for 127.0.0.1 (the URLs' host: the client checks the
# IP SAN), and a second CA that signed nothing here.
PKI=$TEST_DIR/pki
mkdir -p "$PKI"
mkca() {  # NAME
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=berth test $1" -keyout "$PKI/$1.key" -out "$PKI/$1.pem" >/dev/null 2>&1 ||
    die "openssl: CA $1 failed"
}
mkca ca
mkca other-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$PKI/server.key" -out "$PKI/server.csr" >/dev/null 2>&1 || die "openssl: server key failed"
printf 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >"$PKI/server.ext"
openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
  -days 2 -extfile "$PKI/server.ext" -out "$PKI/server.pem" >/dev/null 2>&1 || die "openssl: signing failed"

cat >"$TEST_DIR/berth.toml" <<TOML
[berthd]
stream_tls_cert = "$PKI/server.pem"
stream_tls_key = "$PKI/server.key"
stream_token_ttl = 5
TOML
BERTHD_CONFIG=$TEST_DIR/berth.toml
berthd_image
berthd_start --insecure-registry "$REG_BD"
b img pull "$IMAGE" >/dev/null 2>&1 || die "pull $IMAGE failed"

bctl() { exec "$BERTHCTL" --config /dev/null --runtime-endpoint "$ENDPOINT" --timeout 30 "$@"; }
sc() { timeout -k 5 60 "$SCTL" --endpoint "$ENDPOINT" "$@"; }
TRANSPORTS=(websocket spdy)
CA=(--ca "$PKI/ca.pem")

pod_json tls >"$TEST_DIR/tls.json"
POD=$(b runp "$TEST_DIR/tls.json" 2>&1) || die "runp tls: $POD"
HPORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ctr_json web web.log "mkdir -p /www && echo hello-tls >/www/index.html && exec httpd -f -p 127.0.0.1:$HPORT -h /www" \
  >"$TEST_DIR/web.json"
C=$(b create "$POD" "$TEST_DIR/web.json" "$TEST_DIR/tls.json" 2>&1) || die "create web: $C"
b start "$C" >/dev/null 2>&1 || die "start web failed"
wait_until 20 b exec -s "$C" test -f /www/index.html || die "the web container does not run"
# For attach: a container whose output goes on.
ctr_json ticker ticker.log 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.1; done' >"$TEST_DIR/ticker.json"
TICK=$(b create "$POD" "$TEST_DIR/ticker.json" "$TEST_DIR/tls.json" 2>&1) || die "create ticker: $TICK"
b start "$TICK" >/dev/null 2>&1 || die "start ticker failed"
wait_until 10 ctr_state_is "$TICK" CONTAINER_RUNNING || die "the ticker does not run"
# The leak baseline: the pod's shim and berthd with everything made, no session yet.
SHIM=$(pgrep -f "berth-shim .*--id $POD" | head -n1)
[ -n "$SHIM" ] || die "no shim for pod $POD"
stream_leak_baseline "$SHIM"

section "https URLs, the CA trusted"
url=$(sc exec-url "$C" echo hi 2>&1)
assert_match "$url" '^https://127\.0\.0\.1:[0-9]+/exec/' "Exec answers with an https URL"
STREAM_PORT=$(sed -E 's|^https://127\.0\.0\.1:([0-9]+)/.*|\1|' <<<"$url")
assert_eq hi "$(sc follow --ca "$PKI/ca.pem" "$url" 2>&1)" "berth-cri-stream-ctl follows it with the CA"
for T in "${TRANSPORTS[@]}"; do
  out=$(b exec "${CA[@]}" --transport "$T" "$C" sh -c 'echo to-out; echo to-err >&2; exit 3' 2>"$TEST_DIR/err"); rc=$?
  assert_eq "3 to-out" "$rc $out" "$T: berthctl exec --ca over TLS: stdout and the exit code"
  assert_eq to-err "$(cat "$TEST_DIR/err")" "$T: ... stderr apart"
  assert_eq 2 "$(printf 'a\nb\n' | b exec -i "${CA[@]}" --transport "$T" "$C" wc -l 2>&1 | tr -d ' ')" \
    "$T: stdin and its EOF over TLS"
done
out=$(b exec "${CA[@]}" "$C" echo default 2>&1)
assert_eq default "$out" "the default transport (WebSocket v5) over TLS"
for T in "${TRANSPORTS[@]}"; do
  bctl port-forward "${CA[@]}" --transport "$T" "$POD" ":$HPORT" >"$TEST_DIR/pf.$T" 2>&1 &
  pf=$!
  track_pid $pf
  wait_until 20 grep -q "Forwarding from" "$TEST_DIR/pf.$T" || fail "$T: port-forward: $(cat "$TEST_DIR/pf.$T")"
  lport=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> .*/\1/p' "$TEST_DIR/pf.$T")
  got=""
  for i in 1 2 3; do got+=$(curl -fsS --max-time 10 "http://127.0.0.1:$lport/index.html" 2>&1); done
  assert_eq hello-tlshello-tlshello-tls "$got" "$T: port-forward --ca over TLS: three requests"
  kill -INT $pf
  wait $pf
  assert_eq 0 $? "$T: port-forward ends on SIGINT (exit 0)"
done
# attach: the ticker's output goes on; SIGINT detaches.
for T in "${TRANSPORTS[@]}"; do
  bctl attach "${CA[@]}" --transport "$T" "$TICK" >"$TEST_DIR/att.$T" 2>&1 &
  p=$!
  track_pid $p
  wait_until 20 grep -q tick "$TEST_DIR/att.$T" && pass "$T: attach --ca over TLS gets the output" ||
    fail "$T: attach output: $(head -c 300 "$TEST_DIR/att.$T")"
  kill -INT $p
  wait $p
  assert_eq 0 $? "$T: SIGINT detaches (exit 0)"
done

section "refused: another CA, the system's CAs, plain HTTP"
for T in "${TRANSPORTS[@]}"; do
  out=$(b exec --ca "$PKI/other-ca.pem" --transport "$T" "$C" echo no 2>&1); rc=$?
  assert_ne 0 "$rc" "$T: a client trusting another CA fails"
  assert_match "$out" '[Cc]ertificate|verify' "$T: ... on the certificate's verification"
  assert_eq "" "$(grep -x no <<<"$out")" "$T: ... and the command never ran"
  out=$(b exec --transport "$T" "$C" echo no 2>&1); rc=$?
  assert_ne 0 "$rc" "$T: without --ca (the system's CAs only) it fails too"
  assert_match "$out" '[Cc]ertificate|verify' "$T: ... on the certificate's verification"
done
bctl port-forward --ca "$PKI/other-ca.pem" --transport spdy "$POD" ":$HPORT" >"$TEST_DIR/pf.bad" 2>&1 &
pf=$!
track_pid $pf
wait_until 20 sh -c "grep -q 'Forwarding from' '$TEST_DIR/pf.bad' || ! kill -0 $pf 2>/dev/null"
lport=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> .*/\1/p' "$TEST_DIR/pf.bad")
[ -n "$lport" ] && curl -fsS --max-time 10 "http://127.0.0.1:$lport/index.html" >/dev/null 2>&1
assert_ne 0 $? "port-forward trusting another CA: nothing comes through"
kill -INT $pf 2>/dev/null
wait $pf
assert_contains "$(cat "$TEST_DIR/pf.bad")" "erti" "port-forward trusting another CA: the certificate named"

url=$(sc exec-url "$C" echo plain-then-tls 2>&1)
plain=${url/https:/http:}
out=$(curl -sS --max-time 10 -H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' \
  -H 'X-Stream-Protocol-Version: v4.channel.k8s.io' -X POST -o "$TEST_DIR/plain.out" \
  -w '%{http_code}' "$plain" 2>&1); rc=$?
assert_ne 0 "$rc" "plain HTTP to the TLS port: curl fails (no HTTP answer)"
assert_not_contains "$out" "101" "plain HTTP to the TLS port: no upgrade"
out=$(sc follow --transport spdy "$plain" 2>&1); rc=$?
assert_ne 0 "$rc" "plain HTTP (SPDY upgrade) to the TLS port: berth-cri-stream-ctl fails"
assert_not_contains "$out" "plain-then-tls" "... and the command did not run"
out=$(sc follow --transport websocket "$plain" 2>&1); rc=$?
assert_ne 0 "$rc" "plain HTTP (WebSocket) to the TLS port: fails"
assert_eq plain-then-tls "$(sc follow --ca "$PKI/ca.pem" "$url" 2>&1)" \
  "the plain attempts never reached the token: the URL still works over https"

section "stream_token_ttl = 5"
for T in "${TRANSPORTS[@]}"; do
  url=$(sc exec-url "$C" echo late 2>&1)
  assert_match "$url" '^https://' "$T: a fresh URL"
  sleep 6
  out=$(sc follow --ca "$PKI/ca.pem" --transport "$T" "$url" 2>&1); rc=$?
  assert_eq 1 "$rc" "$T: the URL followed after 6 s (TTL 5) fails"
  assert_contains "$out" "HTTP 404" "$T: ... the server's 404"
  assert_contains "$out" "NOT_FOUND" "$T: ... NOT_FOUND"
  assert_not_contains "$out" "late" "$T: ... the command never ran"
done
url=$(sc exec-url "$C" echo in-time 2>&1)
sleep 2
assert_eq in-time "$(sc follow --ca "$PKI/ca.pem" "$url" 2>&1)" "a URL followed after 2 s (within the TTL) works"

section "nothing left behind"
assert_no_stream_leaks
assert_eq "" "$(ss -Htn state established "( sport = :$STREAM_PORT )" 2>/dev/null)" \
  "no connection to the streaming port stays open"
b exec -s "$C" true >/dev/null 2>&1
assert_eq 0 $? "the container still answers"
