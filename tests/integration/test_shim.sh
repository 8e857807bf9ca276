#!/bin/bash
# berth-shim (docs/shim.md), driven through its client library by berth-shim-ctl
# (data/shim_ctl.cc), with the real runtime: start-up and readiness, CRI logs of both
# streams (long lines in P parts, a last partial line), exit records on disk, signals,
# events, exec_sync (output, exit code, timeout), a tty, reopen_log after a rename, clients
# that leave or are killed, bad frames, a bundle that cannot be created, OOM, delete,
# a killed shim's containers found again by the next one, shutdown — and nothing left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/shim_lib.sh"


spawn_shim() {
  timeout -k 5 30 "$CTL" spawn --shim "$SHIM" --namespace test-ns --id "pod-$$" --work-dir "$WD" \
    --address "unix://$TEST_DIR/berthd.sock" --runtime "$RUNTIME" --runtime-root "$STATE" "$@"
}
shim_alive() { [ -n "${SHIM_PID:-}" ] && proc_alive "$SHIM_PID"; }
# A log line of the CRI format: <RFC 3339 ns> <stream> <F|P> <content>
CRI_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [FP]( |$)'
# all_cri FILE — every line of FILE is a CRI record
all_cri() { [ -s "$1" ] && ! grep -Evq "$CRI_RE" "$1"; }

section "start-up and readiness"
out=$(spawn_shim 2>&1)
assert_eq 0 $? "spawn returns once the shim serves"
SHIM_PID=$out
assert_match "$SHIM_PID" '^[0-9]+$' "spawn prints the daemon's pid"
assert_eq "$SHIM_PID" "$(cat "$WD/shim.pid" 2>/dev/null)" "shim.pid holds the daemon's pid"
shim_alive && pass "the shim runs" || fail "pid $SHIM_PID is not running"
assert_eq 600 "$(stat -c %a "$WD/shim.sock" 2>/dev/null)" "shim.sock exists, mode 0600"
assert_ne $$ "$(awk '{print $4}' "/proc/$SHIM_PID/stat")" "the shim is not the caller's child (daemonised)"
assert_eq "$SHIM_PID" "$(awk '{print $6}' "/proc/$SHIM_PID/stat")" "the shim leads its own session"
cmdline=$(tr '\0' ' ' <"/proc/$SHIM_PID/cmdline")
assert_contains "$cmdline" "--namespace test-ns --id pod-$$ --work-dir $WD --address unix://$TEST_DIR/berthd.sock" \
  "ps shows namespace, pod id, work dir and berthd's address"
assert_eq "/" "$(readlink "/proc/$SHIM_PID/cwd")" "the shim's cwd is /"
hello=$(ctl hello)
assert_eq "test-ns pod-$$ $SHIM_PID unix://$TEST_DIR/berthd.sock" \
  "$(field '"\(.namespace) \(.id) \(.pid) \(.address)"' "$hello")" "hello answers with what the shim was started with"
assert_fails_with "ALREADY_EXISTS.*another shim serves this work dir \(pid $SHIM_PID\)" spawn_shim
assert_fails_with "INVALID_ARGUMENT.*--runtime" \
  "$CTL" spawn --shim "$SHIM" --namespace n --id p --work-dir "$TEST_DIR/other" --runtime relative/berth --runtime-root "$STATE"
assert_eq "" "$(ls -A "$TEST_DIR/other" 2>/dev/null)" "a shim refused at its flags made no work dir"

section "create, start: both streams in the CRI log, exit on disk"
b=$(make_bundle sh -c 'echo out-line; echo err-line >&2; head -c 40000 /dev/zero | tr "\0" a; echo; printf tail-no-newline; exit 3')
id=$(new_id)
log=$LOGS/$id.log
st=$(ctl create "$id" --bundle "$b" --log-path "$log")
assert_eq 0 $? "create exits 0"
assert_eq created "$(field .status "$st")" "create answers status created"
pid=$(field .pid "$st")
assert_eq created "$(ctr_status "$id")" "the runtime's view agrees (created)"
assert_eq "$pid" "$(ctr_pid "$id")" "the shim reports the runtime's init pid"
assert_eq "$SHIM_PID" "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)" "the container's init is the shim's child (subreaper)"
assert_eq 600 "$(stat -c %a "$WD/$id/container.json" 2>/dev/null)" "container.json is written at create"
st=$(ctl start "$id")
assert_eq 0 $? "start exits 0"
st=$(ctl wait "$id" --timeout-ms 20000)
assert_eq "stopped 3 0" "$(field '"\(.status) \(.exit_code) \(.signal)"' "$st")" "wait: stopped, exit code 3, no signal"
c=$(field .created_at "$st") s=$(field .started_at "$st") e=$(field .exited_at "$st")
[ "$c" -gt 0 ] && [ "$s" -ge "$c" ] && [ "$e" -ge "$s" ] && pass "created_at <= started_at <= exited_at (ns)" ||
  fail "times: created $c started $s exited $e"
ex=$(cat "$WD/$id/exit.json" 2>/dev/null)
assert_eq "3 0 false $e $pid" "$(field '"\(.exit_code) \(.signal) \(.oom_killed) \(.exited_at) \(.pid)"' "$ex")" \
  "exit.json: code, signal, oom_killed, exited_at and pid as reported"
all_cri "$log" && pass "every log line is a CRI record" || { fail "lines not in the CRI format"; _show "$(grep -Ev "$CRI_RE" "$log")"; }
assert_match "$(cat "$log")" ' stdout F out-line$' "stdout's line is a full stdout record"
assert_match "$(cat "$log")" ' stderr F err-line$' "stderr's line is a full stderr record"
parts=$(awk '$2 == "stdout" && $4 ~ /^a+$/ {print $3 length($4)}' "$log" | tr '\n' ' ')
assert_eq "P16384 P16384 F7232 " "$parts" "a 40000-byte line is cut into 16 KiB P parts and a last F"
# (the streams are two pipes: only each stream's own order is kept)
assert_match "$(grep ' stdout ' "$log" | tail -n1)" ' stdout P tail-no-newline$' \
  "the last line without a newline is a P record"
assert_eq stopped "$(ctr_status "$id")" "the runtime's view agrees (stopped)"

section "signals and events"
ev_out=$TEST_DIR/events.out
"$CTL" -w "$WD" events --count 1 --timeout-ms 30000 >"$ev_out" 2>&1 &
ev_pid=$!
track_pid $ev_pid
wait_until 10 grep -q subscribed "$ev_out" || fail "the events client did not subscribe"
# In the host's pid namespace: a pid namespace's init ignores signals it has no handler for.
b=$(BUNDLE_JQ='.linux.namespaces |= map(select(.type != "pid"))' make_bundle sh -c 'echo up; exec sleep 1000')
sig_id=$(new_id)
ctl create "$sig_id" --bundle "$b" --log-path "$LOGS/$sig_id.log" >/dev/null && ctl start "$sig_id" >/dev/null
assert_eq 0 $? "create + start of a sleeping container"
assert_eq running "$(field .status "$(ctl state "$sig_id")")" "state: running"
assert_ok "kill TERM" ctl kill "$sig_id" TERM
st=$(ctl wait "$sig_id" --timeout-ms 20000)
assert_eq "143 15" "$(field '"\(.exit_code) \(.signal)"' "$st")" "SIGTERM recorded: exit code 143, signal 15"
assert_eq 15 "$(jq -r .signal "$WD/$sig_id/exit.json" 2>/dev/null)" "exit.json records the signal"
wait "$ev_pid"
assert_eq 0 $? "the subscriber got its event and left"
ev=$(grep '^{' "$ev_out")
assert_eq "$sig_id 15 $(field .exited_at "$st")" "$(field '"\(.id) \(.signal) \(.exited_at)"' "$ev")" \
  "the exit event names the container, its signal and exited_at"
assert_fails_with "FAILED_PRECONDITION.*stopped" ctl kill "$sig_id" KILL
assert_fails_with "NOT_FOUND.*no such container" ctl state nope

section "exec_sync"
b=$(BUNDLE_JQ='.process.env += ["FROM_CONFIG=yes"]' make_bundle sh -c 'while true; do sleep 1; done')
ex_id=$(new_id)
ctl create "$ex_id" --bundle "$b" --log-path "$LOGS/$ex_id.log" >/dev/null && ctl start "$ex_id" >/dev/null
ex_pid=$(ctr_pid "$ex_id")
r=$(ctl exec "$ex_id" -- sh -c 'echo to-out; echo to-err >&2; exit 5')
assert_eq "5 false" "$(field '"\(.exit_code) \(.timed_out)"' "$r")" "exec: exit code 5, not timed out"
assert_eq "to-out" "$(field .stdout "$r")" "exec: stdout collected"
assert_eq "to-err" "$(field .stderr "$r")" "exec: stderr collected apart"
r=$(ctl exec "$ex_id" --env EXTRA=1 --cwd /tmp -- sh -c 'echo "$FROM_CONFIG $EXTRA $(pwd)"')
assert_eq "yes 1 /tmp" "$(field .stdout "$r")" "exec runs with the container's env plus the request's, in its cwd"
r=$(ctl exec "$ex_id" --max-output 10 -- sh -c 'head -c 100 /dev/zero | tr "\0" b')
assert_eq "bbbbbbbbbb true" "$(field '"\(.stdout) \(.truncated)"' "$r")" "output beyond the bound is dropped and said so"
"$CTL" -w "$WD" exec "$ex_id" -- sh -c 'sleep 3; echo late' >"$TEST_DIR/slow.out" 2>&1 &
slow=$!
track_pid $slow
sleep 0.5
st=$(ctl state "$ex_id")
kill -0 $slow 2>/dev/null && pass "state is answered while an exec runs" || fail "the slow exec ended before state answered"
assert_eq running "$(field .status "$st")" "state during an exec: running"
r=$(ctl exec "$ex_id" --timeout-ms 500 -- sleep 60)
assert_eq "true 137 9" "$(field '"\(.timed_out) \(.exit_code) \(.signal)"' "$r")" "exec timeout: killed, timed_out"
assert_eq running "$(field .status "$(ctl state "$ex_id")")" "the container keeps running after an exec timeout"
proc_alive "$ex_pid" && pass "its init is alive" || fail "init $ex_pid died"
r=$(ctl exec "$ex_id" -- ps -o args)
assert_not_contains "$(field .stdout "$r")" "sleep 60" "the timed-out process is gone"
wait $slow
assert_eq late "$(jq -r .stdout "$TEST_DIR/slow.out")" "the slow exec finished with its output"
assert_fails_with "INVALID_ARGUMENT.*args" ctl exec "$ex_id" --
assert_fails_with "FAILED_PRECONDITION.*not running" ctl exec "$sig_id" -- true
assert_eq "" "$(ls "$WD/$ex_id" | grep exec-)" "no exec files are left in the container's dir"

section "a client that leaves or is killed"
"$CTL" -w "$WD" wait "$ex_id" --timeout-ms 60000 >/dev/null 2>&1 &
w=$!
"$CTL" -w "$WD" exec "$ex_id" -- sleep 2 >/dev/null 2>&1 &
x=$!
sleep 0.5
kill -KILL $w $x
wait $w $x 2>/dev/null
assert_fails_with "RESOURCE_EXHAUSTED.*exceeds the bound" ctl raw oversize
assert_fails_with "INVALID_ARGUMENT.*not valid JSON" ctl raw garbage
assert_ok "a frame cut short is dropped" ctl raw truncated
shim_alive && pass "the shim outlives killed clients and bad frames" || fail "the shim died"
proc_alive "$ex_pid" && pass "so does the container" || fail "the container died"
list=$(ctl list)
assert_eq "$ex_pid running" "$(field ".[] | select(.id == \"$ex_id\") | \"\(.pid) \(.status)\"" "$list")" \
  "a new client sees the same container, pid and state"
assert_eq "$(printf '%s\n' "$id" "$sig_id" "$ex_id" | sort | xargs)" "$(field '.[].id' "$list" | sort | xargs)" \
  "list has every container of the shim"
r=$(ctl exec "$ex_id" -- true)
assert_eq 0 "$(field .exit_code "$r")" "execs work after the killed exec's client"

section "tty"
b=$(BUNDLE_JQ='.process.terminal = true' make_bundle sh -c 'tty; test -t 0 && test -t 1 && echo both-tty')
tty_id=$(new_id)
ctl create "$tty_id" --bundle "$b" --log-path "$LOGS/$tty_id.log" --tty >/dev/null && ctl start "$tty_id" >/dev/null
st=$(ctl wait "$tty_id" --timeout-ms 20000)
assert_eq 0 "$(field .exit_code "$st")" "the tty container exits 0"
tlog=$(cat "$LOGS/$tty_id.log")
assert_match "$tlog" ' stdout F /dev/pts/[0-9]+$' "the tty's output is one stdout stream"
assert_match "$tlog" ' stdout F both-tty$' "stdin and stdout are the terminal"
assert_not_contains "$tlog" $'\r' "the pty's CRLF reads back as plain lines"

section "reopen_log after a rename"
b=$(make_bundle sh -c 'i=0; while true; do i=$((i+1)); echo "n=$i"; sleep 0.1; done')
ro_id=$(new_id)
rlog=$LOGS/$ro_id.log
ctl create "$ro_id" --bundle "$b" --log-path "$rlog" >/dev/null && ctl start "$ro_id" >/dev/null
wait_until 10 grep -q 'n=3$' "$rlog" || fail "no output before the rotation"
mv "$rlog" "$rlog.1"
assert_ok "reopen_log" ctl reopen-log "$ro_id"
wait_until 10 grep -q 'n=' "$rlog" && pass "output goes on in a new file at the log path" || fail "nothing in the new log"
last_old=$(tail -n1 "$rlog.1" | sed 's/.*n=//') first_new=$(head -n1 "$rlog" | sed 's/.*n=//')
assert_eq $((last_old + 1)) "$first_new" "no line lost or doubled across the rotation"
all_cri "$rlog" && pass "the new file is CRI records" || fail "the new file is not CRI records"
assert_ok "delete --force of a running container" ctl delete "$ro_id" --force

section "a full log disk: the container is not blocked, its output dropped, logging resumes"
# The log's filesystem: a 256 KiB tmpfs. A container writing 8 MiB must not block on its pipe
# (the shim drains it and drops what cannot be written); once space returns, new output is
# written again.
FULL=$TEST_DIR/fulllog
mkdir -p "$FULL"
mount -t tmpfs -o size=256k berth-it-fulllog "$FULL" || die "mount a tmpfs on $FULL"
on_exit "umount -l '$FULL' 2>/dev/null"
b=$(make_bundle sh -c 'head -c 8388608 /dev/zero | tr "\0" x | fold -w 1000; echo; exec sleep 1000')
fl_id=$(new_id)
flog=$FULL/$fl_id.log
ctl create "$fl_id" --bundle "$b" --log-path "$flog" >/dev/null && ctl start "$fl_id" >/dev/null
assert_eq 0 $? "create + start with the log on a 256 KiB filesystem"
fl_pid=$(ctr_pid "$fl_id")
# The container reaches its sleep only when all 8 MiB went through the pipe.
wait_until 30 grep -q sleep "/proc/$fl_pid/cmdline" 2>/dev/null &&
  pass "8 MiB written into a full log disk: the container went on (not blocked on the pipe)" ||
  fail "the container is blocked writing its output ($(tr '\0' ' ' <"/proc/$fl_pid/cmdline" 2>/dev/null))"
assert_eq 0 "$(df --output=avail -B1 "$FULL" | tail -n1 | tr -d ' ')" "the log's filesystem is full"
assert_contains "$(cat "$WD/shim.log" 2>/dev/null)" "$flog" "the shim's own log names the log file it could not write"
assert_eq 1 "$(grep -c "write $flog" "$WD/shim.log" 2>/dev/null)" "…once, not once per dropped line"
assert_eq running "$(field .status "$(ctl state "$fl_id")")" "the container is still running"
# Space returns (the filesystem grown to 16 MiB): what is left in the pipe and new output
# are written again, to the same open file.
mount -o remount,size=16m "$FULL" || fail "remount $FULL larger"
# An exec writes a numbered line a second to the init's stdout: logging has resumed when one is in the
# file (a line the shim read while the disk was still full is rightly dropped).
r=$(ctl exec "$fl_id" -- sh -c 'for i in 1 2 3 4 5; do echo written-after-free-$i >/proc/1/fd/1; sleep 1; done')
if wait_until 20 grep -q 'stdout F written-after-free-[0-9]$' "$flog"; then
  pass "after space returned, output is logged again"
else
  fail "nothing logged after space returned (exec: $r; $(df --output=used,avail -B1 "$FULL" | tail -n1)," \
    "log $(stat -c %s "$flog") bytes, shim log: $(tail -n3 "$WD/shim.log" | tr '\n' ' ')): $(tail -c 200 "$flog")"
fi
assert_ok "delete --force" ctl delete "$fl_id" --force
umount "$FULL" || fail "the full log tmpfs is busy after the container is gone"

section "a bundle that cannot be created"
bad_id=$(new_id)
mkdir -p "$TEST_DIR/empty-bundle"
assert_fails_with "NOT_FOUND.*config.json" ctl create "$bad_id" --bundle "$TEST_DIR/empty-bundle" --log-path "$LOGS/$bad_id.log"
b=$(make_bundle true)
echo '{"ociVersion": "1.0.2", "process": {"args": "not-an-array"}, "root": {"path": "rootfs"}}' >"$b/config.json"
assert_fails_with "create.*process.args" ctl create "$bad_id" --bundle "$b" --log-path "$LOGS/$bad_id.log"
assert_eq "" "$(field ".[] | select(.id == \"$bad_id\") | .id" "$(ctl list)")" "the failed container is not listed"
[ -e "$WD/$bad_id" ] && fail "its work dir is left" || pass "no work dir left"
[ -e "$LOGS/$bad_id.log" ] && fail "the log file create made is left" || pass "no log file left"
assert_fails_with "INVALID_ARGUMENT" ctl create "../x" --bundle "$b"
assert_fails_with "ALREADY_EXISTS" ctl create "$ex_id" --bundle "$b"

section "OOM kill"
b=$(BUNDLE_JQ='.linux.resources.memory = {"limit": 16777216, "swap": 16777216}' make_bundle sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived')
oom_id=$(new_id)
if ctl create "$oom_id" --bundle "$b" --log-path "$LOGS/$oom_id.log" >/dev/null 2>"$TEST_DIR/oom.err"; then
  ctl start "$oom_id" >/dev/null
  st=$(ctl wait "$oom_id" --timeout-ms 60000)
  assert_eq "true 9" "$(field '"\(.oom_killed) \(.signal)"' "$st")" "an OOM kill is reported as oom_killed, SIGKILL"
  assert_eq true "$(jq -r .oom_killed "$WD/$oom_id/exit.json" 2>/dev/null)" "exit.json records oom_killed"
  assert_eq false "$(field .oom_killed "$(ctl state "$sig_id")")" "a plain signal is not an OOM kill"
  ctl delete "$oom_id" >/dev/null
else
  fail "create with a memory limit: $(cat "$TEST_DIR/oom.err")"
fi

section "delete"
assert_fails_with "FAILED_PRECONDITION.*running" ctl delete "$ex_id"
assert_ok "delete of a stopped container" ctl delete "$id"
[ -e "$WD/$id" ] && fail "its work dir is left" || pass "delete removes the container's files"
assert_fails_with "NOT_FOUND" ctl state "$id"
rt state "$id" >/dev/null 2>&1 && fail "the runtime still has $id" || pass "the runtime's state is gone"
ctl delete "$sig_id" >/dev/null
ctl delete "$tty_id" >/dev/null
b=$(make_bundle true)
cr_id=$(new_id)
cr_pid=$(field .pid "$(ctl create "$cr_id" --bundle "$b")")
assert_ok "delete of a created, never started container" ctl delete "$cr_id"
proc_alive "$cr_pid" && fail "its init $cr_pid is alive" || pass "its init is gone"
rt state "$cr_id" >/dev/null 2>&1 && fail "the runtime still has $cr_id" || pass "the runtime forgot it"

section "a killed shim's containers, found again"
b=$(make_bundle sleep 1000)
keep_id=$(new_id)
ctl create "$keep_id" --bundle "$b" --log-path "$LOGS/$keep_id.log" >/dev/null && ctl start "$keep_id" >/dev/null
keep_pid=$(ctr_pid "$keep_id")
b=$(make_bundle sh -c 'exit 42')
done_id=$(new_id)
ctl create "$done_id" --bundle "$b" >/dev/null && ctl start "$done_id" >/dev/null && ctl wait "$done_id" >/dev/null
assert_fails_with "FAILED_PRECONDITION.*is running" ctl shutdown
kill -KILL "$SHIM_PID"
wait_until 10 sh -c "! kill -0 $SHIM_PID 2>/dev/null"
proc_alive "$keep_pid" && pass "the container outlives a killed shim" || fail "the container died with the shim"
SHIM_PID=$(spawn_shim 2>&1)
assert_match "$SHIM_PID" '^[0-9]+$' "a new shim starts on the same work dir"
list=$(ctl list)
assert_eq "stopped 42 true" "$(field ".[] | select(.id == \"$done_id\") | \"\(.status) \(.exit_code) \(.adopted)\"" "$list")" \
  "the exited container keeps its exit code (from exit.json)"
assert_eq "running $keep_pid true" "$(field ".[] | select(.id == \"$keep_id\") | \"\(.status) \(.pid) \(.adopted)\"" "$list")" \
  "the running container is found running, same pid"
assert_eq "running" "$(field ".[] | select(.id == \"$ex_id\") | .status" "$list")" "so is the exec container"
assert_ok "kill of an adopted container (its pidfd)" ctl kill "$keep_id" KILL
st=$(ctl wait "$keep_id" --timeout-ms 20000)
assert_eq stopped "$(field .status "$st")" "its exit is seen by the new shim"
assert_ok "delete of the adopted containers" sh -c "$(printf '%q ' "$CTL") -w $WD delete $keep_id && $(printf '%q ' "$CTL") -w $WD delete $done_id"

section "shutdown"
assert_fails_with "FAILED_PRECONDITION.*$ex_id.*running" ctl shutdown
shim_alive && pass "a refused shutdown leaves the shim serving" || fail "the shim died"
assert_ok "delete --force of the last container" ctl delete "$ex_id" --force
assert_eq "[]" "$(ctl list | jq -c .)" "nothing is listed"
assert_ok "shutdown" ctl shutdown
wait_until 10 sh -c "! kill -0 $SHIM_PID 2>/dev/null" && pass "the shim exits" || fail "the shim $SHIM_PID still runs"
[ -e "$WD/shim.sock" ] || [ -e "$WD/shim.pid" ] && fail "shim.sock or shim.pid left" || pass "shim.sock and shim.pid are removed"
assert_fails_with "UNAVAILABLE" ctl hello
assert_eq "" "$(find "$WD" -mindepth 1 -maxdepth 1 -type d)" "no container dir is left in the work dir"
assert_eq "" "$(ls -A "$STATE")" "no runtime state is left"
assert_eq "" "$(pgrep -f -- "--work-dir $WD" || true)" "no shim process is left"
