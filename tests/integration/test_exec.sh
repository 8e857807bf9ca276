#!/bin/bash
# exec into a running container: output, exit code, --env, --cwd, --user, -d with
# --pid-file, --process FILE; exec into a stopped container fails.
source "$(dirname "$0")/lib.sh"

section "exec into a running container"
b=$(BUNDLE_JQ='.hostname = "exec-host" | .root.readonly = false' make_bundle sh -c 'echo init-marker > /marker; exec sleep 1000')
run_detached "$b"
id=$ID
assert_eq 0 "$RC" "run -d exits 0"
wait_until 5 test -e "$b/rootfs/marker"
init_pid=$(ctr_pid "$id")

out=$(rt exec "$id" sh -c 'echo "pid=$$"; echo "host=$(hostname)"; echo "marker=$(cat /marker)"; echo "ns=$(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/mnt)"' 2>&1)
assert_eq 0 $? "exec exits 0"
OUT=$out
assert_ne 1 "$(kv pid)" "the exec'd process is not pid 1"
assert_match "$(kv pid)" '^[0-9]+$' "the exec'd process has a pid inside"
assert_eq exec-host "$(kv host)" "exec sees the container's hostname"
assert_eq init-marker "$(kv marker)" "exec sees the container's root filesystem"
assert_eq "$(readlink /proc/"$init_pid"/ns/pid) $(readlink /proc/"$init_pid"/ns/mnt)" "$(kv ns)" \
  "exec joins the init's pid and mount namespaces"

rt exec "$id" sh -c 'exit 5' >/dev/null 2>&1
assert_eq 5 $? "exec propagates exit code 5"

out=$(rt exec --env FOO=bar --env EMPTY= "$id" sh -c 'echo "$FOO ${EMPTY-unset}."')
assert_eq "bar ." "$out" "exec --env sets variables"
out=$(rt exec -e BAZ=qux "$id" sh -c 'echo "$BAZ"')
assert_eq "qux" "$out" "exec -e sets a variable"
out=$(rt exec --cwd /tmp "$id" pwd)
assert_eq /tmp "$out" "exec --cwd"
out=$(rt exec --user 1000:1000 "$id" sh -c 'echo "$(id -u) $(id -g)"')
assert_eq "1000 1000" "$out" "exec --user 1000:1000"
out=$(rt exec -u 1000 "$id" id -u)
assert_eq 1000 "$out" "exec -u 1000"
out=$(rt exec "$id" sh -c 'echo "$(id -u) $(awk "/^CapEff/ {print \$2}" /proc/self/status)"')
assert_eq "0 0000000020000420" "$out" "exec gets the config's capabilities"

section "exec -d --pid-file"
pidfile=$TEST_DIR/exec.pid
rt exec -d --pid-file "$pidfile" "$id" sleep 1000 </dev/null >/dev/null 2>&1
assert_eq 0 $? "exec -d exits 0"
epid=$(cat "$pidfile" 2>/dev/null)
assert_match "$epid" '^[0-9]+$' "--pid-file holds a pid"
proc_alive "$epid" && pass "the detached exec process runs" || fail "pid $epid is not running"
assert_eq "$(readlink /proc/"$init_pid"/ns/pid)" "$(readlink /proc/"$epid"/ns/pid)" \
  "the detached exec process is in the container's pid namespace"
assert_contains "$(tr '\0' ' ' <"/proc/$epid/cmdline")" "sleep 1000" "the pid file names the exec'd process"
assert_contains "$(rt ps --format json "$id")" "$epid" "ps lists the detached exec process"

section "exec --process FILE"
cat >"$TEST_DIR/process.json" <<'JSON'
{
  "terminal": false,
  "user": {"uid": 1000, "gid": 1000},
  "args": ["sh", "-c", "echo \"$X $(id -u) $(pwd)\""],
  "env": ["PATH=/bin:/usr/bin", "X=from-process-json"],
  "cwd": "/home/user"
}
JSON
out=$(rt exec --process "$TEST_DIR/process.json" "$id" 2>&1)
assert_eq 0 $? "exec --process exits 0"
assert_eq "from-process-json 1000 /home/user" "$out" "exec --process uses args, env, user and cwd from the file"

section "exec into a stopped container"
rt kill "$id" KILL
wait_status "$id" stopped
assert_eq stopped "$(ctr_status "$id")" "container stopped"
wait_until 5 sh -c "! kill -0 $epid 2>/dev/null || grep -q '^State:.*Z' /proc/$epid/status"
proc_alive "$epid" && fail "detached exec process $epid survived its container" || pass "the detached exec process died with the container"
assert_fails_with "stop|not running|running" rt exec "$id" true
rt delete "$id"

b=$(make_bundle true)
id=$(new_id)
rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
out=$(rt exec "$id" echo created-exec 2>&1)
assert_eq created-exec "$out" "exec into a created (not yet started) container works"
rt delete --force "$id"
assert_fails_with . rt exec "$id" true
