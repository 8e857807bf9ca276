#!/bin/bash
# berth as a Docker runtime (Debian's docker.io 20.10: dockerd + its own containerd + the runc
# shim v2 with berth as BinaryName, `docker run --runtime berth`): run (output, exit code),
# run -d + exec, -it through a pty, --memory/--cpus/--pids-limit read back from the cgroup
# files, pause/unpause, top, stop, kill, rm, and nothing left afterwards.
#
# dockerd is the test's own: --data-root, --exec-root, the API socket, the pidfile, the
# daemon.json and the containerd it starts (its state under the exec-root) are all under
# $TEST_DIR; the cgroupfs driver with a cgroup parent of the test's own; no bridge, no
# iptables, the vfs storage driver, no network for the containers. berth's state is in
# <exec-root>/runtime-runc/moby (the shim's --root, named after runc whatever the runtime).
# Outside its directories dockerd makes /run/docker/plugins (hard-coded plugin discovery) and
# the shims /run/containerd/s (their sockets, hard-coded in containerd 1.6's shim); the test
# removes them at the end when it made them and they are empty. dockerd is stopped by its
# PID at exit, also on failure.
source "$(dirname "$0")/lib.sh"

# Debian's binaries by path: another `docker` may come first in PATH.
DOCKERD=/usr/sbin/dockerd
DOCKER_CLI=/usr/bin/docker
for tool in "$DOCKERD" "$DOCKER_CLI"; do
  [ -x "$tool" ] || die "$tool is not installed (docker.io; run scripts/install-deps.sh)"
done
for tool in containerd containerd-shim-runc-v2 script; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-deps.sh)"
done

DK=$TEST_DIR/docker  # short: containerd's socket paths live under it
mkdir -p "$DK/cli"
SOCK=$DK/docker.sock
EXEC_ROOT=$DK/exec
BERTH_ROOT=$EXEC_ROOT/runtime-runc/moby  # the shim's --root: "runtime-runc" whatever the runtime
CG_PARENT=/berth-it-docker-$$
IMAGE=berth-busybox:test
export DOCKER_CONFIG=$DK/cli  # not ~/.docker
plugins_existed=0
[ -e /run/docker/plugins ] && plugins_existed=1
shim_dir_existed=0
[ -e /run/containerd/s ] && shim_dir_existed=1

# environment.md: without CAP_SYS_RESOURCE no rlimit can go above the host's hard limits;
# the default ulimits stay below them (and check that Docker's rlimits reach the container).
cat >"$DK/daemon.json" <<EOF
{
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "cgroup-parent": "$CG_PARENT",
  "storage-driver": "vfs",
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024},
                      "nproc": {"Name": "nproc", "Hard": 1024, "Soft": 1024}},
  "deprecated-key-path": "$DK/key.json",
  "userland-proxy": false,
  "ip-forward": false,
  "ip-masq": false,
  "features": {"buildkit": false}
}
EOF

stop_dockerd() {
  local pid i
  pid=$(cat "$DK/dockerd.pid" 2>/dev/null) || pid=${DOCKERD_PID:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  # Its containerd and shims, if they outlived it: the processes whose command line names
  # our directory (pgrep never lists itself), each by its PID.
  for pid in $(pgrep -f -- "$DK/"); do kill -KILL "$pid" 2>/dev/null; done
  for d in $(find /sys/fs/cgroup -maxdepth 2 -type d -name "${CG_PARENT#/}" 2>/dev/null); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  [ $plugins_existed = 1 ] || rmdir /run/docker/plugins /run/docker 2>/dev/null
  [ $shim_dir_existed = 1 ] || rmdir /run/containerd/s /run/containerd 2>/dev/null
  return 0
}
on_exit stop_dockerd

"$DOCKERD" --config-file "$DK/daemon.json" --data-root "$DK/data" --exec-root "$EXEC_ROOT" \
  -H "unix://$SOCK" --pidfile "$DK/dockerd.pid" --add-runtime "berth=$BERTH" \
  --iptables=false --bridge=none >"$DK/dockerd.log" 2>&1 </dev/null &
DOCKERD_PID=$!  # stopped by stop_dockerd (on_exit), gracefully first

dk() { timeout -k 5 60 "$DOCKER_CLI" -H "unix://$SOCK" "$@"; }
wait_until 60 dk version || die "dockerd did not answer on $SOCK: $(tail -n 20 "$DK/dockerd.log")"
pass "dockerd (private data-root, exec-root, socket, containerd) answers"
assert_contains "$(dk info --format '{{json .Runtimes}}' 2>&1)" '"berth"' "docker info lists the berth runtime"

# A busybox image without network: the rootfs of make-bundle.sh through `docker import`.
b=$(make_bundle true)
tar -C "$b/rootfs" -c . | dk import - "$IMAGE" >"$TEST_DIR/import.log" 2>&1 ||
  die "docker import failed: $(cat "$TEST_DIR/import.log")"
rm -rf "$b"

RUN=(run --runtime berth --network none)
IDS_FILE=$TEST_DIR/docker-ids
: >"$IDS_FILE"
# drun ARGS... — `docker run --rm` in the foreground; sets OUT RC.
drun() {
  OUT=$(dk "${RUN[@]}" --rm "$@" 2>&1 </dev/null)
  RC=$?
}
# dstart NAME ARGS... — `docker run -d --name NAME`; records the id.
dstart() {
  local name=$1 id
  shift
  id=$(dk "${RUN[@]}" -d --name "$name" "$@" </dev/null 2>"$TEST_DIR/start.err")
  RC=$?
  echo "$id" >>"$IDS_FILE"
  [ $RC -eq 0 ] || _show "$(cat "$TEST_DIR/start.err")"
}
dstatus() { dk inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
pid_of() { dk inspect --format '{{.State.Pid}}' "$1" 2>/dev/null; }
wait_dstatus() {  # NAME STATUS [SECONDS]
  local deadline=$((SECONDS + ${3:-10}))
  while [ "$(dstatus "$1")" != "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

section "docker run --rm: output and exit code"
drun "$IMAGE" sh -c 'echo hello-from-berth; exit 3'
assert_eq 3 "$RC" "run --rm propagates exit code 3"
assert_contains "$OUT" hello-from-berth "run --rm prints the container's output"
drun "$IMAGE" sh -c 'echo "pid=$$ $(cat /proc/self/cgroup | grep -c '"$CG_PARENT"'/)"'
assert_eq 0 "$RC" "run --rm exits 0"
assert_match "$OUT" '^pid=1 [1-9]' "the command is pid 1 of a new pid namespace, in the cgroup parent $CG_PARENT"
# Every container's config has blockIO.weight 0, cpu.shares 0 and disableOOMKiller false
# (Docker's "not set"), which berth once refused: "0 is outside [10, 1000]".

drun --ulimit nofile=512:800 "$IMAGE" sh -c 'echo "$(ulimit -Sn):$(ulimit -Hn) $(ulimit -Hu)"'
assert_eq "512:800 1024" "$OUT" "--ulimit nofile=512:800 and the daemon's default nproc 1024 reach the process"
if ! prlimit --nofile=30000:30000 true 2>/dev/null; then  # this host cannot raise it
  drun --ulimit nofile=30000:30000 "$IMAGE" true
  assert_ne 0 "$RC" "--ulimit above the host's hard limit fails (no CAP_SYS_RESOURCE)"
  if berth_specific "berth names the limit before creating anything"; then
    assert_contains "$OUT" "RLIMIT_NOFILE hard limit 30000 exceeds the host's hard limit" \
      "docker shows berth's reason"
  fi
fi

section "run -d, exec"
dstart web "$IMAGE" sh -c 'echo marker > /tmp/marker; exec sleep 1000'
assert_eq 0 "$RC" "run -d exits 0"
web_id=$(dk inspect --format '{{.Id}}' web 2>/dev/null)
wait_dstatus web running && pass "run -d: docker sees it running" || fail "run -d: status $(dstatus web)"
init_pid=$(pid_of web)
proc_alive "$init_pid" && pass "the container's init $init_pid runs" || fail "init '$init_pid' is not running"
[ -d "$BERTH_ROOT/$web_id" ] && pass "berth's state is under the exec-root ($BERTH_ROOT)" ||
  fail "no berth state in $BERTH_ROOT/$web_id: $(ls "$EXEC_ROOT" 2>&1)"
assert_eq "$web_id" "$("$BERTH" --root "$BERTH_ROOT" state "$web_id" 2>/dev/null | jq -r .id)" \
  "berth state answers for the container"
out=$(dk exec web sh -c 'echo "marker=$(cat /tmp/marker) init=$(cat /proc/1/comm)"; exit 4' 2>&1)
assert_eq 4 $? "exec propagates exit code 4"
assert_eq "marker=marker init=sleep" "$out" "exec runs inside the container (its files, its pid 1)"
assert_eq "$(readlink /proc/"$init_pid"/ns/pid)" "$(dk exec web readlink /proc/self/ns/pid 2>&1)" \
  "exec joins the container's pid namespace"
out=$(dk exec --user 1000:1000 --workdir /tmp --env E=v web sh -c 'echo "$(id -u):$(id -g) $(pwd) $E"' 2>&1)
assert_eq "1000:1000 /tmp v" "$out" "exec --user --workdir --env"
dk exec -d web sh -c 'echo detached > /tmp/detached' >/dev/null 2>&1
wait_until 5 dk exec web test -e /tmp/detached && pass "exec -d runs the process" ||
  fail "exec -d: /tmp/detached never appeared"

section "-it through a pty"
# script(1) gives docker a terminal; -e returns the exit code. Its stdin is a fifo held open
# at both ends (fd 7), never readable and never at EOF: at EOF script would type ^D into the
# pty, which docker forwards as the container's stdin (docs/clients.md, the podman problem).
mkfifo "$TEST_DIR/quiet-stdin" || die "mkfifo $TEST_DIR/quiet-stdin failed"
exec 7<>"$TEST_DIR/quiet-stdin"
# No timeout(1) inside script: it moves docker out of the terminal's foreground process group,
# and docker's tcsetattr (raw mode) then stops it with SIGTTOU (seen when the caller's SIGTTOU
# is not ignored, as in CI); the timeout around script bounds it instead.
DOCKER_CMD=$(printf '%q ' "$DOCKER_CLI" -H "unix://$SOCK")
out=$(timeout 60 script -eqc "$DOCKER_CMD exec -it web sh -c 'tty; [ -t 0 ] && echo stdin-is-tty; exit 6'" /dev/null 2>&1 <&7 7<&-)
rc=$?
assert_eq 6 "$rc" "exec -it propagates exit code 6"
assert_match "$out" '/dev/pts/[0-9]+' "exec -it: the process has a pty"
assert_contains "$out" stdin-is-tty "exec -it: stdin is the terminal"
bad=""
for i in 1 2 3; do
  out=$(timeout 60 script -eqc "$DOCKER_CMD run --runtime berth --network none --rm -it $IMAGE sh -c '[ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; exit 5'" /dev/null 2>&1 <&7 7<&-)
  rc=$?
  [ $rc -eq 5 ] && [[ $out == *stdio-is-tty* ]] || bad+="run $i: exit $rc, output '$out'"$'\n'
done
assert_eq "" "$bad" "run --rm -it, 3 of 3: stdin and stdout are the container's pty (console socket), exit 5"
exec 7<&-

section "top, pause, unpause"
out=$(dk top web 2>&1)
assert_match "$out" 'sleep 1000' "docker top lists the container's process"
assert_contains "$out" "$init_pid" "docker top shows the init's host pid $init_pid"
freezer=$(find /sys/fs/cgroup/freezer -maxdepth 3 -type d -name "$web_id" | head -n1)
[ -n "$freezer" ] && pass "the freezer cgroup is under the cgroup parent: ${freezer#/sys/fs/cgroup/freezer}" ||
  fail "no freezer cgroup named $web_id"
assert_ok "pause" dk pause web
assert_eq paused "$(dstatus web)" "docker sees it paused"
assert_eq FROZEN "$(cat "$freezer/freezer.state" 2>/dev/null)" "the freezer cgroup is FROZEN"
assert_ok "unpause" dk unpause web
assert_eq running "$(dstatus web)" "docker sees it running again"
assert_eq THAWED "$(cat "$freezer/freezer.state" 2>/dev/null)" "the freezer cgroup is THAWED"
assert_eq 0 "$(dk exec web true >/dev/null 2>&1; echo $?)" "exec works after unpause"

section "stop, kill, rm"
# pid 1 ignores SIGTERM without a handler: stop falls back to SIGKILL after -t.
assert_ok "stop -t 1 (SIGTERM ignored, then SIGKILL)" dk stop -t 1 web
assert_eq exited "$(dstatus web)" "stopped container is exited"
assert_eq 137 "$(dk inspect --format '{{.State.ExitCode}}' web)" "killed by SIGKILL: exit code 137"
proc_alive "$init_pid" && fail "init $init_pid survived stop" || pass "init is gone after stop"
assert_ok "start the stopped container again" dk start web
wait_dstatus web running && pass "started again" || fail "restart: status $(dstatus web)"
assert_ok "kill" dk kill web
wait_dstatus web exited && pass "kill: exited" || fail "kill: status $(dstatus web)"
assert_ok "rm a stopped container" dk rm web

dstart trapper "$IMAGE" sh -c 'trap "exit 42" TERM; trap "exit 7" USR1; while :; do sleep 0.1; done'
wait_dstatus trapper running
assert_ok "kill --signal USR1" dk kill --signal USR1 trapper
wait_dstatus trapper exited
assert_eq 7 "$(dk inspect --format '{{.State.ExitCode}}' trapper)" "the signal reached the container's handler (exit 7)"
assert_ok "start the exited container again" dk start trapper
wait_dstatus trapper running
assert_ok "stop (SIGTERM handled)" dk stop -t 10 trapper
assert_eq 42 "$(dk inspect --format '{{.State.ExitCode}}' trapper)" "stop delivered SIGTERM (exit 42)"
assert_ok "rm" dk rm trapper

dstart doomed "$IMAGE" sleep 1000
doomed_pid=$(pid_of doomed)
assert_ok "rm -f of a running container" dk rm -f doomed
wait_until 5 sh -c "! kill -0 $doomed_pid 2>/dev/null" || true
proc_alive "$doomed_pid" && fail "rm -f left pid $doomed_pid" || pass "rm -f killed the container's process"
assert_eq "" "$(dk ps -a -q --filter name=doomed)" "rm -f removed it from docker"

section "resources: --memory, --cpus, --pids-limit"
drun --memory 64m --cpus 0.5 --pids-limit 77 "$IMAGE" sh -c '
  c=/sys/fs/cgroup
  if [ -f $c/cgroup.controllers ]; then  # cgroup v2
    echo "mem=$(cat $c/memory.max) cpu=$(cat $c/cpu.max) pids=$(cat $c/pids.max)"
  else
    echo "mem=$(cat $c/memory/memory.limit_in_bytes) cpu=$(cat $c/cpu/cpu.cfs_quota_us) $(cat $c/cpu/cpu.cfs_period_us) pids=$(cat $c/pids/pids.max)"
  fi'
assert_eq 0 "$RC" "run with limits exits 0"
assert_eq "mem=67108864 cpu=50000 100000 pids=77" "$OUT" "inside: the container's cgroup has the limits"
# From outside: the kernel's files of the container's cgroup under the cgroup parent.
dstart limited --memory 32m --cpus 0.25 --pids-limit 33 "$IMAGE" sleep 1000
lim_id=$(dk inspect --format '{{.Id}}' limited 2>/dev/null)
lim_pid=$(pid_of limited)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  d=/sys/fs/cgroup$CG_PARENT/$lim_id
  got="$(cat "$d/memory.max") $(cat "$d/cpu.max") $(cat "$d/pids.max")"
  want="33554432 25000 100000 33"
else
  got="$(cat /sys/fs/cgroup/memory"$CG_PARENT/$lim_id"/memory.limit_in_bytes) $(cat /sys/fs/cgroup/cpu"$CG_PARENT/$lim_id"/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu"$CG_PARENT/$lim_id"/cpu.cfs_period_us) $(cat /sys/fs/cgroup/pids"$CG_PARENT/$lim_id"/pids.max)"
  want="33554432 25000 100000 33"
fi 2>/dev/null
assert_eq "$want" "$got" "outside: $CG_PARENT/<id> holds the limits"
assert_match "$(cat /proc/"$lim_pid"/cgroup 2>/dev/null)" "memory:$CG_PARENT/$lim_id\$|^0::$CG_PARENT/$lim_id\$" \
  "the container's init is in that cgroup"
assert_ok "rm -f limited" dk rm -f limited

section "nothing leaked"
assert_eq "" "$(dk ps -a -q)" "docker lists no containers"
ids=$(sort -u "$IDS_FILE" | grep -v '^$')
assert_match "$(echo "$ids" | wc -l)" '^[4-9]$' "the detached containers' ids were recorded (checked below)"
assert_eq "" "$(ls -A "$BERTH_ROOT" 2>/dev/null)" "no berth state left in $BERTH_ROOT"
assert_eq "" "$("$BERTH" --root "$BERTH_ROOT" list -q 2>/dev/null)" "berth list shows none"
cg=""
for id in $ids; do cg+=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "$id" 2>/dev/null); done
assert_eq "" "$cg" "no container cgroup left"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -path "*$CG_PARENT/*" -type d 2>/dev/null)" \
  "nothing left under the cgroup parent"
re=$(echo $ids | tr ' ' '|')
assert_eq "" "$(grep -El "/(${re:-none})(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')" \
  "no process left in a container's cgroup"
assert_eq "" "$(pgrep -f -- "$BERTH_ROOT" | tr '\n' ' ')" "no berth process left for the containers"
assert_eq "" "$(pgrep -f -- "containerd-shim-runc-v2 .*$EXEC_ROOT/" | tr '\n' ' ')" "no shim left"
assert_eq "" "$(awk -v d="$EXEC_ROOT/containerd/daemon/io.containerd.runtime.v2.task" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" \
  "no container rootfs mount left"

section "stop dockerd"
stop_dockerd
proc_alive "$DOCKERD_PID" && fail "dockerd $DOCKERD_PID survived SIGTERM" || pass "dockerd stopped by its PID"
assert_eq "" "$(pgrep -f -- "$DK/" | tr '\n' ' ')" "no process of this dockerd (containerd, shims) left"
assert_eq "" "$(awk -v d="$DK" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" "no mount left under the test's docker directories"
