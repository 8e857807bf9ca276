#!/bin/bash
# bench_memlimit.sh — measurement 4: the smallest linux.resources.memory.limit under which
# `run` of `echo hi` still works (exit 0 and prints "hi"), per runtime, by bisection.
#
# Everything the runtime leaves in the container's memory cgroup is charged there: its
# own init stage before the exec (runc's Go `runc init`, crun's or berth's forked child,
# with their page tables, stacks and kernel objects), the mounts, then busybox. The
# result is what a user learns from "my 1 MiB container does not even start".
#
#   memlimit_kb   smallest passing limit; confirmed by CONFIRM consecutive passes (when
#                 a confirmation fails, the limit is raised by 1/16 and confirmed again)
# The bisection runs between 0 and MEM_MAX (must pass) to MEM_RES resolution.
# Run by run.sh inside the bench's mount namespace.
source "$(dirname "$0")/lib.sh"

MEM_MAX=${MEM_MAX:-$((256 << 20))}
MEM_RES=${MEM_RES:-$((16 << 10))}
CONFIRM=${CONFIRM:-3}

# probe VARIANT LIMIT — 0 when `run` works under LIMIT bytes.
probe() {
  local v=$1 limit=$2 b out rc id
  b=$(bundle "$v" echo)
  PROBES=$((PROBES + 1))
  id=mem$PROBES
  jq --argjson l "$limit" '.linux.resources.memory.limit = $l' "$b/config.base.json" >"$b/config.json"
  out=$(timeout -k 2 "$RT_TIMEOUT" "${RT[@]}" run --bundle "$b" "$id" </dev/null 2>"$WORK/tmp/mem.err")
  rc=$?
  timeout -k 2 10 "${RT[@]}" delete -f "$id" >/dev/null 2>&1
  # A runtime killed by the OOM killer mid-create may leave its cgroup: not our business to
  # judge here, but the next probe needs the path free.
  cleanup_cgroups "$CG_PARENT/$v-echo"
  if [ $rc -eq 0 ] && [ "$out" = hi ]; then return 0; fi
  {
    echo "limit $limit: rc $rc, stdout '$out'"
    sed 's/^/    /' "$WORK/tmp/mem.err" | head -n 5
  } >>"$WORK/logs/memlimit-$v.log"
  return 1
}

bisect() (
  local v=$1 lo=0 hi=$MEM_MAX mid ok=0 n
  rt_setup "$v" || exit 1
  PROBES=0
  if ! probe "$v" "$hi"; then
    note "$v: run fails even with a $((hi >> 20)) MiB limit; see $WORK/logs/memlimit-$v.log"
    exit 0
  fi
  while [ $((hi - lo)) -gt "$MEM_RES" ]; do
    mid=$(((lo + hi) / 2 / 4096 * 4096))
    if probe "$v" "$mid"; then hi=$mid; else lo=$mid; fi
  done
  # The edge can be noisy (page cache, per-cpu charge batches): confirm it.
  for ((n = 0; n < 10 && ok < CONFIRM; n++)); do
    if probe "$v" "$hi"; then ok=$((ok + 1)); else
      ok=0
      hi=$(((hi + hi / 16 + 4095) / 4096 * 4096))
    fi
  done
  add_sample memlimit_kb "$v" $((hi / 1024))
  note "$v: smallest working memory limit $((hi / 1024)) KiB ($PROBES probes)"
)

note "memory limit bisection (0 .. $((MEM_MAX >> 20)) MiB, resolution $((MEM_RES >> 10)) KiB)"
for v in $VARIANTS; do bisect "$v"; done
