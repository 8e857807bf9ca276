#!/bin/bash
# bench_lifecycle.sh — measurement 2: the latency of each operation of a detached
# container's life, and of `exec`.
#
#   create_ms, start_ms, delete_ms   CYCLES × (create → start → [untimed: wait until the
#                                    /bin/true init has exited] → delete) per round
#   exec_ms                          EXECS × `exec <id> /bin/true` into a running
#                                    `sleep` container (started with run -d) per round
# Every operation's stdio is /dev/null (a detached container must not hold our pipes).
# Run by run.sh inside the bench's mount namespace.
source "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-20}
EXECS=${EXECS:-20}
ROUNDS=${LC_ROUNDS:-3}  # a maximum: past 2 rounds, the time budget may stop it (lib.sh)

# ms_between T0 T1 (microseconds) → milliseconds with 3 decimals
ms_between() { echo "$((($2 - $1) / 1000)).$(printf '%03d' $((($2 - $1) % 1000)))"; }

# step METRIC VARIANT CMD... — runs CMD timed; records the sample only when it succeeded.
step() {
  local m=$1 v=$2 t0 t1 rc
  shift 2
  t0=$(now_us)
  timeout -k 2 "$RT_TIMEOUT" "$@" </dev/null >/dev/null 2>>"$WORK/logs/lifecycle-$v.err"
  rc=$?
  t1=$(now_us)
  if [ $rc -eq 0 ]; then
    add_sample "$m" "$v" "$(ms_between "$t0" "$t1")"
  else
    add_sample "${m%_ms}_failures" "$v" 1
    note "$v: $* failed (rc $rc): $(tail -n 1 "$WORK/logs/lifecycle-$v.err")"
  fi
  return $rc
}

cycles() (
  local v=$1 round=$2 i id pidf
  rt_setup "$v" || exit 1
  local b
  b=$(bundle "$v" true)
  for ((i = 1; i <= CYCLES; i++)); do
    id=lc$round-$i
    pidf=$WORK/tmp/$v.pid
    rm -f "$pidf"
    step create_ms "$v" "${RT[@]}" create --bundle "$b" --pid-file "$pidf" "$id" || continue
    if step start_ms "$v" "${RT[@]}" start "$id"; then
      wait_gone "$(cat "$pidf" 2>/dev/null || echo 0)" || note "$v: $id did not exit"
    fi
    step delete_ms "$v" "${RT[@]}" delete "$id" ||
      timeout -k 2 10 "${RT[@]}" delete -f "$id" >/dev/null 2>&1
  done
)

execs() (
  local v=$1 round=$2 i
  local id=ex$round
  rt_setup "$v" || exit 1
  local b
  b=$(bundle "$v" sleep)
  if ! timeout -k 2 "$RT_TIMEOUT" "${RT[@]}" run -d --bundle "$b" "$id" </dev/null >/dev/null \
    2>>"$WORK/logs/lifecycle-$v.err"; then
    note "$v: run -d of the exec target failed: $(tail -n 1 "$WORK/logs/lifecycle-$v.err")"
    exit 0
  fi
  for ((i = 1; i <= EXECS; i++)); do
    step exec_ms "$v" "${RT[@]}" exec "$id" /bin/true
  done
  timeout -k 2 10 "${RT[@]}" kill "$id" KILL >/dev/null 2>&1
  timeout -k 2 10 "${RT[@]}" delete -f "$id" >/dev/null 2>&1
)

step_start=$(date +%s)
for ((round = 1; round <= ROUNDS; round++)); do
  if over_budget "$step_start" $((round - 1)) 2 25; then
    note "time budget: stopping after $((round - 1)) rounds (BUDGET=${BUDGET:-300}s)"
    break
  fi
  note "lifecycle round $round/$ROUNDS ($CYCLES create/start/delete cycles, $EXECS execs per runtime)"
  for v in $(rotate "$round" $VARIANTS); do
    cycles "$v" "$round"
    execs "$v" "$round"
  done
done
