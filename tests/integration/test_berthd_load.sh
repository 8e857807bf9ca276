#!/bin/bash
# berthd under load (label `load`): BERTHD_LOAD_CLIENTS (20) CRI clients for
# BERTHD_LOAD_SECONDS (10) issuing ListPodSandbox, ListContainers, ContainerStatus,
# ListContainerStats and ExecSync (berth-cri-bench load) while two threads start and remove
# pods on a CNI bridge. Asserts only that no call got an answer other than the expected ones
# (NOT_FOUND for a container removed meanwhile; FAILED_PRECONDITION or a killed exec for one
# being stopped) and that nothing is left; no timing. bench/load.sh runs 50 clients for 60 s
# beside containerd (bench/README.md has the figures).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
berthd_on_cni_node bdload

CLIENTS=${BERTHD_LOAD_CLIENTS:-20} SECONDS_=${BERTHD_LOAD_SECONDS:-10}
section "$CLIENTS clients for $SECONDS_ s while pods start and stop"
mkdir -p "$TEST_DIR/podlogs"
FDS0=$(ls /proc/"$BERTHD_PID"/fd | wc -l)
out=$("$CRI_BENCH" --endpoint "$ENDPOINT" --image "$IMAGE" --cgroup-parent "/$CG_PARENT" \
  --log-dir "$TEST_DIR/podlogs" --network POD --prefix load --clients "$CLIENTS" \
  --duration "$SECONDS_" --steady-pods 3 --churners 2 --stop-timeout 2 --sample-pid "$BERTHD_PID" load 2>&1)
rc=$?
if jq -e . >/dev/null 2>&1 <<<"$out"; then
  jq -r '.calls | to_entries[] | "         \(.key): n \(.value.n), p50 \(.value.p50_ms) ms, p99 \(.value.p99_ms) ms, \(.value.codes | tostring)"' <<<"$out"
  assert_eq 0 "$(jq .unexpected <<<"$out")" "no unexpected answer ($(jq .churn_cycles <<<"$out") pods churned meanwhile)"
  jq -r '.calls | to_entries[] | select(.value.unexpected > 0) | "\(.key): \(.value.examples | join(" / "))"' <<<"$out" | _show "$(cat)"
  for call in ListPodSandbox ListContainers ContainerStatus ListContainerStats ExecSync; do
    [ "$(jq --arg c "$call" '.calls[$c].codes.OK // 0' <<<"$out")" -gt 0 ] &&
      pass "$call answered OK under load" || fail "$call never answered OK"
  done
  [ "$(jq .churn_cycles <<<"$out")" -gt 0 ] && pass "pods were started and removed meanwhile" ||
    fail "no pod was churned"
else
  fail "berth-cri-bench load failed (exit $rc)"
  _show "$out"
fi

section "nothing left"
berthd_assert_no_leftovers "$NETNS" "$IPAM_DIR"
assert_eq "" "$(find "$TEST_DIR/podlogs" -mindepth 1 2>/dev/null)" "no pod log dir or file left"
settled() { [ "$(ls /proc/"$BERTHD_PID"/fd | wc -l)" -le $((FDS0 + 2)) ]; }
wait_until 10 settled && pass "berthd's fds back: $FDS0 before the load, $(ls /proc/"$BERTHD_PID"/fd | wc -l) after" ||
  fail "berthd's fds: $FDS0 before the load, $(ls /proc/"$BERTHD_PID"/fd | wc -l) after"
berthd_stop
