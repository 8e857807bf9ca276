#!/bin/bash
# The cgroup scenarios of cgroup_scenarios.sh (the list test_cgroup_v2_guest.sh runs in a
# pure v2 guest) on THIS host, whatever its mode: hybrid on the development and CI
# machines (v1 controllers + an empty cgroup2 tree), v1, or v2. The script runs under
# POSIX sh with the runtime in $BERTH; every `RESULT ok|fail|skip NAME [DETAIL]` line it
# prints becomes a pass, a failure or a skip here, and a missing DONE fails.
#
# Its cgroups live under /bt-scen-<pid> (and /berth/bt-scen-<pid>/a/b/c for `nested`) in
# every hierarchy, so concurrent runs do not meet; at exit the containers are deleted,
# processes left in those cgroups are killed by PID and the directories removed.
source "$(dirname "$0")/lib.sh"

for t in jq timeout awk; do command -v $t >/dev/null || die "$t not found"; done
# A POSIX shell, as busybox sh in the guest; CG_SHELL=bash tries another.
SH=${CG_SHELL:-$(command -v dash || command -v sh)}

tag=bt-scen-$$
base=$(make_bundle true)
export CG_STATE=$STATE CG_TMP=$TEST_DIR/scen CG_BUNDLES=$TEST_DIR/scen/bundles
export CG_ROOTFS=$base/rootfs CG_BASE_CONFIG=$base/config.json
export CG_PREFIX=$tag CG_ID_PREFIX=$ID_PREFIX CG_NESTED=$tag/a/b/c CG_RUNTIME_KIND=$RUNTIME_KIND
export CG_TIMEOUT=$RT_TIMEOUT
mkdir -p "$CG_TMP"

# Mountpoints of every cgroup hierarchy (v1 and cgroup2) under /sys/fs/cgroup.
cg_mounts() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
         if ($(i + 1) ~ /^cgroup2?$/ && index($5, "/sys/fs/cgroup") == 1) print $5 }' /proc/self/mountinfo
}
# Every directory of our cgroup trees, in every hierarchy, deepest first.
our_cgroup_dirs() {
  local m top
  for m in $(cg_mounts); do
    for top in "$m/$tag" "$m/berth/$tag"; do
      [ -d "$top" ] && find "$top" -type d
    done
  done | awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2-
}
cgroup_cleanup() {
  local dirs d pids
  dirs=$(our_cgroup_dirs)
  [ -n "$dirs" ] || return 0
  echo "NOTE   removing the cgroups left: $(echo $dirs)"
  # Processes by PID (from the dirs' cgroup.procs), then the empty dirs, deepest first.
  pids=$(for d in $dirs; do cat "$d/cgroup.procs" 2>/dev/null; done | sort -un)
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.3
  for d in $dirs; do rmdir "$d" 2>/dev/null; done
  for d in $(cg_mounts); do
    rmdir "$d/berth" 2>/dev/null  # only when empty: other runs may use /berth
  done
}
on_exit cgroup_cleanup

section "cgroup scenarios on this host ($BERTH)"
LOG=$TEST_DIR/scenarios.log
start=$SECONDS
# In the background, tracked by PID: cleanup kills it if this test is stopped early.
# 240 s stays below ctest's 300 s, so that the cleanup below always runs.
"$SH" "$BERTH_SOURCE_DIR/tests/integration/cgroup_scenarios.sh" >"$LOG" 2>&1 &
spid=$!
track_pid $spid
while kill -0 $spid 2>/dev/null && [ $((SECONDS - start)) -lt 240 ]; do sleep 0.2; done
kill -0 $spid 2>/dev/null && kill -KILL $spid && fail "the scenarios did not finish within 240 s (killed)"
wait $spid
rc=$?
echo "scenarios ran $((SECONDS - start)) s (exit $rc)"

scenario_results "$LOG" scenarios
# The scenarios' own end:* checks look under /$tag; this also covers /berth/$tag.
left=$(our_cgroup_dirs)
assert_eq "" "$(echo $left)" "no cgroup directory left under /$tag or /berth/$tag in any hierarchy"
if [ $FAILURES -ne 0 ]; then
  echo "--- scenario log ---"
  cat "$LOG"
  echo "--- end of scenario log ---"
fi
