#!/bin/bash
# profile.sh — where berth's time goes, next to crun and runc (run by run.sh inside the
# bench's mount namespace; writes to $WORK/profile, copied to the results dir).
#
#   strace-<rt>.txt     strace -c -f of one `run` (syscall counts and kernel time, whole tree)
#   trace-berth.txt     strace -f -ttt -T of one berth `run` (to find the long gaps)
#   perf stat           task-clock, context switches, page faults of PERF_RUNS runs each
#                       → samples perf_task_ms, perf_faults, perf_cs (per run)
#   perf-berth-*.txt    perf record -e cpu-clock (software sampling: this machine has no
#                       hardware counters) of PERF_RUNS berth runs, by DSO and by symbol
#   callgrind-*.txt     only when perf does not work: callgrind of the berth parent
source "$(dirname "$0")/lib.sh"

P=$WORK/profile
PERF_RUNS=${PERF_RUNS:-30}
mkdir -p "$P"

# --- strace ------------------------------------------------------------------------------
if command -v strace >/dev/null; then
  note "profile: strace -c -f of one run per runtime"
  for v in $VARIANTS; do
    (
      rt_setup "$v"
      strace -c -f -o "$P/strace-$v.txt" "${RT[@]}" run --bundle "$(bundle "$v" true)" st1 \
        </dev/null >/dev/null 2>>"$WORK/logs/profile.err"
    )
  done
  (
    rt_setup berth
    strace -f -ttt -T -s 80 -o "$P/trace-berth.txt" "${RT[@]}" run --bundle "$(bundle berth true)" st2 \
      </dev/null >/dev/null 2>>"$WORK/logs/profile.err"
  )
fi

# --- perf --------------------------------------------------------------------------------
perf_ok=0
if command -v perf >/dev/null && perf stat -e task-clock -x, -o /dev/null true 2>/dev/null; then
  perf_ok=1
fi

loop_cmd() {  # VARIANT TAG — a bash loop of PERF_RUNS runs, for perf to follow
  local b
  b=$(bundle "$1" true)
  echo "for i in \$(seq $PERF_RUNS); do \"\$@\" run --bundle $b $2-\$i </dev/null >/dev/null || exit 1; done"
}

if [ $perf_ok = 1 ]; then
  note "profile: perf stat of $PERF_RUNS runs per runtime"
  for v in $VARIANTS; do
    (
      rt_setup "$v"
      perf stat -x, -e task-clock,context-switches,cpu-migrations,page-faults -o "$P/perfstat-$v.csv" \
        bash -c "$(loop_cmd "$v" ps)" _ "${RT[@]}" 2>>"$WORK/logs/profile.err" || exit 0
      awk -F, -v n="$PERF_RUNS" '
        $3 == "task-clock" { printf "%.3f\n", $1 / n > "/dev/fd/3" }
        $3 == "page-faults" { printf "%.0f\n", $1 / n > "/dev/fd/4" }
        $3 == "context-switches" { printf "%.0f\n", $1 / n > "/dev/fd/5" }' "$P/perfstat-$v.csv" \
        3>>"$(mkdir -p "$WORK/samples/perf_task_ms" && echo "$WORK/samples/perf_task_ms/$v")" \
        4>>"$(mkdir -p "$WORK/samples/perf_faults" && echo "$WORK/samples/perf_faults/$v")" \
        5>>"$(mkdir -p "$WORK/samples/perf_cs" && echo "$WORK/samples/perf_cs/$v")"
    )
  done
  note "profile: perf record (cpu-clock) of $PERF_RUNS runs of each berth variant"
  for v in berth berth-noprotect berth-alt berth-alt-noprotect; do
    case " $VARIANTS " in *" $v "*) ;; *) continue ;; esac
    (
      rt_setup "$v"
      # The kernel's comm is 15 bytes of the name, and perf report may cut it further.
      comm=$(basename "${RT[0]}" | cut -c1-15)
      perf record -q -e cpu-clock -F 10000 -g -o "$P/perf-$v.data" \
        bash -c "$(loop_cmd "$v" pr)" _ "${RT[@]}" 2>>"$WORK/logs/profile.err" || exit 0
      # berth's own processes are "berth", and "memfd:berth" after the self-protect re-exec
      # (the container's init is a clone of it until it execs busybox's true); bash and
      # busybox are the harness and the container.
      perf report -i "$P/perf-$v.data" --stdio --no-children --sort comm,dso,sym -g none 2>/dev/null |
        grep '%' | grep -v '^#' >"$P/perf-$v-all.txt"
      perf report -i "$P/perf-$v.data" --stdio --children --sort comm,sym -g none 2>/dev/null |
        grep '%' | grep -v '^#' | awk -v c="$comm" '(length($3) >= 5 && index(c, $3) == 1) || $3 == "memfd:berth"' | head -n 150 >"$P/perf-$v-inclusive.txt"
      awk -v c="$comm" '(length($2) >= 5 && index(c, $2) == 1) || $2 == "memfd:berth" { sub("%", "", $1); all += $1; by[$2 " " $3] += $1; d[$3] += $1 }
        END { printf "berth processes: %.1f%% of all samples (the rest: harness bash, the container)\n", all
              printf "by DSO, %% of berth samples:\n"
              for (k in d) printf "  %5.1f%%  %s\n", d[k] * 100 / all, k | "sort -rn"; close("sort -rn")
              printf "by process image and DSO, %% of berth samples:\n"
              for (k in by) printf "  %5.1f%%  %s\n", by[k] * 100 / all, k | "sort -rn" }' \
        "$P/perf-$v-all.txt" >"$P/perf-$v-summary.txt"
      awk -v c="$comm" '(length($2) >= 5 && index(c, $2) == 1) || $2 == "memfd:berth"' "$P/perf-$v-all.txt" | head -n 60 >"$P/perf-$v-sym.txt"
      rm -f "$P/perf-$v.data"
    )
  done
elif command -v valgrind >/dev/null; then
  note "profile: perf does not work here; callgrind of the berth parent (no self-protect)"
  (
    rt_setup berth-noprotect
    valgrind --tool=callgrind --callgrind-out-file="$P/callgrind.out" \
      "${RT[@]}" run --bundle "$(bundle berth-noprotect true)" cg1 </dev/null >/dev/null 2>>"$WORK/logs/profile.err"
    callgrind_annotate --inclusive=yes "$P/callgrind.out" 2>/dev/null | head -n 60 >"$P/callgrind-inclusive.txt"
    callgrind_annotate "$P/callgrind.out" 2>/dev/null | head -n 60 >"$P/callgrind-self.txt"
  )
fi

# Syscall counts side by side (berth without self-protect isolates berth's own work).
if [ -s "$P/strace-berth.txt" ]; then
  (
    cols=""
    for v in $VARIANTS; do [ -s "$P/strace-$v.txt" ] && cols="$cols $v"; done
    printf '%-18s' syscall
    for v in $cols; do printf '%16s' "$v"; done
    echo
    for v in $cols; do
      awk -v v="$v" 'NR > 2 && !/^-/ && $NF != "total" { print $NF, v, $4 }' "$P/strace-$v.txt"
    done | awk -v cols="$cols" '
      { n[$1 " " $2] = $3; s[$1] += $3 }
      END { nc = split(cols, c, " ")
            for (k in s) { line = sprintf("%-18s", k); for (i = 1; i <= nc; i++) line = line sprintf("%16d", n[k " " c[i]] + 0); print s[k], line }
          }' | sort -rn | cut -d' ' -f2- | head -n 40
  ) >"$P/syscalls.txt"
fi

# Summary lines in the log: total syscalls per runtime.
for v in $VARIANTS; do
  [ -s "$P/strace-$v.txt" ] || continue
  tot=$(awk '$NF == "total" { print $(NF-2) " calls, " $(NF-1) " errors" }' "$P/strace-$v.txt")
  note "strace $v: ${tot:-?}"
done
true
