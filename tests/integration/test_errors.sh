#!/bin/bash
# Errors: each bad input makes create/run exit non-zero with a short error that names
# what failed, and leaves no state entry, cgroup, mount or process behind.
source "$(dirname "$0")/lib.sh"

# expect_create_error ERE WHAT BUNDLE — `create` must fail matching ERE and leave nothing.
expect_create_error() {
  local id
  id=$(new_id)
  assert_fails_with "$1" rt create --bundle "$3" "$id"
  ERR_OUT=$LAST_OUT
  assert_nothing_left "$id" "$2"
}

section "malformed config.json"
b=$(make_bundle true)
head -c 200 "$b/config.json" >"$b/config.json.cut" && mv "$b/config.json.cut" "$b/config.json"
expect_create_error . "truncated config.json" "$b"
assert_eq 1 "$(grep -c . <<<"$ERR_OUT")" "the error is one line"
# berth-specific: runc says only "unexpected EOF".
if berth_specific "error names config.json"; then
  assert_contains "$ERR_OUT" config.json "the error names config.json"
fi
b=$(make_bundle true)
echo '{"ociVersion": "1.0.2", "process": {"args": "not-an-array"}, "root": {"path": "rootfs"}}' >"$b/config.json"
expect_create_error . "config.json with a wrong type" "$b"
if berth_specific "error names the bad field"; then
  assert_contains "$ERR_OUT" "process.args" "the error names process.args"
fi
b=$(make_bundle true)
rm "$b/config.json"
expect_create_error 'config.json' "missing config.json" "$b"

section "missing rootfs"
b=$(make_bundle true)
mv "$b/rootfs" "$b/rootfs.away"
expect_create_error 'rootfs' "missing rootfs" "$b"
expect_create_error 'bundle|no such|not found|exist' "missing bundle dir" "$TEST_DIR/no-such-bundle"

section "duplicate id and bad signal"
b=$(make_bundle sleep 1000)
run_detached "$b"
id=$ID
assert_fails_with "$id|exist" rt create --bundle "$b" "$id"
assert_eq running "$(ctr_status "$id")" "the first container is untouched by the duplicate"
assert_fails_with 'sig|signal|invalid|unknown' rt kill "$id" NOSUCHSIG
assert_eq running "$(ctr_status "$id")" "a bad signal leaves it running"
rt delete --force "$id"
assert_nothing_left "$id" "deleted container"
assert_fails_with "$id|not exist|no such|not found" rt state "$id"
assert_fails_with "$id|not exist|no such|not found" rt start "$id"
assert_fails_with "$id|not exist|no such|not found" rt kill "$id" KILL
assert_fails_with . rt create --bundle "$b" "bad/id"
assert_fails_with . rt create --bundle "$b" ""

section "the texts runc's callers match"
# containerd's shim takes "container not running" / "does not exist" from kill (and "does
# not exist" from delete) for an already finished process; CRI-O takes "container not
# running" from every command; podman takes "does not exist" from state. Without them,
# stopping a pod whose container exited fails ("unknown error after kill").
b=$(make_bundle true)
id=$(new_id)
rt run --bundle "$b" "$id" </dev/null >/dev/null 2>&1
rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
rt start "$id" >/dev/null 2>&1
wait_status "$id" stopped
assert_fails_with 'container not running' rt kill "$id" KILL
assert_fails_with 'container not running' rt kill "$id" 0
if berth_specific "start, exec, pause of a stopped container say \"container not running\" (runc: its own texts)"; then
  assert_fails_with 'container not running' rt start "$id"
  assert_fails_with 'container not running' rt exec "$id" true
  assert_fails_with 'container not running' rt pause "$id"
fi
rt delete "$id"
gone=$(new_id)
for cmd in "state $gone" "kill $gone KILL" "delete $gone" "start $gone" "exec $gone true" "pause $gone"; do
  assert_fails_with 'does not exist' rt $cmd
done
assert_ok "delete --force of a container that does not exist succeeds (as runc's callers expect)" rt delete --force "$gone"
assert_nothing_left "$id" "stopped container deleted"

section "resources the kernel refuses"
# Without CAP_SYS_RESOURCE the hard nofile limit (20000 on these machines) cannot be raised.
hard=$(ulimit -Hn)
b=$(BUNDLE_JQ=".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard + 10000)), \"hard\": $((hard + 10000))}]" make_bundle true)
expect_create_error 'rlimit' "hard NOFILE above the host's $hard" "$b"
# berth-specific: runc says "error setting rlimit type 7".
if berth_specific "error names RLIMIT_NOFILE"; then
  assert_contains "$ERR_OUT" RLIMIT_NOFILE "the error names RLIMIT_NOFILE"
fi
b=$(BUNDLE_JQ='.linux.resources.memory = {"limit": 4096}' make_bundle true)
expect_create_error 'memory' "memory limit 4096 bytes (below the process's usage)" "$b"
b=$(BUNDLE_JQ='.linux.resources.cpu = {"cpus": "4096"}' make_bundle true)
expect_create_error 'cpus|cpuset|invalid|argument' "cpuset of a cpu that does not exist" "$b"
b=$(BUNDLE_JQ='.process.user.uid = 1000 | .process.args = ["/no/such/program"]' make_bundle)
expect_create_error 'no such|not found|/no/such/program|exec' "missing program" "$b"
b=$(BUNDLE_JQ='.process.cwd = "relative/dir"' make_bundle true)
expect_create_error 'cwd|absolute|relative' "relative cwd" "$b"

section "run reports the same errors"
b=$(make_bundle true)
mv "$b/rootfs" "$b/rootfs.away"
run_bundle "$b"
[ "$RC" -ne 0 ] && pass "run with a missing rootfs fails (exit $RC)" || fail "run with a missing rootfs exited 0"
assert_match "$ERR" rootfs "run's error names the rootfs"
assert_nothing_left "$ID" "failed run"
