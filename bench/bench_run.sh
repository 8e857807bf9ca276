#!/bin/bash
# bench_run.sh — measurements 1 and 5: RUNS sequential `run` of a busybox /bin/true
# container (unique id each), per runtime, in ROUNDS rounds; runtimes interleaved, each
# round starting with another one. Also, as a floor, RUNS × `unshare` of the same five
# namespaces + fork + exec of /bin/true (no runtime at all).
#
# Samples (see lib.sh):
#   run_total_s   wall time of RUNS runs, one sample per round
#   run_ms        wall time of each single run
#   run_cpu_ms    user+sys CPU per run (the runtime, its children and the container,
#                 from the shell's `times`), one sample per round
#   run_failures  failed runs per round (a failing runtime would look fast)
#   version_ms    one `<runtime> --version` (exec, dynamic linking, static init: the
#                 start-up every command pays; berth's self-protection is not involved),
#                 VERSIONS per round; the floor's is /bin/true
# Run by run.sh inside the bench's mount namespace.
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-100}
# ROUNDS is a maximum: past 3 rounds, no round starts that would take this step beyond 60%
# of BUDGET (see over_budget in lib.sh).
VERSIONS=${VERSIONS:-50}
ROUNDS=${ROUNDS:-5}

# to_ms "0m1.234s" → 1234.000
to_ms() { awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); printf "%.3f", (a[1] * 60 + a[2]) * 1000 }'; }

# loop VARIANT ROUND — in a subshell so `times` sees only this loop's children.
loop() (
  local v=$1 round=$2 i t0 t1 start fails=0 rc
  if [ "$v" != unshare ]; then
    rt_setup "$v" || exit 1
  fi
  local b
  b=$(bundle "$v" true)
  local errf=$WORK/logs/run-$v.err
  # Nothing in the loop forks but the runtime: the clock is read from $EPOCHREALTIME
  # directly and the samples are written afterwards. (A `$(now_us)` or an `add_sample`
  # per run cost ~15 ms of forks per iteration here, which made the total and the CPU
  # figure of every runtime look closer to each other.)
  local -a dur=()
  start=${EPOCHREALTIME/[.,]/}
  for ((i = 1; i <= RUNS; i++)); do
    t0=${EPOCHREALTIME/[.,]/}
    if [ "$v" = unshare ]; then
      unshare --mount --uts --ipc --net --pid --fork /bin/true </dev/null >/dev/null 2>>"$errf"
    else
      "${RT[@]}" run --bundle "$b" "r$round-$i" </dev/null >/dev/null 2>>"$errf"
    fi
    rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    [ $rc -eq 0 ] || fails=$((fails + 1))
    dur+=($((t1 - t0)))
  done
  local total=$((${EPOCHREALTIME/[.,]/} - start))
  # `times` straight into a file (in $(…) it would run in a fork that has no children),
  # before the samples are written: their mkdirs would count as children.
  times >"$WORK/tmp/times.$v"
  local d
  for d in "${dur[@]}"; do
    add_sample run_ms "$v" "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
  done
  local ct
  ct=$(sed -n 2p "$WORK/tmp/times.$v")  # children: "0m1.234s 0m0.567s"
  local user sys
  user=$(to_ms "${ct%% *}")
  sys=$(to_ms "${ct##* }")
  add_sample run_total_s "$v" "$(awk -v u="$total" 'BEGIN { printf "%.4f", u / 1e6 }')"
  add_sample run_cpu_ms "$v" "$(awk -v u="$user" -v s="$sys" -v n="$RUNS" 'BEGIN { printf "%.3f", (u + s) / n }')"
  add_sample run_failures "$v" "$fails"
  if [ "$fails" -gt 0 ]; then
    note "$v: $fails of $RUNS runs failed in round $round; first errors:"
    head -n 5 "$errf" >&2
  fi
  printf '%s %.2fs' "$v" "$(awk -v u="$total" 'BEGIN { print u / 1e6 }')" >&2
)

# startup VARIANT — VERSIONS × `--version`, each timed.
startup() (
  local v=$1 i t0 t1
  if [ "$v" = unshare ]; then RT=(/bin/true); else rt_setup "$v" || exit 1; RT+=(--version); fi
  for ((i = 1; i <= VERSIONS; i++)); do
    t0=$(now_us)
    "${RT[@]}" </dev/null >/dev/null 2>&1
    t1=$(now_us)
    add_sample version_ms "$v" "$(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000)))"
  done
)

read -r -a all <<<"$VARIANTS unshare"
step_start=$(date +%s)
for ((round = 1; round <= ROUNDS; round++)); do
  if over_budget "$step_start" $((round - 1)) 3 60; then
    note "time budget: stopping after $((round - 1)) rounds (BUDGET=${BUDGET:-300}s; ROUNDS=$ROUNDS asked)"
    break
  fi
  printf '[bench] run × %d, round %d/%d: ' "$RUNS" "$round" "$ROUNDS" >&2
  for v in $(rotate "$round" "${all[@]}"); do
    loop "$v" "$round"
    startup "$v"
    printf '  ' >&2
    # A runtime that failed may have left containers behind; never let them pile up.
    [ "$v" = unshare ] || [ -z "$(ls -A "$WORK/root/$v" 2>/dev/null)" ] || cleanup_variant "$v"
  done
  echo >&2
done
