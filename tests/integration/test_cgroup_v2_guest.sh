#!/bin/bash
# berth on a PURE cgroup v2 host: boots Debian's kernel in a qemu guest (TCG, no KVM:
# KVM guests stall on the CI machines) from an initramfs that holds busybox-static,
# berth with its shared libraries, jq, a busybox rootfs and a base config.json, and runs
# the cgroup scenarios of cgroup_scenarios.sh there (test_cgroup_scenarios_host.sh runs
# the same list on the host's own mode, hybrid on the CI machines). The guest prints `RESULT ok|fail|skip NAME [DETAIL]`
# lines and a final `DONE` on the serial console; this script fails on any
# `RESULT fail`, a missing DONE or a timeout, and then prints the whole guest log.
#
# Needs: qemu-system-x86, a Debian amd64 kernel (linux-image-amd64 in /boot, or the one
# scripts/install-deps.sh extracts into /var/cache/berth/guest-kernel), cpio, gzip.
# BERTH_GUEST_KERNEL=/path/to/vmlinuz overrides the kernel; BERTH_GUEST_TIMEOUT (s)
# the boot-to-DONE limit (default 200). BERTH_GUEST_CGROUP=v1 boots a PURE cgroup v1
# guest instead (every controller on its own v1 hierarchy, no cgroup2; run by hand).
source "$(dirname "$0")/lib.sh"

GUEST_TIMEOUT=${BERTH_GUEST_TIMEOUT:-200}
GUEST_CGROUP=${BERTH_GUEST_CGROUP:-v2}
case $GUEST_CGROUP in v1 | v2) ;; *) die "BERTH_GUEST_CGROUP must be v1 or v2" ;; esac

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

# The scenarios (tests/integration/cgroup_scenarios.sh, shared with the host run of
# test_cgroup_scenarios_host.sh) generate their bundle configs in the guest from this base.
cp "$b/config.json" "$IMG/base-config.json"
cp "$BERTH_SOURCE_DIR/tests/integration/cgroup_scenarios.sh" "$IMG/cgroup_scenarios.sh"
printf 'BERTH=/bin/%s\nCG_RUNTIME_KIND=%s\nGUEST_CGROUP=%s\n' "$(basename "$BERTH")" \
  "$RUNTIME_KIND" "$GUEST_CGROUP" >"$IMG/scenarios.env"

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
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
set -a
. /scenarios.env
set +a
CG=/sys/fs/cgroup
echo "GUEST: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu, cgroup $GUEST_CGROUP"
if [ "$GUEST_CGROUP" = v1 ]; then
  # A pure v1 host: one hierarchy per controller, no cgroup2 anywhere. net_cls and
  # net_prio stay unmounted, so that denied_ctrl has a missing hierarchy to ask for.
  mount -t tmpfs -o mode=755 cgroup $CG
  n=0
  for c in $(awk '!/^#/ && $4 == 1 {print $1}' /proc/cgroups); do
    case $c in net_cls | net_prio) continue ;; esac
    mkdir $CG/$c
    if mount -t cgroup -o $c cgroup $CG/$c; then n=$((n + 1)); else rmdir $CG/$c; fi
  done
  echo "GUEST: v1 hierarchies: $(ls $CG | tr '\n' ' ')"
  [ $n -ge 8 ] && echo "RESULT ok setup:v1-hierarchies" || echo "RESULT fail setup:v1-hierarchies only $n mounted"
else
  mount -t cgroup2 cgroup2 $CG
  echo "GUEST: cgroup.controllers: $(cat $CG/cgroup.controllers)"
  # Like an init system: offer every controller below the root.
  for c in $(cat $CG/cgroup.controllers); do echo "+$c" >$CG/cgroup.subtree_control; done
  if [ "$(cat $CG/cgroup.controllers)" = "$(cat $CG/cgroup.subtree_control)" ]; then
    echo "RESULT ok setup:root-subtree_control"
  else
    echo "RESULT fail setup:root-subtree_control $(cat $CG/cgroup.subtree_control)"
  fi
fi
# brd gives the guest a block device (/dev/ram0) for io.max; the kernel has no built-in
# disk driver (virtio-blk, ata, nvme are modules).
[ -e /modules/brd.ko ] && insmod /modules/brd.ko rd_nr=1 rd_size=4096 2>&1

set -a
CG_STATE=/run/berth CG_TMP=/tmp CG_BUNDLES=/bundles CG_ROOTFS=/rootfs
CG_BASE_CONFIG=/base-config.json
set +a
sh /cgroup_scenarios.sh
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
scenario_results "$LOG.txt" guest
[ -z "$timed_out" ] && pass "guest finished within ${GUEST_TIMEOUT}s" || fail "guest timed out after ${GUEST_TIMEOUT}s"
if [ $FAILURES -ne 0 ]; then
  echo "--- guest log ---"
  cat "$LOG.txt"
  echo "--- end of guest log ---"
fi
