#!/bin/bash
# bench_rss.sh — measurement 3: peak RSS of the runtime during `run` and `exec`, from GNU
# time's %M (the ru_maxrss that wait4 returns). ru_maxrss is the largest RSS that the
# runtime process reached, over every image it exec'd (berth's sealed-copy re-exec is
# included) and over the children it reaped itself (so it is the peak of the biggest single
# process of the runtime's tree: runc's `runc init`, a busybox `true`). It is NOT the sum.
#
#   rss_run_kb    `run` of /bin/true
#   rss_exec_kb   `exec <id> /bin/true` into a running sleep container
# Run by run.sh inside the bench's mount namespace.
source "$(dirname "$0")/lib.sh"

SAMPLES=${RSS_SAMPLES:-5}

measure() (
  local v=$1 round=$2 tf=$WORK/tmp/rss.$1 rc
  rt_setup "$v" || exit 1
  rm -f "$tf"
  /usr/bin/time -f %M -o "$tf" "${RT[@]}" run --bundle "$(bundle "$v" true)" "rss$round" \
    </dev/null >/dev/null 2>>"$WORK/logs/rss-$v.err"
  rc=$?
  if [ $rc -eq 0 ]; then add_sample rss_run_kb "$v" "$(tail -n 1 "$tf")"; else
    note "$v: run for RSS failed (rc $rc)"
  fi
  local id=rssx$round
  if timeout -k 2 "$RT_TIMEOUT" "${RT[@]}" run -d --bundle "$(bundle "$v" sleep)" "$id" \
    </dev/null >/dev/null 2>>"$WORK/logs/rss-$v.err"; then
    rm -f "$tf"
    /usr/bin/time -f %M -o "$tf" "${RT[@]}" exec "$id" /bin/true \
      </dev/null >/dev/null 2>>"$WORK/logs/rss-$v.err"
    rc=$?
    if [ $rc -eq 0 ]; then add_sample rss_exec_kb "$v" "$(tail -n 1 "$tf")"; else
      note "$v: exec for RSS failed (rc $rc)"
    fi
  else
    note "$v: run -d for the exec RSS failed"
  fi
  timeout -k 2 10 "${RT[@]}" delete -f "$id" >/dev/null 2>&1
  true
)

note "peak RSS: $SAMPLES samples of run and exec per runtime"
for ((round = 1; round <= SAMPLES; round++)); do
  for v in $(rotate "$round" $VARIANTS); do measure "$v" "$round"; done
done
