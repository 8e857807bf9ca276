#!/bin/bash
# berth under containerd 1.6's runc shim (io.containerd.runc.v2), driven by ctr: run --rm with
# exit codes, --runc-binary and "runc" found in containerd's PATH, a tty, task exec (-t), ps,
# pause/resume, kill, metrics (`events --stats`), --memory-limit, and checkpoint (unsupported:
# the error must say so). A private containerd (own config, root, state and sockets under
# $TEST_DIR, the CRI plugin disabled) is started here and stopped by its pid.
#
# Not covered: the BinaryName option of containerd's config.toml is read only by the CRI
# plugin (ctr sends its own runtime options), and Debian has no CRI client (crictl).
# containerd 1.6 always puts shim sockets in /run/containerd/s and ctr's fifos in
# /run/containerd/fifo; the test checks that none of its own is left there.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containerd_lib.sh"

for tool in containerd ctr containerd-shim-runc-v2 script; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-deps.sh)"
done
CD=$TEST_DIR/containerd
NS=berth-it-$$  # containerd namespace: also the parent cgroup of the containers
RUNC_ROOT=$TEST_DIR/runc/root  # its parent does not exist: the runtime must create it
IMAGE=localhost/berth-busybox:test
mkdir -p "$CD"
cat >"$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD/containerd.sock"
[ttrpc]
  address = "$CD/containerd-ttrpc.sock"
[debug]
  level = "debug"
EOF
# "runc" in containerd's PATH is berth: what the shim runs when the client names no binary.
mkdir -p "$TEST_DIR/bin"
ln -s "$BERTH" "$TEST_DIR/bin/runc"
PATH=$TEST_DIR/bin:$PATH containerd --config "$CD/config.toml" >"$CD/containerd.log" 2>&1 &
CONTAINERD_PID=$!
echo "$CONTAINERD_PID" >"$CD/containerd.pid"

CTR=(ctr --address "$CD/containerd.sock" --namespace "$NS")
c() { timeout -k 5 30 "${CTR[@]}" "$@"; }
RB=(--runc-binary "$BERTH" --runc-root "$RUNC_ROOT")

containerd_cleanup() {
  local id
  for id in $(timeout 10 "${CTR[@]}" containers ls -q 2>/dev/null); do
    timeout 10 "${CTR[@]}" tasks kill -s KILL "$id" >/dev/null 2>&1
    timeout 10 "${CTR[@]}" tasks rm -f "$id" >/dev/null 2>&1
    timeout 10 "${CTR[@]}" containers rm "$id" >/dev/null 2>&1
  done
  stop_containerd "$CONTAINERD_PID" "$CD/containerd.sock"
  # The runtime's leftovers.
  for id in $(ls "$RUNC_ROOT/$NS" 2>/dev/null); do
    "$BERTH" --root "$RUNC_ROOT/$NS" delete --force "$id" >/dev/null 2>&1
  done
  # The namespace's parent cgroups (the runtime creates them and, like runc, leaves them).
  find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$NS" -exec rmdir {} + 2>/dev/null
  umount -R "$CD/root" 2>/dev/null
}
on_exit containerd_cleanup

wait_until 10 "${CTR[@]}" version || die "containerd did not start: $(tail -n 20 "$CD/containerd.log")"
pass "private containerd is up (pid $CONTAINERD_PID)"

b=$(make_bundle true)
oci_archive "$b/rootfs" "$TEST_DIR/image.tar" "$IMAGE" || die "building the image archive failed"
rm -rf "$b"
out=$(c images import "$TEST_DIR/image.tar" 2>&1) || die "ctr images import failed: $out"
assert_contains "$(c images ls -q)" "$IMAGE" "the busybox image is imported"

# shim_says — the runtime errors the shim logged, for failure messages.
shim_says() { grep -o 'msg="[^"]*' "$CD/containerd.log" | tail -n 5; }

section "ctr run --rm --runc-binary: output and exit code"
out=$(c run "${RB[@]}" --rm "$IMAGE" rm1 sh -c 'echo "hello pid=$$"; exit 3' 2>&1)
rc=$?
assert_eq 3 "$rc" "ctr run --rm propagates exit code 3"
assert_eq "hello pid=1" "$out" "ctr run prints the output of pid 1"
[ -d "$RUNC_ROOT/$NS" ] && pass "the runtime created its root $RUNC_ROOT/$NS (and the missing parents)" ||
  fail "no $RUNC_ROOT/$NS"
out=$(script -eqc "$(printf '%q ' "${CTR[@]}" run "${RB[@]}") --rm -t $IMAGE tty1 sh -c 'tty; exit 2'" /dev/null 2>&1 </dev/null)
assert_eq 2 $? "ctr run -t propagates exit code 2"
assert_match "$out" '/dev/pts/[0-9]+' "ctr run -t: the process has a pty (console socket)"

section "\"runc\" in containerd's PATH is the runtime"
out=$(c run --runc-root "$RUNC_ROOT" --rm "$IMAGE" path1 sh -c 'echo via-path; exit 4' 2>&1)
assert_eq 4 $? "ctr run without --runc-binary exits 4"
assert_eq via-path "$out" "the shim ran the runtime found in PATH"

section "a detached task: exec, ps, pause/resume, metrics, --memory-limit"
out=$(c run "${RB[@]}" -d --memory-limit 67108864 "$IMAGE" web sh -c 'echo marker >/marker; exec sleep 1000' 2>&1)
assert_eq 0 $? "ctr run -d exits 0"
init_pid=$(c tasks ls | awk '$1 == "web" {print $2}')
proc_alive "$init_pid" && pass "the task's init $init_pid runs" || fail "init '$init_pid' is not running: $out $(shim_says)"
st=$("$BERTH" --root "$RUNC_ROOT/$NS" state web 2>&1)
assert_eq "running $init_pid" "$(jq -r '"\(.status) \(.pid)"' <<<"$st" 2>/dev/null)" "the runtime's own state agrees"
out=$(c tasks exec --exec-id e1 web sh -c 'echo "marker=$(cat /marker) init=$(cat /proc/1/comm)"; exit 5' 2>&1)
assert_eq 5 $? "task exec propagates exit code 5"
assert_eq "marker=marker init=sleep" "$out" "task exec runs inside the container"
assert_eq "$(readlink /proc/"$init_pid"/ns/pid)" "$(c tasks exec --exec-id e2 web readlink /proc/self/ns/pid 2>&1)" \
  "task exec joins the container's pid namespace"
out=$(script -eqc "$(printf '%q ' "${CTR[@]}") tasks exec -t --exec-id e3 web sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; exit 6'" /dev/null 2>&1 </dev/null)
assert_eq 6 $? "task exec -t propagates exit code 6"
assert_match "$out" '/dev/pts/[0-9]+' "task exec -t: the process has a pty"
assert_contains "$out" stdin-is-tty "task exec -t: stdin is the terminal"

# A long-lived exec: `ps` must list it next to the init.
c tasks exec --exec-id bg web sleep 500 >/dev/null 2>&1 &
track_pid $!
ps_rows() { c tasks ps web 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l; }
wait_until 10 test "$(ps_rows)" -eq 2
ps_out=$(c tasks ps web 2>&1)
assert_contains "$ps_out" "$init_pid" "task ps lists the init"
assert_eq 2 "$(awk 'NR > 1 && $1 ~ /^[0-9]+$/' <<<"$ps_out" | wc -l)" "task ps lists the init and the exec'd process"
c tasks kill -s KILL --exec-id bg web >/dev/null 2>&1

freezer=/sys/fs/cgroup/freezer/$NS/web
[ -d /sys/fs/cgroup/freezer ] || freezer=/sys/fs/cgroup/$NS/web  # cgroup v2 (cgroup.freeze)
assert_ok "task pause" c tasks pause web
assert_eq PAUSED "$(c tasks ls | awk '$1 == "web" {print $3}')" "ctr sees the task paused"
proc_alive "$init_pid" && pass "the paused init is still there" || fail "pause killed init $init_pid"
assert_match "$(cat "$freezer/freezer.state" "$freezer/cgroup.freeze" 2>/dev/null)" '^(FROZEN|1)$' \
  "the container's cgroup is frozen"
assert_ok "task resume" c tasks resume web
assert_eq RUNNING "$(c tasks ls | awk '$1 == "web" {print $3}')" "ctr sees the task running again"
assert_match "$(cat "$freezer/freezer.state" "$freezer/cgroup.freeze" 2>/dev/null)" '^(THAWED|0)$' \
  "the container's cgroup is thawed"

metrics=$(c tasks metrics web 2>&1)
assert_match "$metrics" 'memory.limit_in_bytes +67108864|memory.limit +67108864' \
  "task metrics (events --stats) reports the 64 MiB limit"
assert_match "$metrics" 'pids.current +[1-9]' "task metrics reports the task's pids"
assert_eq 67108864 "$(cat /sys/fs/cgroup/memory/"$NS"/web/memory.limit_in_bytes /sys/fs/cgroup/"$NS"/web/memory.max 2>/dev/null)" \
  "--memory-limit is in the container's memory cgroup"

section "task checkpoint: not supported, and says so"
assert_fails_with 'checkpoint|criu' c tasks checkpoint web
if berth_specific "berth names the missing feature instead of 'unknown command'"; then
  assert_match "$LAST_OUT" 'not supported' "the checkpoint error says it is not supported"
fi
assert_eq RUNNING "$(c tasks ls | awk '$1 == "web" {print $3}')" "the failed checkpoint left the task running"

section "task kill"
c tasks kill -s KILL web >/dev/null 2>&1
wait_until 5 sh -c "! kill -0 $init_pid 2>/dev/null || grep -q '^State:.*Z' /proc/$init_pid/status"
wait_until 5 sh -c "$(printf '%q ' "${CTR[@]}") tasks ls | grep -q '^web .*STOPPED'"
assert_eq STOPPED "$(c tasks ls | awk '$1 == "web" {print $3}')" "task kill -s KILL stops the task"
assert_ok "task rm" c tasks rm web
assert_ok "container rm" c containers rm web

# SIGTERM to a handler: an attached `ctr run` returns the task's exit code.
c run "${RB[@]}" --rm "$IMAGE" trap1 sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done' \
  >"$TEST_DIR/trap1.out" 2>&1 </dev/null &
run_pid=$!
track_pid $run_pid
wait_until 10 grep -q ready "$TEST_DIR/trap1.out"
assert_ok "task kill (SIGTERM by default)" c tasks kill trap1
wait "$run_pid"
assert_eq 42 $? "the handler got SIGTERM: ctr run returns 42"
wait_until 5 sh -c "! $(printf '%q ' "${CTR[@]}") containers ls -q | grep -qx trap1"
assert_eq "" "$(c containers ls -q)" "ctr run --rm removed the container"

section "nothing leaked"
assert_eq "" "$(c tasks ls -q)" "no task left"
assert_eq "" "$(c containers ls -q)" "no container left"
assert_eq "" "$(ls -A "$RUNC_ROOT/$NS" 2>/dev/null)" "no runtime state left in $RUNC_ROOT/$NS"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$NS/*" 2>/dev/null)" \
  "no container cgroup left under /$NS"
assert_eq "" "$(pgrep -f "containerd-shim-runc-v2 .*-address $CD/containerd.sock" | tr '\n' ' ')" "no shim left"
assert_eq "" "$(ls "/run/containerd/fifo" 2>/dev/null | grep -F "$NS")" "no fifo of ours left"
if grep -q 'level=error' "$CD/containerd.log"; then
  echo "NOTE   containerd logged errors:"
  grep 'level=error' "$CD/containerd.log" | cut -c1-300 | sed -n '1,10s/^/         | /p'
fi
