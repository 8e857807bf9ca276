#!/bin/bash
# create/run/exec options and namespaces the other files do not cover: --no-pivot,
# --preserve-fds, the time namespace, kill --all, exec -t with --console-socket,
# events --interval.
source "$(dirname "$0")/lib.sh"

section "--no-pivot"
b=$(make_bundle sh -c 'echo "root=$(ls /)"; ls /work >/dev/null 2>&1 && echo host-visible || echo host-hidden')
id=$(new_id)
OUT=$(rt run --no-pivot --bundle "$b" "$id" 2>&1)
assert_eq 0 $? "run --no-pivot exits 0"
assert_contains "$OUT" "host-hidden" "with --no-pivot the host's files are still out of reach"
assert_contains "$OUT" "bin" "the container's root is the bundle's rootfs"

section "--preserve-fds"
b=$(make_bundle sh -c 'cat <&3; cat <&4; ls /proc/self/fd | tr "\n" " "')
id=$(new_id)
echo from-fd-3 >"$TEST_DIR/fd3"
echo from-fd-4 >"$TEST_DIR/fd4"
OUT=$(rt run --preserve-fds 2 --bundle "$b" "$id" 3<"$TEST_DIR/fd3" 4<"$TEST_DIR/fd4" 5<"$TEST_DIR/fd3" 2>&1)
assert_contains "$OUT" "from-fd-3" "fd 3 is passed to the container"
assert_contains "$OUT" "from-fd-4" "fd 4 is passed to the container"
# fds: 0 1 2, the two preserved ones, and ls's own directory fd; fd 5 must not leak.
assert_eq "0 1 2 3 4 5 " "$(tail -n1 <<<"$OUT")" "no fd beyond the preserved ones leaks (5 is ls's own)"

section "time namespace with offsets"
# berth-specific: runc 1.1 does not know the time namespace.
if berth_specific "time namespace"; then
b=$(BUNDLE_JQ='.linux.namespaces += [{"type": "time"}] | .linux.timeOffsets = {"monotonic": {"secs": 86400, "nanosecs": 0}}' \
  make_bundle sh -c 'cat /proc/self/timens_offsets; cut -d" " -f1 /proc/uptime')
id=$(new_id)
OUT=$(rt run --bundle "$b" "$id" 2>&1)
assert_eq 0 $? "run with a new time namespace exits 0"
assert_match "$OUT" 'monotonic +86400 +0' "the monotonic offset is applied"
fi

section "kill --all"
b=$(make_bundle sh -c 'sleep 1000 & sleep 1000 & exec sleep 1000')
run_detached "$b"
id=$ID
wait_until 5 sh -c "[ \$($BERTH --root $STATE ps --format json $id | jq length) -ge 3 ]" ||
  fail "three processes did not appear"
rt kill --all "$id" KILL
assert_eq 0 $? "kill --all exits 0"
wait_status "$id" stopped
assert_eq stopped "$(ctr_status "$id")" "every process is gone and the container is stopped"
rt delete "$id"

section "exec -t through --console-socket"
cc -O2 -o "$TEST_DIR/recvtty" "$DATA_DIR/recvtty.c" || die "cannot compile recvtty"
b=$(make_bundle sleep 1000)
run_detached "$b"
id=$ID
sock=$TEST_DIR/exec.sock
"$TEST_DIR/recvtty" "$sock" >"$TEST_DIR/exec-pty.out" 2>"$TEST_DIR/exec-pty.err" &
recv_pid=$!
track_pid $recv_pid
wait_until 5 test -S "$sock" || die "recvtty did not listen"
# As with runc, a console socket goes with a detached exec (the caller holds the pty).
rt exec -d -t --console-socket "$sock" "$id" sh -c 'echo "exec-tty=$(tty)"' </dev/null >/dev/null 2>&1
assert_eq 0 $? "exec -d -t --console-socket exits 0"
wait_until 10 sh -c "! kill -0 $recv_pid" || fail "recvtty still waiting"
assert_contains "$(tr -d '\r' <"$TEST_DIR/exec-pty.out")" "exec-tty=/dev/pts/" "the exec'd process runs on a pty"

section "events --interval"
OUT=$(timeout 3 "$BERTH" --root "$STATE" events --interval 500ms "$id" 2>&1)
assert_match "$(head -n1 <<<"$OUT")" '"type":"stats"' "events prints stats events"
[ "$(grep -c '"type":"stats"' <<<"$OUT")" -ge 3 ] && pass "events repeats every interval" ||
  fail "expected at least 3 stats events in 3 s at 500ms, got: $OUT"
rt delete --force "$id"

section "foreground exec -t without a console socket"
b=$(make_bundle sleep 1000)
run_detached "$b"
id=$ID
# script(1) gives the runtime a terminal of its own, as a user at a shell has.
OUT=$(script -qec "$BERTH --root $STATE exec -t $id sh -c 'echo fg-tty=\$(tty); exit 4'" /dev/null </dev/null 2>&1 | tr -d '\r')
assert_eq 4 "${PIPESTATUS[0]}" "foreground exec -t exits with the process's status"
assert_contains "$OUT" "fg-tty=/dev/pts/" "the process runs on a pty the runtime proxies"
rt delete --force "$id"

section "user namespace: oomScoreAdj and exec"
# Inside a new user namespace the init must still write /proc/self files (oom_score_adj),
# and exec must join the container's user namespace first.
b=$(BUNDLE_JQ='.linux.namespaces += [{"type": "user"}]
  | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
  | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
  | .process.oomScoreAdj = 123' make_bundle sleep 1000)
run_detached "$b"
id=$ID
assert_eq 0 "$RC" "run -d with a user namespace and oomScoreAdj exits 0"
OUT=$(rt exec "$id" sh -c 'echo "id=$(id -u) oom=$(cat /proc/1/oom_score_adj) map=$(cat /proc/self/uid_map | tr -s " ")"' 2>&1)
assert_eq "id=0 oom=123 map= 0 100000 65536" "$OUT" "exec runs as root of the container's user namespace"
rt delete --force "$id"
