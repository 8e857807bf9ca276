#!/bin/bash
# Cgroups: limits as the kernel holds them (host cgroup dirs of the container, found via
# /proc/<pid>/cgroup, and the container's own view of /sys/fs/cgroup), pause/resume,
# update, events --stats, and delete removing the dirs in every hierarchy.
source "$(dirname "$0")/lib.sh"

if [ -e /sys/fs/cgroup/cgroup.controllers ]; then CG_MODE=v2; else CG_MODE=v1; fi

# cg_dir PID CONTROLLER — the host directory of PID's cgroup for CONTROLLER.
cg_dir() {
  if [ $CG_MODE = v2 ]; then
    echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")"
  else
    awk -F: -v c="$2" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' "/proc/$1/cgroup" |
      head -n1 | sed "s|^|/sys/fs/cgroup/$2|"
  fi
}
# cg_read PID CONTROLLER V1FILE V2FILE
cg_read() {
  local f=$3
  [ $CG_MODE = v2 ] && f=$4
  cat "$(cg_dir "$1" "$2")/$f" 2>&1
}
# Every cgroup dir of PID that is not also the test's own (i.e. created for the container).
cg_all_dirs() {
  local h p mine
  while IFS=: read -r _ h p; do
    mine=$(awk -F: -v h="$h" '$2 == h {print $3}' /proc/self/cgroup)
    [ "$p" = "$mine" ] && continue
    case $h in
      "") echo "/sys/fs/cgroup/unified$p" ;;
      name=*) echo "/sys/fs/cgroup/${h#name=}$p" ;;
      *) echo "/sys/fs/cgroup/${h%%,*}$p" ;;
    esac
  done <"/proc/$1/cgroup" | while read -r d; do
    if [ $CG_MODE = v2 ]; then echo "/sys/fs/cgroup${d#/sys/fs/cgroup/unified}"; else echo "$d"; fi
  done
}

COUNTER_SH='i=0; while :; do i=$((i+1)); echo $i > /counter; sleep 0.05; done'
# The loop truncates /counter before each write: a read can land in between and see "".
read_counter() {
  local v="" n=0
  while [ -z "$v" ] && [ $n -lt 20 ]; do
    v=$(cat "$1/rootfs/counter")
    [ -n "$v" ] || sleep 0.01
    n=$((n + 1))
  done
  echo "$v"
}

section "limits"
b=$(BUNDLE_JQ='.root.readonly = false | .linux.resources += {"memory": {"limit": 67108864},
      "pids": {"limit": 50}, "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}' \
  make_bundle sh -c "$COUNTER_SH")
run_detached "$b"
id=$ID
assert_eq 0 "$RC" "container with resources runs"
pid=$(ctr_pid "$id")
dirs=$(cg_all_dirs "$pid")
assert_ne "" "$dirs" "the container has cgroup dirs of its own"
assert_eq 67108864 "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" "memory limit 64 MiB"
assert_eq 50 "$(cg_read "$pid" pids pids.max pids.max)" "pids limit 50"
if [ $CG_MODE = v1 ]; then
  assert_eq 512 "$(cg_read "$pid" cpu cpu.shares cpu.shares)" "cpu shares 512"
  assert_eq 50000 "$(cg_read "$pid" cpu cpu.cfs_quota_us cpu.cfs_quota_us)" "cpu quota 50000"
  assert_eq 100000 "$(cg_read "$pid" cpu cpu.cfs_period_us cpu.cfs_period_us)" "cpu period 100000"
else
  assert_eq "50000 100000" "$(cg_read "$pid" cpu cpu.max cpu.max)" "cpu.max quota/period"
fi
assert_eq 0 "$(cg_read "$pid" cpuset cpuset.cpus cpuset.cpus)" "cpuset cpus 0"
assert_eq 0 "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/"$pid"/status)" "the process may run on cpu 0 only"

if [ $CG_MODE = v1 ]; then
  inside=$(rt exec "$id" sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares')
else
  inside=$(rt exec "$id" sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max')
fi
assert_contains "$inside" 67108864 "the container's /sys/fs/cgroup shows its memory limit"
assert_contains "$inside" 50 "the container's /sys/fs/cgroup shows its pids limit"
# In a container of its own: filling the pids limit would also stop the counter loop.
BUNDLE_JQ='.linux.resources.pids = {"limit": 10}' \
  run_ctr sh -c 'n=0; for i in $(seq 20); do sleep 2 & n=$((n+1)); done 2>&1; echo "started=$n"; kill $(jobs -p) 2>/dev/null'
assert_match "$OUT$ERR" 'fork|Resource temporarily unavailable|can.t' "pids limit 10: forking the 11th process fails"

section "pause and resume"
assert_ok "pause exits 0" rt pause "$id"
assert_eq paused "$(ctr_status "$id")" "state is paused"
if [ $CG_MODE = v1 ]; then
  assert_eq FROZEN "$(cg_read "$pid" freezer freezer.state freezer.state)" "freezer.state is FROZEN"
else
  assert_eq 1 "$(cg_read "$pid" x cgroup.freeze cgroup.freeze)" "cgroup.freeze is 1"
fi
assert_match "$(awk '/^State:/ {print $2}' /proc/"$pid"/status)" '^[DT]$' "the paused process is frozen (state D or T)"
c1=$(read_counter "$b")
sleep 0.5
assert_eq "$c1" "$(read_counter "$b")" "the paused process makes no progress"
assert_ok "resume exits 0" rt resume "$id"
assert_eq running "$(ctr_status "$id")" "state is running after resume"
sleep 0.5
c2=$(read_counter "$b")
[ "$c2" -gt "$c1" ] && pass "the process makes progress after resume ($c1 -> $c2)" ||
  fail "counter did not move after resume ($c1 -> $c2)"

section "update"
echo '{"memory": {"limit": 134217728}, "pids": {"limit": 60}}' >"$TEST_DIR/res.json"
assert_ok "update -r FILE" rt update -r "$TEST_DIR/res.json" "$id"
assert_eq 134217728 "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" "update -r: memory limit 128 MiB"
assert_eq 60 "$(cg_read "$pid" pids pids.max pids.max)" "update -r: pids limit 60"
echo '{"memory": {"limit": 100663296}}' | rt update -r - "$id"
assert_eq 0 $? "update -r - (stdin) exits 0"
assert_eq 100663296 "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" "update -r -: memory limit 96 MiB"
# runc's flag is --cpu-share (singular).
assert_ok "update --pids-limit --cpu-share" rt update --pids-limit 70 --cpu-share 256 "$id"
assert_eq 70 "$(cg_read "$pid" pids pids.max pids.max)" "update --pids-limit 70"
[ $CG_MODE = v1 ] && assert_eq 256 "$(cg_read "$pid" cpu cpu.shares cpu.shares)" "update --cpu-share 256"
# berth-specific: berth's issue also names the flag --cpu-shares.
if berth_specific "update --cpu-shares (alias of --cpu-share)"; then
  assert_ok "update --cpu-shares" rt update --cpu-shares 384 "$id"
  [ $CG_MODE = v1 ] && assert_eq 384 "$(cg_read "$pid" cpu cpu.shares cpu.shares)" "update --cpu-shares 384"
fi
assert_ok "update --cpu-quota --cpu-period" rt update --cpu-quota 30000 --cpu-period 60000 "$id"
if [ $CG_MODE = v1 ]; then
  assert_eq 30000 "$(cg_read "$pid" cpu cpu.cfs_quota_us cpu.cfs_quota_us)" "update --cpu-quota 30000"
  assert_eq 60000 "$(cg_read "$pid" cpu cpu.cfs_period_us cpu.cfs_period_us)" "update --cpu-period 60000"
else
  assert_eq "30000 60000" "$(cg_read "$pid" cpu cpu.max cpu.max)" "update --cpu-quota/--cpu-period"
fi
assert_ok "update --memory" rt update --memory 201326592 "$id"
assert_eq 201326592 "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" "update --memory 192 MiB"

section "events --stats"
ev=$(rt events --stats "$id" 2>&1)
assert_eq stats "$(jq -r .type <<<"$ev" 2>&1)" "events --stats prints a JSON object of type stats"
assert_eq "$id" "$(jq -r .id <<<"$ev" 2>&1)" "... naming the container"
usage=$(jq -r '.data.memory.usage.usage' <<<"$ev" 2>&1)
[[ $usage =~ ^[0-9]+$ ]] && [ "$usage" -gt 0 ] && pass "memory usage $usage > 0" || fail "memory usage is '$usage'"
assert_eq 201326592 "$(jq -r '.data.memory.usage.limit' <<<"$ev" 2>&1)" "memory limit in the stats"
cur=$(jq -r '.data.pids.current' <<<"$ev" 2>&1)
[[ $cur =~ ^[0-9]+$ ]] && [ "$cur" -ge 1 ] && pass "pids.current $cur >= 1" || fail "pids.current is '$cur'"

section "delete removes the cgroups"
assert_ok "delete --force" rt delete --force "$id"
left=""
for d in $dirs; do [ -d "$d" ] && left+="$d "; done
assert_eq "" "$left" "no cgroup dir of the container is left in any hierarchy"

section "delete removes the parents create made, and only those"
# A nested cgroupsPath: create (one process) makes /P/a in every hierarchy, delete (another
# process) must remove them again, but leave a parent that existed before.
P=berth-it-parents-$$
Q=berth-it-kept-$$
on_exit "find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -depth -type d \( -path '*/$P*' -o -path '*/$Q*' \) -exec rmdir {} + 2>/dev/null"
b=$(BUNDLE_JQ=".linux.cgroupsPath = \"/$P/a/c\"" make_bundle sleep 100)
id=$(new_id)
# (its stdio goes to a file: the container would hold a captured pipe open)
rt create --bundle "$b" "$id" </dev/null >"$TEST_DIR/$id.log" 2>&1
assert_eq 0 $? "create with cgroupsPath /$P/a/c"
made=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -name "$P" | wc -l)
assert_ne 0 "$made" "create made /$P in the hierarchies"
assert_ok "delete --force (a new process)" rt delete --force "$id"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -path "*/$P*")" \
  "no /$P/a/c, /$P/a or /$P left in any hierarchy"
mkdir "/sys/fs/cgroup/memory/$Q"
b=$(BUNDLE_JQ=".linux.cgroupsPath = \"/$Q/c\"" make_bundle sleep 100)
id=$(new_id)
rt create --bundle "$b" "$id" </dev/null >"$TEST_DIR/$id.log" 2>&1
assert_eq 0 $? "create with cgroupsPath /$Q/c, /$Q made beforehand in memory only"
assert_ok "delete --force" rt delete --force "$id"
assert_eq "/sys/fs/cgroup/memory/$Q" "$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -path "*/$Q*")" \
  "the parent berth did not make is kept; the ones it made are gone"
rmdir "/sys/fs/cgroup/memory/$Q"

section "real-time CPU budget (cpu.realtimeRuntime/realtimePeriod)"
# A cgroup's real-time budget must fit in its parent's, and a new parent has none: under a
# parent given a budget first the container gets its own; without, the error says so.
if [ $CG_MODE = v1 ] && [ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]; then
  R=berth-it-rt-$$
  on_exit "rmdir /sys/fs/cgroup/*/$R 2>/dev/null"
  mkdir "/sys/fs/cgroup/cpu/$R" && echo 20000 >"/sys/fs/cgroup/cpu/$R/cpu.rt_runtime_us"
  b=$(BUNDLE_JQ=".linux.cgroupsPath = \"/$R/c\" | .linux.resources.cpu = {\"realtimeRuntime\": 10000, \"realtimePeriod\": 1000000}" \
    make_bundle sleep 100)
  id=$(new_id)
  rt run -d --bundle "$b" "$id" </dev/null >"$TEST_DIR/$id.log" 2>&1
  assert_eq 0 $? "run with a 10 ms real-time budget under a parent that has 20 ms"
  assert_eq 10000 "$(cat "/sys/fs/cgroup/cpu/$R/c/cpu.rt_runtime_us" 2>&1)" "the kernel holds the container's budget"
  rt delete --force "$id" >/dev/null 2>&1
  b=$(BUNDLE_JQ='.linux.resources.cpu = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}' make_bundle true)
  id=$(new_id)
  assert_fails_with "realtimeRuntime.*parent cgroup .*has a real-time budget of 0 us" rt run --bundle "$b" "$id"
  assert_nothing_left "$id" "a real-time budget the parent cannot give"
else
  echo "skip   real-time budgets: no cgroup v1 cpu.rt_runtime_us here (not counted)"
fi
