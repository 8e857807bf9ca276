#!/bin/bash
# report.sh WORK — the results table (Markdown) from the samples in WORK/samples: the
# median of each metric per runtime and the ratios berth/crun and berth/runc (< 1 means
# berth is faster or smaller). Also the spread (25th–75th percentile) of the per-operation
# latencies, and any failures.
set -u -o pipefail
WORK=$1
S=$WORK/samples
COLS=(berth crun runc berth-noprotect)
LABELS=(berth crun runc "berth, no self-protect")
if compgen -G "$S/*/berth-alt" >/dev/null; then
  COLS+=(berth-alt)
  LABELS+=(berth-alt)
fi
if compgen -G "$S/*/berth-alt-noprotect" >/dev/null; then
  COLS+=(berth-alt-noprotect)
  LABELS+=("berth-alt, no self-protect")
fi
COLS+=(unshare)
LABELS+=("unshare floor")
header() {  # FIRST-COLUMN [EXTRA...]
  local l out="| $1 " sep="|---"
  shift
  for l in "${LABELS[@]}" "$@"; do out+="| $l "; sep+="|---"; done
  echo "$out|"
  echo "$sep|"
}

# pct FILE P — the P-th percentile (P in 0..100, nearest-rank; 50 = median) of FILE's numbers.
pct() {
  [ -s "$1" ] || { echo -; return; }
  sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 }
    END { if (p == 50 && NR % 2 == 0) { printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2; exit }
          i = int((NR - 1) * p / 100 + 0.5) + 1; printf "%g\n", v[i] }'
}
count() { [ -s "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }
ratio() {
  case "$1$2" in *-*) echo - ;; *) awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }' ;; esac
}
fmt() {  # a number with sensible digits
  case $1 in -) echo - ;; *) awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.0f\n", x; else if (x >= 10) printf "%.1f\n", x; else printf "%.2f\n", x }' ;; esac
}

row() {  # METRIC LABEL
  local m=$1 label=$2 c med=() n=""
  [ -d "$S/$m" ] || return 0
  printf '| %s ' "$label"
  for c in "${COLS[@]}"; do
    local v
    v=$(pct "$S/$m/$c" 50)
    med+=("$v")
    printf '| %s ' "$(fmt "$v")"
    [ -n "$n" ] || [ ! -s "$S/$m/$c" ] || n=$(count "$S/$m/$c")
  done
  printf '| %s | %s ' "$(ratio "${med[0]}" "${med[1]}")" "$(ratio "${med[0]}" "${med[2]}")"
  [ "${COLS[4]}" != berth-alt ] || printf '| %s ' "$(ratio "${med[4]}" "${med[1]}")"
  printf '| %s |\n' "${n:-0}"
}

if [ "${COLS[4]}" = berth-alt ]; then
  header "metric (median)" berth/crun berth/runc berth-alt/crun "n per runtime"
else
  header "metric (median)" berth/crun berth/runc "n per runtime"
fi
runs=$(cat "$WORK/params/RUNS" 2>/dev/null || echo 100)
row run_total_s "$runs × run /bin/true, wall (s)"
row run_ms "one run, wall (ms)"
row run_cpu_ms "one run, CPU user+sys (ms)"
row version_ms "start-up: --version, wall (ms)"
row create_ms "create, detached (ms)"
row start_ms "start (ms)"
row delete_ms "delete, stopped (ms)"
row exec_ms "exec /bin/true (ms)"
row rss_run_kb "peak RSS, run (KiB)"
row rss_exec_kb "peak RSS, exec (KiB)"
row memlimit_kb "smallest memory.limit for run (KiB)"
row perf_task_ms "perf: CPU per run, task-clock incl. harness (ms)"
row perf_faults "perf: page faults per run"
row perf_cs "perf: context switches per run"

echo
echo "Spread (25th–75th percentile, ms):"
echo
header metric
for m in run_ms version_ms create_ms start_ms delete_ms exec_ms; do
  [ -d "$S/$m" ] || continue
  printf '| %s ' "$m"
  for c in "${COLS[@]}"; do
    if [ -s "$S/$m/$c" ]; then
      printf '| %s–%s ' "$(fmt "$(pct "$S/$m/$c" 25)")" "$(fmt "$(pct "$S/$m/$c" 75)")"
    else printf '| - '; fi
  done
  echo '|'
done

# Self-protect cost in absolute terms: CPU (per round, steadier on a loaded machine) first,
# then the difference of the wall medians (noisy: it can even come out negative).
if [ -s "$S/run_cpu_ms/berth" ] && [ -s "$S/run_cpu_ms/berth-noprotect" ]; then
  echo
  awk -v a="$(pct "$S/run_ms/berth" 50)" -v b="$(pct "$S/run_ms/berth-noprotect" 50)" \
    -v ca="$(pct "$S/run_cpu_ms/berth" 50)" -v cb="$(pct "$S/run_cpu_ms/berth-noprotect" 50)" 'BEGIN {
    printf "Self-protection (CVE-2019-5736 memfd copy + re-exec), per run: %+.2f ms CPU (%.0f%% of a protected run'"'"'s CPU); difference of the wall medians %+.2f ms.\n",
      ca - cb, (ca - cb) * 100 / ca, a - b }'
fi
if [ -f "$WORK/params/binary" ]; then
  echo
  cat "$WORK/params/binary"
fi
if [ -f "$WORK/params/berth-alt" ]; then
  echo
  echo "berth-alt: $(cat "$WORK/params/berth-alt")"
fi

fails=$(cd "$S" 2>/dev/null && for d in *_failures; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    t=$(awk '{ s += $1 } END { print s + 0 }' "$f")
    [ "$t" = 0 ] || echo "$d ${f##*/}: $t"
  done
done)
echo
if [ -n "$fails" ]; then
  echo "Failures (excluded from the latencies, see the logs in the work dir):"
  echo '```'
  echo "$fails"
  echo '```'
else
  echo "No operation failed."
fi
