#!/bin/bash
# Hooks: all six in order, each reading the state JSON on stdin; failing prestart and
# createRuntime hooks abort create and leave nothing behind; a failing startContainer hook
# fails start before the process runs; poststart failures are reported; hook timeouts.
source "$(dirname "$0")/lib.sh"

HOOKS=$TEST_DIR/hooks
mkdir -p "$HOOKS"
chmod 755 "$HOOKS"
# hook.sh NAME LOG — appends "NAME STATUS ID-MATCHES PID-SET" from the state on stdin.
# Runs under the host's /bin/sh and under the container's busybox sh.
cat >"$HOOKS/hook.sh" <<'SH'
#!/bin/sh
st=$(cat)
field() { printf '%s' "$st" | tr -d '\n' | sed -n "s/.*\"$1\" *: *\"\{0,1\}\([^\",}]*\).*/\1/p"; }
echo "$1 $(field status) $(field id) pid=$(field pid) bundle=$(field bundle)" >>"$2"
SH
chmod 755 "$HOOKS/hook.sh"

# host_hook NAME — a hook run from the runtime namespace, logging to $HOOKS/log.
host_hook() { echo "{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"$HOOKS/hook.sh\", \"$1\", \"$HOOKS/log\"]}"; }

section "all six hooks, in order, with the state on stdin"
b=$(make_bundle sleep 1000)
edit_config "$b" '.mounts += [{"destination": "/hooks", "type": "bind", "source": "'"$HOOKS"'", "options": ["rbind", "rw"]}]
  | .hooks = {
      "prestart": ['"$(host_hook prestart)"'],
      "createRuntime": ['"$(host_hook createRuntime)"'],
      "createContainer": ['"$(host_hook createContainer)"'],
      "startContainer": [{"path": "/bin/sh", "args": ["sh", "/hooks/hook.sh", "startContainer", "/hooks/log"]}],
      "poststart": ['"$(host_hook poststart)"'],
      "poststop": ['"$(host_hook poststop)"']}'
id=$(new_id)
rt create --bundle "$b" "$id" </dev/null >"$TEST_DIR/create.log" 2>&1
assert_eq 0 $? "create with hooks exits 0"
pid=$(ctr_pid "$id")
assert_eq "prestart createRuntime createContainer" "$(awk '{print $1}' "$HOOKS/log" 2>/dev/null | head -n3 | tr '\n' ' ' | sed 's/ $//')" \
  "create runs prestart, createRuntime, createContainer in order"
# berth-specific: runc 1.1 runs poststart hooks during create (fixed in runc 1.2).
if berth_specific "poststart runs at start, not at create"; then
  assert_not_contains "$(cat "$HOOKS/log")" poststart "no poststart hook ran during create"
fi
assert_ok "start exits 0" rt start "$id"
wait_until 5 grep -q poststart "$HOOKS/log"
wait_until 5 grep -q startContainer "$HOOKS/log"
rt kill "$id" KILL
wait_status "$id" stopped
assert_ok "delete exits 0" rt delete "$id"
log=$(cat "$HOOKS/log" 2>/dev/null)
for h in prestart createRuntime createContainer startContainer poststart poststop; do
  assert_eq 1 "$(awk -v h=$h '$1 == h' <<<"$log" | wc -l)" "hook $h ran once"
done
assert_eq poststop "$(tail -n1 <<<"$log" | awk '{print $1}')" "poststop ran last (at delete)"
if berth_specific "hook order and poststart state per runtime-spec (runc 1.1 runs poststart at create)"; then
  assert_eq "prestart createRuntime createContainer startContainer poststart poststop" \
    "$(awk '{print $1}' <<<"$log" | tr '\n' ' ' | sed 's/ $//')" "the six hooks ran in the spec's order"
  assert_eq running "$(awk '$1 == "poststart" {print $2}' <<<"$log")" "poststart sees status running"
fi
# runtime-spec lifecycle: "creating" is step 2 (the environment being built); prestart,
# createRuntime and createContainer are steps 3-5, after it, while the user program has not
# run yet: "created", as crun gives. runc 1.1 gives "creating".
want=created
[ "$RUNTIME_KIND" = runc ] && want=creating
for h in prestart createRuntime createContainer; do
  assert_eq $want "$(awk -v h=$h '$1 == h {print $2}' <<<"$log")" "$h sees status $want"
done
assert_eq created "$(awk '$1 == "startContainer" {print $2}' <<<"$log")" "startContainer sees status created"
assert_eq stopped "$(awk '$1 == "poststop" {print $2}' <<<"$log")" "poststop sees status stopped"
assert_eq 6 "$(awk -v id="$id" '$3 == id' <<<"$log" | wc -l)" "every hook's state names the container id"
assert_eq "prestart createRuntime" "$(grep "pid=$pid " <<<"$log" | awk '{print $1}' | head -n2 | tr '\n' ' ' | sed 's/ $//')" \
  "prestart and createRuntime see the container's host pid"
# berth-specific: runc 1.1 gives container-side hooks the pid as seen inside (1).
if berth_specific "host pid in createContainer/startContainer/poststart state"; then
  assert_eq 5 "$(grep -c "pid=$pid " <<<"$log")" "the five hooks before poststop see the container's host pid"
fi
assert_eq 6 "$(grep -c "bundle=$b\$" <<<"$log")" "every hook's state has the bundle path"

section "hook environment and arguments"
rm -f "$HOOKS/env"
b=$(make_bundle true)
edit_config "$b" '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "echo \"$0 $1 $HOOKVAR\" > '"$HOOKS"'/env", "arg0", "arg1"],
                                           "env": ["HOOKVAR=from-env"]}]'
run_bundle "$b"
expect_run "run with a createRuntime hook with env and args"
assert_eq "arg0 arg1 from-env" "$(cat "$HOOKS/env" 2>&1)" "hook gets its args and env"

section "failing prestart and createRuntime hooks"
for h in prestart createRuntime; do
  b=$(make_bundle true)
  edit_config "$b" ".hooks.$h = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"echo hook-says-no >&2; exit 3\"]}]"
  id=$(new_id)
  assert_fails_with . rt create --bundle "$b" "$id"
  assert_nothing_left "$id" "failed $h hook"
done

section "failing createContainer hook"
# Runs in the container's mount namespace (so /bin/sh is the bundle's busybox).
b=$(make_bundle true)
edit_config "$b" '.hooks.createContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 6"]}]'
id=$(new_id)
assert_fails_with . rt create --bundle "$b" "$id"
if berth_specific "the error names the createContainer hook"; then
  assert_match "$LAST_OUT" 'createContainer.*status 6' "the error names the hook and its exit status"
fi
assert_nothing_left "$id" "failed createContainer hook"

section "failing poststop hook"
# runtime-spec: a failing poststop hook is logged as a warning; the remaining hooks and
# the lifecycle (delete) continue as if it had succeeded.
rm -f "$HOOKS/log"
b=$(make_bundle true)
edit_config "$b" '.hooks.poststop = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 8"]}, '"$(host_hook poststop)"']'
id=$(new_id)
rt create --bundle "$b" "$id" </dev/null >"$TEST_DIR/poststop.out" 2>&1
rt start "$id" >/dev/null 2>&1
wait_status "$id" stopped
out=$(rt delete "$id" 2>&1)
assert_eq 0 $? "delete succeeds although a poststop hook failed"
assert_eq poststop "$(awk '{print $1}' "$HOOKS/log" 2>/dev/null)" "the poststop hook after the failed one ran"
if berth_specific "the poststop failure is logged as a warning"; then
  assert_match "$out" 'warn.*poststop hook \[0\].*status 8' "delete warns, naming the hook and its exit status"
fi
assert_nothing_left "$id" "delete with a failing poststop hook"

section "poststart failure"
b=$(make_bundle sleep 1000)
edit_config "$b" '.hooks.poststart = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]'
id=$(new_id)
# Reported by start (runtime-spec) or, with runc 1.1, by create which runs poststart.
# The container's stdio goes to a file: a pipe held open by `sleep` would block $(...).
rt create --bundle "$b" "$id" </dev/null >"$TEST_DIR/poststart.out" 2>&1
out=$(cat "$TEST_DIR/poststart.out"; rt start "$id" 2>&1)
assert_match "$out" 'hook|poststart|exit status 4' "a failing poststart hook is reported"
rt delete --force "$id" >/dev/null 2>&1

section "startContainer failure"
b=$(make_bundle sh -c 'echo ran >/hooks/ran')
edit_config "$b" '.mounts += [{"destination": "/hooks", "type": "bind", "source": "'"$HOOKS"'", "options": ["rbind", "rw"]}]
  | .hooks.startContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]}]'
id=$(new_id)
rm -f "$HOOKS/ran"
rt create --bundle "$b" "$id" </dev/null >"$TEST_DIR/startcontainer.out" 2>&1
out=$(rt start "$id" 2>&1)
rc=$?
if berth_specific "start reports a failing startContainer hook"; then
  [ $rc -ne 0 ] && pass "start fails when a startContainer hook fails" || fail "start succeeded although startContainer failed"
  assert_match "$out" 'startContainer.*status 5' "start names the hook and its exit status"
fi
sleep 0.2
[ ! -e "$HOOKS/ran" ] && pass "the process did not run after startContainer failed" || fail "the process ran although startContainer failed"
rt delete --force "$id" >/dev/null 2>&1

section "hook timeout"
b=$(make_bundle true)
edit_config "$b" '.hooks.createRuntime = [{"path": "'"$(command -v sleep)"'", "args": ["sleep", "30.5"], "timeout": 1}]'
id=$(new_id)
start=$SECONDS
assert_fails_with 'timeout|timed out|deadline|killed' rt create --bundle "$b" "$id"
elapsed=$((SECONDS - start))
[ $elapsed -lt 10 ] && pass "create gave up after ${elapsed}s (timeout 1s)" || fail "create took ${elapsed}s with a 1s hook timeout"
assert_nothing_left "$id" "timed-out hook"
sleep 0.2
assert_eq "" "$(pgrep -x -f 'sleep 30.5')" "the timed-out hook process was killed"
