#!/bin/bash
# Streaming through berthd (issue 11): berthctl exec, attach and port-forward follow the URLs
# of CRI Exec, Attach and PortForward to berthd's streaming server, which pumps the fds
# berth-shim hands over — over both transports (WebSocket v5 and SPDY/3.1). exec without and
# with a terminal (tty inside, the size sent at the start and on SIGWINCH, raw mode restored,
# also on SIGTERM), stdin's EOF, exit codes, a missing command, a background child that keeps
# stdout open; attach (two at once, stdin kept across attachments or closed with stdin_once,
# a container that exits, detaching leaves it running); port-forward to busybox httpd in a
# host-network pod and in a pod with its own network namespace, parallel downloads, two
# ports, a closed port; a URL used twice, the gRPC codes of bad calls; 50 concurrent execs;
# and no process, fd, thread or shim connection left behind. Needs root.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry curl script sha256sum

berthd_init strm
SCTL=${SCTL:-$BERTH_BUILD_DIR/tests/berth-cri-stream-ctl}
[ -x "$SCTL" ] || die "$SCTL not found (build berth-cri-stream-ctl)"
berthd_image
# Pods with their own network namespace get lo only (as test_berthd.sh).
echo '{"cniVersion": "1.0.0", "name": "berth-it-lo", "plugins": [{"type": "loopback"}]}' \
  >"$BD/cni/10-lo.conflist"
berthd_start --insecure-registry "$REG_BD"
b img pull "$IMAGE" >/dev/null 2>&1 || die "pull $IMAGE failed"

# bctl: berthctl for the ones run in the background (`bctl ... &`) and signalled: exec, so
# that $! is berthctl's pid (not a subshell's, nor timeout(1)'s). sc: the CRI streaming
# calls by hand.
bctl() { exec "$BERTHCTL" --config /dev/null --runtime-endpoint "$ENDPOINT" --timeout 30 "$@"; }
sc() { timeout -k 5 60 "$SCTL" --endpoint "$ENDPOINT" "$@"; }
TRANSPORTS=(websocket spdy)

# new_ctr POD POD_JSON NAME SCRIPT [JQ] — a started container running `sh -c SCRIPT`.
new_ctr() {
  local id
  ctr_json "$3" "$3.log" "$4" | jq "${5:-.}" >"$TEST_DIR/$3.json"
  id=$(b create "$1" "$TEST_DIR/$3.json" "$2" 2>&1) || die "create $3: $id"
  b start "$id" >/dev/null 2>&1 || die "start $3 failed"
  echo "$id"
}

# The execs go to a pod of their own (own network namespace) with one container: the
# leak baselines (berthd's fds and threads, this pod's shim's fds) are taken with it alone
# and compared at the end, once the other pods are removed.
pod_json snet POD >"$TEST_DIR/snet.json"
POD_NET=$(b runp "$TEST_DIR/snet.json" 2>&1) || die "runp snet: $POD_NET"
C=$(new_ctr "$POD_NET" "$TEST_DIR/snet.json" sleeper 'exec sleep 100000')
wait_until 10 ctr_state_is "$C" CONTAINER_RUNNING || die "the sleeper does not run"
b exec -s "$C" true >/dev/null 2>&1
SHIM=$(pgrep -f "berth-shim .*--id $POD_NET" | head -n1)
[ -n "$SHIM" ] || die "no shim for pod $POD_NET"
stream_leak_baseline "$SHIM"
# CVE-2019-5736 without a copy per exec: berthd hands every shim one sealed copy of berth,
# which `berth exec` runs from (sys/sealed_copy.h); the shim keeps it only if it is sealed.
assert_contains "$(tr '\0' ' ' <"/proc/$SHIM/cmdline")" "--runtime-copy " "the shim was given berthd's sealed copy of berth"
assert_eq 1 "$(ls -l "/proc/$SHIM/fd" | grep -c 'memfd:berth')" "the shim holds it (sealed: else it would have closed it)"
# Attach's containers, port-forward's servers: pods of their own.
pod_json satt >"$TEST_DIR/satt.json"
POD_ATT=$(b runp "$TEST_DIR/satt.json" 2>&1) || die "runp satt: $POD_ATT"
pod_json shost >"$TEST_DIR/shost.json"
POD_HOST=$(b runp "$TEST_DIR/shost.json" 2>&1) || die "runp shost: $POD_HOST"
pod_json spf POD >"$TEST_DIR/spf.json"
POD_PF=$(b runp "$TEST_DIR/spf.json" 2>&1) || die "runp spf: $POD_PF"

for T in "${TRANSPORTS[@]}"; do
  section "exec without a terminal ($T)"
  out=$(b exec --transport "$T" "$C" sh -c 'echo to-out; echo to-err >&2; exit 3' 2>"$TEST_DIR/err"); rc=$?
  assert_eq 3 "$rc" "$T: exit code 3 becomes berthctl's"
  assert_eq to-out "$out" "$T: stdout"
  assert_eq to-err "$(cat "$TEST_DIR/err")" "$T: stderr apart"
  b exec --transport "$T" "$C" true >/dev/null 2>&1
  assert_eq 0 $? "$T: exit code 0"
  assert_eq "$(printf 'a\nb')" "$(printf 'a\nb\n' | b exec -i --transport "$T" "$C" cat 2>&1)" \
    "$T: stdin reaches cat, and its EOF ends it"
  assert_eq 2 "$(printf 'a\nb\n' | b exec -i --transport "$T" "$C" wc -l 2>&1 | tr -d ' ')" \
    "$T: stdin's data and EOF at once, before the process writes anything (wc -l)"
  assert_eq 2 "$(printf 'a\nb\n' | b exec -i "$C" wc -l 2>&1 | tr -d ' ')" \
    "the default transport (WebSocket v5): the same"
  head -c 300000 /dev/urandom >"$TEST_DIR/big"
  assert_eq 300000 "$(b exec -i --transport "$T" "$C" wc -c <"$TEST_DIR/big" 2>&1 | tr -d ' ')" \
    "$T: 300 KB of stdin, all of it"
  out=$(b exec --transport "$T" "$C" /no/such/cmd 2>&1); rc=$?
  assert_eq 1 "$rc" "$T: a missing command fails (exit 1, not a hang: timeout would say 124)"
  assert_contains "$out" "/no/such/cmd" "$T: ... naming the command"
  out=$(b exec --transport "$T" "$C" sh -c 'sleep 1000 & echo $! >/tmp/bg.'"$T"'; echo started' 2>&1); rc=$?
  assert_eq "0 started" "$rc $out" "$T: a background child holding stdout does not hold exec back"
  b exec -s "$C" sh -c "kill \$(cat /tmp/bg.$T)" >/dev/null 2>&1

  section "exec with a terminal ($T)"
  # script(1) gives berthctl a pty. Its stdin: a fifo held open at both ends (fd 7), so it
  # never ends (script types VEOF into its pty at its stdin's EOF).
  [ -p "$TEST_DIR/quiet" ] || mkfifo "$TEST_DIR/quiet"
  exec 7<>"$TEST_DIR/quiet"
  out=$(timeout 60 script -qec "stty rows 33 cols 77; $BERTHCTL --config /dev/null -r $ENDPOINT exec -t --transport $T $C sh -c 'tty; stty size; exit 4'; echo rc=\$?" /dev/null 2>&1 <&7 | tr -d '\r')
  assert_match "$out" '/dev/pts/[0-9]+' "$T: -t: the process has a terminal"
  assert_contains "$out" "33 77" "$T: -t: stty size inside sees the size berthctl sent"
  assert_contains "$out" "rc=4" "$T: -t: the exit code"
  # A resize: the remote waits until its size changes; the local terminal changes once the
  # remote has printed its first size (then berthctl gets SIGWINCH: same process group).
  cat >"$TEST_DIR/resize.sh" <<EOF
stty rows 33 cols 77
$BERTHCTL --config /dev/null -r $ENDPOINT exec -t --transport $T $C sh -c 'stty size; touch /tmp/sized.$T; while [ "\$(stty size)" = "33 77" ]; do sleep 0.05; done; stty size' &
p=\$!
i=0
until $BERTHCTL --config /dev/null -r $ENDPOINT exec -s $C test -f /tmp/sized.$T || [ \$i -gt 200 ]; do sleep 0.1; i=\$((i+1)); done
stty rows 40 cols 100
wait \$p
echo rc=\$?
EOF
  out=$(timeout 60 script -qec "sh $TEST_DIR/resize.sh" /dev/null 2>&1 <&7 | tr -d '\r')
  assert_eq "$(printf '33 77\n40 100\nrc=0')" "$out" "$T: -t: SIGWINCH's new size reaches the process (stty size)"
  # -it: raw mode while it runs, the terminal restored after; also when SIGTERM ends it.
  out=$(timeout 60 script -qec "$BERTHCTL --config /dev/null -r $ENDPOINT exec -it --transport $T $C sh -c 'test -t 0 && echo stdin-tty; exit 5'; echo rc=\$?; stty -a | grep -o -- '-*icanon'" /dev/null 2>&1 <&7 | tr -d '\r')
  assert_contains "$out" "stdin-tty" "$T: -it: stdin is the terminal"
  assert_contains "$out" "rc=5" "$T: -it: the exit code"
  assert_eq icanon "$(tail -n1 <<<"$out")" "$T: -it: the local terminal is restored (canonical mode) after"
  cat >"$TEST_DIR/term.sh" <<EOF
$BERTHCTL --config /dev/null -r $ENDPOINT exec -it --transport $T $C sleep 1000 </dev/tty &
p=\$!
i=0
until stty -a </dev/tty | grep -q -- '-icanon' || [ \$i -gt 200 ]; do sleep 0.05; i=\$((i+1)); done
stty -a </dev/tty | grep -o -- '-*icanon'
kill -TERM \$p
wait \$p
echo rc=\$?
stty -a </dev/tty | grep -o -- '-*icanon'
EOF
  out=$(timeout 60 script -qec "sh $TEST_DIR/term.sh" /dev/null 2>&1 <&7 | tr -d '\r')
  assert_eq "$(printf -- '-icanon\nrc=143\nicanon')" "$out" \
    "$T: -it: raw mode while it runs; SIGTERM ends it (143) and restores the terminal"
  exec 7>&-
done

section "attach"
TICK=$(new_ctr "$POD_ATT" "$TEST_DIR/satt.json" ticker 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.1; done')
for T in "${TRANSPORTS[@]}"; do
  bctl attach --transport "$T" "$TICK" >"$TEST_DIR/att1.$T" 2>&1 &
  p1=$!
  bctl attach --transport "$T" "$TICK" >"$TEST_DIR/att2.$T" 2>&1 &
  p2=$!
  track_pid $p1; track_pid $p2
  wait_until 20 grep -q tick "$TEST_DIR/att1.$T" && wait_until 20 grep -q tick "$TEST_DIR/att2.$T" &&
    pass "$T: two attachments at once both get the output" || fail "$T: attach output: $(head -c 300 "$TEST_DIR/att1.$T") / $(head -c 300 "$TEST_DIR/att2.$T")"
  kill -INT $p1 $p2
  wait $p1; r1=$?
  wait $p2; r2=$?
  assert_eq "0 0" "$r1 $r2" "$T: SIGINT detaches (exit 0)"
  assert_eq CONTAINER_RUNNING "$(b inspectc "$TICK" | jq -r .status.state)" "$T: detached, the container runs on"
done

# stdin: true (not stdin_once): the container's stdin stays open across attachments.
IN=$(new_ctr "$POD_ATT" "$TEST_DIR/satt.json" reader 'while read l; do echo "got:$l"; done; echo stdin-closed; exec sleep 100000' '.stdin = true')
for T in "${TRANSPORTS[@]}"; do
  rm -f "$TEST_DIR/in.$T"; mkfifo "$TEST_DIR/in.$T"
  bctl attach -i --transport "$T" "$IN" <"$TEST_DIR/in.$T" >"$TEST_DIR/att-in.$T" 2>&1 &
  p=$!
  track_pid $p
  exec 8>"$TEST_DIR/in.$T"
  echo "hello-$T" >&8
  wait_until 20 grep -q "got:hello-$T" "$TEST_DIR/att-in.$T" && pass "$T: attach -i: stdin reaches the container" ||
    fail "$T: attach -i output: $(cat "$TEST_DIR/att-in.$T")"
  exec 8>&-  # berthctl's stdin ends: stdin_once is false, the container's stays open
  sleep 0.5
  kill -INT $p
  wait $p
  assert_eq 0 $? "$T: attach -i: SIGINT after stdin's end detaches (exit 0)"
done
out=$(echo again | timeout 20 "$BERTHCTL" --config /dev/null -r "$ENDPOINT" attach -i "$IN" 2>&1 &
  p=$!; sleep 2; kill -INT $p; wait $p)
assert_contains "$out" "got:again" "a later attachment still writes to the open stdin"
assert_not_contains "$(b logs "$IN" 2>&1)" "stdin-closed" "the container never saw stdin's EOF (no stdin_once)"
assert_eq CONTAINER_RUNNING "$(b inspectc "$IN" | jq -r .status.state)" "the reader runs on"

# stdin_once: the first attachment's stdin EOF is the container's: it exits, attach ends.
ONCE=$(new_ctr "$POD_ATT" "$TEST_DIR/satt.json" once 'while read l; do echo "got:$l"; done; echo stdin-closed; exit 6' '.stdin = true | .stdin_once = true')
out=$(printf 'x\n' | b attach -i "$ONCE" 2>&1); rc=$?
assert_eq "0" "$rc" "stdin_once: attach returns when the container exits (0)"
assert_eq "$(printf 'got:x\nstdin-closed')" "$out" "stdin_once: the container read stdin to its EOF"
wait_until 10 ctr_state_is "$ONCE" CONTAINER_EXITED
assert_eq 6 "$(b inspectc "$ONCE" | jq -r .status.exitCode)" "stdin_once: the container exited 6"

# A container that exits while attached: attach ends, with what it printed last.
for T in "${TRANSPORTS[@]}"; do
  EX=$(new_ctr "$POD_ATT" "$TEST_DIR/satt.json" "exiter-$T" 'while [ ! -f /tmp/go ]; do echo waiting; sleep 0.1; done; echo bye; exit 0')
  bctl attach --transport "$T" "$EX" >"$TEST_DIR/att-ex.$T" 2>&1 &
  p=$!
  track_pid $p
  wait_until 20 grep -q waiting "$TEST_DIR/att-ex.$T" || fail "$T: no output attached: $(cat "$TEST_DIR/att-ex.$T")"
  b exec -s "$EX" touch /tmp/go >/dev/null 2>&1
  wait $p; rc=$?
  assert_eq 0 "$rc" "$T: attach ends when the container exits (0)"
  assert_eq bye "$(tail -n1 "$TEST_DIR/att-ex.$T")" "$T: ... with its last line"
done

section "errors: gRPC codes, a URL used twice"
STOPPED=$(new_ctr "$POD_ATT" "$TEST_DIR/satt.json" stopped 'exit 0')
wait_until 10 ctr_state_is "$STOPPED" CONTAINER_EXITED
assert_contains "$(b exec "$STOPPED" true 2>&1)" "FAILED_PRECONDITION" "Exec on a stopped container: FAILED_PRECONDITION"
assert_contains "$(b attach "$STOPPED" 2>&1)" "FAILED_PRECONDITION" "Attach to a stopped container: FAILED_PRECONDITION"
assert_contains "$(b exec 0123456789abcdef0123 true 2>&1)" "NOT_FOUND" "Exec on an unknown id: NOT_FOUND"
assert_contains "$(sc exec-url --tty --stderr "$C" true 2>&1)" "INVALID_ARGUMENT" "Exec with tty and stderr: INVALID_ARGUMENT"
assert_contains "$(sc exec-url --no-stdout "$C" true 2>&1)" "INVALID_ARGUMENT" "Exec without any stream: INVALID_ARGUMENT"
assert_contains "$(b attach -i "$TICK" 2>&1)" "FAILED_PRECONDITION" "attach -i to a container without stdin: FAILED_PRECONDITION"
assert_contains "$(b port-forward 0123456789abcdef0123 80 2>&1)" "NOT_FOUND" "PortForward to an unknown pod: NOT_FOUND"
for T in "${TRANSPORTS[@]}"; do
  url=$(sc exec-url "$C" echo once 2>&1)
  assert_match "$url" '^http://127\.0\.0\.1:[0-9]+/exec/' "$T: Exec answers with a loopback URL of the streaming server"
  assert_eq once "$(sc follow --transport "$T" "$url" 2>&1)" "$T: the URL runs the command"
  out=$(sc follow --transport "$T" "$url" 2>&1); rc=$?
  assert_eq 1 "$rc" "$T: the same URL again fails"
  assert_contains "$out" "NOT_FOUND" "$T: ... NOT_FOUND"
  assert_contains "$out" "HTTP 404" "$T: ... the server's 404"
done

section "port-forward"
# Each pod serves a 1 MB file and a small one with busybox httpd.
WWW='mkdir -p /www && head -c 1000000 /dev/urandom >/www/big && echo hello >/www/index.html && sha256sum /www/big | cut -d" " -f1 >/www/sum'
HPORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HTTPD_HOST=$(new_ctr "$POD_HOST" "$TEST_DIR/shost.json" httpd-host "$WWW && exec httpd -f -p 127.0.0.1:$HPORT -h /www")
HTTPD_NET=$(new_ctr "$POD_PF" "$TEST_DIR/spf.json" httpd-net "$WWW && httpd -p 8081 -h /www && exec httpd -f -p 8080 -h /www")
wait_until 20 b exec -s "$HTTPD_HOST" test -s /www/sum || fail "httpd-host did not start"
wait_until 20 b exec -s "$HTTPD_NET" test -s /www/sum || fail "httpd-net did not start"
# forward NAME ARGS... — berthctl port-forward in the background; LPORTS: its local ports.
forward() {
  local name=$1
  shift
  bctl port-forward "$@" >"$TEST_DIR/pf.$name" 2>&1 &
  PF=$!
  track_pid $PF
  wait_until 20 grep -q "Forwarding from" "$TEST_DIR/pf.$name" || fail "port-forward $name: $(cat "$TEST_DIR/pf.$name")"
  sleep 0.2
  LPORTS=($(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> .*/\1/p' "$TEST_DIR/pf.$name"))
}
# parallel_get PORT SUM N — N downloads of /big at once; how many arrived whole.
parallel_get() {
  local i ok=0
  for i in $(seq "$3"); do curl -fsS --max-time 30 -o "$TEST_DIR/dl.$i" "http://127.0.0.1:$1/big" & done
  wait
  for i in $(seq "$3"); do [ "$(sha256sum <"$TEST_DIR/dl.$i" 2>/dev/null | cut -d' ' -f1)" = "$2" ] && ok=$((ok + 1)); done
  rm -f "$TEST_DIR"/dl.*
  echo $ok
}
SUM_HOST=$(b exec -s "$HTTPD_HOST" cat /www/sum 2>&1)
SUM_NET=$(b exec -s "$HTTPD_NET" cat /www/sum 2>&1)
for T in "${TRANSPORTS[@]}"; do
  forward "net-$T" --transport "$T" "$POD_PF" :8080 :8081 :9999
  assert_eq 3 "${#LPORTS[@]}" "$T: port-forward prints a mapping per port"
  assert_eq 8 "$(parallel_get "${LPORTS[0]}" "$SUM_NET" 8)" "$T: pod network: 8 parallel downloads through port 8080, all whole"
  assert_eq hello "$(curl -fsS --max-time 10 "http://127.0.0.1:${LPORTS[1]}/index.html" 2>&1)" "$T: ... and port 8081 of the same command"
  curl -fsS --max-time 10 "http://127.0.0.1:${LPORTS[2]}/" >/dev/null 2>&1
  assert_ne 0 $? "$T: a closed port in the pod: the local connection fails"
  assert_eq hello "$(curl -fsS --max-time 10 "http://127.0.0.1:${LPORTS[0]}/index.html" 2>&1)" "$T: ... and forwarding goes on"
  kill -INT $PF
  wait $PF
  assert_eq 0 $? "$T: port-forward ends on SIGINT (exit 0)"
  forward "host-$T" --transport "$T" "$POD_HOST" ":$HPORT"
  assert_eq 8 "$(parallel_get "${LPORTS[0]}" "$SUM_HOST" 8)" "$T: host network: 8 parallel downloads, all whole"
  kill -TERM $PF
  wait $PF
  assert_eq 0 $? "$T: port-forward ends on SIGTERM (exit 0)"
done

section "50 concurrent execs"
pids=()
for i in $(seq 50); do
  T=${TRANSPORTS[$((i % 2))]}
  b exec --transport "$T" "$C" sh -c "echo n$i; exit $((i % 7))" >"$TEST_DIR/c.$i" 2>&1 &
  pids+=($!)
done
bad=""
for i in $(seq 50); do
  wait "${pids[$((i - 1))]}"; rc=$?
  [ "$rc" = $((i % 7)) ] && [ "$(cat "$TEST_DIR/c.$i")" = "n$i" ] || bad+="exec $i: exit $rc, '$(head -c 200 "$TEST_DIR/c.$i")'; "
done
assert_eq "" "$bad" "50 concurrent execs (both transports): each its output and exit code"

section "nothing left behind"
for p in "$POD_ATT" "$POD_HOST" "$POD_PF"; do b rmp -f "$p" >/dev/null 2>&1 || fail "rmp -f $p failed"; done
assert_no_stream_leaks
b exec -s "$C" true >/dev/null 2>&1
assert_eq 0 $? "the sleeper still answers"
