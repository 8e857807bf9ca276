#!/bin/bash
# Container lifecycle: create/start/state/kill/delete, run (foreground and -d), list,
# signals, duplicate ids and delete without --force.
source "$(dirname "$0")/lib.sh"

# A container that exits 0 on SIGTERM (pid 1 ignores signals it has no handler for).
TRAP_SH='trap "echo got-TERM; exit 0" TERM; echo started; sleep 1000 & wait'

section "create -> start -> kill -> delete"
b=$(make_bundle sh -c "$TRAP_SH")
id=$(new_id)
rt create --bundle "$b" --pid-file "$TEST_DIR/$id.pid" "$id" </dev/null >"$TEST_DIR/$id.log" 2>&1
assert_eq 0 $? "create exits 0"
st=$(rt state "$id")
assert_eq "$(jq -r .pid <<<"$st")" "$(cat "$TEST_DIR/$id.pid" 2>&1)" "create --pid-file holds the init's pid"
assert_eq created "$(jq -r .status <<<"$st")" "state after create is created"
pid=$(jq -r .pid <<<"$st")
assert_match "$pid" '^[1-9][0-9]*$' "state after create has a pid"
[ -d "/proc/$pid" ] && pass "created container's pid $pid exists" || fail "pid $pid does not exist"
sleep 0.2
assert_not_contains "$(cat "$TEST_DIR/$id.log")" started "user process has not run before start"

assert_ok "start exits 0" rt start "$id"
wait_until 5 grep -q started "$TEST_DIR/$id.log"
assert_contains "$(cat "$TEST_DIR/$id.log")" started "user process runs after start"
assert_eq running "$(ctr_status "$id")" "state after start is running"
assert_eq "$pid" "$(ctr_pid "$id")" "pid is unchanged by start"
assert_fails_with . rt start "$id"

assert_ok "kill (default signal) exits 0" rt kill "$id"
wait_status "$id" stopped
assert_eq stopped "$(ctr_status "$id")" "state after kill is stopped"
assert_contains "$(cat "$TEST_DIR/$id.log")" got-TERM "default kill signal is SIGTERM (seen by the trap)"
proc_alive "$pid" && fail "pid $pid still runs after stop" || pass "container process is gone"

assert_ok "delete exits 0" rt delete "$id"
assert_fails_with . rt state "$id"
assert_eq "" "$(ls -A "$STATE")" "state dir is empty after delete"

section "run in the foreground"
run_ctr sh -c 'exit 7'
assert_eq 7 "$RC" "exit code 7 propagates through run"
run_ctr sh -c 'echo out; echo err >&2'
assert_eq out "$OUT" "stdout passes through run"
assert_contains "$ERR" err "stderr passes through run"
assert_fails_with . rt state "$ID"
assert_eq "" "$(ls -A "$STATE")" "run removes the container after it exits"
b=$(make_bundle sleep 1000)
id=$(new_id)
rt run --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
run_pid=$!
wait_status "$id" running
rt kill "$id" KILL
wait "$run_pid"
assert_eq 137 $? "a container killed by SIGKILL makes run exit 128+9"
# A foreground run passes the signals it receives on to the container's process.
b=$(make_bundle sh -c 'trap "echo got-USR1; exit 3" USR1; echo started; sleep 1000 & wait')
id=$(new_id)
"$BERTH" --root "$STATE" run --bundle "$b" "$id" </dev/null >"$TEST_DIR/fwd.log" 2>&1 &
run_pid=$!
track_pid "$run_pid"
wait_until 5 grep -q started "$TEST_DIR/fwd.log"
kill -USR1 "$run_pid"
wait "$run_pid"
assert_eq 3 $? "run exits with the container's status after a forwarded signal"
assert_contains "$(cat "$TEST_DIR/fwd.log")" got-USR1 "SIGUSR1 sent to run reaches the container's process"
assert_fails_with . rt state "$id"

section "run -d, state fields, list"
b=$(BUNDLE_JQ='.annotations = {"org.berth.test": "yes", "org.berth.other": "a b"}' make_bundle sh -c "$TRAP_SH")
run_detached "$b"
id1=$ID
assert_eq 0 "$RC" "run -d exits 0"
assert_eq running "$(ctr_status "$id1")" "run -d leaves it running"
st=$(rt state "$id1")
for f in ociVersion id status pid bundle; do
  assert_eq true "$(jq "has(\"$f\")" <<<"$st")" "state JSON has $f"
done
assert_eq "$id1" "$(jq -r .id <<<"$st")" "state.id"
assert_eq "$b" "$(jq -r .bundle <<<"$st")" "state.bundle is the absolute bundle path"
assert_eq '{"org.berth.other":"a b","org.berth.test":"yes"}' "$(jq -cS .annotations <<<"$st")" \
  "state.annotations are the config's annotations"
pid1=$(jq -r .pid <<<"$st")
assert_eq 1 "$(cat /proc/"$pid1"/status | awk '/^NSpid/ {print $NF}')" "state.pid is pid 1 in the container"

assert_contains "$(rt list -q)" "$id1" "list -q shows the container"
assert_eq "$id1" "$(rt list -q | grep -x "$id1")" "list -q prints bare ids"
lj=$(rt list --format json)
assert_eq running "$(jq -r ".[] | select(.id == \"$id1\") | .status" <<<"$lj")" "list --format json: status"
assert_eq "$pid1" "$(jq -r ".[] | select(.id == \"$id1\") | .pid" <<<"$lj")" "list --format json: pid"
assert_eq "$b" "$(jq -r ".[] | select(.id == \"$id1\") | .bundle" <<<"$lj")" "list --format json: bundle"

section "duplicate id"
b2=$(make_bundle sh -c 'echo second')
rt run -d --bundle "$b2" "$id1" </dev/null >"$TEST_DIR/dup.log" 2>&1
rc=$?
[ $rc -ne 0 ] && pass "run with an existing id fails" || fail "run with an existing id succeeded"
assert_match "$(cat "$TEST_DIR/dup.log")" "$id1|exist" "the error names the id or says it exists"
assert_eq running "$(ctr_status "$id1")" "the first container is still running"
assert_eq "$pid1" "$(ctr_pid "$id1")" "the first container keeps its pid"
assert_eq "$b" "$(rt state "$id1" | jq -r .bundle)" "the first container keeps its bundle"

section "delete of a running container"
assert_fails_with "running|stop|force" rt delete "$id1"
assert_eq running "$(ctr_status "$id1")" "delete without --force leaves it running"
assert_ok "delete --force of a running container" rt delete --force "$id1"
assert_fails_with . rt state "$id1"
wait_until 5 sh -c "! [ -d /proc/$pid1 ] || grep -q '^State:.*Z' /proc/$pid1/status"
proc_alive "$pid1" && fail "pid $pid1 survived delete --force" || pass "delete --force killed the process"

section "kill signals"
for sig in SIGTERM TERM 15; do
  run_detached "$b"
  rt kill "$ID" "$sig" >/dev/null 2>&1
  assert_eq 0 $? "kill $sig exits 0"
  wait_until 5 grep -q got-TERM "$TEST_DIR/$ID.log"
  assert_contains "$(cat "$TEST_DIR/$ID.log")" got-TERM "kill $sig delivers SIGTERM inside"
  wait_status "$ID" stopped
  assert_eq stopped "$(ctr_status "$ID")" "stopped after kill $sig"
  rt delete "$ID"
done
b3=$(make_bundle sleep 1000)
run_detached "$b3"
assert_fails_with "sig|signal|invalid|unknown" rt kill "$ID" SIGFOO
assert_fails_with "sig|signal|invalid|unknown" rt kill "$ID" 999
assert_eq running "$(ctr_status "$ID")" "an unknown signal does not touch the container"
assert_ok "kill KILL" rt kill "$ID" KILL
wait_status "$ID" stopped
assert_eq stopped "$(ctr_status "$ID")" "stopped after kill KILL"
assert_ok "delete a stopped container" rt delete "$ID"
assert_fails_with . rt delete "$ID"
assert_ok "delete --force of a missing container succeeds" rt delete --force "$ID"
