#!/bin/bash
# berth as podman's OCI runtime (podman 4.3 + conmon 2.1, `podman --runtime $BERTH`): run,
# run -d, exec (also -it through a pty), stop, kill, pause/unpause, rm -f, --memory, --cpus,
# --pids-limit, --cap-drop/--cap-add, --read-only (tmpcopyup), --user, -v binds. Every check
# looks from inside the container or at the kernel's record on the host.
#
# podman's state is private to the test: --root/--runroot/--tmpdir/--network-config-dir under
# $TEST_DIR, the vfs storage driver, cgroupfs, events to a file, --network none. podman does
# not pass --root to the runtime (runc's default would be /run/runc), so berth keeps its state
# in its default root /run/berth; the test checks that none of its containers is left there.
source "$(dirname "$0")/lib.sh"

for tool in podman conmon script; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-deps.sh)"
done
case $RUNTIME_KIND in  # where the runtime keeps state when podman passes no --root
  runc) BERTH_DEFAULT_ROOT=/run/runc ;;
  crun) BERTH_DEFAULT_ROOT=/run/crun ;;
  *) BERTH_DEFAULT_ROOT=/run/berth ;;
esac
IMAGE=localhost/berth-busybox:test

# environment.md: podman's default rlimits exceed this host's hard limits (no CAP_SYS_RESOURCE).
export CONTAINERS_CONF=$TEST_DIR/containers.conf
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_STORAGE_CONF=$TEST_DIR/storage.conf  # not the host's /etc/containers one
printf '[storage]\ndriver = "vfs"\nrunroot = "%s"\ngraphroot = "%s"\n' "$TEST_DIR/runroot" "$TEST_DIR/storage" \
  >"$CONTAINERS_STORAGE_CONF"
mkdir -p "$TEST_DIR/cni"
PODMAN=(podman --root "$TEST_DIR/storage" --runroot "$TEST_DIR/runroot" --tmpdir "$TEST_DIR/libpod"
  --network-config-dir "$TEST_DIR/cni" --storage-driver vfs --cgroup-manager cgroupfs
  --events-backend file --runtime "$BERTH")
pm() { timeout -k 5 30 "${PODMAN[@]}" "$@"; }

# Every container id podman made, for the leak checks and the cleanup.
IDS_FILE=$TEST_DIR/podman-ids
: >"$IDS_FILE"
podman_cleanup() {
  timeout 30 "${PODMAN[@]}" rm -f -a -t 0 >/dev/null 2>&1
  # conmon is podman's per-container monitor: none of ours may outlive the test.
  local id
  while read -r id; do
    [ -n "$id" ] || continue
    pkill -KILL -f "conmon .*-c $id" 2>/dev/null
    timeout 10 "$BERTH" delete --force "$id" >/dev/null 2>&1
  done <"$IDS_FILE"
}
on_exit podman_cleanup

# A busybox image: the bundle rootfs of make-bundle.sh plus a file under /var/tmp, which
# --read-only's tmpcopyup tmpfs must show.
b=$(make_bundle true)
mkdir -p "$b/rootfs/var/tmp/sub"
echo copied-up >"$b/rootfs/var/tmp/sub/keep"
tar -C "$b/rootfs" -c . | pm import - "$IMAGE" >"$TEST_DIR/import.log" 2>&1 ||
  die "podman import failed: $(cat "$TEST_DIR/import.log")"
rm -rf "$b"

RUN=(run --network none)
# prun ARGS... — `podman run --rm` in the foreground; sets OUT RC.
prun() {
  OUT=$(pm "${RUN[@]}" --rm "$@" 2>&1 </dev/null)
  RC=$?
}
# pstart NAME ARGS... — `podman run -d --name NAME`; records the id.
pstart() {
  local name=$1 id
  shift
  id=$(pm "${RUN[@]}" -d --name "$name" "$@" </dev/null 2>"$TEST_DIR/start.err")
  RC=$?
  echo "$id" >>"$IDS_FILE"
  [ $RC -eq 0 ] || _show "$(cat "$TEST_DIR/start.err")"
}
pstatus() { pm inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
pid_of() { pm inspect --format '{{.State.Pid}}' "$1" 2>/dev/null; }
id_of() { pm inspect --format '{{.Id}}' "$1" 2>/dev/null; }
wait_pstatus() {  # NAME STATUS [SECONDS]
  local deadline=$((SECONDS + ${3:-10}))
  while [ "$(pstatus "$1")" != "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

section "podman run --rm: output and exit code"
prun "$IMAGE" sh -c 'echo hello-from-berth; exit 3'
assert_eq 3 "$RC" "run --rm propagates exit code 3"
assert_contains "$OUT" hello-from-berth "run --rm prints the container's output"
prun "$IMAGE" sh -c 'echo "pid=$$ host=$(hostname)"'
assert_eq 0 "$RC" "run --rm exits 0"
assert_contains "$OUT" "pid=1 " "the command is pid 1 of a new pid namespace"

section "run -d, exec, exec -it"
pstart web "$IMAGE" sh -c 'echo marker > /tmp/marker; exec sleep 1000'
assert_eq 0 "$RC" "run -d exits 0"
web_id=$(id_of web)
wait_pstatus web running && pass "run -d: podman sees it running" || fail "run -d: status $(pstatus web)"
init_pid=$(pid_of web)
proc_alive "$init_pid" && pass "the container's init $init_pid runs" || fail "init '$init_pid' is not running"
[ -d "$BERTH_DEFAULT_ROOT/$web_id" ] && pass "the runtime's state is in its default root" ||
  fail "no berth state in $BERTH_DEFAULT_ROOT/$web_id"
out=$(pm exec web sh -c 'echo "marker=$(cat /tmp/marker) init=$(cat /proc/1/comm)"; exit 4' 2>&1)
assert_eq 4 $? "exec propagates exit code 4"
assert_eq "marker=marker init=sleep" "$out" "exec runs inside the container (its files, its pid 1)"
assert_eq "$(readlink /proc/"$init_pid"/ns/pid)" "$(pm exec web readlink /proc/self/ns/pid 2>&1)" \
  "exec joins the container's pid namespace"
out=$(pm exec --user 1000:1000 --workdir /tmp --env E=v web sh -c 'echo "$(id -u):$(id -g) $(pwd) $E"' 2>&1)
assert_eq "1000:1000 /tmp v" "$out" "exec --user --workdir --env"
# -it needs a terminal on podman's side: script(1) gives it one; -e returns the exit code.
# Its stdin is a fifo we hold open at both ends (fd 7): it never has data and never ends.
# Not /dev/null: at stdin EOF script types VEOF into its pty, podman's raw mode turns the
# queued ^D into a NUL byte and forwards it as the container's stdin; when the container
# exits at once, conmon exits with that byte unread on the attach socket, the kernel fails
# podman's next read with ECONNRESET ahead of the output still queued, and podman 4.3 takes
# that as the end of the stream: the output is lost, with any runtime (docs/clients.md).
mkfifo "$TEST_DIR/quiet-stdin" || die "mkfifo $TEST_DIR/quiet-stdin failed"
exec 7<>"$TEST_DIR/quiet-stdin"
out=$(timeout 30 script -eqc "$(printf '%q ' "${PODMAN[@]}") exec -it web sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; exit 6'" /dev/null 2>&1 <&7 7<&-)
rc=$?
assert_eq 6 "$rc" "exec -it propagates exit code 6"
assert_match "$out" '/dev/pts/[0-9]+' "exec -it: the process has a pty"
assert_contains "$out" stdin-is-tty "exec -it: stdin is the terminal"
# A process that writes to its pty and exits at once (shell builtins only, no fork), 5 times:
# its output must reach podman through conmon every time (with script's stdin at EOF, about
# 1 in 3 of these runs lost it).
bad=""
for i in 1 2 3 4 5; do
  out=$(timeout 30 script -eqc "$(printf '%q ' "${PODMAN[@]}" "${RUN[@]}") --rm -it $IMAGE sh -c '[ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; exit 5'" /dev/null 2>&1 <&7 7<&-)
  rc=$?
  [ $rc -eq 5 ] && [[ $out == *stdio-is-tty* ]] || bad+="run $i: exit $rc, output '$out'"$'\n'
done
assert_eq "" "$bad" "run --rm -it, process exits at once: 5 of 5 print that stdin and stdout are its pty (console socket) and exit 5"
exec 7<&-

section "pause, unpause"
freezer=$(find /sys/fs/cgroup/freezer -maxdepth 3 -type d -name "*$web_id" | head -n1)
assert_ok "pause" pm pause web
assert_eq paused "$(pstatus web)" "podman sees it paused"
assert_eq FROZEN "$(cat "$freezer/freezer.state" 2>/dev/null)" "the freezer cgroup is FROZEN"
assert_ok "unpause" pm unpause web
assert_eq running "$(pstatus web)" "podman sees it running again"
assert_eq THAWED "$(cat "$freezer/freezer.state" 2>/dev/null)" "the freezer cgroup is THAWED"
assert_eq 0 "$(pm exec web true >/dev/null 2>&1; echo $?)" "exec works after unpause"

section "stop, kill, rm -f"
# pid 1 ignores SIGTERM without a handler: stop falls back to SIGKILL after -t.
assert_ok "stop -t 1 (SIGTERM ignored, then SIGKILL)" pm stop -t 1 web
assert_eq exited "$(pstatus web)" "stopped container is exited"
assert_eq 137 "$(pm inspect --format '{{.State.ExitCode}}' web)" "killed by SIGKILL: exit code 137"
proc_alive "$init_pid" && fail "init $init_pid survived stop" || pass "init is gone after stop"
assert_ok "rm a stopped container" pm rm web

pstart trapper "$IMAGE" sh -c 'trap "exit 42" TERM; trap "exit 7" USR1; while :; do sleep 0.1; done'
wait_pstatus trapper running
assert_ok "kill --signal USR1" pm kill --signal USR1 trapper
wait_pstatus trapper exited
assert_eq 7 "$(pm inspect --format '{{.State.ExitCode}}' trapper)" "the signal reached the container's handler (exit 7)"
assert_ok "start the exited container again" pm start trapper
wait_pstatus trapper running
assert_ok "stop (SIGTERM handled)" pm stop -t 10 trapper
assert_eq 42 "$(pm inspect --format '{{.State.ExitCode}}' trapper)" "stop delivered SIGTERM (exit 42)"
assert_ok "rm" pm rm trapper

pstart doomed "$IMAGE" sleep 1000
doomed_pid=$(pid_of doomed)
assert_ok "rm -f of a running container" pm rm -f -t 0 doomed
wait_until 5 sh -c "! kill -0 $doomed_pid 2>/dev/null" || true
proc_alive "$doomed_pid" && fail "rm -f left pid $doomed_pid" || pass "rm -f killed the container's process"
assert_eq "" "$(pm ps -a -q --filter name=doomed)" "rm -f removed it from podman"

section "kill of an exited container, a container whose runtime state is gone"
pstart quick "$IMAGE" true
wait_pstatus quick exited
assert_fails_with 'running|state' pm kill quick
assert_ok "stop of an exited container" pm stop -t 0 quick
assert_ok "rm of an exited container" pm rm quick
# podman asks the runtime's `state` and takes "does not exist" as a container that is gone
# (with another text it fails to sync the container at all).
pstart vanished "$IMAGE" sleep 1000
vanished_id=$(id_of vanished)
assert_ok "the runtime deletes the container behind podman's back" "$BERTH" delete --force "$vanished_id"
assert_fails_with 'does not exist' "$BERTH" state "$vanished_id"
wait_pstatus vanished exited || fail "podman does not see the vanished container as exited: $(pstatus vanished)"
assert_ok "rm of the vanished container" pm rm -f vanished
assert_eq "" "$(pm ps -a -q --filter name=vanished)" "podman forgot it"

section "resources: --memory, --cpus, --pids-limit"
prun --memory 64m --cpus 0.5 --pids-limit 77 "$IMAGE" sh -c '
  c=/sys/fs/cgroup
  if [ -f $c/cgroup.controllers ]; then  # cgroup v2
    echo "mem=$(cat $c/memory.max) cpu=$(cat $c/cpu.max) pids=$(cat $c/pids.max)"
  else
    echo "mem=$(cat $c/memory/memory.limit_in_bytes) cpu=$(cat $c/cpu/cpu.cfs_quota_us) $(cat $c/cpu/cpu.cfs_period_us) pids=$(cat $c/pids/pids.max)"
  fi'
assert_eq 0 "$RC" "run with limits exits 0"
assert_eq "mem=67108864 cpu=50000 100000 pids=77" "$OUT" "the container's cgroup has the limits"

section "security: --cap-drop, --cap-add, --user, --read-only"
prun --cap-drop all --cap-add chown "$IMAGE" awk '/^Cap(Eff|Bnd)/ {print $2}' /proc/self/status
assert_eq $'0000000000000001\n0000000000000001' "$OUT" "--cap-drop all --cap-add chown: only CAP_CHOWN (effective, bounding)"
prun --cap-drop net_raw,sys_chroot "$IMAGE" awk '/^CapBnd/ {print $2}' /proc/self/status
bnd=$((16#$OUT))
assert_eq "0 0 1" "$(((bnd >> 13) & 1)) $(((bnd >> 18) & 1)) $((bnd & 1))" \
  "--cap-drop net_raw,sys_chroot: both dropped, CAP_CHOWN kept"
prun --user 1000:1000 "$IMAGE" sh -c 'echo "$(id -u):$(id -g) $(awk "/^CapEff/ {print \$2}" /proc/self/status)"'
assert_eq "1000:1000 0000000000000000" "$OUT" "--user 1000:1000 runs unprivileged"
prun --read-only "$IMAGE" sh -c '
  touch /new-file 2>/dev/null && echo root-writable || echo root-ro
  echo x >/tmp/t && echo tmp-writable
  cat /var/tmp/sub/keep
  grep -q " /var/tmp tmpfs " /proc/self/mounts && echo var-tmp-is-tmpfs'
assert_eq 0 "$RC" "run --read-only exits 0"
assert_eq $'root-ro\ntmp-writable\ncopied-up\nvar-tmp-is-tmpfs' "$OUT" \
  "--read-only: / is read-only, /tmp writable, /var/tmp a tmpfs holding the image's files (tmpcopyup)"

section "volumes: -v host:ctr and :ro"
mkdir -p "$TEST_DIR/vol"
echo from-host >"$TEST_DIR/vol/in"
prun -v "$TEST_DIR/vol:/data" "$IMAGE" sh -c 'cat /data/in; echo from-ctr > /data/out'
assert_eq from-host "$OUT" "-v: the container reads the host's file"
assert_eq from-ctr "$(cat "$TEST_DIR/vol/out" 2>/dev/null)" "-v: the host sees the container's write"
prun -v "$TEST_DIR/vol:/data:ro" "$IMAGE" sh -c 'cat /data/in; { echo no > /data/out2; } 2>/dev/null || echo write-refused'
assert_eq $'from-host\nwrite-refused' "$OUT" "-v :ro is read-only inside"

section "nothing leaked"
assert_eq "" "$(pm ps -a -q)" "podman lists no containers"
left=""
cg=""
while read -r id; do
  [ -n "$id" ] || continue
  [ -e "$BERTH_DEFAULT_ROOT/$id" ] && left+=" $id"
  cg+=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "*$id" 2>/dev/null)
done < <( (cat "$IDS_FILE"; pm events --stream=false --filter event=create --format '{{.ID}}') | sort -u)
assert_match "$(wc -l <"$IDS_FILE") $(pm events --stream=false --filter event=create --format '{{.ID}}' | wc -l)" \
  '^[0-9]+ (1[0-9]|[2-9][0-9])$' "podman's event log names the containers made (checked below)"
assert_eq "" "$left" "no runtime state left in $BERTH_DEFAULT_ROOT"
assert_eq "" "$cg" "no container cgroup left"
assert_eq "" "$(pgrep -f "conmon .*$TEST_DIR" | tr '\n' ' ')" "no conmon left"
