#!/bin/bash
# berth on a PURE cgroup v2 host: boots Debian's kernel in a qemu guest (TCG, no KVM:
# KVM guests stall on the CI machines) from an initramfs that holds busybox-static,
# berth with its shared libraries, jq, a busybox rootfs and bundle configs, and runs
# the cgroup scenarios there. The guest prints `RESULT ok|fail|skip NAME [DETAIL]`
# lines and a final `DONE` on the serial console; this script fails on any
# `RESULT fail`, a missing DONE or a timeout, and then prints the whole guest log.
#
# Needs: qemu-system-x86, a Debian amd64 kernel (linux-image-amd64 in /boot, or the one
# scripts/install-deps.sh extracts into /var/cache/berth/guest-kernel), cpio, gzip.
# BERTH_GUEST_KERNEL=/path/to/vmlinuz overrides the kernel; BERTH_GUEST_TIMEOUT (s)
# the boot-to-DONE limit (default 200).
source "$(dirname "$0")/lib.sh"

GUEST_TIMEOUT=${BERTH_GUEST_TIMEOUT:-200}

# --- find the tools and a kernel ---------------------------------------------------------
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (scripts/install-deps.sh installs qemu-system-x86)"
for t in cpio gzip ldd jq; do command -v $t >/dev/null || die "$t not found"; done
kernel=${BERTH_GUEST_KERNEL:-}
if [ -z "$kernel" ]; then
  # Newest Debian amd64 kernel: the installed one, else install-deps.sh's extracted copy.
  kernel=$(ls -1 /boot/vmlinuz-*-amd64 /var/cache/berth/guest-kernel/boot/vmlinuz-*-amd64 2>/dev/null |
    sort -V | tail -n1)
fi
[ -n "$kernel" ] && [ -r "$kernel" ] ||
  die "no guest kernel: install linux-image-amd64 or run scripts/install-deps.sh (or set BERTH_GUEST_KERNEL)"
kver=${kernel##*/vmlinuz-}
kroot=${kernel%/boot/vmlinuz-*}  # "" for /boot, the cache dir for the extracted .deb
echo "guest kernel: $kernel"

# --- the initramfs tree --------------------------------------------------------------------
IMG=$TEST_DIR/img
mkdir -p "$IMG"/{bin,lib,lib64,proc,sys,dev,run,tmp,newroot,bundles,modules}
# busybox and its applet links (and the container rootfs) from make-bundle.sh's cache.
b=$(make_bundle true)
cp -a "$b/rootfs/." "$IMG/"
cp -a "$b/rootfs" "$IMG/rootfs"
# berth and jq with their libraries and the dynamic loader, at the paths ldd names.
for bin in "$BERTH" "$(command -v jq)"; do
  cp "$bin" "$IMG/bin/"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$IMG$(dirname "$lib")"
    cp -L "$lib" "$IMG$lib"
  done
done
# brd gives the guest a block device (/dev/ram0) for io.max; the kernel has no built-in
# disk driver (virtio-blk, ata, nvme are modules).
brd=$kroot/lib/modules/$kver/kernel/drivers/block/brd.ko
[ -r "$brd" ] && cp "$brd" "$IMG/modules/"

# Bundle configs, all sharing /rootfs. mkcfg NAME CGROUPS_PATH JQ ARGS...
BASE=$b/config.json
mkcfg() {
  local name=$1 cgpath=$2 prog=$3
  shift 3
  mkdir -p "$IMG/bundles/$name"
  # Each argument as its own --arg: jq would take a "-c" among --args as its own option.
  local i=0 list="" jargs=()
  for a in "$@"; do
    jargs+=(--arg "a$i" "$a")
    list="$list${list:+, }\$a$i"
    i=$((i + 1))
  done
  jq --arg cg "$cgpath" "${jargs[@]}" "
    .root = {path: \"/rootfs\", readonly: true} | .process.args = [$list] |
    .process.terminal = false | .linux.cgroupsPath = \$cg | ($prog)" \
    <"$BASE" >"$IMG/bundles/$name/config.json" || die "jq failed for bundle $name"
}
LOOP='while :; do sleep 1; done'
mkcfg lifecycle /bt/lifecycle . sh -c "$LOOP"
mkcfg memory /bt/memory '.linux.resources.memory = {limit: 67108864, swap: 100663296,
  reservation: 33554432} | .linux.resources.unified = {"memory.high": "50331648"}' \
  sh -c 'cat /sys/fs/cgroup/memory.max'
mkcfg cpu /bt/cpu '.linux.resources.cpu = {shares: 1024, quota: 50000, period: 100000,
  cpus: "0", mems: "0"}' sh -c "$LOOP"
mkcfg pids /bt/pids '.linux.resources.pids = {limit: 20}' sh -c "$LOOP"
mkcfg io /bt/io '.linux.resources.blockIO = {weight: 500,
  throttleReadBpsDevice: [{major: 1, minor: 0, rate: 1048576}],
  throttleWriteIOPSDevice: [{major: 1, minor: 0, rate: 100}]}' sh -c "$LOOP"
mkcfg hugetlb /bt/hugetlb '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]' \
  sh -c "$LOOP"
mkcfg unified /bt/unified '.linux.resources.unified = {"pids.max": "33", "memory.oom.group": "1",
  "cpu.weight": "77"}' sh -c "$LOOP"
# /dev/full is created in the container (linux.devices) but denied by the device rules.
mkcfg devices /bt/devices '.linux.devices = [{path: "/dev/full", type: "c", major: 1, minor: 7,
  fileMode: 438}] | .linux.resources.devices = [{allow: false, access: "rwm"},
  {allow: true, type: "c", major: 1, minor: 3, access: "rwm"},
  {allow: true, type: "c", major: 1, minor: 5, access: "rwm"},
  {allow: false, type: "c", major: 1, minor: 7, access: "rwm"}]' \
  sh -c 'echo x >/dev/null && echo null=ok; head -c 4 /dev/zero | wc -c | sed "s/^/zero=/";
         if e=$(head -c 1 /dev/full 2>&1 >/dev/null); then echo full=opened; else echo "full=denied $e"; fi'
mkcfg pause /bt/pause . sh -c "$LOOP"
mkcfg killall /bt/killall . sh -c 'sleep 1000 & sleep 1000 & sh -c "sleep 1000" & wait'
mkcfg update /bt/update '.linux.resources.memory = {limit: 67108864} |
  .linux.resources.pids = {limit: 20}' sh -c "$LOOP"
mkcfg stats /bt/stats '.linux.resources.memory = {limit: 67108864}' \
  sh -c 'x=$(head -c 2000000 /dev/zero | tr "\0" a); echo ready; while :; do sleep 1; done'
mkcfg cgroupns /bt/cgroupns '.linux.namespaces += [{type: "cgroup"}] |
  .linux.resources.pids = {limit: 44}' \
  sh -c 'cat /proc/self/cgroup; echo pids.max=$(cat /sys/fs/cgroup/pids.max)'
mkcfg nested a/b/c '.linux.resources.pids = {limit: 15}' sh -c "$LOOP"
mkcfg denied_ctrl /limited/ctr '.linux.resources.memory = {limit: 67108864}' true

cat >"$IMG/init" <<'GUEST'
#!/bin/sh
# Guest side of test_cgroup_v2_guest.sh. pivot_root cannot leave the initramfs root, so
# the tree is first copied into a tmpfs and switch_root'ed into (berth then pivots normally).
if [ ! -e /.in_tmpfs ]; then
  mount -t tmpfs -o size=300m root /newroot
  for d in /*; do
    case $d in /newroot | /proc | /sys | /dev) ;; *) cp -a "$d" /newroot/ ;; esac
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/newroot
  touch /newroot/.in_tmpfs
  exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
CG=/sys/fs/cgroup
B="timeout 30 berth --root /run/berth"  # a hung command fails its scenario, not the test

ok() { echo "RESULT ok $1"; }
fail() { echo "RESULT fail $1 $2"; }
skip() { echo "RESULT skip $1 $2"; }
eq() {  # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}
has() {  # NAME HAYSTACK NEEDLE
  case $2 in *"$3"*) ok "$1" ;; *) fail "$1" "expected '$3' in: $(echo "$2" | tr '\n' '|')" ;; esac
}
# start NAME — create + start a detached container whose id and bundle are NAME.
start() {
  if $B run -d --bundle /bundles/$1 --pid-file /tmp/$1.pid $1 </dev/null >/tmp/$1.log 2>&1; then
    ok "$1:run"
    PID=$(cat /tmp/$1.pid)
  else
    fail "$1:run" "$(tr '\n' '|' </tmp/$1.log)"
    PID=
  fi
}
# stop NAME DIR — delete --force; DIR must be gone afterwards.
stop() {
  out=$($B delete --force $1 2>&1) || fail "$1:delete" "$out"
  if [ -d "$2" ]; then fail "$1:cgroup-removed" "$2 still exists"; else ok "$1:cgroup-removed"; fi
}
rd() { cat "$1" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

echo "GUEST: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu"
echo "GUEST: cgroup.controllers: $(cat $CG/cgroup.controllers)"
# Like an init system: offer every controller below the root.
for c in $(cat $CG/cgroup.controllers); do echo "+$c" >$CG/cgroup.subtree_control; done
eq setup:root-subtree_control "$(cat $CG/cgroup.controllers)" "$(cat $CG/cgroup.subtree_control)"
[ -e /modules/brd.ko ] && insmod /modules/brd.ko rd_nr=1 rd_size=4096 2>&1

echo "SCENARIO lifecycle"
start lifecycle
D=$CG/bt/lifecycle
if [ -d $D ]; then ok lifecycle:cgroup-created; else fail lifecycle:cgroup-created "$D missing"; fi
grep -qx "$PID" $D/cgroup.procs && ok lifecycle:init-in-cgroup.procs ||
  fail lifecycle:init-in-cgroup.procs "pid $PID not in: $(rd $D/cgroup.procs)"
eq lifecycle:proc-cgroup "0::/bt/lifecycle" "$(cat /proc/$PID/cgroup 2>&1)"
stop lifecycle $D

echo "SCENARIO memory"
out=$($B run --bundle /bundles/memory memory </dev/null 2>&1)
rc=$?
eq memory:run-exit 0 "$rc"
has memory:inside-memory.max "$out" 67108864
# Read the host files while it exists: a created (not started) container of the same bundle.
if $B create --bundle /bundles/memory memory2 </dev/null >/tmp/memory2.log 2>&1; then
  D=$CG/bt/memory
  eq memory:memory.max 67108864 "$(rd $D/memory.max)"
  eq memory:memory.high-unified 50331648 "$(rd $D/memory.high)"
  eq memory:memory.swap.max-is-swap-minus-limit 33554432 "$(rd $D/memory.swap.max)"
  eq memory:memory.low-from-reservation 33554432 "$(rd $D/memory.low)"
  stop memory2 $D
else
  fail memory:create "$(tr '\n' '|' </tmp/memory2.log)"
fi

echo "SCENARIO cpu"
start cpu
D=$CG/bt/cpu
# shares 1024 -> weight 1 + (1024-2)*9999/262142 = 39 (cgroup-v2.rst conversion)
eq cpu:cpu.weight-from-shares 39 "$(rd $D/cpu.weight)"
eq cpu:cpu.max "50000 100000" "$(rd $D/cpu.max)"
eq cpu:cpuset.cpus 0 "$(rd $D/cpuset.cpus)"
eq cpu:cpuset.mems 0 "$(rd $D/cpuset.mems)"
eq cpu:cpuset.cpus.effective 0 "$(rd $D/cpuset.cpus.effective)"
stop cpu $D

echo "SCENARIO pids"
start pids
D=$CG/bt/pids
eq pids:pids.max 20 "$(rd $D/pids.max)"
# Fill the limit from inside: the 21st process cannot be forked.
out=$($B exec pids sh -c 'for i in $(seq 25); do sleep 5 & done 2>&1; echo started; kill $(jobs -p) 2>/dev/null' 2>&1)
has pids:fork-beyond-limit-fails "$out" "can't fork"
stop pids $D

echo "SCENARIO io"
if [ -b /dev/ram0 ]; then
  start io
  D=$CG/bt/io
  if [ -e $D/io.bfq.weight ]; then
    eq io:io.bfq.weight "default 500" "$(head -n1 $D/io.bfq.weight)"
  elif [ -e $D/io.weight ]; then
    # blkio 500 -> io.weight 1 + (500-10)*9999/990 = 4950
    eq io:io.weight "default 4950" "$(head -n1 $D/io.weight)"
  else
    skip io:weight "no io.weight/io.bfq.weight file on this kernel"
  fi
  eq io:io.max "1:0 rbps=1048576 wbps=max riops=max wiops=100" "$(rd $D/io.max)"
  stop io $D
else
  skip io "no block device in the guest (brd.ko missing)"
fi

echo "SCENARIO hugetlb"
if [ -e $CG/bt/hugetlb.2MB.max ] || grep -qw hugetlb $CG/cgroup.controllers; then
  start hugetlb
  D=$CG/bt/hugetlb
  eq hugetlb:hugetlb.2MB.max 4194304 "$(rd $D/hugetlb.2MB.max)"
  [ -e $D/hugetlb.2MB.rsvd.max ] && eq hugetlb:hugetlb.2MB.rsvd.max 4194304 "$(rd $D/hugetlb.2MB.rsvd.max)"
  stop hugetlb $D
else
  skip hugetlb "no hugetlb controller"
fi

echo "SCENARIO unified"
start unified
D=$CG/bt/unified
eq unified:pids.max 33 "$(rd $D/pids.max)"
eq unified:memory.oom.group 1 "$(rd $D/memory.oom.group)"
eq unified:cpu.weight 77 "$(rd $D/cpu.weight)"
stop unified $D

echo "SCENARIO devices"
out=$($B run --bundle /bundles/devices devices </dev/null 2>&1)
eq devices:run-exit 0 "$?"
has devices:allowed-null-writable "$out" "null=ok"
has devices:allowed-zero-readable "$out" "zero=4"
has devices:denied-full-not-openable "$out" "full=denied"
has devices:denied-with-EPERM "$out" "Operation not permitted"
[ -d $CG/bt/devices ] && fail devices:cgroup-removed "$CG/bt/devices still exists" || ok devices:cgroup-removed

echo "SCENARIO pause"
start pause
D=$CG/bt/pause
out=$($B pause pause 2>&1) || fail pause:pause "$out"
has pause:state-paused "$($B state pause 2>&1)" '"status": "paused"'
eq pause:cgroup.freeze 1 "$(rd $D/cgroup.freeze)"
has pause:cgroup.events-frozen "$(rd $D/cgroup.events)" "frozen 1"
out=$($B resume pause 2>&1) || fail pause:resume "$out"
has pause:state-running "$($B state pause 2>&1)" '"status": "running"'
eq pause:cgroup.freeze-after-resume 0 "$(rd $D/cgroup.freeze)"
has pause:cgroup.events-thawed "$(rd $D/cgroup.events)" "frozen 0"
stop pause $D

echo "SCENARIO kill --all"
start killall
D=$CG/bt/killall
sleep 1
n=$(wc -l <$D/cgroup.procs)
[ "$n" -ge 4 ] && ok killall:several-processes || fail killall:several-processes "cgroup.procs has $n"
out=$($B kill --all killall KILL 2>&1) || fail killall:kill "$out"
i=0
while grep -q "populated 1" $D/cgroup.events && [ $i -lt 50 ]; do usleep 100000; i=$((i+1)); done
has killall:cgroup-empty "$(rd $D/cgroup.events)" "populated 0"
has killall:state-stopped "$($B state killall 2>&1)" '"status": "stopped"'
stop killall $D

echo "SCENARIO update"
start update
D=$CG/bt/update
out=$($B update --pids-limit 30 --memory 134217728 update 2>&1) || fail update:flags "$out"
eq update:pids.max 30 "$(rd $D/pids.max)"
eq update:memory.max 134217728 "$(rd $D/memory.max)"
echo '{"pids": {"limit": 40}, "cpu": {"shares": 2048}}' >/tmp/res.json
out=$($B update -r /tmp/res.json update 2>&1) || fail update:resources-file "$out"
eq update:pids.max-from-file 40 "$(rd $D/pids.max)"
eq update:cpu.weight-from-file 79 "$(rd $D/cpu.weight)"
eq update:memory.max-kept 134217728 "$(rd $D/memory.max)"
stop update $D

echo "SCENARIO events --stats"
start stats
D=$CG/bt/stats
i=0
while ! grep -q ready /tmp/stats.log && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done
ev=$($B events --stats stats 2>&1)
eq stats:type stats "$(echo "$ev" | jq -r .type 2>&1)"
usage=$(echo "$ev" | jq -r .data.memory.usage.usage 2>&1)
[ "$usage" -gt 1000000 ] 2>/dev/null && ok stats:memory-usage-nonzero ||
  fail stats:memory-usage-nonzero "usage '$usage' (memory.current $(rd $D/memory.current))"
eq stats:memory-limit 67108864 "$(echo "$ev" | jq -r .data.memory.usage.limit 2>&1)"
cpu=$(echo "$ev" | jq -r .data.cpu.usage.total 2>&1)
[ "$cpu" -gt 0 ] 2>/dev/null && ok stats:cpu-usage-nonzero || fail stats:cpu-usage-nonzero "cpu '$cpu' ($ev)"
eq stats:pids-current "$(rd $D/pids.current)" "$(echo "$ev" | jq -r .data.pids.current 2>&1)"
stop stats $D

echo "SCENARIO cgroupns"
out=$($B run --bundle /bundles/cgroupns cgroupns </dev/null 2>&1)
eq cgroupns:run-exit 0 "$?"
eq cgroupns:own-cgroup-is-root "0::/" "$(echo "$out" | head -n1)"
has cgroupns:sys-fs-cgroup-is-own "$out" "pids.max=44"

echo "SCENARIO nested"
start nested
D=$CG/berth/a/b/c
eq nested:proc-cgroup "0::/berth/a/b/c" "$(cat /proc/$PID/cgroup 2>&1)"
eq nested:pids.max 15 "$(rd $D/pids.max)"
stop nested $D
# Like runc, a later `delete` removes only the container's own dir: the parents it
# created (berth/a/b) stay (see Destroy in src/cgroups/v1.cc, v2.cc).
rmdir $CG/berth/a/b $CG/berth/a $CG/berth 2>/dev/null

echo "SCENARIO controller not enabled"
# /limited holds a process and enables only threaded controllers (pids), which the kernel
# allows; it cannot enable a domain controller such as memory then (EBUSY).
mkdir $CG/limited
echo +pids >$CG/limited/cgroup.subtree_control
sleep 1000 &
holder=$!
echo $holder >$CG/limited/cgroup.procs || fail setup:holder "cannot move a process into /limited"
out=$($B create --bundle /bundles/denied_ctrl denied_ctrl </dev/null 2>&1)
rc=$?
[ $rc -ne 0 ] && ok denied_ctrl:create-fails || fail denied_ctrl:create-fails "exit 0: $out"
has denied_ctrl:message-names-controller "$out" 'controller \"memory\"'
has denied_ctrl:message-names-field "$out" "linux.resources.memory"
echo "GUEST: denied_ctrl said: $out"
[ -d $CG/limited/ctr ] && fail denied_ctrl:no-cgroup-left "$CG/limited/ctr exists" || ok denied_ctrl:no-cgroup-left
[ -z "$(ls /run/berth 2>/dev/null)" ] && ok denied_ctrl:no-state-left || fail denied_ctrl:no-state-left "$(ls /run/berth)"
kill $holder
wait $holder 2>/dev/null
rmdir $CG/limited

echo "SCENARIO leftovers"
left=$(find $CG/bt $CG/berth $CG/limited -mindepth 1 -type d 2>/dev/null)
eq end:no-container-cgroups-left "" "$left"
eq end:no-state-left "" "$(ls /run/berth 2>/dev/null)"
rmdir $CG/bt
echo DONE
poweroff -f
GUEST
chmod 755 "$IMG/init"

# --- pack and boot -------------------------------------------------------------------------
(cd "$IMG" && find . -mindepth 1 | cpio -o -H newc --quiet | gzip -1) >"$TEST_DIR/initramfs.gz" ||
  die "building the initramfs failed"
echo "initramfs: $(du -h "$TEST_DIR/initramfs.gz" | cut -f1)"

LOG=$TEST_DIR/guest.log
start=$SECONDS
"$QEMU" -nographic -no-reboot -m 512 -smp 1 -kernel "$kernel" -initrd "$TEST_DIR/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" -nic none \
  </dev/null >"$LOG" 2>&1 &
qpid=$!
track_pid $qpid
while kill -0 $qpid 2>/dev/null && [ $((SECONDS - start)) -lt "$GUEST_TIMEOUT" ]; do sleep 0.5; done
timed_out=""
if kill -0 $qpid 2>/dev/null; then
  timed_out=1
  kill -KILL $qpid
fi
wait $qpid 2>/dev/null
echo "guest ran $((SECONDS - start)) s"

# --- verdict --------------------------------------------------------------------------------
section "guest results"
tr -d '\r' <"$LOG" >"$LOG.txt"
nres=0
while read -r _ st name detail; do
  nres=$((nres + 1))
  case $st in
    ok) pass "$name" ;;
    skip) printf 'skip   %s: %s\n' "$name" "$detail" ;;
    *) fail "$name: $detail" ;;
  esac
done < <(grep -a '^RESULT ' "$LOG.txt")
[ -z "$timed_out" ] && pass "guest finished within ${GUEST_TIMEOUT}s" || fail "guest timed out after ${GUEST_TIMEOUT}s"
grep -aqx DONE "$LOG.txt" && pass "guest printed DONE" || fail "guest printed DONE"
[ $nres -ge 50 ] && pass "guest reported $nres results" || fail "guest reported only $nres results"
if [ $FAILURES -ne 0 ]; then
  echo "--- guest log ---"
  cat "$LOG.txt"
  echo "--- end of guest log ---"
fi
