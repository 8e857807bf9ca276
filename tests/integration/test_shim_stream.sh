#!/bin/bash
# berth-shim's streams (docs/shim.md "Streams"): the streaming `exec` and `attach` whose fds
# the shim hands over (SCM_RIGHTS), driven by berth-shim-ctl's exec-stream and attach, which
# pump them to their own stdio as berthd's streaming server does. Exec with pipes and with a
# tty (resize seen by `stty size`), stdin EOF, exit codes, a command that cannot start, a
# client killed mid-exec, 50 at once; attach to output (two attachers, detach), stdin with
# and without stdin_once, a tty, a container that exits; the shim's fds back where they were
# and nothing left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/shim_lib.sh"

SHIM_PID=$(timeout -k 5 30 "$CTL" spawn --shim "$SHIM" --namespace test-ns --id "pod-$$" \
  --work-dir "$WD" --runtime "$RUNTIME" --runtime-root "$STATE" 2>&1)
[[ $SHIM_PID =~ ^[0-9]+$ ]] || die "the shim did not start: $SHIM_PID"
shim_fds() { ls "/proc/$SHIM_PID/fd" 2>/dev/null | wc -l; }
# The shim's fd count once the last client's connection is closed (it sees the EOF a moment
# after the client has its answer).
base_fds() {
  sleep 0.5
  shim_fds
}
# fds_back BASE WHAT — the shim holds BASE fds again
fds_back() {
  if wait_until 10 sh -c "[ \$(ls /proc/$SHIM_PID/fd | wc -l) -eq $1 ]"; then pass "$2"; else
    fail "$2"
    echo "         expected $1 fds, the shim has $(shim_fds):"
    _show "$(ls -l "/proc/$SHIM_PID/fd")"
  fi
}
start_ctr() {  # ID BUNDLE [create flags...]
  local id=$1 b=$2
  shift 2
  ctl create "$id" --bundle "$b" --log-path "$LOGS/$id.log" "$@" >/dev/null && ctl start "$id" >/dev/null
}

section "exec with pipes: output, stdin EOF, exit codes"
b=$(make_bundle sh -c 'while true; do sleep 1; done')
ex=$(new_id)
start_ctr "$ex" "$b" || die "the exec container did not start"
base=$(base_fds)
out=$(printf 'line1\nline2\n' | ctl exec-stream "$ex" --stdin -- cat)
assert_eq 0 $? "cat reads stdin to its EOF and exits 0"
assert_eq $'line1\nline2' "$out" "cat's output is what went in"
out=$(ctl exec-stream "$ex" -- sh -c 'echo to-out; echo to-err >&2; exit 7' 2>"$TEST_DIR/err")
assert_eq 7 $? "the exit code comes through (7)"
assert_eq to-out "$out" "stdout is its own stream"
assert_eq to-err "$(cat "$TEST_DIR/err")" "stderr is its own stream"
ctl exec-stream "$ex" --exit-file "$TEST_DIR/kill.exit" -- sh -c 'kill -9 $$'
assert_eq 137 $? "a process killed by a signal: 128 + 9"
assert_eq 9 "$(jq -r .signal "$TEST_DIR/kill.exit" 2>/dev/null)" "the final frame names the signal"
out=$(ctl exec-stream "$ex" --no-stderr -- sh -c 'echo gone >&2; echo kept' 2>"$TEST_DIR/err")
assert_eq "0 kept" "$? $out" "a stream not asked for goes to /dev/null (no EPIPE)"
assert_eq "" "$(cat "$TEST_DIR/err")" "nothing arrives from it"
out=$(ctl exec-stream "$ex" --env EXTRA=1 --cwd /tmp -- sh -c 'echo "$EXTRA $(pwd)"')
assert_eq "1 /tmp" "$out" "env and cwd of the request"
head -c 300000 /dev/urandom >"$TEST_DIR/big"
ctl exec-stream "$ex" --stdin -- cat <"$TEST_DIR/big" >"$TEST_DIR/big.out"
cmp -s "$TEST_DIR/big" "$TEST_DIR/big.out" && pass "300 kB through stdin and back, byte for byte" ||
  fail "300 kB did not come back intact ($(stat -c %s "$TEST_DIR/big.out") bytes)"

section "exec with a tty"
out=$(ctl exec-stream "$ex" --tty -- sh -c 'tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty' | tr -d '\r')
assert_match "$out" '^/dev/pts/[0-9]+$' "the process's stdin is a pty"
assert_contains "$out" all-tty "stdin, stdout and stderr are the terminal"
out=$(ctl exec-stream "$ex" --tty --size 100x20 -- stty size | tr -d '\r')
assert_eq "20 100" "$out" "the initial size of the request (consoleSize)"
out=$(printf 'go\n' | ctl exec-stream "$ex" --tty --stdin --resize 77x33 -- sh -c 'read x; echo "read:$x"; stty size' | tr -d '\r')
assert_contains "$out" "read:go" "stdin reaches the process through the terminal"
assert_eq "33 77" "$(tail -n1 <<<"$out")" "a resize of the pty master is what stty size sees"
out=$(printf 'a\n' | ctl exec-stream "$ex" --tty --stdin -- sh -c 'while read l; do echo "l=$l"; done; echo eof-seen' | tr -d '\r')
assert_contains "$out" "eof-seen" "closing stdin on a tty sends EOF (VEOF)"
ctl exec-stream "$ex" --tty -- sh -c 'exit 3' >/dev/null
assert_eq 3 $? "the exit code through a tty exec"
fds_back "$base" "the shim holds no fd of the execs that ended"

section "a command that cannot be started"
assert_fails_with "exec.*(no such file|not found|nonexistent)" ctl exec-stream "$ex" -- /nonexistent/cmd
assert_fails_with "exec.*(no such file|not found|nonexistent)" ctl exec-stream "$ex" --tty -- /nonexistent/cmd
assert_eq "" "$(pgrep -P "$SHIM_PID" -f /nonexistent || true)" "no process is left"
assert_eq "" "$(ls "$WD/$ex" | grep exec- || true)" "no exec files are left"
fds_back "$base" "no fd is left in the shim"
assert_fails_with "INVALID_ARGUMENT.*args" ctl exec-stream "$ex" --
assert_fails_with "NOT_FOUND" ctl exec-stream nope -- true

section "a client killed mid-exec: the process is killed"
for mode in pipes tty; do
  flag=""
  [ $mode = tty ] && flag=--tty
  arg=$((1000 + RANDOM % 1000))
  "$CTL" -w "$WD" exec-stream "$ex" $flag -- sleep $arg >/dev/null 2>&1 &
  x=$!
  track_pid $x
  wait_until 20 pgrep -P "$SHIM_PID" -fx "sleep $arg" || fail "$mode: the exec'd sleep did not start"
  p=$(pgrep -P "$SHIM_PID" -fx "sleep $arg")
  kill -KILL $x
  wait $x 2>/dev/null
  wait_until 10 sh -c "! kill -0 $p 2>/dev/null" && pass "$mode: berthd gone, the process $p is killed" ||
    fail "$mode: the process $p outlived its client"
done
fds_back "$base" "the shim holds nothing of the killed clients' execs"
assert_eq running "$(field .status "$(ctl state "$ex")")" "the container runs on"

section "50 streaming execs at once"
pids=()
for i in $(seq 1 50); do
  (timeout -k 5 120 "$CTL" -w "$WD" exec-stream "$ex" -- sh -c "sleep 1; echo n=$i; exit $((i % 5))" \
    >"$TEST_DIR/par.$i" 2>&1; echo $? >"$TEST_DIR/par.$i.rc") &
  pids+=($!)
done
wait "${pids[@]}"
ok=0
for i in $(seq 1 50); do
  [ "$(cat "$TEST_DIR/par.$i")" = "n=$i" ] && [ "$(cat "$TEST_DIR/par.$i.rc")" = $((i % 5)) ] && ok=$((ok + 1))
done
assert_eq 50 $ok "all 50 printed their own line and exited with their own code"
[ $ok -eq 50 ] || _show "$(for i in 1 2 3; do echo "$i: $(cat "$TEST_DIR/par.$i") rc $(cat "$TEST_DIR/par.$i.rc")"; done)"
fds_back "$base" "the shim's fds are back where they were"
assert_eq "" "$(ls "$WD/$ex" | grep exec- || true)" "no exec files are left"

section "attach to a running container's output"
b=$(make_bundle sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; echo "tock $i" >&2; sleep 0.2; done')
at=$(new_id)
start_ctr "$at" "$b" || die "the attach container did not start"
base=$(base_fds)
for k in 1 2; do
  "$CTL" -w "$WD" attach "$at" >"$TEST_DIR/a$k.out" 2>"$TEST_DIR/a$k.err" &
  eval a$k=$!
  track_pid $!
done
wait_until 10 grep -q tick "$TEST_DIR/a1.out" && wait_until 10 grep -q tick "$TEST_DIR/a2.out" &&
  pass "two attachers at once both get stdout" || fail "an attacher got no output"
wait_until 10 grep -q tock "$TEST_DIR/a1.err" && pass "stderr comes as its own stream" || fail "no stderr"
assert_eq "" "$(grep -v '^tick [0-9]*$' "$TEST_DIR/a1.out")" "stdout has stdout's lines only"
kill -TERM $a1 $a2
wait $a1 $a2 2>/dev/null
n=$(wc -l <"$LOGS/$at.log")
wait_until 10 sh -c "[ \$(wc -l <$LOGS/$at.log) -gt $((n + 2)) ]" && pass "detached: the container and its log go on" ||
  fail "the log stopped after the detach"
assert_eq running "$(field .status "$(ctl state "$at")")" "detach leaves the container running"
fds_back "$base" "the detached attachments' fds are gone from the shim"
assert_fails_with "FAILED_PRECONDITION.*without stdin" ctl attach "$at" --stdin
assert_fails_with "NOT_FOUND" ctl attach nope

section "attach stdin, stdin_once, a container that exits"
b=$(make_bundle sh -c 'while read l; do echo "got:$l"; done; echo stdin-eof; exit 7')
once=$(new_id)
start_ctr "$once" "$b" --stdin --stdin-once || die "the stdin_once container did not start"
out=$(printf 'hello\nworld\n' | ctl attach "$once" --stdin --exit-file "$TEST_DIR/once.exit")
assert_eq 0 $? "the attacher ends with the container"
assert_eq $'got:hello\ngot:world\nstdin-eof' "$out" "stdin reached it, and its EOF (stdin_once)"
assert_eq 7 "$(jq -r .exit_code "$TEST_DIR/once.exit" 2>/dev/null)" "the final frame has the container's exit code"
assert_eq "stopped 7" "$(field '"\(.status) \(.exit_code)"' "$(ctl wait "$once")")" "the shim has it stopped, code 7"
assert_fails_with "FAILED_PRECONDITION.*exited" ctl attach "$once"

b=$(make_bundle sh -c 'while read l; do echo "got:$l"; done; echo stdin-eof')
keep=$(new_id)
start_ctr "$keep" "$b" --stdin || die "the stdin container did not start"
for word in one two; do
  printf '%s\n' $word | "$CTL" -w "$WD" attach "$keep" --stdin >"$TEST_DIR/k.$word" 2>&1 &
  k=$!
  track_pid $k
  wait_until 10 grep -q "got:$word" "$TEST_DIR/k.$word" && pass "attacher '$word' reaches stdin" ||
    fail "attacher '$word': $(cat "$TEST_DIR/k.$word")"
  kill -TERM $k
  wait $k 2>/dev/null
done
sleep 0.3
assert_not_contains "$(cat "$LOGS/$keep.log")" stdin-eof "without stdin_once the container's stdin stays open"
assert_eq running "$(field .status "$(ctl state "$keep")")" "and it runs on"

section "attach with a tty"
b=$(BUNDLE_JQ='.process.terminal = true' make_bundle sh -c 'read l; echo "got:$l"; stty size; exit 4')
tt=$(new_id)
start_ctr "$tt" "$b" --tty --stdin || die "the tty container did not start"
out=$(printf 'hi\n' | ctl attach "$tt" --stdin --resize 50x10 --exit-file "$TEST_DIR/tty.exit" | tr -d '\r')
assert_contains "$out" "got:hi" "stdin through the container's terminal"
assert_eq "10 50" "$(tail -n1 <<<"$out")" "the attacher's resize is the container's terminal size"
assert_eq 4 "$(jq -r .exit_code "$TEST_DIR/tty.exit" 2>/dev/null)" "the final frame after the exit"
assert_match "$(cat "$LOGS/$tt.log")" ' stdout F got:hi$' "the CRI log has the output too"

section "nothing left"
for id in "$ex" "$at" "$keep"; do ctl delete "$id" --force >/dev/null || fail "delete $id"; done
for id in "$once" "$tt"; do ctl delete "$id" >/dev/null || fail "delete $id"; done
assert_eq "[]" "$(ctl list | jq -c .)" "no container is listed"
assert_ok "shutdown" ctl shutdown
wait_until 10 sh -c "! kill -0 $SHIM_PID 2>/dev/null" && pass "the shim exits" || fail "the shim $SHIM_PID still runs"
assert_eq "" "$(ls -A "$STATE")" "no runtime state is left"
