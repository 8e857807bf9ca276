#!/bin/bash
# Helpers shared by the benchmark scripts (sourced, never run). bench/run.sh sets up:
#   WORK         the temp dir of this bench run (roots, bundles, samples, logs)
#   BERTH        the berth binary under test
#   VARIANTS     the runtimes compared, e.g. "berth crun runc berth-noprotect"
#   BERTH_ALT    optional second berth binary (variants "berth-alt", "berth-alt-noprotect"),
#                to A/B a change
#   CG_PARENT    the cgroup (relative to every hierarchy's root) all containers go under
#
# Samples: every measurement appends one number per line to $WORK/samples/<metric>/<variant>;
# bench/report.sh turns them into medians and ratios. Nothing here asserts on timings: these
# are benchmarks, not tests.
set -u -o pipefail

BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
RT_TIMEOUT=${RT_TIMEOUT:-30}

note() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# rt_setup VARIANT — sets RT (argv prefix of the runtime with its --root) and, for the
# *-noprotect variants, exports BERTH_UNSAFE_NO_SELF_PROTECT=1. Call it in a subshell or
# reset with rt_setup again: the export would otherwise leak to the next variant.
# The env var is exported rather than put in RT through env(1) so that no variant pays
# for an extra exec.
rt_setup() {
  unset BERTH_UNSAFE_NO_SELF_PROTECT
  case $1 in
    *-noprotect) export BERTH_UNSAFE_NO_SELF_PROTECT=1 ;;
  esac
  case $1 in
    berth | berth-noprotect) RT=("$BERTH" --root "$WORK/root/$1") ;;
    # Another build, to A/B a change (BERTH_ALT).
    berth-alt | berth-alt-noprotect) RT=("$BERTH_ALT" --root "$WORK/root/$1") ;;
    crun) RT=(/usr/bin/crun --root "$WORK/root/$1") ;;
    runc) RT=(/usr/sbin/runc --root "$WORK/root/$1") ;;
    *) echo "unknown variant $1" >&2; return 1 ;;
  esac
}

# bundle VARIANT PURPOSE — path of the variant's bundle for PURPOSE (true, sleep, echo);
# run.sh made them: same config for every runtime except its own cgroupsPath.
bundle() { echo "$WORK/bundles/$1-$2"; }

# add_sample METRIC VARIANT VALUE
add_sample() {
  mkdir -p "$WORK/samples/$1"
  echo "$3" >>"$WORK/samples/$1/$2"
}

# now_us — microseconds since the epoch, without forking (bash 5's $EPOCHREALTIME).
now_us() {
  local t=${EPOCHREALTIME/[.,]/}
  echo "$t"
}

# rotate N WORDS... — WORDS rotated left by N mod count: each round starts with another
# runtime so that drifts in machine load do not always hit the same one.
rotate() {
  local n=$1
  shift
  local a=("$@") i out=()
  local k=$((n % ${#a[@]}))
  for ((i = 0; i < ${#a[@]}; i++)); do out+=("${a[$(((i + k) % ${#a[@]}))]}"); done
  echo "${out[@]}"
}

# over_budget STEP_START DONE MIN SHARE — true when DONE rounds (>= MIN) have been run and
# one more round would take the step (started at STEP_START, epoch seconds) past SHARE
# percent of $BUDGET seconds. Keeps the whole bench near BUDGET on a loaded machine while
# a quiet one gets every round.
over_budget() {
  local start=$1 done=$2 min=$3 share=$4 el
  [ "$done" -ge "$min" ] || return 1
  el=$(($(date +%s) - start))
  [ $((el * (done + 1) / done)) -gt $((${BUDGET:-300} * share / 100)) ]
}

# pause_ms MS — sleeps without forking (read -t on a fd that never gets data).
exec {_PAUSE_FD}<> <(:)
pause_ms() { read -r -t "$(printf '0.%03d' "$1")" -u "$_PAUSE_FD" _ || true; }

# wait_gone PID [MAX_MS] — waits until PID has exited (gone or a zombie).
wait_gone() {
  local pid=$1 max=${2:-5000} waited=0 st
  while [ "$waited" -lt "$max" ]; do
    st=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || return 0
    [ "$st" = Z ] && return 0
    pause_ms 2
    waited=$((waited + 2))
  done
  return 1
}

# cleanup_variant VARIANT — force-deletes every container in the variant's root, then
# kills (by pid) whatever is left in the variant's cgroups and removes those cgroups.
cleanup_variant() {
  local v=$1 id
  [ -d "$WORK/root/$v" ] || return 0
  (
    rt_setup "$v"
    for id in $(timeout 10 "${RT[@]}" list -q 2>/dev/null); do
      timeout -k 2 10 "${RT[@]}" delete -f "$id" >/dev/null 2>&1
    done
  )
}

# cleanup_cgroups [REL] — every cgroup under REL (default $CG_PARENT) in every hierarchy:
# kill its processes by pid (they are all ours: only the bench's containers live there),
# then rmdir bottom-up.
cleanup_cgroups() {
  local rel=${1:-${CG_PARENT:-}} h d pid
  [ -n "$rel" ] || return 0
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    d=${h%/}/$rel
    [ -d "$d" ] || continue
    # Frozen tasks only die once thawed.
    find "$d" -name freezer.state -exec sh -c 'echo THAWED >"$1"' _ {} \; 2>/dev/null
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
      kill -KILL "$pid" 2>/dev/null
    done
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || {
      sleep 0.3
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    }
    [ ! -d "$d" ] || note "could not remove cgroup $d"
  done
}
