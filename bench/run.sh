#!/bin/bash
# bench/run.sh — berth, crun and runc side by side, in one run, under the same conditions.
#
#   sudo bench/run.sh                 # builds berth (Release, build-bench/), ~4 minutes
#   sudo BERTH=/path/to/berth bench/run.sh
#
# What it measures (one script each, all run from here; see bench/README.md):
#   bench_run.sh        RUNS × `run` of /bin/true, + the bare `unshare` floor, + berth without
#                       its CVE-2019-5736 self-protection (BERTH_UNSAFE_NO_SELF_PROTECT=1)
#   bench_lifecycle.sh  create / start / delete of a detached container, exec
#   bench_rss.sh        peak RSS of run and exec
#   bench_memlimit.sh   smallest memory limit under which `run` works (bisection)
#   profile.sh          strace -c, perf stat / perf record (or callgrind) of berth
# These are benchmarks: they report medians and ratios and never fail on a timing.
#
# Conditions: crun 1.8.1 refuses hybrid-cgroup hosts unless the cgroup2 controller list is
# masked, so ALL runtimes run inside one private mount namespace where it is (the mask is
# gone with the namespace). Every runtime gets the same bundle (busybox-static rootfs,
# `runc spec`'s default config with terminal=false), its own --root and its own cgroupsPath
# under /berth-bench-<pid>/. Runtimes are interleaved in rounds, each round starting with
# another runtime.
#
# Knobs (environment): BERTH, BERTH_ALT (a second berth build, benched as "berth-alt"),
# ROUNDS (5), RUNS (100), LC_ROUNDS (3), CYCLES (20), EXECS (20),
# BUDGET (300 s: on a loaded machine, rounds beyond 3 of run and 2 of lifecycle are
# dropped to stay near it), VERSIONS (50), RSS_SAMPLES (5), MEM_MAX, MEM_RES, PERF_RUNS (30), KEEP_WORK (0),
# STEPS ("run lifecycle rss memlimit profile": a subset reruns only those),
# OUT (results dir, default /tmp/berth-bench-results.<time>).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
export BENCH_DIR

# --- inside the private mount namespace ---------------------------------------------------
if [ "${_BERTH_BENCH_INNER:-}" = 1 ]; then
  source "$BENCH_DIR/lib.sh"
  set -e
  ctl=/sys/fs/cgroup/unified/cgroup.controllers
  if [ -e "$ctl" ]; then
    # Private first, so the mask can never propagate to the host's mount namespace.
    mount --make-private /sys/fs/cgroup/unified 2>/dev/null || true
    mount --bind /dev/null "$ctl"
  fi
  inner_cleanup() {
    local v
    for v in $VARIANTS; do cleanup_variant "$v"; done
  }
  trap inner_cleanup EXIT
  set +e
  for step in $STEPS; do
    case $step in
      run | lifecycle | rss | memlimit) bash "$BENCH_DIR/bench_$step.sh" ;;
      profile) bash "$BENCH_DIR/profile.sh" ;;
      *) note "unknown step $step (run lifecycle rss memlimit profile)" ;;
    esac
  done
  exit 0
fi

# --- outside: checks, build, bundles --------------------------------------------------------
die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (containers, namespaces, cgroups)"
for t in /usr/sbin/runc /usr/bin/crun jq /usr/bin/time unshare; do
  command -v "$t" >/dev/null || die "$t is missing: apt-get install -y runc crun jq time"
done
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "needs bash 5 (\$EPOCHREALTIME)"

if [ -z "${BERTH:-}" ]; then
  build=$SRC_DIR/build-bench
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$SRC_DIR" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  ninja -C "$build" -j2 berth >/dev/null || die "building berth in $build failed"
  BERTH=$build/berth
fi
BERTH=$(readlink -f "$BERTH")
[ -x "$BERTH" ] || die "$BERTH is not executable"

started=$(date +%s)
WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
chmod 755 "$WORK"
CG_PARENT=berth-bench-$$
VARIANTS=${VARIANTS:-"berth crun runc berth-noprotect"}
if [ -n "${BERTH_ALT:-}" ]; then
  BERTH_ALT=$(readlink -f "$BERTH_ALT")
  [ -x "$BERTH_ALT" ] || die "BERTH_ALT=$BERTH_ALT is not executable"
  case " $VARIANTS " in *" berth-alt"*) ;; *) VARIANTS="$VARIANTS berth-alt" ;; esac
  export BERTH_ALT
fi
OUT=${OUT:-/tmp/berth-bench-results.$(date +%Y%m%d-%H%M%S)}
export WORK BERTH CG_PARENT VARIANTS
export RUNS=${RUNS:-100} ROUNDS=${ROUNDS:-5}
export BUDGET=${BUDGET:-300}
export STEPS=${STEPS:-"run lifecycle rss memlimit profile"}
source "$BENCH_DIR/lib.sh"

outer_cleanup() {
  # The namespace is gone by now; whatever a runtime left in our cgroups is killed by pid.
  cleanup_cgroups "$CG_PARENT"
  if [ "${KEEP_WORK:-0}" = 1 ]; then
    note "kept $WORK"
  else
    # Containers mount in their own namespaces; nothing should be mounted here, but check.
    if findmnt -rn -o TARGET | grep -q "^$WORK"; then
      note "mounts left under $WORK; unmounting"
      findmnt -rn -o TARGET | grep "^$WORK" | sort -r | xargs -r -n1 umount -l
    fi
    rm -rf --one-file-system "$WORK"
  fi
}
trap outer_cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{root,bundles,samples,logs,tmp,params,spec,profile} "$OUT"
[ -z "${BERTH_ALT:-}" ] || echo "$BERTH_ALT" >"$WORK/params/berth-alt"
for v in $VARIANTS; do mkdir -p "$WORK/root/$v"; done
echo "$RUNS" >"$WORK/params/RUNS"

# One base config for all: runc's default spec (every runtime accepts it).
(cd "$WORK/spec" && /usr/sbin/runc spec) || die "runc spec failed"
export BERTH_BUNDLE_CACHE=$WORK/bundle-cache
for v in $VARIANTS; do
  for p in true sleep echo; do
    case $p in
      true) args=(/bin/true) ;;
      sleep) args=(/bin/sleep 1000) ;;
      echo) args=(echo hi) ;;
    esac
    BUNDLE_BASE_CONFIG=$WORK/spec/config.json BUNDLE_JQ=".linux.cgroupsPath = \"/$CG_PARENT/$v-$p\"" \
      "$SRC_DIR/scripts/make-bundle.sh" "$WORK/bundles/$v-$p" "${args[@]}" ||
      die "make-bundle.sh failed"
  done
  cp "$WORK/bundles/$v-echo/config.json" "$WORK/bundles/$v-echo/config.base.json"
done

# The binary: the memfd copy of self-protection copies all of it on every create/run/exec.
describe_binary() {  # NAME PATH
  local size ssize
  size=$(stat -c %s "$2")
  cp "$2" "$WORK/tmp/stripped" && strip "$WORK/tmp/stripped" 2>/dev/null
  ssize=$(stat -c %s "$WORK/tmp/stripped")
  rm -f "$WORK/tmp/stripped"
  echo "$1 binary: $2, $size bytes ($((size / 1024)) KiB; $((ssize / 1024)) KiB stripped);" \
    "linked: $(ldd "$2" 2>/dev/null | awk '/=>/ { print $1 }' | tr '\n' ' ' | sed 's/ $//' | grep . || echo static)"
}
{
  describe_binary berth "$BERTH"
  [ -z "${BERTH_ALT:-}" ] || describe_binary berth-alt "$BERTH_ALT"
  echo "crun: $(stat -c %s /usr/bin/crun) bytes; runc: $(stat -c %s /usr/sbin/runc) bytes"
} >"$WORK/params/binary"

{
  echo "date: $(date -Is)"
  echo "host: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)," \
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "runtimes: berth $("$BERTH" --version | head -n1 | awk '{ print $3 }') ($BERTH)," \
    "crun $(crun --version | awk 'NR == 1 { print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }')"
  echo "params: ROUNDS=$ROUNDS RUNS=$RUNS LC_ROUNDS=${LC_ROUNDS:-3} CYCLES=${CYCLES:-20}" \
    "EXECS=${EXECS:-20} RSS_SAMPLES=${RSS_SAMPLES:-5}"
} >"$WORK/params/machine"
cat "$WORK/params/machine" >&2

# --- the measurements, in one private mount namespace --------------------------------------
# In a process group of its own (job control): on Ctrl-C or a TERM, the whole group gets a
# TERM. A plain SIGINT would not do: bash goes on with its loop when the runtime it waits
# for exits normally on SIGINT. Containers left running are killed by pid from their
# cgroups by outer_cleanup.
set -m
_BERTH_BENCH_INNER=1 unshare -m --propagation unchanged bash "$BENCH_DIR/run.sh" &
inner=$!
set +m
stop_inner() {
  note "interrupted: stopping the measurements (process group $inner)"
  kill -TERM -- "-$inner" 2>/dev/null
  wait "$inner" 2>/dev/null
  exit 130
}
trap stop_inner INT TERM
wait "$inner" || note "the measurements exited with an error (results so far follow)"
trap 'exit 130' INT TERM

{
  echo "# berth vs crun vs runc — $(date -Is)"
  echo
  echo '```'
  cat "$WORK/params/machine"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); wall time of the bench: $(($(date +%s) - started)) s"
  echo '```'
  echo
  bash "$BENCH_DIR/report.sh" "$WORK"
} >"$OUT/results.md"
cp -r "$WORK/logs" "$OUT/" 2>/dev/null || true
cp -r "$WORK/profile" "$OUT/" 2>/dev/null || true
cat "$OUT/results.md"
echo
echo "results, logs and profiles: $OUT"
