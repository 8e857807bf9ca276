#!/bin/bash
# Pod churn through berthd on a real CNI network (label `churn`): BERTHD_CHURN_ROUNDS (200)
# pod lifecycles in a row from one CRI client (berth-cri-bench churn: runp, create, start,
# a log line checked in the log file, ExecSync, stop, rm, stopp, rmp), then berthd's fds,
# threads and RSS back near where they were after the warm-up, and nothing left: no mount,
# cgroup, network namespace, veth, host-local address, shim, state dir or log file.
# bench/churn.sh runs 1,000 rounds beside containerd (bench/README.md has the figures).
#
# Containment as test_berthd_cni.sh: berthd runs in a network namespace of the test's own.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
ROUNDS=${BERTHD_CHURN_ROUNDS:-200}
berthd_on_cni_node bdchurn

section "$ROUNDS pod lifecycles on the bridge"
mkdir -p "$TEST_DIR/podlogs"
out=$("$CRI_BENCH" --endpoint "$ENDPOINT" --image "$IMAGE" --cgroup-parent "/$CG_PARENT" \
  --log-dir "$TEST_DIR/podlogs" --network POD --prefix churn --warmup 5 --rounds "$ROUNDS" \
  --stop-timeout 10 --sample-pid "$BERTHD_PID" churn 2>&1)
rc=$?
assert_eq 0 "$rc" "$ROUNDS lifecycles, each with its log line and ExecSync, succeeded"
[ "$rc" = 0 ] || _show "$out"
if [ "$rc" = 0 ]; then
  echo "         median round $(jq -r .median_ms.round_total <<<"$out") ms; start $(jq -c .start <<<"$out"), end $(jq -c .end <<<"$out")"
  # The end sample is taken right after the last RemovePodSandbox: berthd's per-pod threads
  # (shim watchers) may still be ending, so its figures are read again once settled.
  s_fds=$(jq .start.fds <<<"$out") s_thr=$(jq .start.threads <<<"$out") s_rss=$(jq .start.rss_kb <<<"$out")
  settled() {
    [ "$(ls /proc/"$BERTHD_PID"/fd | wc -l)" -le $((s_fds + 2)) ] &&
      [ "$(awk '/^Threads:/ {print $2}' /proc/"$BERTHD_PID"/status)" -le $((s_thr + 2)) ]
  }
  wait_until 10 settled
  e_fds=$(ls /proc/"$BERTHD_PID"/fd | wc -l)
  e_thr=$(awk '/^Threads:/ {print $2}' /proc/"$BERTHD_PID"/status)
  e_rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$BERTHD_PID"/status)
  [ "$e_fds" -le $((s_fds + 2)) ] && pass "berthd's fds back: $s_fds after the warm-up, $e_fds after $ROUNDS rounds" ||
    fail "berthd's fds grew: $s_fds after the warm-up, $e_fds after $ROUNDS rounds: $(ls -l /proc/"$BERTHD_PID"/fd | tail -n 20)"
  [ "$e_thr" -le $((s_thr + 2)) ] && pass "berthd's threads back: $s_thr, then $e_thr" ||
    fail "berthd's threads grew: $s_thr after the warm-up, $e_thr after $ROUNDS rounds"
  # RSS: allocator caches and gRPC's pools settle after the warm-up; 8 MiB leaves room for
  # those and fails a leak of 40 KiB or more per round over 200 rounds.
  # Under a sanitizer (scripts/sanitize.sh) RSS says nothing: ASan keeps up to 256 MiB of
  # freed memory in quarantine to catch uses after free (TSan its shadow). Under ASan,
  # LeakSanitizer's check when berthd exits (berthd_stop at the end) takes the bound's place:
  # a leak is a report, and sanitize.sh fails on it.
  if [ -n "${BERTH_SANITIZE:-}" ]; then
    echo "NOTE   RSS not bounded under $BERTH_SANITIZE ($s_rss → $e_rss KiB)$([ "$BERTH_SANITIZE" = address ] &&
      echo "; LeakSanitizer checks berthd at its exit")"
  else
    [ "$e_rss" -le $((s_rss + 8192)) ] && pass "berthd's RSS within 8 MiB: $s_rss KiB, then $e_rss KiB" ||
      fail "berthd's RSS grew by $((e_rss - s_rss)) KiB over $ROUNDS rounds ($s_rss → $e_rss KiB)"
  fi
fi

section "nothing left"
berthd_assert_no_leftovers "$NETNS" "$IPAM_DIR"
assert_eq "" "$(find "$TEST_DIR/podlogs" -mindepth 1 2>/dev/null)" "no pod log dir or file left"
assert_eq "" "$(ls -l /proc/"$BERTHD_PID"/fd 2>/dev/null | grep podlogs)" "berthd holds no log file open"
berthd_stop
