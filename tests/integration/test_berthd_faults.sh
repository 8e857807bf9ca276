#!/bin/bash
# Fault injection at every fault point of berthd and berth-shim (src/base/fault.h, the table
# in docs/testing.md). For each point in turn: berthd is started with BERTH_FAULT=POINT, the
# pod lifecycle runs as kubelet drives it (runp, create, start, stop, rmc, stopp, rmp; the
# image.* points: img rm + img pull), and the process that reaches the point SIGKILLs itself
# there. A berthd that died is started again; then the invariants are checked (every pod and
# container listed with its true state, seen from the kernel: the pinned namespaces, the
# host-local reservation, the container's processes and what they run; no record left
# "creating"; at most one pod and one container of the lifecycle's names), kubelet's retries
# of the failed call run and must succeed, the lifecycle goes on to its end, and then nothing
# is left: no mount, cgroup, pinned namespace, veth, host-local IP, shim, PID holder,
# container process, runtime state, bundle, active snapshot or record. A point the lifecycle
# never reached fails the test too (the catalogue and the code cannot drift apart).
#
#   BERTH_FAULT_POINTS='pod.cni.* shim.runtime.start.after'   only these (shell patterns)
#
# Containment as test_berthd_cni.sh: berthd (and so the bridge plugin) runs inside a network
# namespace of the test's; for the image points it runs in the host's to reach the registry
# on 127.0.0.1.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry ip nsenter
for plugin in bridge host-local; do
  [ -x "/usr/lib/cni/$plugin" ] ||
    die "/usr/lib/cni/$plugin not found: install containernetworking-plugins (scripts/install-deps.sh)"
done

berthd_init bdfault
NETNS=berth-it-bdfault-$$
NETNAME=berth-it-bdfault
SUBNET=10.67.$((RANDOM % 200 + 20))
IPAM_DIR=$TEST_DIR/ipam
STAMP=$TEST_DIR/fault-fired
ip netns add "$NETNS" || die "ip netns add $NETNS failed"
on_exit "ip netns delete $NETNS"
ip -n "$NETNS" link set lo up
IN_NODE=(nsenter --net=/run/netns/"$NETNS")
cat >"$BD/cni/10-test.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$NETNAME",
  "plugins": [
    {"type": "bridge", "bridge": "bdflt0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$IPAM_DIR",
              "ranges": [[{"subnet": "$SUBNET.0/24", "gateway": "$SUBNET.1"}]]}}
  ]
}
JSON
berthd_image

# The points, as berthd lists them (NAME PROCESS WHAT), filtered by BERTH_FAULT_POINTS.
mapfile -t ALL < <("$BERTHD" --list-fault-points | cut -f1,2)
[ ${#ALL[@]} -gt 0 ] || die "berthd --list-fault-points printed nothing"
POINTS=()
for line in "${ALL[@]}"; do
  name=${line%%$'\t'*}
  if [ -n "${BERTH_FAULT_POINTS:-}" ]; then
    keep=0
    for pat in ${BERTH_FAULT_POINTS//,/ }; do
      # shellcheck disable=SC2053 # a pattern on purpose
      [[ $name == $pat ]] && keep=1
    done
    [ $keep = 1 ] || continue
  fi
  POINTS+=("$line")
done
[ ${#POINTS[@]} -gt 0 ] || die "BERTH_FAULT_POINTS=$BERTH_FAULT_POINTS matches no fault point"

# berthd, fault-free or armed ($1: host or node network namespace; $2: the point).
start_bd() {
  if [ "$1" = node ]; then BERTHD_WRAP=("${IN_NODE[@]}"); else BERTHD_WRAP=(); fi
  if [ -n "${2:-}" ]; then
    BERTH_FAULT=$2 BERTH_FAULT_STAMP=$STAMP berthd_start --insecure-registry "$REG_BD"
  else
    berthd_start --insecure-registry "$REG_BD"
  fi
}

# The image goes into the store once, for the pod rounds (berthd cannot reach the registry
# from the node namespace).
start_bd host
b img pull "$IMAGE" >/dev/null 2>&1 || die "pull of $IMAGE failed"

pod_json fpod POD >"$TEST_DIR/fpod.json"
PJ=$TEST_DIR/fpod.json
# stop -t 0 goes straight to SIGKILL through the runtime's kill --all. The container writes
# nothing: its stdout is a pipe the shim reads, and a write while a killed shim is being
# replaced is EPIPE/SIGPIPE (docs/testing.md, "Fault points").
ctr_json fctr fctr.log "exec sleep 1000" >"$TEST_DIR/fctr.json"
CJ=$TEST_DIR/fctr.json
META=$BD/root/meta/k8s.io
PODS_DIR=$BD/state/pods/k8s.io

# What the kernel says of a container: running (a process that is not berth's init waiting
# for start), created (only that init), exited (no process in its cgroup).
ctr_truth() {
  local procs="" d p exe started=0
  for d in $(find /sys/fs/cgroup -type d -path "*/$CG_PARENT/$1" 2>/dev/null); do
    procs="$procs $(cat "$d/cgroup.procs" 2>/dev/null)"
  done
  procs=$(tr ' ' '\n' <<<"$procs" | grep . | sort -u)
  [ -n "$procs" ] || { echo exited; return; }
  for p in $procs; do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null)
    # berth's init waits for start in a sealed copy of berth (memfd) until it execs.
    case $exe in /memfd:berth* | "$BERTH") ;; *) started=1 ;; esac
  done
  [ $started = 1 ] && echo running || echo created
}

# What the kernel says of a pod: ready (namespaces pinned and an address reserved),
# notready (neither), or half (one without the other: a pod neither up nor torn down).
pod_truth() {
  local pinned=0 ip=0
  grep -q " $PODS_DIR/$1/ns/" /proc/self/mountinfo && pinned=1
  # host-local's reservation: a file named by the address, holding the id CNI was given.
  grep -qs "^$1" "$IPAM_DIR/$NETNAME"/[0-9]* && ip=1
  case $pinned$ip in 11) echo ready ;; 00) echo notready ;; *) echo "half (pinned $pinned, address $ip)" ;; esac
}

# Invariants at any moment between calls: what is wrong, one line each.
invariant_violations() {
  local p c st truth n creating
  creating=$(grep -l '"state":"creating"' "$META"/*/*.json 2>/dev/null)
  [ -z "$creating" ] || echo "records left creating: $creating"
  n=$(b pods -q 2>/dev/null | grep -c .)
  [ "$n" -le 1 ] || echo "$n pods listed for one pod's lifecycle"
  n=$(b ps -a -q 2>/dev/null | grep -c .)
  [ "$n" -le 1 ] || echo "$n containers listed for one container's lifecycle"
  for p in $(b pods -q 2>/dev/null); do
    st=$(b inspectp "$p" | jq -r .status.state)
    truth=$(pod_truth "$p")
    case $st/$truth in
      SANDBOX_READY/ready | SANDBOX_NOTREADY/notready) ;;
      *) echo "pod $p is listed $st, the kernel says $truth" ;;
    esac
  done
  for c in $(b ps -a -q 2>/dev/null); do
    st=$(b inspectc "$c" | jq -r .status.state)
    truth=$(ctr_truth "$c")
    case $st/$truth in
      CONTAINER_CREATED/created | CONTAINER_RUNNING/running | CONTAINER_EXITED/exited) ;;
      *) echo "container $c is listed $st, the kernel says $truth" ;;
    esac
  done
}

# The listing may lag the kernel by a moment (a SIGKILL sent just before the crash, an exit
# the restarted shim reports): what is wrong must be wrong for 3 s to count.
check_invariants() {
  local i v
  for i in $(seq 10); do
    v=$(invariant_violations)
    [ -z "$v" ] && return 0
    sleep 0.3
  done
  while read -r line; do fail "$1: $line"; done <<<"$v"
  return 1
}

# Nothing of the round left once the pod is removed.
check_nothing_left() {
  local what=$1 ok=0 left
  check() {  # DESCRIPTION VALUE
    [ -z "$2" ] || { fail "$what: $1 left: $(head -c 400 <<<"$2")"; ok=1; }
  }
  check "pods" "$(b pods -q 2>&1)"
  check "containers" "$(b ps -a -q 2>&1)"
  check "records" "$(ls "$META"/pods "$META"/containers 2>/dev/null | grep json)"
  check "mounts" "$(awk -v d="$BD/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)"
  check "cgroups" "$(find /sys/fs/cgroup -mindepth 2 -type d -path "*/$CG_PARENT/*" 2>/dev/null)"
  check "veths" "$(ip -n "$NETNS" -o link show type veth 2>/dev/null)"
  check "host-local addresses" "$(ls "$IPAM_DIR/$NETNAME" 2>/dev/null | grep -v '^last_reserved_ip\|^lock$')"
  check "shims" "$(shims_of_berthd)"
  check "PID namespace holders" "$(pgrep -f "berth-shim pause $BD/")"
  check "pod dirs" "$(ls -A "$PODS_DIR" 2>/dev/null)"
  check "shim dirs" "$(ls -A "$BD/state/shims" 2>/dev/null)"
  check "bundles" "$(ls -A "$BD/state/bundles/k8s.io" 2>/dev/null)"
  check "active snapshots" "$(ls -A "$BD/root/images/snapshots/active" 2>/dev/null)"
  local root
  for root in "$BD"/state/runtime/*/*; do
    [ -d "$root" ] && check "runtime state in $root" "$("$BERTH" --root "$root" list -q 2>/dev/null)"
  done
  # A zombie is not counted: a container init whose shim was killed is reparented to a
  # subreaper or init outside this test, which reaps it when it does.
  left=$(for p in $(pgrep -x sleep); do
    [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
    [ "$(readlink "/proc/$p/root")" != / ] && grep -qs "$CG_PARENT" "/proc/$p/cgroup" && echo "$p"
  done)
  check "container processes" "$left"
  return $ok
}

# One CRI call of the lifecycle; OUT is what berthctl printed.
call() {
  case $1 in
    pull) OUT=$(b img pull "$IMAGE" 2>&1) ;;
    rmi) OUT=$(b img rm "$IMAGE" 2>&1) ;;
    runp) OUT=$(b runp "$PJ" 2>&1) ;;
    create) OUT=$(b create "$P" "$CJ" "$PJ" 2>&1) ;;
    start) OUT=$(b start "$C" 2>&1) ;;
    stop) OUT=$(b stop -t 0 "$C" 2>&1) ;;
    rmc) OUT=$(b rmc "$C" 2>&1) ;;
    stopp) OUT=$(b stopp "$P" 2>&1) ;;
    rmp) OUT=$(b rmp "$P" 2>&1) ;;
  esac
}

# kubelet's retry of a failed call: the same call again, for a while (a shim berthd is
# starting again answers after a moment). Only what kubelet would still ask: a start of a
# container that runs already is not retried.
retry() {
  local i
  for i in $(seq 20); do
    if [ "$1" = start ] && [ "$(b inspectc "$C" 2>/dev/null | jq -r .status.state)" = CONTAINER_RUNNING ]; then
      return 0
    fi
    call "$1" && return 0
    sleep 0.5
  done
  return 1
}

# After a step: did the point fire? Then the dead process is dealt with as a supervisor
# would: berthd started again (its shims live on); a dead shim berthd starts again itself.
FIRED="" FIRED_STEP=""
berthd_dead() { ! kill -0 "$BERTHD_PID" 2>/dev/null; }
after_fault() {
  [ -z "$FIRED" ] && [ -s "$STAMP" ] || return 0
  FIRED=$(cat "$STAMP") FIRED_STEP=$STEP
  [ "$FIRED" = "$POINT" ] || fail "$POINT: the stamp names $FIRED"
  if [ "$KIND" = berthd ]; then
    wait_until 10 berthd_dead || fail "$POINT: berthd still runs after its fault"
    berthd_kill9
    grep -q "berth fault point $POINT reached" "$BD/berthd.log" || fail "$POINT: berthd's log does not say it died there"
    start_bd "$NS_MODE"
  fi
  return 0
}

bad_rounds=()
run_round() {  # POINT KIND
  POINT=$1 KIND=$2 FIRED="" FIRED_STEP=""
  local steps round_ok=0
  rm -f "$STAMP"
  case $POINT in
    image.*) NS_MODE=host steps="pull" ;;
    *) NS_MODE=node steps="runp create start stop rmc stopp rmp" ;;
  esac
  berthd_stop
  if [ "$NS_MODE" = host ]; then
    start_bd host
    call rmi || { fail "$POINT: img rm before the round: $OUT"; round_ok=1; }
    berthd_stop
  fi
  start_bd "$NS_MODE" "$POINT"
  P="" C=""
  for STEP in $steps; do
    local failed=0
    # The shims' logs go with the pod: kept per point for a look afterwards.
    [ "$STEP" = rmp ] && [ -n "${KEEP_TEST_DIR:-}" ] && cat "$BD"/state/shims/*/shim.log >"$TEST_DIR/shim-$POINT.log" 2>/dev/null
    call "$STEP" || failed=1
    after_fault
    if [ $failed = 1 ]; then
      [ -n "$FIRED" ] || { fail "$POINT: $STEP failed with no fault: $OUT"; round_ok=1; break; }
      check_invariants "$POINT, after the fault in $STEP" || round_ok=1
      if ! retry "$STEP"; then
        fail "$POINT: kubelet's retry of $STEP failed: $OUT"
        round_ok=1
        break
      fi
    fi
    case $STEP in runp) P=$OUT ;; create) C=$OUT ;; esac
    check_invariants "$POINT, after $STEP" || round_ok=1
  done
  [ -n "$FIRED" ] || { fail "$POINT: the lifecycle never reached this point"; round_ok=1; }
  if [ "$NS_MODE" = host ]; then
    out=$("$BERTHCTL" --config /dev/null --root "$BD/root/images" check 2>&1) ||
      { fail "$POINT: berthctl check after the pull: $out"; round_ok=1; }
    b img ls 2>/dev/null | grep -q "$REG_BD/test/busybox" ||
      { fail "$POINT: the image is not listed after the retried pull"; round_ok=1; }
  else
    # Whatever a failed round left is removed (also by force) so the next round starts clean.
    [ $round_ok = 0 ] || for p in $(b pods -q 2>/dev/null); do b rmp -f "$p" >/dev/null 2>&1; done
    check_nothing_left "$POINT" || round_ok=1
  fi
  # Back to a fault-free berthd for the next round (a shim may still have the old environment:
  # the stamp keeps it from firing again).
  if [ $round_ok = 0 ]; then
    echo "ok: $POINT (fired in $FIRED_STEP)"
  else
    bad_rounds+=("$POINT")
    berthd_cleanup >/dev/null 2>&1
  fi
}

section "${#POINTS[@]} fault points, one round each"
for line in "${POINTS[@]}"; do
  run_round "${line%%$'\t'*}" "${line##*$'\t'}"
done
berthd_stop
if [ ${#bad_rounds[@]} = 0 ]; then
  pass "${#POINTS[@]} fault points: every invariant held, every retry succeeded, nothing left"
else
  fail "${#bad_rounds[@]} of ${#POINTS[@]} fault points failed: ${bad_rounds[*]}"
fi
