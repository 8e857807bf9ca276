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
out=$(rt exec --cap CAP_NET_ADMIN "$id" awk '/^CapEff/ {print $2}' /proc/self/status)
assert_eq 0000000020001420 "$out" "exec --cap CAP_NET_ADMIN adds bit 12 to the effective set"
b_nnp=$(BUNDLE_JQ='.process.noNewPrivileges = false' make_bundle sleep 1000)
run_detached "$b_nnp"
out=$(rt exec "$ID" awk '/^NoNewPrivs/ {print $2}' /proc/self/status)
out+=" $(rt exec --no-new-privs "$ID" awk '/^NoNewPrivs/ {print $2}' /proc/self/status)"
assert_eq "0 1" "$out" "exec --no-new-privs sets no_new_privs (and only with the flag)"
rt delete --force "$ID"
echo preserved-fd >"$TEST_DIR/fd3"
out=$(rt exec --preserve-fds 1 "$id" cat /proc/self/fd/3 3<"$TEST_DIR/fd3" 2>&1)
assert_eq preserved-fd "$out" "exec --preserve-fds 1 passes fd 3 in"

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

section "exec: no fds leak in, cwd stays inside (CVE-2024-21626)"
# An fd of the caller that is not close-on-exec must not reach the exec'd process.
exec 7</dev/null
out=$(rt exec "$id" ls /proc/self/fd 2>&1 | tr '\n' ' ')
exec 7<&-
assert_eq "0 1 2 3 " "$out" "exec passes only stdio in (3 is ls's own directory fd)"
# A cwd through an fd the runtime holds while joining must not land outside the rootfs:
# either exec refuses it, naming the cwd, or the process's cwd is a path inside.
for n in 3 4 5 6 7 8 9 10 11 12; do
  out=$(rt exec --cwd "/proc/self/fd/$n" "$id" sh -c 'echo "cwd=$(pwd)"' 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    assert_match "$out" 'cwd' "exec --cwd /proc/self/fd/$n is refused naming the cwd"
  else
    assert_match "$out" '^cwd=/' "exec --cwd /proc/self/fd/$n stays inside the container"
  fi
done

section "exec: invalid processes and LSM labels"
jq '.cwd = "relative/dir"' "$TEST_DIR/process.json" >"$TEST_DIR/bad-cwd.json"
assert_fails_with 'process.cwd' rt exec --process "$TEST_DIR/bad-cwd.json" "$id"
if berth_specific "exec names the process file"; then
  assert_contains "$LAST_OUT" bad-cwd.json "the error names the process file"
fi
if berth_specific "exec validates --env as create validates process.env"; then
  assert_fails_with 'process.env.*KEY=VALUE' rt exec --env NOEQUALS "$id" true
fi
if [ ! -e /sys/kernel/security/apparmor ] && [ ! -e /sys/module/apparmor ]; then
  jq '.apparmorProfile = "berth-test"' "$TEST_DIR/process.json" >"$TEST_DIR/aa.json"
  if berth_specific "exec refuses an AppArmor profile without AppArmor"; then
    assert_fails_with 'process.apparmorProfile.*AppArmor' rt exec --process "$TEST_DIR/aa.json" "$id"
    assert_fails_with 'apparmorProfile.*AppArmor' rt exec --apparmor berth-test "$id" true
  fi
else
  printf 'skip   exec --apparmor without AppArmor (this host has AppArmor)\n'
fi
if [ ! -e /sys/fs/selinux/enforce ]; then
  if berth_specific "exec refuses an SELinux label without SELinux"; then
    assert_fails_with 'selinuxLabel.*SELinux' rt exec --process-label system_u:system_r:container_t:s0 "$id" true
  fi
else
  printf 'skip   exec --process-label without SELinux (this host has SELinux)\n'
fi
assert_eq running "$(ctr_status "$id")" "refused execs leave the container running"

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
