#!/bin/sh
# The cgroup scenarios of berth, one list for every host mode: pure v2, hybrid and v1.
# POSIX sh: it runs under busybox sh in test_cgroup_v2_guest.sh's qemu guest (pure v2)
# and under sh/bash on the host in test_cgroup_scenarios_host.sh (hybrid here).
#
# It detects the mode (v2: /sys/fs/cgroup/cgroup.controllers exists; otherwise v1, or
# hybrid when /sys/fs/cgroup/unified is a cgroup2 mount), generates the bundle configs
# (jq), runs each scenario with the runtime and reads the files of the mode it is on.
# Check names are the v2 file names where both modes have the same meaning
# (`memory:memory.max` reads memory.limit_in_bytes on v1); where the values differ in
# meaning the name differs too (`cpu:cpu.weight-from-shares` on v2, `cpu:cpu.shares` on v1).
# A check that cannot exist on a mode prints `RESULT skip NAME reason`.
#
# Output: `RESULT ok|fail|skip NAME [DETAIL]` lines, other lines for humans, `DONE` last.
#
# Environment:
#   BERTH            the runtime binary (berth, or runc to validate the scenarios)
#   CG_STATE         its --root (state dir)                           [/run/berth]
#   CG_BUNDLES       where the bundle dirs are generated              [$CG_TMP/bundles]
#   CG_ROOTFS        the (busybox) rootfs all bundles share, read-only [/rootfs]
#   CG_BASE_CONFIG   config.json the bundles start from               [/base-config.json]
#   CG_TMP           scratch dir (logs, pid files)                    [/tmp]
#   CG_PREFIX        the absolute cgroupsPath parent: /$CG_PREFIX/NAME [bt]
#   CG_ID_PREFIX     prepended to every container id                  [""]
#   CG_NESTED        the relative cgroupsPath of `nested` (→ /berth/…) [a/b/c]
#   CG_RUNTIME_KIND  berth, runc or crun: berth-only checks skip for the others [berth]
#   CG_TIMEOUT       seconds a runtime command may take               [30]
: "${BERTH:?set BERTH to the runtime binary}"
CG_STATE=${CG_STATE:-/run/berth}
CG_TMP=${CG_TMP:-/tmp}
CG_BUNDLES=${CG_BUNDLES:-$CG_TMP/bundles}
CG_ROOTFS=${CG_ROOTFS:-/rootfs}
CG_BASE_CONFIG=${CG_BASE_CONFIG:-/base-config.json}
CG_PREFIX=${CG_PREFIX:-bt}
CG_ID_PREFIX=${CG_ID_PREFIX:-}
CG_NESTED=${CG_NESTED:-a/b/c}
CG_RUNTIME_KIND=${CG_RUNTIME_KIND:-berth}
CG_TIMEOUT=${CG_TIMEOUT:-30}

CG=/sys/fs/cgroup
P=/$CG_PREFIX
B="timeout $CG_TIMEOUT $BERTH --root $CG_STATE"  # a hung command fails its scenario only
UNI=""  # the cgroup2 mount on a hybrid host
if [ -e $CG/cgroup.controllers ]; then
  MODE=v2
  UNI=$CG
elif [ -e $CG/unified/cgroup.controllers ]; then
  MODE=hybrid
  UNI=$CG/unified
else
  MODE=v1
fi

# --- reporting ------------------------------------------------------------------------
ok() { echo "RESULT ok $1"; }
fail() { echo "RESULT fail $1 $2"; }
skip() { echo "RESULT skip $1 $2"; }
eq() {  # NAME EXPECTED ACTUAL [WHERE]
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'${4:+ ($4)}"; fi
}
has() {  # NAME HAYSTACK NEEDLE
  case $2 in *"$3"*) ok "$1" ;; *) fail "$1" "expected '$3' in: $(echo "$2" | tr '\n' '|')" ;; esac
}
# berth_only NAME — false (and a skip) when the runtime is not berth: for what berth does
# beyond runc (e.g. hugetlb in the cgroup2 tree of a hybrid host).
berth_only() {
  [ "$CG_RUNTIME_KIND" = berth ] && return 0
  skip "$1" "berth-specific (runtime is $CG_RUNTIME_KIND)"
  return 1
}
on_v2() { [ $MODE = v2 ]; }
# pick V2VALUE V1VALUE
pick() { if on_v2; then echo "$1"; else echo "$2"; fi; }
rd() { cat "$1" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
log1() { tr '\n' '|' <"$1"; }

# --- the files of this mode -----------------------------------------------------------
# v1 hierarchies mounted under /sys/fs/cgroup: "MOUNTPOINT SUPEROPTIONS" lines.
v1_mounts() {
  awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break;
         if ($(i + 1) == "cgroup" && index($5, "/sys/fs/cgroup/") == 1) print $5, $(i + 3) }' \
    /proc/self/mountinfo
}
# cgmnt CONTROLLER — the mountpoint of the v1 hierarchy holding CONTROLLER (or "").
cgmnt() {
  v1_mounts | awk -v c="$1" '{ n = split($2, o, ","); for (j = 1; j <= n; j++)
    if (o[j] == c) { print $1; exit } }'
}
uni_offers() { [ -n "$UNI" ] && grep -qw "$1" $UNI/cgroup.controllers; }
# cgpath CONTROLLER REL — the directory of cgroup REL for CONTROLLER: the v2 dir; on
# v1/hybrid the controller's hierarchy, or the cgroup2 dir ("unified", or a controller
# only the cgroup2 tree offers, such as hugetlb here). "" when nowhere.
cgpath() {
  if on_v2; then echo "$CG$2"; return; fi
  if [ "$1" = unified ]; then [ -n "$UNI" ] && echo "$UNI$2"; return; fi
  m=$(cgmnt "$1")
  if [ -n "$m" ]; then echo "$m$2"; elif uni_offers "$1"; then echo "$UNI$2"; fi
}
# alldirs REL — every directory of cgroup REL: one on v2; one per v1 hierarchy (and the
# cgroup2 one on hybrid).
alldirs() {
  if on_v2; then echo "$CG$1"; return; fi
  v1_mounts | while read -r m _; do echo "$m$1"; done
  [ -n "$UNI" ] && echo "$UNI$1"
}
existing() { alldirs "$1" | while read -r d; do [ -d "$d" ] && echo "$d"; done; }
# procs_dir REL — where the cgroup's processes are listed (v1: pids, else freezer).
procs_dir() {
  d=$(cgpath pids "$1")
  [ -n "$d" ] || d=$(cgpath freezer "$1")
  echo "$d"
}
# cgfile KEY REL — the file holding v2 KEY's setting on this mode.
cgfile() {
  if on_v2; then echo "$CG$2/$1"; return; fi
  case $1 in
    memory.max) f=memory/memory.limit_in_bytes ;;
    memory.low) f=memory/memory.soft_limit_in_bytes ;;
    memory.swap.max) f=memory/memory.memsw.limit_in_bytes ;;  # memory+swap on v1
    memory.current) f=memory/memory.usage_in_bytes ;;
    cpu.weight) f=cpu/cpu.shares ;;                          # shares, not a weight, on v1
    cpu.max) f=cpu/cpu.cfs_quota_us ;;                       # and cpu.cfs_period_us
    io.max) f='blkio/blkio.throttle.*_device' ;;
    cpuset.cpus.effective) f=cpuset/cpuset.effective_cpus ;;
    cgroup.freeze) f=freezer/freezer.state ;;
    cgroup.procs) echo "$(procs_dir "$2")/cgroup.procs"; return ;;
    hugetlb.*.max)
      if [ -n "$(cgmnt hugetlb)" ]; then
        f=hugetlb/${1%.max}.limit_in_bytes  # hugetlb.2MB[.rsvd].limit_in_bytes
      else
        f=hugetlb/$1  # the cgroup2 tree of a hybrid host
      fi ;;
    *) f=${1%%.*}/$1 ;;  # pids.max, cpuset.cpus, ...: same name on v1
  esac
  echo "$(cgpath "${f%%/*}" "$2")/${f#*/}"
}
# cgread KEY REL — KEY's value in v2 spelling where v1 only differs in form: cpu.max from
# cfs_quota_us/cfs_period_us, cgroup.freeze from freezer.state, io.max DEV from the
# blkio.throttle.* files. Other keys read as the mode's file holds them.
cgread() {
  if on_v2; then rd "$CG$2/$1"; return; fi
  case $1 in
    cpu.max)
      d=$(cgpath cpu "$2")
      q=$(rd "$d/cpu.cfs_quota_us")
      [ "$q" = -1 ] && q=max
      echo "$q $(rd "$d/cpu.cfs_period_us")" ;;
    cgroup.freeze)
      s=$(rd "$(cgfile cgroup.freeze "$2")")
      case $s in FROZEN) echo 1 ;; THAWED) echo 0 ;; *) echo "$s" ;; esac ;;
    io.max)  # needs IODEV
      d=$(cgpath blkio "$2")
      line=$IODEV
      for k in rbps:read_bps wbps:write_bps riops:read_iops wiops:write_iops; do
        v=$(awk -v dev="$IODEV" '$1 == dev {print $2}' "$d/blkio.throttle.${k#*:}_device" 2>&1)
        line="$line ${k%%:*}=${v:-max}"
      done
      echo "$line" ;;
    *) rd "$(cgfile "$1" "$2")" ;;
  esac
}
eqf() {  # NAME EXPECTED KEY REL — eq on cgread KEY REL, naming the file on failure
  eq "$1" "$2" "$(cgread "$3" "$4")" "$(cgfile "$3" "$4")"
}
# populated REL — 1 while the cgroup (or a descendant) has processes.
populated() {
  if on_v2; then
    sed -n 's/^populated //p' "$CG$1/cgroup.events"
  else
    n=$(find "$(procs_dir "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] && echo 1 || echo 0
  fi
}
# proc_paths PID — the distinct cgroup paths of PID over every hierarchy.
proc_paths() { sed 's/^[^:]*:[^:]*://' "/proc/$1/cgroup" 2>&1 | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# --- bundles --------------------------------------------------------------------------
# mkcfg NAME CGROUPS_PATH JQ ARGS... — $CG_BUNDLES/NAME/config.json from the base config,
# sharing the read-only rootfs, running ARGS, with the jq program JQ applied last.
mkcfg() {
  name=$1 cgp=$2 prog=$3
  shift 3
  # Each argument as a JSON string literal (valid jq): passing them with --args would let
  # jq take a "-c" among them as its own option.
  list=""
  for a in "$@"; do
    j=$(jq -n --arg a "$a" '$a') || { fail "setup:mkcfg-$name" "jq failed on an argument"; return 1; }
    list="$list${list:+, }$j"
  done
  mkdir -p "$CG_BUNDLES/$name"
  jq --arg cg "$cgp" --arg root "$CG_ROOTFS" "
    .root = {path: \$root, readonly: true} | .process.args = [$list] |
    .process.terminal = false | .linux.cgroupsPath = \$cg | ($prog)" \
    <"$CG_BASE_CONFIG" >"$CG_BUNDLES/$name/config.json" ||
    fail "setup:mkcfg-$name" "jq failed"
}

# --- containers -----------------------------------------------------------------------
# start NAME — create + start a detached container of bundle NAME; sets PID.
start() {
  if $B run -d --bundle "$CG_BUNDLES/$1" --pid-file "$CG_TMP/$1.pid" "$CG_ID_PREFIX$1" \
    </dev/null >"$CG_TMP/$1.log" 2>&1; then
    ok "$1:run"
    PID=$(cat "$CG_TMP/$1.pid")
  else
    fail "$1:run" "$(log1 "$CG_TMP/$1.log")"
    PID=
  fi
}
# runfg NAME [ID] — run in the foreground; sets OUT and RC.
runfg() {
  OUT=$($B run --bundle "$CG_BUNDLES/$1" "$CG_ID_PREFIX${2:-$1}" </dev/null 2>&1)
  RC=$?
}
# create NAME [ID] — create only (the cgroup exists, nothing runs); sets OUT and RC.
# Output goes through a file: the waiting container process keeps a pipe open.
create() {
  $B create --bundle "$CG_BUNDLES/$1" "$CG_ID_PREFIX${2:-$1}" </dev/null >"$CG_TMP/$1.create.log" 2>&1
  RC=$?
  OUT=$(cat "$CG_TMP/$1.create.log")
}
# stop NAME REL — delete --force; no directory of REL may remain in any hierarchy.
stop() {
  out=$($B delete --force "$CG_ID_PREFIX$1" 2>&1) || fail "$1:delete" "$out"
  left=$(existing "$2" | tr '\n' ' ')
  if [ -n "$left" ]; then fail "$1:cgroup-removed" "still there: $left"; else ok "$1:cgroup-removed"; fi
}
state_of() { $B state "$CG_ID_PREFIX$1" 2>&1; }
state_empty() { [ -z "$(ls "$CG_STATE" 2>/dev/null)" ]; }
# nothing_left NAME REL — a failed create left no cgroup directory and no state.
nothing_left() {
  left=$(existing "$2" | tr '\n' ' ')
  [ -z "$left" ] && ok "$1:no-cgroup-left" || fail "$1:no-cgroup-left" "$left"
  state_empty && ok "$1:no-state-left" || fail "$1:no-state-left" "$(ls "$CG_STATE")"
}

LOOP='while :; do sleep 1; done'
# The io device: brd's /dev/ram0 in the guest, else the first block device of the host.
IODEV=${CG_IO_DEV:-}
if [ -z "$IODEV" ]; then
  if [ -b /dev/ram0 ]; then IODEV=1:0; else IODEV=$(cat /sys/block/*/dev 2>/dev/null | head -n1); fi
fi
HUGE2M=""
[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] &&
  { [ -n "$(cgmnt hugetlb)" ] || uni_offers hugetlb; } && HUGE2M=1

echo "SCENARIOS: mode $MODE, runtime $BERTH ($CG_RUNTIME_KIND), cgroups under $P, io device ${IODEV:-none}"
mkdir -p "$CG_BUNDLES" "$CG_STATE"

# --- the bundle configs (per mode where a mode lacks a file) --------------------------
mkcfg lifecycle "$P/lifecycle" . sh -c "$LOOP"
# memory.swap is memory+swap: v2 writes swap-limit to memory.swap.max, v1 swap itself to
# memory.memsw.limit_in_bytes (which needs swap accounting).
MEMSW=1
on_v2 || [ -e "$(cgpath memory "")/memory.memsw.limit_in_bytes" ] || MEMSW=""
mem='.linux.resources.memory = {limit: 67108864, reservation: 33554432}'
[ -n "$MEMSW" ] && mem="$mem | .linux.resources.memory.swap = 100663296"
on_v2 && mem="$mem | .linux.resources.unified = {\"memory.high\": \"50331648\"}"
mkcfg memory "$P/memory" "$mem" \
  sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
mkcfg cpu "$P/cpu" '.linux.resources.cpu = {shares: 1024, quota: 50000, period: 100000,
  cpus: "0", mems: "0"}' sh -c "$LOOP"
mkcfg pids "$P/pids" '.linux.resources.pids = {limit: 20}' sh -c "$LOOP"
if [ -n "$IODEV" ]; then
  mkcfg io "$P/io" ".linux.resources.blockIO = {
    throttleReadBpsDevice: [{major: ${IODEV%:*}, minor: ${IODEV#*:}, rate: 1048576}],
    throttleWriteIOPSDevice: [{major: ${IODEV%:*}, minor: ${IODEV#*:}, rate: 100}]}" sh -c "$LOOP"
fi
mkcfg io_weight "$P/io_weight" '.linux.resources.blockIO = {weight: 500}' sh -c "$LOOP"
mkcfg hugetlb "$P/hugetlb" '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]' \
  sh -c "$LOOP"
mkcfg unified "$P/unified" '.linux.resources.unified = {"pids.max": "33", "memory.oom.group": "1",
  "cpu.weight": "77"}' sh -c "$LOOP"
mkcfg unified_hugetlb "$P/unified_hugetlb" '.linux.resources.unified = {"hugetlb.2MB.max": "4194304"}' \
  sh -c "$LOOP"
# /dev/full is created in the container (linux.devices) but denied by the device rules.
mkcfg devices "$P/devices" '.linux.devices = [{path: "/dev/full", type: "c", major: 1, minor: 7,
  fileMode: 438}] | .linux.resources.devices = [{allow: false, access: "rwm"},
  {allow: true, type: "c", major: 1, minor: 3, access: "rwm"},
  {allow: true, type: "c", major: 1, minor: 5, access: "rwm"},
  {allow: false, type: "c", major: 1, minor: 7, access: "rwm"}]' \
  sh -c 'echo x >/dev/null && echo null=ok; head -c 4 /dev/zero | wc -c | sed "s/^/zero=/";
         if e=$(head -c 1 /dev/full 2>&1 >/dev/null); then echo full=opened; else echo "full=denied $e"; fi'
# A counter in the container's /dev/shm shows whether it runs.
mkcfg pause "$P/pause" . sh -c 'i=0; while :; do i=$((i+1)); echo $i >/dev/shm/counter; sleep 0.1; done'
mkcfg killall "$P/killall" . sh -c 'sleep 1000 & sleep 1000 & sh -c "sleep 1000" & wait'
mkcfg update "$P/update" '.linux.resources.memory = {limit: 67108864} |
  .linux.resources.pids = {limit: 20}' sh -c "$LOOP"
mkcfg stats "$P/stats" '.linux.resources.memory = {limit: 67108864}' \
  sh -c 'x=$(head -c 2000000 /dev/zero | tr "\0" a); echo ready; while :; do sleep 1; done'
mkcfg cgroupns "$P/cgroupns" '.linux.namespaces += [{type: "cgroup"}] |
  .linux.resources.pids = {limit: 44}' \
  sh -c 'cat /proc/self/cgroup;
         echo pids.max=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)'
mkcfg nested "$CG_NESTED" '.linux.resources.pids = {limit: 15}' sh -c "$LOOP"

# --- scenarios ------------------------------------------------------------------------
echo "SCENARIO lifecycle"
start lifecycle
R=$P/lifecycle
missing=$(alldirs $R | while read -r d; do [ -d "$d" ] || echo "$d"; done | tr '\n' ' ')
[ -z "$missing" ] && ok lifecycle:cgroup-created || fail lifecycle:cgroup-created "missing: $missing"
notin=$(alldirs $R | while read -r d; do grep -qx "$PID" "$d/cgroup.procs" 2>/dev/null || echo "$d"; done | tr '\n' ' ')
[ -n "$PID" ] && [ -z "$notin" ] && ok lifecycle:init-in-cgroup.procs ||
  fail lifecycle:init-in-cgroup.procs "pid '$PID' not in cgroup.procs of: $notin"
eq lifecycle:proc-cgroup "$R" "$(proc_paths "$PID")" "/proc/$PID/cgroup: $(log1 /proc/$PID/cgroup 2>&1)"
stop lifecycle $R

echo "SCENARIO memory"
runfg memory
eq memory:run-exit 0 "$RC" "$OUT"
has memory:inside-memory.max "$OUT" 67108864
# The host files while it exists: a created (not started) container of the same bundle.
create memory memory2
R=$P/memory
if [ $RC -eq 0 ]; then
  eqf memory:memory.max 67108864 memory.max $R
  if on_v2; then
    eqf memory:memory.high-unified 50331648 memory.high $R
    eqf memory:memory.swap.max-is-swap-minus-limit 33554432 memory.swap.max $R
  else
    skip memory:memory.high-unified "unified needs cgroup v2 (see unified:*)"
    if [ -n "$MEMSW" ]; then eqf memory:memsw.limit-is-swap 100663296 memory.swap.max $R
    else skip memory:memsw.limit-is-swap "no memory.memsw.limit_in_bytes: swap accounting is off"; fi
  fi
  eqf memory:memory.low-from-reservation 33554432 memory.low $R
  stop memory2 $R
else
  fail memory:create "$OUT"
fi

echo "SCENARIO cpu"
start cpu
R=$P/cpu
# v2: shares 1024 -> weight 1 + (1024-2)*9999/262142 = 39 (cgroup-v2.rst conversion)
if on_v2; then eqf cpu:cpu.weight-from-shares 39 cpu.weight $R; else eqf cpu:cpu.shares 1024 cpu.weight $R; fi
eqf cpu:cpu.max "50000 100000" cpu.max $R
eqf cpu:cpuset.cpus 0 cpuset.cpus $R
eqf cpu:cpuset.mems 0 cpuset.mems $R
eqf cpu:cpuset.cpus.effective 0 cpuset.cpus.effective $R
stop cpu $R

echo "SCENARIO pids"
start pids
R=$P/pids
eqf pids:pids.max 20 pids.max $R
# Fill the limit from inside: the 21st process cannot be forked.
out=$($B exec "${CG_ID_PREFIX}pids" sh -c 'for i in $(seq 25); do sleep 5 & done 2>&1; echo started; kill $(jobs -p) 2>/dev/null' 2>&1)
has pids:fork-beyond-limit-fails "$out" "can't fork"
stop pids $R

echo "SCENARIO io"
if [ -n "$IODEV" ]; then
  start io
  R=$P/io
  eqf io:io.max "$IODEV rbps=1048576 wbps=max riops=max wiops=100" io.max $R
  stop io $R
else
  skip io "no block device (the guest's brd.ko is missing)"
fi
# The proportional weight needs a scheduler that offers it (BFQ, v2's io.cost); a
# created container is enough: its limits are set at create.
create io_weight
R=$P/io_weight
case $RC:$OUT in
  [1-9]*"no proportional weights"*)
    skip io:weight "the I/O scheduler offers no weight file; the runtime refused clearly: $OUT" ;;
  0:*)
    if on_v2; then
      if [ -e $CG$R/io.bfq.weight ]; then
        eq io:io.bfq.weight "default 500" "$(head -n1 $CG$R/io.bfq.weight)"
      else
        # blkio 500 -> io.weight 1 + (500-10)*9999/990 = 4950
        eq io:io.weight "default 4950" "$(head -n1 $CG$R/io.weight 2>&1)"
      fi
    else
      d=$(cgpath blkio $R)
      if [ -e "$d/blkio.bfq.weight" ]; then eq io:blkio.bfq.weight 500 "$(rd "$d/blkio.bfq.weight")"
      else eq io:blkio.weight 500 "$(rd "$d/blkio.weight")"; fi
    fi
    stop io_weight $R ;;
  *) fail io:weight-create "$OUT" ;;
esac

echo "SCENARIO hugetlb"
if [ -z "$HUGE2M" ]; then
  skip hugetlb "no hugetlb controller or no 2MB huge pages"
elif [ $MODE = hybrid ] && [ -z "$(cgmnt hugetlb)" ] &&
  ! berth_only hugetlb:in-cgroup2-of-hybrid; then
  :  # runc's v1 driver only writes a v1 hugetlb hierarchy, which this host lacks
else
  start hugetlb
  R=$P/hugetlb
  eqf hugetlb:hugetlb.2MB.max 4194304 hugetlb.2MB.max $R
  f=$(cgfile hugetlb.2MB.rsvd.max $R)
  [ -e "$f" ] && eqf hugetlb:hugetlb.2MB.rsvd.max 4194304 hugetlb.2MB.rsvd.max $R
  stop hugetlb $R
fi

echo "SCENARIO unified"
R=$P/unified
if on_v2; then
  start unified
  eqf unified:pids.max 33 pids.max $R
  eqf unified:memory.oom.group 1 memory.oom.group $R
  eqf unified:cpu.weight 77 cpu.weight $R
  stop unified $R
  skip unified:hugetlb-in-cgroup2 "hybrid only (on v2 every key is in the one tree)"
else
  # Keys of v1 controllers cannot be honoured: the container must not start.
  create unified
  [ $RC -ne 0 ] && ok unified:refused-without-v2 || fail unified:refused-without-v2 "exit 0: $OUT"
  has unified:error-names-unified "$OUT" unified
  has unified:error-names-cgroup-version "$OUT" "cgroup v"
  echo "INFO: unified said: $OUT"
  nothing_left unified $R
  # Hybrid: the cgroup2 tree's own controllers (hugetlb here) take unified keys.
  R=$P/unified_hugetlb
  if [ $MODE = hybrid ] && uni_offers hugetlb && [ -n "$HUGE2M" ] && [ -z "$(cgmnt hugetlb)" ]; then
    if berth_only unified:hugetlb-in-cgroup2; then
      start unified_hugetlb
      eq unified:hugetlb-in-cgroup2 4194304 "$(rd $UNI$R/hugetlb.2MB.max)" "$UNI$R/hugetlb.2MB.max"
      stop unified_hugetlb $R
    fi
  else
    skip unified:hugetlb-in-cgroup2 "needs a hybrid host whose cgroup2 tree offers hugetlb"
  fi
fi

echo "SCENARIO devices"
runfg devices
eq devices:run-exit 0 "$RC" "$OUT"
has devices:allowed-null-writable "$OUT" "null=ok"
has devices:allowed-zero-readable "$OUT" "zero=4"
has devices:denied-full-not-openable "$OUT" "full=denied"
has devices:denied-with-EPERM "$OUT" "Operation not permitted"
left=$(existing $P/devices | tr '\n' ' ')
[ -z "$left" ] && ok devices:cgroup-removed || fail devices:cgroup-removed "still there: $left"

echo "SCENARIO pause"
start pause
R=$P/pause
counter() { cat "/proc/$PID/root/dev/shm/counter" 2>&1; }
sleep 0.5
out=$($B pause "${CG_ID_PREFIX}pause" 2>&1) || fail pause:pause "$out"
has pause:state-paused "$(state_of pause)" '"status": "paused"'
eqf pause:cgroup.freeze 1 cgroup.freeze $R
if on_v2; then has pause:cgroup.events-frozen "$(rd $CG$R/cgroup.events)" "frozen 1"
else skip pause:cgroup.events-frozen "v1: freezer.state FROZEN (pause:cgroup.freeze) means every task stopped"; fi
c1=$(counter)
sleep 0.5
eq pause:no-progress-while-paused "$c1" "$(counter)"
out=$($B resume "${CG_ID_PREFIX}pause" 2>&1) || fail pause:resume "$out"
has pause:state-running "$(state_of pause)" '"status": "running"'
eqf pause:cgroup.freeze-after-resume 0 cgroup.freeze $R
if on_v2; then has pause:cgroup.events-thawed "$(rd $CG$R/cgroup.events)" "frozen 0"
else skip pause:cgroup.events-thawed "v1: freezer.state THAWED (pause:cgroup.freeze-after-resume)"; fi
i=0
while [ "$(counter)" = "$c1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
c2=$(counter)
[ "$c2" -gt "$c1" ] 2>/dev/null && ok pause:progress-after-resume ||
  fail pause:progress-after-resume "counter $c1 -> $c2"
stop pause $R

echo "SCENARIO kill --all"
start killall
R=$P/killall
sleep 1
n=$(wc -l <"$(cgfile cgroup.procs $R)")
[ "$n" -ge 4 ] && ok killall:several-processes || fail killall:several-processes "cgroup.procs has $n"
out=$($B kill --all "${CG_ID_PREFIX}killall" KILL 2>&1) || fail killall:kill "$out"
i=0
while [ "$(populated $R)" = 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
eq killall:cgroup-empty 0 "$(populated $R)" "populated; procs: $(rd "$(cgfile cgroup.procs $R)")"
has killall:state-stopped "$(state_of killall)" '"status": "stopped"'
stop killall $R

echo "SCENARIO update"
start update
R=$P/update
out=$($B update --pids-limit 30 --memory 134217728 "${CG_ID_PREFIX}update" 2>&1) || fail update:flags "$out"
eqf update:pids.max 30 pids.max $R
eqf update:memory.max 134217728 memory.max $R
echo '{"pids": {"limit": 40}, "cpu": {"shares": 2048}}' >"$CG_TMP/res.json"
out=$($B update -r "$CG_TMP/res.json" "${CG_ID_PREFIX}update" 2>&1) || fail update:resources-file "$out"
eqf update:pids.max-from-file 40 pids.max $R
if on_v2; then eqf update:cpu.weight-from-file 79 cpu.weight $R
else eqf update:cpu.shares-from-file 2048 cpu.weight $R; fi
eqf update:memory.max-kept 134217728 memory.max $R
stop update $R

echo "SCENARIO events --stats"
start stats
R=$P/stats
i=0
while ! grep -q ready "$CG_TMP/stats.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ev=$($B events --stats "${CG_ID_PREFIX}stats" 2>&1)
eq stats:type stats "$(echo "$ev" | jq -r .type 2>&1)"
usage=$(echo "$ev" | jq -r .data.memory.usage.usage 2>&1)
[ "$usage" -gt 1000000 ] 2>/dev/null && ok stats:memory-usage-nonzero ||
  fail stats:memory-usage-nonzero "usage '$usage' ($(cgfile memory.current $R): $(cgread memory.current $R))"
eq stats:memory-limit 67108864 "$(echo "$ev" | jq -r .data.memory.usage.limit 2>&1)"
cpu=$(echo "$ev" | jq -r .data.cpu.usage.total 2>&1)
[ "$cpu" -gt 0 ] 2>/dev/null && ok stats:cpu-usage-nonzero || fail stats:cpu-usage-nonzero "cpu '$cpu' ($ev)"
eq stats:pids-current "$(cgread pids.current $R)" "$(echo "$ev" | jq -r .data.pids.current 2>&1)"
stop stats $R

echo "SCENARIO cgroupns"
runfg cgroupns
eq cgroupns:run-exit 0 "$RC" "$OUT"
# Every hierarchy's line ends in ":/" inside ("0::/" alone on v2).
lines=$(echo "$OUT" | grep -c '^[0-9]*:[^:]*:/')
notroot=$(echo "$OUT" | grep '^[0-9]*:[^:]*:/' | grep -v ':/$' | tr '\n' '|')
[ "$lines" -ge 1 ] && [ -z "$notroot" ] && ok cgroupns:own-cgroup-is-root ||
  fail cgroupns:own-cgroup-is-root "$(echo "$OUT" | tr '\n' '|')"
on_v2 && eq cgroupns:v2-single-line "0::/" "$(echo "$OUT" | head -n1)"
has cgroupns:sys-fs-cgroup-is-own "$OUT" "pids.max=44"

echo "SCENARIO nested"
# runc puts a relative path below its caller's cgroup; berth below /berth.
if berth_only nested; then
  start nested
  R=/berth/$CG_NESTED
  eq nested:proc-cgroup "$R" "$(proc_paths "$PID")" "/proc/$PID/cgroup"
  eqf nested:pids.max 15 pids.max $R
  stop nested $R
  # Like runc, a later `delete` removes only the container's own dir: the parents it
  # created stay (see Destroy in src/cgroups/v1.cc, v2.cc).
  parent=${R%/*}
  while [ "$parent" != "" ]; do
    alldirs "$parent" | while read -r d; do rmdir "$d" 2>/dev/null; done
    parent=${parent%/*}
  done
fi

echo "SCENARIO controller not enabled"
if on_v2; then
  # /$P-limited holds a process and enables only threaded controllers (pids), which the
  # kernel allows; it cannot enable a domain controller such as memory then (EBUSY).
  L=$CG$P-limited
  mkcfg denied_ctrl "$P-limited/ctr" '.linux.resources.memory = {limit: 67108864}' true
  mkdir $L
  echo +pids >$L/cgroup.subtree_control
  sleep 1000 &
  holder=$!
  echo $holder >$L/cgroup.procs || fail setup:holder "cannot move a process into $L"
  create denied_ctrl
  [ $RC -ne 0 ] && ok denied_ctrl:create-fails || fail denied_ctrl:create-fails "exit 0: $OUT"
  has denied_ctrl:message-names-controller "$OUT" 'controller \"memory\"'
  has denied_ctrl:message-names-field "$OUT" "linux.resources.memory"
  echo "INFO: denied_ctrl said: $OUT"
  nothing_left denied_ctrl "$P-limited/ctr"
  kill $holder
  wait $holder 2>/dev/null
  rmdir $L
else
  # v1's analogue: a limit of a controller that has no hierarchy on this host.
  ctl=""
  if [ -z "$(cgmnt net_cls)" ]; then
    ctl=net_cls field=linux.resources.network res='.linux.resources.network = {classID: 1048577}'
  elif [ -z "$(cgmnt net_prio)" ]; then
    ctl=net_prio field=linux.resources.network
    res='.linux.resources.network = {priorities: [{name: "lo", priority: 1}]}'
  fi
  if [ -n "$ctl" ]; then
    mkcfg denied_ctrl "$P/denied_ctrl" "$res" true
    create denied_ctrl
    [ $RC -ne 0 ] && ok denied_ctrl:create-fails || fail denied_ctrl:create-fails "exit 0: $OUT"
    has denied_ctrl:message-names-controller "$OUT" "$ctl"
    berth_only denied_ctrl:message-names-field && has denied_ctrl:message-names-field "$OUT" "$field"
    echo "INFO: denied_ctrl said: $OUT"
    nothing_left denied_ctrl "$P/denied_ctrl"
  else
    skip denied_ctrl "net_cls and net_prio are both mounted: no missing v1 hierarchy to ask for"
  fi
fi

echo "SCENARIO leftovers"
left=$(alldirs "$P" | while read -r d; do [ -d "$d" ] && find "$d" -mindepth 1 -type d; done)
eq end:no-container-cgroups-left "" "$(echo $left)"
left=$(alldirs "/berth/${CG_NESTED%%/*}" | while read -r d; do [ -d "$d" ] && echo "$d"; done)
eq end:no-nested-cgroups-left "" "$(echo $left)"
eq end:no-state-left "" "$(ls "$CG_STATE" 2>/dev/null)"
alldirs "$P" | while read -r d; do rmdir "$d" 2>/dev/null; done
echo DONE
