#!/bin/bash
# linux.seccomp.listenerPath (runtime-spec config-linux.md): with a SCMP_ACT_NOTIFY rule the
# runtime connects to the agent's unix socket and sends the container process state
# (ociVersion, fds, pid, metadata, state) as JSON with the seccomp listener fd (SCM_RIGHTS,
# with the first sendmsg only), one state per connection, then closes it. A small agent
# (data/seccomp_agent.py) checks what arrives and answers the container's mkdir with
# ENOTBLK, which only a working listener fd can do.
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || die "python3 is needed for the seccomp agent"
AGENT=$DATA_DIR/seccomp_agent.py
ENOTBLK=15

section "an agent receives the container process state and the listener"
sock=$TEST_DIR/agent.sock
report=$TEST_DIR/agent.json
python3 "$AGENT" "$sock" "$report" $ENOTBLK 2>"$TEST_DIR/agent.err" &
agent_pid=$!
track_pid $agent_pid
wait_until 10 test -S "$sock" || die "the agent did not listen on $sock: $(cat "$TEST_DIR/agent.err")"

meta='berth-test;MKNOD=/dev/null'
BUNDLE_JQ='.annotations = {"org.berth.test": "listener"} | .linux.seccomp = {
    "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
    "listenerPath": "'"$sock"'", "listenerMetadata": "'"$meta"'",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}' \
  run_ctr mkdir /berth-notified
# The container's init is mkdir itself: the notification's pid is the state's pid.
assert_eq 1 "$RC" "mkdir exits 1 (the agent refused it)"
assert_contains "$ERR" "Block device required" "the agent's answer (ENOTBLK) reaches the container's mkdir"

if ! wait_until 20 test -e "$report"; then
  fail "the agent wrote its report"
  _show "$(cat "$TEST_DIR/agent.err")"
else
  wait $agent_pid
  assert_eq 0 "$?" "the agent got a state and a listener fd"
  r() { jq -r "$1" "$report"; }
  assert_eq null "$(r .error)" "the agent saw no error"
  if berth_specific "runc 1.1.5 keeps the agent's connection open while the container runs"; then
    assert_eq true "$(r .closed_before_first_syscall)" \
      "the runtime closed the connection after the state (before the container's first syscall)"
  fi
  assert_eq 1 "$(r .nfds)" "exactly one fd came with SCM_RIGHTS"
  assert_eq '[0]' "$(r '.fd_messages | tostring')" "the fd came with the first message only"
  assert_eq "anon_inode:seccomp notify" "$(r .fd_link)" "the fd is a seccomp notify listener"
  assert_match "$(r .state.ociVersion)" '^1\.[0-9]+\.[0-9]+' "ociVersion is a runtime-spec version"
  assert_eq '["seccompFd"]' "$(r '.state.fds | tostring')" "fds names the one fd seccompFd"
  assert_eq "$meta" "$(r .state.metadata)" "metadata is listenerMetadata"
  pid=$(r .state.pid)
  assert_match "$pid" '^[1-9][0-9]*$' "pid is a process id"
  assert_eq "$pid" "$(r '.notifications[0].pid')" "pid is the container process (as the runtime sees it)"
  assert_match "$(r '.notifications[0].nr')" '^(83|258)$' "the notification is the container's mkdir/mkdirat"
  assert_eq "$ID" "$(r .state.state.id)" "state.id is the container id"
  assert_eq "$BUNDLE" "$(r .state.state.bundle)" "state.bundle is the bundle path"
  assert_eq "$pid" "$(r .state.state.pid)" "state.pid is the container process"
  assert_match "$(r .state.state.status)" '^(creating|created|running)$' "state.status is a live container's status"
  assert_eq listener "$(r '.state.state.annotations["org.berth.test"]')" "state.annotations come from the config"
fi
rt delete "$ID" >/dev/null 2>&1
assert_nothing_left "$ID" "listener container"

section "no agent at listenerPath"
b=$(BUNDLE_JQ='.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
    "listenerPath": "'"$TEST_DIR/nobody.sock"'",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}' make_bundle true)
id=$(new_id)
assert_fails_with 'nobody\.sock|listener|seccomp' rt run --bundle "$b" "$id"
if berth_specific "the error names the spec field"; then
  assert_contains "$LAST_OUT" "linux.seccomp.listenerPath" "the error names linux.seccomp.listenerPath"
fi
assert_nothing_left "$id" "failed listener connect"
