#!/bin/bash
# kill -9 of berthd at random moments of a pod's creation (RunPodSandbox, CreateContainer,
# StartContainer in flight), then a restart and kubelet's usual retries: after each round
# every pod listed is ready, every container listed is created or running, no record is
# left half-made ("creating"), and the retried calls succeed. Then a berth-shim killed with
# SIGKILL: berthd starts it again, it adopts the running container, exec still works, and
# the container's later exit is reported (255, with a message saying why). A shim killed
# together with its running container: the exit (unseen) is reported 255 with that message,
# and its created container is still created and starts. At the end nothing of this test is
# left: shims, PID holders, mounts, records, bundles, cgroups.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry

berthd_init bdcrash
berthd_image
echo '{"cniVersion": "1.0.0", "name": "berth-it-lo", "plugins": [{"type": "loopback"}]}' >"$BD/cni/10-lo.conflist"
berthd_start --insecure-registry "$REG_BD"
b img pull "$IMAGE" >/dev/null 2>&1 || die "pull failed"

# One pod's creation, as kubelet makes it: runp, create, start (ids into FILE as they come).
make_pod() {  # NAME FILE
  local p c
  p=$(b runp "$TEST_DIR/$1.json" 2>/dev/null) || return 1
  echo "pod $p" >>"$2"
  c=$(b create "$p" "$TEST_DIR/$1-ctr.json" "$TEST_DIR/$1.json" 2>/dev/null) || return 1
  echo "ctr $c" >>"$2"
  b start "$c" >/dev/null 2>&1 || return 1
  echo started >>"$2"
}

ROUNDS=${BERTHD_CRASH_ROUNDS:-12}
section "kill -9 of berthd at random points, $ROUNDS rounds"
bad=0
for round in $(seq "$ROUNDS"); do
  name=crash$round
  pod_json "$name" POD >"$TEST_DIR/$name.json"
  ctr_json "c$round" "c$round.log" 'exec sleep 1000' >"$TEST_DIR/$name-ctr.json"
  : >"$TEST_DIR/$name.ids"
  make_pod "$name" "$TEST_DIR/$name.ids" &
  client=$!
  sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
  berthd_kill9
  wait "$client" 2>/dev/null
  berthd_start --insecure-registry "$REG_BD"
  # Invariants right after the restart.
  creating=$(grep -l '"state":"creating"' "$BD"/root/meta/k8s.io/*/*.json 2>/dev/null)
  [ -z "$creating" ] || { fail "round $round: records left creating: $creating"; bad=1; }
  for p in $(b pods -q 2>/dev/null); do
    st=$(b inspectp "$p" | jq -r .status.state)
    [ "$st" = SANDBOX_READY ] || { fail "round $round: pod $p is $st"; bad=1; }
  done
  for c in $(b ps -a -q 2>/dev/null); do
    st=$(b inspectc "$c" | jq -r .status.state)
    case $st in CONTAINER_CREATED | CONTAINER_RUNNING) ;; *) fail "round $round: container $c is $st"; bad=1 ;; esac
  done
  # kubelet's retries: the same calls again succeed.
  p=$(b runp "$TEST_DIR/$name.json" 2>&1) || { fail "round $round: runp retry: $p"; bad=1; continue; }
  grep -q "^pod $p" "$TEST_DIR/$name.ids" || ! grep -q "^pod" "$TEST_DIR/$name.ids" ||
    { fail "round $round: the retried runp made another pod"; bad=1; }
  c=$(b create "$p" "$TEST_DIR/$name-ctr.json" "$TEST_DIR/$name.json" 2>&1) || { fail "round $round: create retry: $c"; bad=1; continue; }
  [ "$(b inspectc "$c" | jq -r .status.state)" = CONTAINER_RUNNING ] || b start "$c" >/dev/null 2>&1 ||
    { fail "round $round: start retry failed"; bad=1; }
  [ "$(b inspectc "$c" | jq -r .status.state)" = CONTAINER_RUNNING ] ||
    { fail "round $round: the container does not run after the retries"; bad=1; }
  b rmp -f "$p" >/dev/null 2>&1 || { fail "round $round: rmp -f failed"; bad=1; }
  echo "round $round: killed after: $(awk '{print $1}' "$TEST_DIR/$name.ids" | tr '\n' ' ')"
done
[ $bad = 0 ] && pass "$ROUNDS rounds: no half-made object, every retry succeeded"
assert_eq "" "$(b pods -q 2>&1)" "no pod left after the rounds"
assert_eq "" "$(ls "$BD"/root/meta/k8s.io/pods "$BD"/root/meta/k8s.io/containers 2>/dev/null | grep json)" "no record left"
assert_eq "" "$(ls -A "$BD/state/bundles/k8s.io" 2>/dev/null)" "no bundle left"
assert_eq "" "$(pgrep -f "berth-shim pause $BD/")" "no PID namespace holder left"
assert_eq "" "$(shims_of_berthd)" "no shim left"

section "a berth-shim killed with SIGKILL"
pod_json victim POD >"$TEST_DIR/victim.json"
ctr_json vc vc.log 'exec sleep 1000' >"$TEST_DIR/vc.json"
P=$(b runp "$TEST_DIR/victim.json" 2>&1) || die "runp: $P"
C=$(b create "$P" "$TEST_DIR/vc.json" "$TEST_DIR/victim.json" 2>&1) || die "create: $C"
b start "$C" >/dev/null 2>&1 || die "start failed"
cpid=$(b inspectc "$C" | jq -r .info.info.pid)
shim=$(shims_of_berthd)
kill -KILL "$shim"
new_shim() { pgrep -f "berth-shim --namespace k8s.io --id $P" | grep -vx "$shim"; }
wait_until 10 new_shim
new=$(new_shim)
[ -n "$new" ] && pass "berthd started the pod's shim again (pid $new)" || fail "no new shim"
assert_contains "$(cat "$BD/berthd.log")" "its shim was gone; started it again" "berthd logs it"
proc_alive "$cpid" && pass "the container ran on while its shim was dead" || fail "the container died with its shim"
assert_eq CONTAINER_RUNNING "$(b inspectc "$C" | jq -r .status.state)" "the container is still reported running"
assert_eq adopted "$(b exec "$C" echo adopted 2>&1)" "exec works through the new shim"
kill -KILL "$cpid"
wait_until 10 ctr_state_is "$C" CONTAINER_EXITED
st=$(b inspectc "$C")
assert_eq CONTAINER_EXITED "$(jq -r .status.state <<<"$st")" "its later exit is reported"
assert_eq 255 "$(jq -r .status.exitCode <<<"$st")" "... as 255: the new shim is not its parent and cannot know the status"
assert_contains "$(jq -r .status.message <<<"$st")" "shim was restarted" "... with a message saying why"
b rmp -f "$P" >/dev/null 2>&1 || fail "rmp -f failed"

section "a berth-shim killed with its containers: one created, one running"
# SIGKILL of the shim and of the running container at once (as an OOM kill of both would):
# the exit happens while no shim watches. The created one's init waits for start meanwhile.
pod_json victim2 POD >"$TEST_DIR/victim2.json"
ctr_json run1 run1.log 'exec sleep 1000' >"$TEST_DIR/run1.json"
ctr_json new1 new1.log 'exec sleep 1000' >"$TEST_DIR/new1.json"
P=$(b runp "$TEST_DIR/victim2.json" 2>&1) || die "runp: $P"
RUN=$(b create "$P" "$TEST_DIR/run1.json" "$TEST_DIR/victim2.json" 2>&1) || die "create: $RUN"
b start "$RUN" >/dev/null 2>&1 || die "start failed"
NEW=$(b create "$P" "$TEST_DIR/new1.json" "$TEST_DIR/victim2.json" 2>&1) || die "create: $NEW"
cpid=$(b inspectc "$RUN" | jq -r .info.info.pid)
shim=$(shims_of_berthd)
kill -KILL "$shim" "$cpid"
wait_until 10 new_shim
wait_until 10 ctr_state_is "$RUN" CONTAINER_EXITED
st=$(b inspectc "$RUN")
assert_eq "CONTAINER_EXITED 255" "$(jq -r '"\(.status.state) \(.status.exitCode)"' <<<"$st")" \
  "the container killed with its shim is reported exited, 255"
assert_contains "$(jq -r .status.message <<<"$st")" "shim was restarted" "... with a message saying why"
assert_eq Error "$(jq -r .status.reason <<<"$st")" "... reason Error"
assert_eq CONTAINER_CREATED "$(b inspectc "$NEW" | jq -r .status.state)" \
  "the created container is still reported created (its init did not exec)"
b start "$NEW" >/dev/null 2>&1 && pass "it starts through the new shim" || fail "start after the shim's restart failed"
assert_eq CONTAINER_RUNNING "$(b inspectc "$NEW" | jq -r .status.state)" "... and runs"
b rmp -f "$P" >/dev/null 2>&1 || fail "rmp -f failed"
assert_eq "" "$(b ps -a -q 2>&1)" "no container left"
assert_eq "" "$(ls -A "$BD/state/bundles/k8s.io" 2>/dev/null)" "no bundle left"
assert_eq "" "$(shims_of_berthd)" "no shim left"
assert_eq "" "$(awk -v d="$BD/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" "no mount left"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" "no container cgroup left"
